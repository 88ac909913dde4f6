"""ui/desktop.py: the one place that hands URLs to the system browser, and what it refuses."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QUrl

from reader.ui import desktop

ALLOWED = [
    "http://example.com/a?b=c#d",
    "https://example.com/",
    "HTTPS://Example.COM/Path",
    "mailto:editor@example.com",
]
REFUSED = [
    ("javascript:alert(1)", "javascript"),
    ("JavaScript:alert(document.cookie)", "javascript"),
    ("  javascript:alert(1)", "javascript"),
    ("file:///etc/passwd", "file"),
    ("data:text/html,<script>alert(1)</script>", "data"),
    ("vbscript:msgbox(1)", "vbscript"),
    ("ftp://example.com/file", "ftp"),
    ("", "not a valid web address"),
    ("   ", "not a valid web address"),
    ("relative/path.html", "not a valid web address"),
    ("/absolute/path", "not a valid web address"),
    ("http://", "no host"),
    ("https:///no-host", "no host"),
]


@pytest.mark.parametrize("url", ALLOWED)
def test_allowed(url: str, opened_urls: list[str]) -> None:
    assert desktop.refusal(url) is None
    assert desktop.refusal(QUrl(url)) is None
    assert desktop.open_url(url) is None
    assert desktop.open_url(QUrl(url)) is None
    assert opened_urls == [QUrl(url).toString()] * 2


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_refused(url: str, reason: str, opened_urls: list[str]) -> None:
    message = desktop.refusal(url)
    assert message is not None and reason in message.lower()
    assert "\n" not in message
    assert desktop.open_url(url) == message
    assert desktop.open_url(QUrl(url.strip())) is not None
    assert opened_urls == [], "a refused URL never reaches the browser"


def test_open_url_reports_when_the_system_cannot(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[QUrl] = []

    def fail(url: QUrl) -> bool:
        calls.append(url)
        return False

    monkeypatch.setattr(desktop.QDesktopServices, "openUrl", fail)
    message = desktop.open_url("https://example.com/x")
    assert message is not None and "could not open https://example.com/x" in message
    assert len(calls) == 1


@pytest.mark.parametrize(("url", "reason"), REFUSED[:6])
def test_standalone_refuses_before_anything_starts(
    url: str, reason: str, opened_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``reader open ID``: the same check, before any process or browser is involved."""
    started: list[Any] = []
    monkeypatch.setattr(desktop.QProcess, "startDetached", lambda *a, **k: started.append(a) or (True, 1))
    message = desktop.open_url_standalone(url)
    assert message is not None and reason in message.lower()
    assert started == [] and opened_urls == []


def test_standalone_without_display_hands_the_url_to_xdg_open(
    monkeypatch: pytest.MonkeyPatch, opened_urls: list[str]
) -> None:
    started: list[tuple[Any, ...]] = []
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(desktop.shutil, "which", lambda name: "/usr/bin/xdg-open" if name == "xdg-open" else None)
    monkeypatch.setattr(desktop.QProcess, "startDetached", lambda *a: started.append(a) or (True, 1))
    assert desktop.open_url_standalone("https://example.com/a b") is None
    assert started == [("/usr/bin/xdg-open", ["https://example.com/a%20b"])]
    assert opened_urls == []
