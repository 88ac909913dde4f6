"""Search as you type: throttled (one query per pause, the latest text wins), through FTS5."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from conftest import KNOWN_COUNT, OFFSCREEN_SIZE_HINTS, TOPICS, known_title
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from reader.store import Query, Store
from reader.ui.jobs import JobKind
from reader.ui.search_bar import SearchBar

pytestmark = OFFSCREEN_SIZE_HINTS


@pytest.fixture
def bar(qtbot: Any) -> tuple[SearchBar, list[str]]:
    bar = SearchBar(throttle_ms=40)
    qtbot.addWidget(bar)
    bar.show()
    emitted: list[str] = []
    bar.search_changed.connect(emitted.append)
    return bar, emitted


def test_typing_quickly_searches_once_with_the_final_text(qtbot: Any, bar: tuple[SearchBar, list[str]]) -> None:
    field, emitted = bar
    with qtbot.waitSignal(field.search_changed, timeout=5000, check_params_cb=lambda text: text == "volc"):
        qtbot.keyClicks(field, "volc")
        assert emitted == [], "nothing is searched while the keys keep coming"
    assert emitted == ["volc"]
    with qtbot.assertNotEmitted(field.search_changed, wait=200):
        pass
    # More keys: again one search, for the whole text.
    with qtbot.waitSignal(field.search_changed, timeout=5000):
        qtbot.keyClicks(field, "ano")
    assert emitted == ["volc", "volcano"]
    # Typing and erasing back to the same text searches nothing new.
    qtbot.keyClick(field, Qt.Key.Key_X)
    qtbot.keyClick(field, Qt.Key.Key_Backspace)
    with qtbot.assertNotEmitted(field.search_changed, wait=200):
        pass
    assert emitted == ["volc", "volcano"]


def test_enter_searches_at_once(qtbot: Any, bar: tuple[SearchBar, list[str]]) -> None:
    field, emitted = bar
    qtbot.keyClicks(field, "comet")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert emitted == ["comet"], "Enter does not wait for the pause"
    with qtbot.assertNotEmitted(field.search_changed, wait=200):
        pass


def test_esc_clears_and_says_so(qtbot: Any, bar: tuple[SearchBar, list[str]]) -> None:
    field, emitted = bar
    with qtbot.waitSignal(field.search_changed, timeout=5000):
        qtbot.keyClicks(field, "harvest")
    with qtbot.waitSignal(field.escaped, timeout=1000):
        qtbot.keyClick(field, Qt.Key.Key_Escape)
    assert field.text() == ""
    assert emitted == ["harvest", ""], "clearing searches for everything again, at once"


def test_the_clear_button_clears_the_search(qtbot: Any, bar: tuple[SearchBar, list[str]]) -> None:
    field, emitted = bar
    with qtbot.waitSignal(field.search_changed, timeout=5000):
        qtbot.keyClicks(field, "harvest")
    with qtbot.waitSignal(field.search_changed, timeout=5000, check_params_cb=lambda text: text == ""):
        field.clear()  # what the clear button does: no textEdited
    assert emitted == ["harvest", ""]


def test_window_runs_one_query_per_pause(
    qtbot: Any, window: Any, known_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = window.model
    queries: list[Query] = []
    real_set_query = model.set_query

    def counting_set_query(query: Query) -> None:
        queries.append(query)
        real_set_query(query)

    monkeypatch.setattr(model, "set_query", counting_set_query)
    emitted: list[str] = []
    window.search.search_changed.connect(emitted.append)
    topic = TOPICS[0]
    qtbot.keyClick(window.list, Qt.Key.Key_Slash)
    assert QApplication.focusWidget() is window.search
    with qtbot.waitSignal(window.search.search_changed, timeout=5000):
        qtbot.keyClicks(window.search, topic)
        assert queries == [], "no query per keystroke"
    assert emitted == [topic]
    assert queries == [Query(search=topic)]
    assert model.query.search == topic
    expected = [row.id for row in known_store.iter_rows(Query(search=topic))]
    assert len(expected) == KNOWN_COUNT // len(TOPICS)
    assert [model.row(r).id for r in range(model.rowCount())] == expected
    assert all(topic in model.row(r).title for r in range(model.rowCount()))
    assert window.list_stack.currentWidget() is window.list


def test_search_is_full_text_and_prefix(qtbot: Any, window: Any) -> None:
    """Words from the body find their articles; the last word matches as a prefix while typing."""
    qtbot.keyClick(window.list, Qt.Key.Key_Slash)
    with qtbot.waitSignal(window.search.search_changed, timeout=5000):
        qtbot.keyClicks(window.search, "article 7")
    titles = {window.model.row(r).title for r in range(window.model.rowCount())}
    # Article 7's body says "article 7" (its title says "07"); the long article 0 has a paragraph
    # numbered 7. A one-character last word is a whole word: not 70-79.
    assert titles == {known_title(7), known_title(0)}
    window.search.clear()
    with qtbot.waitSignal(window.search.search_changed, timeout=5000):
        qtbot.keyClicks(window.search, "more electi")  # "More about the election" in every fourth body
    titles = {window.model.row(r).title for r in range(window.model.rowCount())}
    assert titles == {known_title(i) for i in range(1, KNOWN_COUNT, 4)}


def test_a_single_letter_does_not_search_the_whole_store(qtbot: Any, window: Any) -> None:
    """One letter is a whole word ("a", "I") that matches most articles or none, useless to read
    while typing: the search waits for a second character and says so."""
    window.search.setFocus()
    with qtbot.waitSignal(window.search.search_changed, timeout=5000):
        qtbot.keyClicks(window.search, "v")
    assert window.model.query.search is None
    assert "at least 2" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.search.search_changed, timeout=5000):
        qtbot.keyClicks(window.search, "o")
    assert window.model.query.search == "vo"


# --- search answers (issue 14) --------------------------------------------------------------------


def search_for(qtbot: Any, window: Any, text: str) -> None:
    """``/`` and ``text`` typed into the search field, until its search has run."""
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Slash)
    assert QApplication.focusWidget() is window.search
    with qtbot.waitSignal(window.search.search_changed, timeout=5000):
        qtbot.keyClicks(window.search, text)
    assert window.model.query.search == text


def test_the_status_bar_counts_the_results_off_the_gui_thread(
    qtbot: Any, window: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    totals = f"{KNOWN_COUNT} articles · {KNOWN_COUNT} unread · 0 starred"
    qtbot.waitUntil(lambda: window.counts_label.text() == totals, timeout=15000)
    threads: list[threading.Thread] = []
    real_count = Store.count

    def count(self: Store, query: Query) -> int:
        threads.append(threading.current_thread())
        return real_count(self, query)

    monkeypatch.setattr(Store, "count", count)
    topic = TOPICS[0]
    search_for(qtbot, window, topic)
    expected = f"{KNOWN_COUNT // len(TOPICS)} results for “{topic}”"
    qtbot.waitUntil(lambda: window.counts_label.text() == expected, timeout=15000)
    assert threads and threading.main_thread() not in threads, "counted on a job's thread"
    # A recount of the totals meanwhile (flags stored) does not replace the results' count.
    with qtbot.waitSignal(window.jobs.job_finished, timeout=15000, check_params_cb=lambda k: k is JobKind.COUNTS):
        window.counting.refresh()
    assert window.counts_label.text() == expected
    window.search.clear()
    with qtbot.waitSignal(window.search.search_changed, timeout=5000):
        qtbot.keyClicks(window.search, "zzzqqq")
    qtbot.waitUntil(lambda: window.counts_label.text() == "no results for “zzzqqq”", timeout=15000)
    qtbot.keyClick(window.search, Qt.Key.Key_Escape)
    assert window.counts_label.text() == totals, "the search cleared: the totals again"


def test_enter_selects_the_first_result_shows_and_reads_it(qtbot: Any, window: Any) -> None:
    window.list.select_row(8)  # a volcano article, on the results' third row
    search_for(qtbot, window, TOPICS[0])
    assert window.list.current_row() == 2, "the article shown is among the results: it stays"
    assert not window.model.is_read(0)
    qtbot.keyClick(window.search, Qt.Key.Key_Return)
    assert QApplication.focusWidget() is window.list
    assert window.list.current_row() == 0
    assert window.pane.article.title == known_title(0)
    assert window.model.is_read(0), "chosen with Enter: read"


def test_esc_returns_to_the_article_selected_before_the_search(qtbot: Any, window: Any) -> None:
    window.list.select_row(30)
    qtbot.waitUntil(lambda: window.list.verticalScrollBar().value() > 0)
    scroll = window.list.verticalScrollBar().value()
    before = window.model.article_id(30)
    search_for(qtbot, window, TOPICS[3])  # article 30 is on the harvest: not listed
    qtbot.keyClick(window.search, Qt.Key.Key_Escape)
    assert window.model.query.search is None
    assert QApplication.focusWidget() is window.list
    assert window.list.current_row() == 30
    assert window.pane.article.id == before
    assert window.list.verticalScrollBar().value() == scroll, "the list scrolled where it was"


def test_results_without_the_article_shown_show_the_first_result(qtbot: Any, window: Any, known_store: Store) -> None:
    window.list.select_row(5)  # an election article
    search_for(qtbot, window, TOPICS[0])
    assert window.list.current_row() == 0
    assert window.pane.article.title == known_title(0), "the first result, not the article shown before"
    assert not window.model.is_read(0), "the window's pick: not read until the person moves"
    window.search.clear()
    with qtbot.waitSignal(window.search.search_changed, timeout=5000):
        qtbot.keyClicks(window.search, "zzzqqq")
    assert window.model.rowCount() == 0
    assert window.pane.article is None, "no results: the pane shows no article"


def test_the_search_field_takes_phrases_and_fields(qtbot: Any, window: Any) -> None:
    """The search syntax of tests/test_search_syntax.py, typed: a source and a phrase."""
    qtbot.keyClick(window.list, Qt.Key.Key_Slash)
    with qtbot.waitSignal(window.search.search_changed, timeout=5000):
        qtbot.keyClicks(window.search, 'source:beta "about the comet"')
    rows = [window.model.row(r) for r in range(window.model.rowCount())]
    assert rows and {r.source for r in rows} == {"beta"}
    # known_articles: the comet is every fourth body from the fourth, the odd ones are beta's
    assert len(rows) == len([i for i in range(3, 40, 4) if i % 2 == 1])
