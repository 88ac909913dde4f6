"""Search as you type: throttled (one query per pause, the latest text wins), through FTS5."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import KNOWN_COUNT, OFFSCREEN_SIZE_HINTS, TOPICS, known_title
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from reader.store import Query, Store
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
