"""The reader's place in a long list: kept across imports and refreshes, found again on start, and
"next unread" without paging the whole store in."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import BASE_DATE, OFFSCREEN_SIZE_HINTS, flags_stored, known_articles, wait_job
from PySide6.QtCore import Qt

from reader.records import Article
from reader.store import Query, Store
from reader.ui.jobs import JobKind
from reader.ui.settings import Settings

pytestmark = OFFSCREEN_SIZE_HINTS

COUNT = 600  # three pages of 200


@pytest.fixture
def big_store(store_path: Path) -> Any:
    store = Store.open(store_path)
    store.add_articles(known_articles(COUNT))
    yield store
    store.close()


def seed_file(path: Path, title: str) -> Path:
    header = repr(["late", "1", "", title, "", f"https://late.example/{title}", "", "2030-01-01T00:00:00Z"])
    path.write_text(f"{header}\nBody.\n", encoding="utf-8")
    return path


def test_an_import_keeps_the_current_article_and_scroll_position(
    qtbot: Any, window_factory: Any, big_store: Store, tmp_path: Path
) -> None:
    window = window_factory(big_store)
    window.list.select_row(450)
    reading = window.model.article_id(450)
    scroll = window.list.verticalScrollBar().value()

    with wait_job(qtbot, window, JobKind.IMPORT):
        window.importing.import_paths([str(seed_file(tmp_path / "new.txt", "Brand new"))])

    assert window.model.article_id(window.list.current_row()) == reading
    assert window.list.current_row() == 451, "the new article is listed above"
    assert window.list.verticalScrollBar().value() == scroll


def test_a_refresh_that_brings_nothing_does_not_reload_the_list(
    qtbot: Any, window_factory: Any, big_store: Store, tmp_path: Path
) -> None:
    window = window_factory(big_store)
    window.list.select_row(450)
    already = seed_file(tmp_path / "old.txt", "Known")
    with wait_job(qtbot, window, JobKind.IMPORT):
        window.importing.import_paths([str(already)])
    window.list.select_row(300)
    with qtbot.assertNotEmitted(window.model.modelReset), wait_job(qtbot, window, JobKind.IMPORT):
        window.importing.import_paths([str(already)])  # nothing new: 0 added, 0 updated
    assert window.list.current_row() == 300


def test_n_at_the_end_of_an_all_read_list_pages_in_nothing(qtbot: Any, window_factory: Any, big_store: Store) -> None:
    ids = [r.id for r in big_store.iter_rows()]
    big_store.set_read(ids[1:])  # only the first (newest) is unread
    window = window_factory(big_store)  # selects row 0, which marks it read
    assert window.model.rowCount() == 200
    window.list.setFocus()
    qtbot.keyClick(window.list, Qt.Key.Key_N)
    assert window.list.current_row() == 0
    assert window.model.rowCount() == 200, "no page was fetched to find out there is nothing unread"
    assert "No more unread" in window.statusBar().currentMessage()


def test_n_finds_an_unread_article_far_below(qtbot: Any, window_factory: Any, big_store: Store) -> None:
    ids = [r.id for r in big_store.iter_rows()]
    big_store.set_read(ids[1:550])
    window = window_factory(big_store)
    window.list.setFocus()
    qtbot.keyClick(window.list, Qt.Key.Key_N)
    assert window.list.current_row() == 550
    assert window.model.article_id(550) == ids[550]


def test_start_shows_the_last_article_even_when_it_is_not_on_the_first_page(
    qtbot: Any, window_factory: Any, big_store: Store, tmp_path: Path
) -> None:
    deep = [r.id for r in big_store.iter_rows()][420]
    settings_path = tmp_path / "settings.ini"
    settings = Settings(settings_path)
    settings.last_article = deep
    settings.sync()
    window = window_factory(big_store, settings_path)
    assert window.pane.article is not None and window.pane.article.id == deep, "shown before the first paint"
    qtbot.waitUntil(lambda: window.list.current_row() == 420, timeout=5000)


def test_new_articles_dated_in_the_future_do_not_break_the_order(
    qtbot: Any, window_factory: Any, big_store: Store
) -> None:
    big_store.add_articles(
        [Article(source="s", title="Later", url="https://x.example/later", published=BASE_DATE + timedelta(days=1))]
    )
    window = window_factory(big_store)
    assert window.model.row(0).title == "Later"


def test_focusing_the_list_after_a_new_search_opens_and_marks_nothing(
    qtbot: Any, window_factory: Any, big_store: Store
) -> None:
    window = window_factory(big_store)
    flags_stored(qtbot, window)
    unread = big_store.count(Query(view="unread"))
    window.search.setFocus()
    qtbot.keyClicks(window.search, "volcano")
    window.search.flush()
    # The window's pick among the results (issue 14): shown, not read.
    picked = window.list.current_row()
    assert picked >= 0
    shown = window.pane.article
    assert shown.id == window.model.article_id(picked)
    window.list.setFocus()
    qtbot.waitUntil(lambda: window.list.hasFocus())
    assert window.list.current_row() == picked, "Qt's focus-in moved nothing"
    flags_stored(qtbot, window)
    assert big_store.count(Query(view="unread")) == unread
    assert window.pane.article is shown
