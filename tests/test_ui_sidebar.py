"""The sidebar's selection is the filter, always: a count refresh never moves it, a click always applies."""

from __future__ import annotations

from typing import Any

from conftest import OFFSCREEN_SIZE_HINTS, flags_stored, wait_job
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from reader.store import Query
from reader.ui.jobs import JobKind

pytestmark = OFFSCREEN_SIZE_HINTS


def recount(qtbot: Any, window: Any) -> None:
    with wait_job(qtbot, window, JobKind.COUNTS):
        window.counting.refresh()


def click(window: Any, prefix: str) -> None:
    sidebar = window.sidebar
    row = next(i for i in range(sidebar.count()) if sidebar.item(i).text().lower().startswith(prefix.lower()))
    rect = sidebar.visualItemRect(sidebar.item(row))
    QTest.mouseClick(sidebar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def highlighted(window: Any) -> str:
    items = window.sidebar.selectedItems()
    assert len(items) == 1, [i.text() for i in items]
    assert window.sidebar.currentItem() is items[0]
    return items[0].text()


def test_count_refreshes_never_move_the_selection_and_clicks_always_apply(qtbot: Any, window: Any) -> None:
    qtbot.waitUntil(lambda: window.sidebar.count() > 3)
    for _ in range(3):
        recount(qtbot, window)
        assert highlighted(window).startswith("All articles")
        assert window.model.query == Query(view="all")
    click(window, "Unread")
    assert window.model.query.view == "unread"
    window.list.next_article()  # reading marks an article read: the counts change
    recount(qtbot, window)
    recount(qtbot, window)
    assert highlighted(window).startswith("Unread")
    assert window.model.query.view == "unread"
    click(window, "All articles")
    assert window.model.query == Query(view="all")
    assert highlighted(window).startswith("All articles")
    click(window, "Unread")
    assert window.model.query.view == "unread"


def test_a_source_stays_selected_through_count_refreshes(qtbot: Any, window: Any) -> None:
    qtbot.waitUntil(lambda: window.sidebar.count() > 3)
    click(window, "Beta")
    assert window.model.query == Query(view="all", source="beta")
    for row in range(window.model.rowCount()):
        window.model.set_read(row, True)  # the source's unread count falls to zero
    flags_stored(qtbot, window)
    recount(qtbot, window)
    recount(qtbot, window)
    assert highlighted(window).lower().startswith("beta")
    assert window.model.query == Query(view="all", source="beta")
    click(window, "Alpha")
    assert window.model.query == Query(view="all", source="alpha")
    recount(qtbot, window)
    assert highlighted(window).lower().startswith("alpha")
    click(window, "Beta")
    assert window.model.query == Query(view="all", source="beta")


def test_a_narrow_sidebar_elides_long_names_without_a_sideways_scroll_bar(qtbot: Any) -> None:
    from PySide6.QtWidgets import QApplication

    from reader.records import Feed, SourceCount
    from reader.ui.sidebar import Sidebar

    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    sidebar.resize(110, 300)
    sidebar.show()
    qtbot.waitExposed(sidebar)
    feed = Feed(id=1, url="https://news.example/feed", title="The Harbour Times and Evening Gazette", unread=6)
    sidebar.populate((6, 6, 0), [SourceCount("nasa", 3, 3)], [feed])
    last = sidebar.item(sidebar.count() - 1)
    qtbot.waitUntil(lambda: sidebar.visualItemRect(last).height() > 0)  # laid out
    QApplication.processEvents()  # (the scroll bars are set in the same pass, shown just after)
    assert not sidebar.horizontalScrollBar().isVisible()
