"""The real window under Xvfb, real key presses (xdotool, XTEST), a stand-in xdg-open on PATH.

This proves the whole path a person takes: `reader --db STORE` starts, the list has focus, the
Google Reader keys move through articles, and `o`/`Enter` hand the URL to the system browser through
Qt's xcb desktop services. The stand-in `xdg-open` sends the URL it was given over a Unix socket, so
the test waits on that event instead of sleeping or polling a file.

Skipped only outside CI when Xvfb or xdotool is missing; in CI (CI=true) a missing tool fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import next_url

from reader.benchmark.window import xvfb as start_xvfb
from reader.records import Article
from reader.store import Query, Store

pytestmark = pytest.mark.xvfb

URLS = [
    "https://example.org/news/first",
    "https://example.org/news/second",
    "https://example.org/news/third",
    "https://example.org/news/fourth",
    "javascript:alert(document.cookie)",
    "http://example.org/news/sixth?x=1&y=2",
]


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed (Debian package: {'xvfb' if tool == 'Xvfb' else tool})"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; .ci/run must install it: the real-window test may not skip in CI")
        pytest.skip(message)
    return path


@pytest.fixture
def xvfb() -> Iterator[str]:
    executable = _need("Xvfb")
    _need("xdotool")
    with start_xvfb(executable) as display:
        yield display


def _store(tmp_path: Path, *, read_first: bool = False) -> Path:
    db = tmp_path / "store.sqlite"
    newest = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    articles = [
        Article(
            source="test",
            title=f"Article {i + 1}",
            url=url,
            published=newest - timedelta(hours=i),
            body=f"Paragraph one of article {i + 1}.\nParagraph two.",
        )
        for i, url in enumerate(URLS)
    ]
    with Store.open(db) as store:
        store.add_articles(articles)
        if read_first:
            first = store.page(Query(), None, 1).rows[0]
            store.set_read([first.id], True)
    return db


def _xdotool(display: str, *args: str) -> str:
    result = subprocess.run(
        ["xdotool", *args],
        env={**os.environ, "DISPLAY": display},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def _window_env(tmp_path: Path, display: str, bin_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in (
            "QT_QPA_PLATFORM",
            "WAYLAND_DISPLAY",
            "XDG_CURRENT_DESKTOP",
            "KDE_FULL_SESSION",
            "DESKTOP_SESSION",
            "GNOME_DESKTOP_SESSION_ID",
        )
    }
    env.update(
        DISPLAY=display,
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        QT_QPA_PLATFORM="xcb",
    )
    return env


@contextmanager
def _reader(tmp_path: Path, display: str, bin_dir: Path, db: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`reader --db DB` on ``display``; at the end it must have quit cleanly, without a traceback."""
    log = (tmp_path / "reader.log").open("w")
    app = subprocess.Popen(
        [sys.executable, "-m", "reader", "--db", str(db)],
        env=_window_env(tmp_path, display, bin_dir),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield app
    finally:
        if app.poll() is None:
            app.send_signal(signal.SIGTERM)
            app.wait(10)
        log.close()
    output = (tmp_path / "reader.log").read_text()
    assert "Traceback" not in output, output


def _wait_title(display: str, title: str) -> str:
    """The window's id once its title is ``title`` (xdotool --sync blocks until it is)."""
    pattern = "^" + title.replace("(", "\\(").replace(")", "\\)") + "$"
    return _xdotool(display, "search", "--sync", "--onlyvisible", "--name", pattern).splitlines()[0]


def test_keys_open_originals_in_the_system_browser(
    tmp_path: Path, xvfb: str, browser: tuple[Path, socket.socket]
) -> None:
    bin_dir, server = browser
    db = _store(tmp_path)
    with _reader(tmp_path, xvfb, bin_dir, db) as app:
        # Blocks until the window is mapped (xdotool --sync), then gives it the keyboard.
        window = _xdotool(xvfb, "search", "--sync", "--onlyvisible", "--name", "^Reader").splitlines()[0]
        _xdotool(xvfb, "windowfocus", "--sync", window)

        _xdotool(xvfb, "key", "o")  # the first article is selected on start
        assert next_url(server) == URLS[0]

        _xdotool(xvfb, "key", "j", "o")
        assert next_url(server) == URLS[1]

        _xdotool(xvfb, "key", "j", "j", "k", "Return")
        assert next_url(server) == URLS[2]

        # Down twice to the javascript: article: `o` there must not reach the browser. The next
        # article's URL is the next thing xdg-open receives.
        _xdotool(xvfb, "key", "Down", "Down", "o", "v", "j", "v")
        assert next_url(server) == URLS[5]

        _xdotool(xvfb, "key", "ctrl+q")
        assert app.wait(30) == 0


def test_the_sidebar_entry_highlighted_is_the_list_shown_through_count_refreshes(
    tmp_path: Path, xvfb: str, browser: tuple[Path, socket.socket]
) -> None:
    """Real keys in the sidebar after the counts came in (and again after they changed): the entry
    moved to is the filter. Shift+Tab twice goes list -> search -> sidebar, Tab twice comes back."""
    bin_dir, server = browser
    db = _store(tmp_path, read_first=True)
    unread = len(URLS) - 1
    with _reader(tmp_path, xvfb, bin_dir, db) as app:
        window = _wait_title(xvfb, f"Reader ({unread} unread)")  # the counts are in
        _xdotool(xvfb, "windowfocus", "--sync", window)
        _xdotool(xvfb, "key", "j")  # reading the second article changes the counts: the sidebar is rebuilt
        _wait_title(xvfb, f"Reader ({unread - 1} unread)")
        # All articles -> Unread: the first unread article is now the third one.
        _xdotool(xvfb, "key", "shift+Tab", "shift+Tab", "Down", "Tab", "Tab", "j", "o")
        assert next_url(server) == URLS[2]
        _wait_title(xvfb, f"Reader ({unread - 2} unread)")
        # Unread -> All articles: the list lists the read first article again.
        _xdotool(xvfb, "key", "shift+Tab", "shift+Tab", "Up", "Tab", "Tab", "j", "o")
        assert next_url(server) == URLS[0]
        _xdotool(xvfb, "key", "ctrl+q")
        assert app.wait(30) == 0
