"""The window's menus beyond the keys: File > Export OPML…, Help > About Reader."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from conftest import OFFSCREEN_SIZE_HINTS, wait_job

from reader import subscriptions
from reader.store import Store
from reader.ui.actions import Action
from reader.ui.dialogs import Ask
from reader.ui.jobs import JobKind

pytestmark = OFFSCREEN_SIZE_HINTS


def menu_texts(window: Any, title: str) -> list[str]:
    """The entries of the menu bar's menu ``title``, as shown."""
    for action in window.menuBar().actions():
        if action.text() == title:
            return [a.text() for a in action.menu().actions() if not a.isSeparator()]
    raise AssertionError(f"no {title} menu")


def message(window: Any) -> str:
    return window.statusBar().currentMessage()


# --- File > Export OPML… --------------------------------------------------------------------------


def test_file_menu_has_export_opml(window: Any) -> None:
    assert "Export OPML…" in menu_texts(window, "File")


def test_export_opml_writes_every_subscription_off_the_ui_thread_and_says_so(
    qtbot: Any, window: Any, known_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    known_store.add_feed("https://example.org/one.rss", "Feed One")
    known_store.add_feed("https://example.org/two.atom", "Feed Two")
    target = tmp_path / "mine.opml"
    asked: list[object] = []
    monkeypatch.setattr(Ask, "opml_file", classmethod(lambda cls, parent: asked.append(parent) or str(target)))
    threads: list[threading.Thread] = []
    real_export = subscriptions.export_opml

    def export_opml(store: Store) -> bytes:
        threads.append(threading.current_thread())
        return real_export(store)

    monkeypatch.setattr(subscriptions, "export_opml", export_opml)
    with wait_job(qtbot, window, JobKind.EXPORT_OPML):
        window.action_registry[Action.EXPORT_OPML].trigger()
    assert asked == [window]
    assert threads and threads[0] is not threading.main_thread(), "written on a job, not the UI thread"
    outlines = ET.parse(target).getroot().iter("outline")
    assert sorted(o.get("xmlUrl") or "" for o in outlines) == [
        "https://example.org/one.rss",
        "https://example.org/two.atom",
    ]
    assert message(window) == f"Exported 2 subscriptions to {target}"


def test_export_opml_cancelled_exports_nothing(qtbot: Any, window: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Ask, "opml_file", classmethod(lambda cls, parent: None))
    window.action_registry[Action.EXPORT_OPML].trigger()
    assert not window.jobs.running(JobKind.EXPORT_OPML)
    assert message(window) == ""


def test_export_opml_to_a_place_that_cannot_be_written_says_why_in_one_line(
    qtbot: Any, window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "no such folder" / "mine.opml"
    monkeypatch.setattr(Ask, "opml_file", classmethod(lambda cls, parent: str(target)))
    with wait_job(qtbot, window, JobKind.EXPORT_OPML):
        window.action_registry[Action.EXPORT_OPML].trigger()
    said = message(window)
    assert said.startswith(f"Could not export to {target}: ") and "\n" not in said
    assert not target.exists()


# --- Help > About Reader ----------------------------------------------------------------------------


def test_help_about_says_name_version_what_store_and_qt(qtbot: Any, window: Any, known_store: Store) -> None:
    import PySide6
    from PySide6.QtCore import qVersion
    from PySide6.QtWidgets import QLabel

    import reader

    assert "About Reader" in menu_texts(window, "Help")
    window.action_registry[Action.ABOUT].trigger()
    dialog = window.about.dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    text = dialog.findChild(QLabel, "aboutText").text()
    assert "Reader" in text
    assert reader.__version__ in text
    assert "news reader" in text
    assert str(known_store.path) in text
    assert f"Qt {qVersion()}" in text and f"PySide {PySide6.__version__}" in text
    dialog.close()
