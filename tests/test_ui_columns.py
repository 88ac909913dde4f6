"""The three columns: the list's share of the width, the collapsible sidebar, the compact list,
tinted placeholders."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import OFFSCREEN_SIZE_HINTS

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
