"""The three columns: the list's share of the width, the collapsible sidebar, the compact list,
tinted placeholders."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import OFFSCREEN_SIZE_HINTS
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from reader.store import Store
from reader.ui.actions import Action
from reader.ui.article_delegate import PADDING, THUMB_SIZE

pytestmark = OFFSCREEN_SIZE_HINTS


def resize(qtbot: Any, window: Any, width: int, height: int) -> None:
    window.resize(width, height)
    qtbot.waitUntil(lambda: window.splitter.width() == width)


@pytest.mark.parametrize(("width", "height"), [(800, 600), (1280, 800), (1600, 1000), (1920, 1080)])
def test_the_list_gets_its_share_of_the_width(qtbot: Any, window: Any, width: int, height: int) -> None:
    resize(qtbot, window, width, height)
    sidebar, listing, pane = window.splitter.sizes()
    total = sidebar + listing + pane
    assert listing >= 0.38 * total, (sidebar, listing, pane)
    assert sidebar <= min(220, 0.15 * total), (sidebar, listing, pane)
    if width >= 1200:
        assert abs(listing / total - 0.40) < 0.01, "wide windows keep the proportions they had"
        assert pane >= listing


def test_at_800_px_the_list_shows_40_characters_of_a_title(qtbot: Any, window: Any) -> None:
    """40% of 800 px cut titles at ~25 characters while the pane kept more: narrow, the list gains."""
    from reader.ui.columns import list_share

    resize(qtbot, window, 800, 600)
    qtbot.waitUntil(lambda: window.list.viewport().width() < 600)
    fonts = window.list.delegate.fonts(window.list.font())
    title_room = window.list.viewport().width() - THUMB_SIZE.width() - 3 * PADDING
    forty = "Harbour Times story 0: the tide, the fer"
    assert len(forty) == 40
    assert fonts.title_bold_fm.horizontalAdvance(forty) <= title_room, (title_room, window.splitter.sizes())
    # Widening never narrows the list, and from 1200 px on it has its 40% again.
    widths = range(800, 1700, 50)
    sizes = [round(w * list_share(w)) for w in widths]
    assert sizes == sorted(sizes)
    assert list_share(1200) == list_share(1600) == 0.40


def test_the_list_keeps_its_share_when_the_window_is_resized(qtbot: Any, window: Any) -> None:
    from reader.ui.columns import list_share

    resize(qtbot, window, 1280, 800)
    resize(qtbot, window, 900, 700)
    sidebar, listing, pane = window.splitter.sizes()
    total = sidebar + listing + pane
    assert abs(listing / total - list_share(total)) < 0.01


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


def _tile_colour(window: Any, row: int) -> QColor:
    """The colour near the top-left corner of ``row``'s placeholder, as the list paints it."""
    image = window.list.viewport().grab().toImage()
    rect = window.list.visualRect(window.model.index(row))
    top = rect.top() + (rect.height() - THUMB_SIZE.height()) // 2
    ratio = image.devicePixelRatio()
    return image.pixelColor(round((rect.left() + PADDING + 3) * ratio), round((top + 3) * ratio))


def test_placeholders_are_tinted_per_source(qtbot: Any, window: Any) -> None:
    # known_store's rows alternate between the sources alpha and beta and have no images.
    alpha, beta, alpha_again = (_tile_colour(window, row) for row in (0, 1, 2))
    assert alpha == alpha_again, "one source, one tint"
    assert alpha != beta, "two sources, two tints"
    assert alpha.hslSaturation() > 40 and beta.hslSaturation() > 40, "a tint, not grey"


@pytest.mark.parametrize("dark", [False, True])
def test_tints_differ_between_sources_and_keep_one_lightness(qtbot: Any, window: Any, dark: bool) -> None:
    names = ["alpha", "beta", "bbc.co.uk", "nasa.gov", "lemonde.fr", "spiegel.de", "nytimes.com", "heise.de"]
    tiles = [window.list_images.placeholder(THUMB_SIZE, name, dark).toImage().pixelColor(2, 2) for name in names]
    assert len({tile.hslHue() // 20 for tile in tiles}) >= 5, "sources look apart"
    for tile in tiles:
        assert tile.lightness() < 100 if dark else tile.lightness() > 190, "readable behind the ink in the palette"
    # Every spelling of a source is the same tile, cached: painting allocates nothing.
    first = window.list_images.placeholder(THUMB_SIZE, "nasa.gov", dark)
    assert window.list_images.placeholder(THUMB_SIZE, "https://www.nasa.gov", dark).cacheKey() == first.cacheKey()
    # Without a source name the placeholder stays neutral (and is another cached tile).
    neutral = window.images.placeholder(THUMB_SIZE, "N", dark)
    assert neutral.cacheKey() != first.cacheKey()
    assert neutral.toImage().pixelColor(2, 2).hslSaturation() < 40


def test_a_source_has_the_same_tint_in_every_run() -> None:
    """A CRC of the name, not Python's per-process hash: a second run shows the same colours."""
    import subprocess
    import sys

    code = "from reader.ui.thumbnails import source_hue; print(source_hue('nasa.gov'), source_hue('alpha'))"
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(runs) == 1 and "None" not in runs.pop()
