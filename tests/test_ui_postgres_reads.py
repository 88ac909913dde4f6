"""The window on a shared PostgreSQL store never waits on the network on the UI thread: the list's
pages and rows and the pane's article are read on the StoreReader's thread and arrive later.

A loopback proxy the test controls (tests/tcp_proxy.py) sits between the window and the real
server (tests/postgres.py): paused, it holds every request, and the window must go on meanwhile
(keys handled, timers firing); resumed, what was asked for arrives.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import KNOWN_COUNT, OFFSCREEN_SIZE_HINTS, TOPICS, known_articles
from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtWidgets import QApplication
from tcp_proxy import TcpProxy

from reader.records import Article, Query
from reader.store import StoreAddress, StoreProtocol, open_store
from reader.ui.article_model import ArticleListModel, ArticleRole
from reader.ui.store_reader import StoreReader

pytestmark = OFFSCREEN_SIZE_HINTS


@pytest.fixture
def proxied(postgres_url: str) -> Iterator[tuple[TcpProxy, str]]:
    """The known articles in the test's database, and a proxy in front of its server (with the URL
    through it)."""
    with open_store(postgres_url) as store:
        store.add_articles(known_articles())
    with TcpProxy.in_front_of(postgres_url) as (proxy, url):
        yield proxy, url


@pytest.fixture
def store(proxied: tuple[TcpProxy, str]) -> Iterator[StoreProtocol]:
    _proxy, url = proxied
    with open_store(url) as s:
        yield s


@pytest.fixture
def reader(proxied: tuple[TcpProxy, str]) -> Iterator[StoreReader]:
    proxy, url = proxied
    reads = StoreReader(StoreAddress(url))
    yield reads
    proxy.resume()
    reads.close(timeout=10)


def a_timer_fires(qtbot: Any) -> None:
    """The event loop runs: a timer started now fires (it cannot while the UI thread waits)."""
    timer = QTimer()
    timer.setSingleShot(True)
    timer.setInterval(10)
    with qtbot.waitSignal(timer.timeout, timeout=5000):
        timer.start()


def press(qtbot: Any, key: Qt.Key) -> None:
    focused = QApplication.focusWidget()
    assert focused is not None
    qtbot.keyClick(focused, key)


# --- the model -------------------------------------------------------------------------------------


def test_the_asynchronous_model_passes_the_model_tester_and_fills_its_rows_as_they_arrive(
    proxied: tuple[TcpProxy, str], qtbot: Any, qtmodeltester: Any, store: StoreProtocol, reader: StoreReader
) -> None:
    store.add_articles([Article(source="wire", title=f"Undated {i:02}", body="x") for i in range(60)])
    expected = [r.title for r in store.page(Query(), None, 1000).rows]
    model = ArticleListModel(store, page_size=16, cache_rows=16, reader=reader)
    qtmodeltester.check(model)
    assert model.asynchronous
    qtbot.waitUntil(lambda: model.listed and not model.fetching)
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
        qtbot.waitUntil(lambda: not model.fetching)
    assert model.rowCount() == len(expected) == KNOWN_COUNT + 60
    # The cache keeps 64 rows at least (a block): the first rows, read first, were let go.
    # (Row 20 was cached with its page and let go since: the model tester reads the first row
    # and the rows around each insert, not it.)
    assert model.row(20) is None, "not cached: its block is asked for, the row is empty meanwhile"
    index = model.index(20)
    assert index.data(ArticleRole.id) is not None and index.data(Qt.ItemDataRole.DisplayRole) is None
    with qtbot.waitSignal(model.dataChanged, timeout=10000):
        pass
    assert model.row(20) is not None and model.row(20).title == expected[20]
    assert [model.row(r).title for r in range(model.rowCount()) if model.row(r) is not None] == [
        t for r, t in enumerate(expected) if model.row(r) is not None
    ]
    qtmodeltester.check(model)


def test_one_page_at_a_time_and_a_new_query_drops_the_old_ones_answer(
    proxied: tuple[TcpProxy, str], qtbot: Any, store: StoreProtocol, reader: StoreReader
) -> None:
    proxy, _url = proxied
    model = ArticleListModel(store, page_size=8, reader=reader)
    model.set_query(Query())
    qtbot.waitUntil(lambda: model.listed)
    assert model.rowCount() == 8
    proxy.pause()
    for _ in range(3):
        model.fetchMore(QModelIndex())  # (a view asks again while the page is on its way)
    qtbot.waitUntil(lambda: proxy.holding)
    assert model.fetching and model.canFetchMore(QModelIndex()), "more to come, one page on its way"
    proxy.resume()
    qtbot.waitUntil(lambda: not model.fetching)
    ids = [model.article_id(r) for r in range(model.rowCount())]
    assert len(ids) == 16 and len(set(ids)) == 16, "one page asked, not three"

    # A search asked while the server holds the page of the list before it: that page's answer
    # comes first and is dropped.
    proxy.pause()
    model.set_query(Query(view="unread"))
    qtbot.waitUntil(lambda: proxy.holding)
    model.set_query(Query(search=TOPICS[1]))
    assert model.rowCount() == 0 and not model.listed
    proxy.resume()
    qtbot.waitUntil(lambda: model.listed)
    expected = [r.id for r in store.page(Query(search=TOPICS[1]), None, 8).rows]
    assert expected and [model.article_id(r) for r in range(model.rowCount())] == expected


def test_next_unread_beyond_the_loaded_rows_is_asked_for_and_continues_there(
    proxied: tuple[TcpProxy, str], qtbot: Any, store: StoreProtocol, reader: StoreReader
) -> None:
    ids = [a.id for a in store.page(Query(), None, KNOWN_COUNT).rows]
    store.set_read(ids[:30])
    for view in ("all", "starred"):
        if view == "starred":
            for article_id in ids[10:]:  # (its first page: ids[10:18], all read)
                store.set_starred(article_id)
        model = ArticleListModel(store, page_size=8, reader=reader)
        model.set_query(Query(view=view))
        qtbot.waitUntil(lambda model=model: model.listed)
        assert model.rowCount() == 8
        found: list[int | None] = []
        model.next_unread_then(-1, found.append)
        assert found == [], "not loaded yet: the answer comes later"
        qtbot.waitUntil(lambda found=found: bool(found), timeout=10000)
        (row,) = found
        assert row is not None and model.article_id(row) == ids[30], view


# --- the window --------------------------------------------------------------------------------------


def test_the_window_goes_on_while_the_server_holds_its_reads(
    proxied: tuple[TcpProxy, str], qtbot: Any, window_factory: Any, store: StoreProtocol
) -> None:
    proxy, _url = proxied
    window = window_factory(store)
    assert window.reads is not None, "a shared store's reads have a thread of their own"
    first, second, third = (window.model.article_id(r) for r in range(3))
    assert window.pane.article.id == first
    shown: list[int] = []
    show_article = window.pane.show_article
    window.pane.show_article = lambda article: (shown.append(article.id), show_article(article))
    window.list.setFocus()

    # j while the server holds everything: the list moves at once, the pane waits for the article.
    proxy.pause()
    press(qtbot, Qt.Key.Key_J)
    assert window.list.current_row() == 1
    assert window.pane.article.id == first and window.reading.wanted == second
    a_timer_fires(qtbot)
    qtbot.waitUntil(lambda: proxy.holding)
    press(qtbot, Qt.Key.Key_J)  # (keys go on being handled)
    assert window.list.current_row() == 2 and window.reading.wanted == third
    # r / F5 lists the sync accounts: by a job on a shared store.
    press(qtbot, Qt.Key.Key_R)
    a_timer_fires(qtbot)
    assert shown == []
    proxy.resume()
    qtbot.waitUntil(lambda: window.pane.article.id == third, timeout=15000)
    assert shown == [third], "the answer for the article left behind is not shown"

    # A search while the server holds everything: the list is empty (not "no articles"), the
    # window goes on, and the results come when the server answers.
    proxy.pause()
    press(qtbot, Qt.Key.Key_Slash)
    with qtbot.waitSignal(window.search.search_changed, timeout=5000):
        qtbot.keyClicks(window.search, TOPICS[0][:4])
    assert window.model.rowCount() == 0 and not window.model.listed
    assert window.list_stack.currentWidget() is window.list, "not the empty state while it loads"
    a_timer_fires(qtbot)
    qtbot.keyClicks(window.search, TOPICS[0][4])  # (typing goes on)
    assert window.search.text() == TOPICS[0][:5]
    proxy.resume()
    qtbot.waitUntil(lambda: window.model.listed and window.model.query.search == TOPICS[0][:5], timeout=15000)
    qtbot.waitUntil(lambda: window.reading.wanted is None, timeout=15000)
    titles = [window.model.row(r).title for r in range(window.model.rowCount())]
    assert len(titles) == KNOWN_COUNT // len(TOPICS) and all(TOPICS[0] in t for t in titles)
    assert window.pane.article.id == window.model.article_id(0), "the first result shown"


def test_reloads_while_the_server_holds_the_first_keep_the_place(
    proxied: tuple[TcpProxy, str], qtbot: Any, window_factory: Any, store: StoreProtocol
) -> None:
    """A second reload (another change heard, an import's end) before the first one's page came
    keeps the place the person had, not the empty list between the two."""
    proxy, _url = proxied
    window = window_factory(store)
    window.list.select_row(3)
    current = window.model.article_id(3)
    qtbot.waitUntil(lambda: window.pane.article.id == current)
    proxy.pause()
    window.listing.reload_keeping_place()
    qtbot.waitUntil(lambda: proxy.holding)
    assert window.model.rowCount() == 0
    window.listing.reload_keeping_place()
    proxy.resume()
    qtbot.waitUntil(lambda: window.model.listed and window.list.current_row() >= 0, timeout=15000)
    assert window.model.article_id(window.list.current_row()) == current
    assert window.pane.article.id == current


def test_a_window_whose_server_stalls_at_start_paints_and_lists_when_it_answers(
    proxied: tuple[TcpProxy, str], qtbot: Any, store: StoreProtocol, tmp_path: Any
) -> None:
    """The start's first page (and the last article read) are asked of the reader too: a stalled
    server leaves a window that paints and takes keys, and lists once the server answers."""
    from reader.ui.main_window import MainWindow
    from reader.ui.settings import Settings

    proxy, _url = proxied
    settings = Settings(tmp_path / "settings.ini")
    last = store.page(Query(), None, KNOWN_COUNT).rows[5].id
    settings.last_article = last
    window = MainWindow(store, settings)
    qtbot.addWidget(window, before_close_func=lambda w: (proxy.resume(), w.jobs.wait_for_jobs()))
    proxy.pause()
    window.show()
    qtbot.waitExposed(window)
    window.start()
    a_timer_fires(qtbot)
    assert window.model.rowCount() == 0 and not window.model.listed
    proxy.resume()
    qtbot.waitUntil(lambda: window.model.listed and window.pane.article is not None, timeout=15000)
    assert window.pane.article.id == last and window.list.current_row() == 5
    assert not window.model.is_read(5), "the window's own pick at start is not read"
