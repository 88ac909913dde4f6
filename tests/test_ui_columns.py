"""The three columns: the list's share of the width, the collapsible sidebar, the compact list,
tinted placeholders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import OFFSCREEN_SIZE_HINTS
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from reader.store import Store
from reader.ui.actions import Action

pytestmark = OFFSCREEN_SIZE_HINTS


def resize(qtbot: Any, window: Any, width: int, height: int) -> None:
    window.resize(width, height)
    qtbot.waitUntil(lambda: window.splitter.width() == width)


@pytest.mark.parametrize(("width", "height"), [(800, 600), (1280, 800), (1920, 1080)])
def test_the_list_gets_its_share_of_the_width(qtbot: Any, window: Any, width: int, height: int) -> None:
    resize(qtbot, window, width, height)
    sidebar, listing, pane = window.splitter.sizes()
    total = sidebar + listing + pane
    assert listing >= 0.38 * total, (sidebar, listing, pane)
    assert sidebar <= min(220, 0.15 * total), (sidebar, listing, pane)
    assert pane >= listing


def test_the_list_keeps_its_share_when_the_window_is_resized(qtbot: Any, window: Any) -> None:
    resize(qtbot, window, 1280, 800)
    resize(qtbot, window, 900, 700)
    sidebar, listing, pane = window.splitter.sizes()
    assert abs(listing / (sidebar + listing + pane) - 0.40) < 0.01


def test_after_a_drag_a_resize_shares_the_change_between_list_and_pane(qtbot: Any, window: Any) -> None:
    resize(qtbot, window, 1280, 800)
    window.splitter.moveSplitter(150, 1)
    assert not window.splitter.proportional
    before = window.splitter.sizes()
    resize(qtbot, window, 1000, 800)
    after = window.splitter.sizes()
    assert after[0] == before[0], "the sidebar keeps the width it was given"
    lost = sum(before) - sum(after)
    assert abs((before[1] - after[1]) / lost - 40 / 86) < 0.03, (before, after)


def test_ctrl_b_hides_and_shows_the_sidebar(qtbot: Any, window: Any) -> None:
    action = window.action_registry[Action.TOGGLE_SIDEBAR]
    assert action.isChecked() and window.sidebar.isVisible()
    width_before = window.list.width()
    qtbot.keyClick(window.list, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert not window.sidebar.isVisible()
    assert not action.isChecked()
    assert window.settings.sidebar_shown is False
    qtbot.waitUntil(lambda: window.list.width() > width_before)
    qtbot.keyClick(window.list, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert window.sidebar.isVisible() and action.isChecked()
    assert window.settings.sidebar_shown is True


def test_hiding_the_focused_sidebar_gives_the_focus_to_the_list(qtbot: Any, window: Any) -> None:
    window.sidebar.setFocus()
    qtbot.waitUntil(lambda: window.sidebar.hasFocus() or window.sidebar.isAncestorOf(QApplication.focusWidget()))
    window.action_registry[Action.TOGGLE_SIDEBAR].trigger()
    assert not window.sidebar.isVisible()
    qtbot.waitUntil(window.list.hasFocus)


def test_the_hidden_sidebar_stays_hidden_next_time(
    window_factory: Callable[..., Any], known_store: Store, tmp_path: Path
) -> None:
    settings_file = tmp_path / "sidebar.ini"
    first = window_factory(known_store, settings_file)
    first.action_registry[Action.TOGGLE_SIDEBAR].trigger()
    first.close()
    second = window_factory(known_store, settings_file)
    assert not second.sidebar.isVisible()
    assert not second.action_registry[Action.TOGGLE_SIDEBAR].isChecked()
    sidebar, listing, pane = second.splitter.sizes()
    assert sidebar == 0 and listing > 0.4 * (listing + pane)


class _Recorder:
    """A thumbnail provider that records which rows were asked for."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def thumbnail_for(self, row: Any) -> None:
        self.asked.append(row.id)


def test_ctrl_l_makes_the_list_compact(qtbot: Any, window: Any) -> None:
    action = window.action_registry[Action.TOGGLE_COMPACT_LIST]
    full_height = window.list.visualRect(window.model.index(1)).height()
    assert not action.isChecked()
    qtbot.keyClick(window.list, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert action.isChecked() and window.settings.compact_list is True
    qtbot.waitUntil(lambda: window.list.visualRect(window.model.index(1)).height() < full_height / 2)
    # Title-only rows paint no thumbnail: none is asked for.
    recorder = _Recorder()
    window.model.thumbnails = recorder
    window.list.viewport().grab()
    assert recorder.asked == []
    qtbot.keyClick(window.list, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert not action.isChecked() and window.settings.compact_list is False
    qtbot.waitUntil(lambda: window.list.visualRect(window.model.index(1)).height() == full_height)
    window.list.viewport().grab()
    assert recorder.asked, "full rows ask for their thumbnails"


def test_the_current_row_stays_in_view_when_the_rows_change_height(qtbot: Any, window: Any) -> None:
    window.action_registry[Action.TOGGLE_COMPACT_LIST].trigger()
    window.list.select_row(30)
    window.list.scrollTo(window.model.index(30))
    window.action_registry[Action.TOGGLE_COMPACT_LIST].trigger()
    qtbot.waitUntil(lambda: window.list.viewport().rect().contains(window.list.visualRect(window.model.index(30))))


def test_the_compact_list_stays_compact_next_time(
    window_factory: Callable[..., Any], known_store: Store, tmp_path: Path
) -> None:
    settings_file = tmp_path / "compact.ini"
    first = window_factory(known_store, settings_file)
    full_height = first.list.visualRect(first.model.index(0)).height()
    first.action_registry[Action.TOGGLE_COMPACT_LIST].trigger()
    first.close()
    second = window_factory(known_store, settings_file)
    assert second.action_registry[Action.TOGGLE_COMPACT_LIST].isChecked()
    assert second.list.visualRect(second.model.index(0)).height() < full_height / 2
