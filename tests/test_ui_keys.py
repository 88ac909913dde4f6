"""Every key of DESIGN.md's table, as real key events sent to the focused widget of the window."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    JS_ROW,
    KNOWN_COUNT,
    LONG_ROW,
    NO_URL_ROW,
    OFFSCREEN_SIZE_HINTS,
    TOPICS,
    all_titles,
    flags_stored,
    known_title,
    known_url,
    wait_job,
    write_seed,
)
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QTableWidget

from reader.store import Query, Store
from reader.ui.actions import Action
from reader.ui.dialogs import Ask
from reader.ui.jobs import JobKind

pytestmark = OFFSCREEN_SIZE_HINTS

NO_MOD = Qt.KeyboardModifier.NoModifier
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def press(qtbot: Any, window: Any, key: Qt.Key | str, modifier: Qt.KeyboardModifier = NO_MOD) -> None:
    """A key press and release on whatever widget has the keyboard focus, as a person would type it."""
    focused = QApplication.focusWidget()
    assert focused is not None and focused.window() is window, f"focus is outside the window: {focused!r}"
    qtbot.keyClick(focused, key, modifier)


def row(window: Any) -> int:
    return window.list.current_row()


def shown_title(window: Any) -> str | None:
    article = window.pane.article
    return article.title if article is not None else None


def message(window: Any) -> str:
    return window.statusBar().currentMessage()


# --- moving -------------------------------------------------------------------------------------


def test_start_state(window: Any) -> None:
    assert QApplication.focusWidget() is window.list
    assert row(window) == 0
    assert shown_title(window) == known_title(0)


def test_nothing_is_read_at_start_until_the_person_moves(qtbot: Any, window: Any, known_store: Store) -> None:
    first = window.list.current_article().id
    assert not window.model.is_read(0), "shown by the window itself, not chosen: still unread"
    window.listing.reload_keeping_place()  # as after a refresh: the shown article re-selected, not chosen
    assert row(window) == 0
    assert not window.model.is_read(0)
    flags_stored(qtbot, window)
    assert known_store.get(first).read is False
    press(qtbot, window, Qt.Key.Key_J)
    assert window.model.is_read(1), "moved to: read"
    assert not window.model.is_read(0), "the start article was never chosen"
    press(qtbot, window, Qt.Key.Key_K)
    assert window.model.is_read(0), "chosen now: read"
    flags_stored(qtbot, window)
    assert known_store.get(first).read is True


def test_o_marks_the_article_read(qtbot: Any, window: Any, opened_urls: list[str], known_store: Store) -> None:
    first = window.list.current_article().id
    assert not window.model.is_read(0)
    press(qtbot, window, Qt.Key.Key_O)
    assert opened_urls == [known_url(0)]
    assert window.model.is_read(0), "opening the original is reading it"
    flags_stored(qtbot, window)
    assert known_store.get(first).read is True


@pytest.mark.parametrize("key", [Qt.Key.Key_J, Qt.Key.Key_Down])
def test_next_article(qtbot: Any, window: Any, known_store: Store, key: Qt.Key) -> None:
    press(qtbot, window, key)
    assert row(window) == 1
    assert shown_title(window) == known_title(1)
    press(qtbot, window, key)
    assert row(window) == 2
    assert shown_title(window) == known_title(2)
    assert window.model.is_read(2), "shown read at once"
    flags_stored(qtbot, window)
    assert known_store.get(window.list.current_article().id).read is True


@pytest.mark.parametrize("key", [Qt.Key.Key_K, Qt.Key.Key_Up])
def test_previous_article(qtbot: Any, window: Any, key: Qt.Key) -> None:
    window.list.select_row(5)
    press(qtbot, window, key)
    assert row(window) == 4
    assert shown_title(window) == known_title(4)
    press(qtbot, window, key)
    assert row(window) == 3
    window.list.select_row(0)
    press(qtbot, window, key)
    assert row(window) == 0, "k on the first article stays there"


def test_next_and_previous_unread(qtbot: Any, window: Any, known_store: Store) -> None:
    model = window.model
    model.set_read(1, True)
    model.set_read(2, True)
    press(qtbot, window, Qt.Key.Key_N)
    assert row(window) == 3, "n skips the read articles 1 and 2"
    assert shown_title(window) == known_title(3)
    model.set_read(1, False)
    press(qtbot, window, Qt.Key.Key_P)
    assert row(window) == 1, "p skips the read article 2 back to the unread 1"
    flags_stored(qtbot, window)
    assert known_store.get(model.row(1).id).read is True, "going there marked it read"


def test_next_unread_at_the_end_says_so(qtbot: Any, window: Any, known_store: Store) -> None:
    known_store.mark_all_read()
    window.model.reload()
    window.list.select_row(KNOWN_COUNT - 3)
    press(qtbot, window, Qt.Key.Key_N)
    assert row(window) == KNOWN_COUNT - 3
    assert "No more unread" in message(window)


# --- scrolling --------------------------------------------------------------------------------


def test_space_scrolls_then_goes_to_next_unread(qtbot: Any, window: Any) -> None:
    assert row(window) == LONG_ROW
    bar = window.pane.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 3 * bar.pageStep())
    window.model.set_read(LONG_ROW + 1, True)  # so "next unread" is not just "next"
    positions = [bar.value()]
    ends = [bar.maximum()]  # the scroll range each position belonged to (the long article's)
    for _ in range(200):
        press(qtbot, window, Qt.Key.Key_Space)
        if row(window) != LONG_ROW:
            break
        positions.append(bar.value())
        ends.append(bar.maximum())
    assert positions[0] == 0
    assert len(positions) > 3, "Space scrolled the long article page by page"
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert positions[-1] == ends[-1], "Space left the article only once its end was on screen"
    assert row(window) == LONG_ROW + 2, "at the end, Space went to the next unread"
    assert shown_title(window) == known_title(LONG_ROW + 2)


def test_shift_space_scrolls_up(qtbot: Any, window: Any) -> None:
    bar = window.pane.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 3 * bar.pageStep())
    press(qtbot, window, Qt.Key.Key_Space)
    press(qtbot, window, Qt.Key.Key_Space)
    down = bar.value()
    assert down > 0
    press(qtbot, window, Qt.Key.Key_Space, SHIFT)
    assert 0 < bar.value() < down
    press(qtbot, window, Qt.Key.Key_Space, SHIFT)
    assert bar.value() == 0
    press(qtbot, window, Qt.Key.Key_Space, SHIFT)
    assert bar.value() == 0 and row(window) == LONG_ROW, "Shift+Space at the top stays put"


# --- opening originals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", [Qt.Key.Key_O, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_V], ids=["o", "Return", "Enter", "v"]
)
def test_open_original(qtbot: Any, window: Any, opened_urls: list[str], key: Qt.Key) -> None:
    press(qtbot, window, key)
    assert opened_urls == [known_url(0)]
    window.list.select_row(7)
    press(qtbot, window, key)
    assert opened_urls == [known_url(0), known_url(7)]
    assert "Opened" in message(window)


def test_j_j_k_enter_opens_the_second(qtbot: Any, window: Any, opened_urls: list[str]) -> None:
    window.list.select_row(4)
    for key in (Qt.Key.Key_J, Qt.Key.Key_J, Qt.Key.Key_K, Qt.Key.Key_Return):
        press(qtbot, window, key)
    assert opened_urls == [known_url(5)]


def test_javascript_url_is_refused(qtbot: Any, window: Any, opened_urls: list[str]) -> None:
    window.list.select_row(JS_ROW)
    for key in (Qt.Key.Key_O, Qt.Key.Key_Return, Qt.Key.Key_V):
        press(qtbot, window, key)
        assert opened_urls == []
        assert "javascript" in message(window).lower()
        assert "not opening" in message(window).lower()


def test_article_without_url(qtbot: Any, window: Any, opened_urls: list[str]) -> None:
    window.list.select_row(NO_URL_ROW)
    press(qtbot, window, Qt.Key.Key_O)
    assert opened_urls == []
    assert "no link" in message(window)


# --- read and star state --------------------------------------------------------------------------


def test_m_toggles_read(qtbot: Any, window: Any, known_store: Store) -> None:
    article_id = window.list.current_article().id
    flags_stored(qtbot, window)
    assert known_store.get(article_id).read is False, "shown at start, not chosen: unread"
    press(qtbot, window, Qt.Key.Key_M)
    assert window.model.row(0).read is True
    flags_stored(qtbot, window)
    assert known_store.get(article_id).read is True
    press(qtbot, window, Qt.Key.Key_M)
    assert window.model.row(0).read is False
    flags_stored(qtbot, window)
    assert known_store.get(article_id).read is False


def test_s_toggles_star(qtbot: Any, window: Any, known_store: Store) -> None:
    window.list.select_row(6)
    article_id = window.list.current_article().id
    press(qtbot, window, Qt.Key.Key_S)
    assert window.model.row(6).starred is True
    flags_stored(qtbot, window)
    assert known_store.get(article_id).starred is True
    press(qtbot, window, Qt.Key.Key_S)
    assert window.model.row(6).starred is False
    flags_stored(qtbot, window)
    assert known_store.get(article_id).starred is False


def test_shift_a_marks_all_listed_read(qtbot: Any, window: Any, known_store: Store) -> None:
    flags_stored(qtbot, window)
    assert known_store.count(Query(view="unread")) == KNOWN_COUNT, "nothing read at start"
    with wait_job(qtbot, window, JobKind.MARK_ALL_READ):
        press(qtbot, window, "A", SHIFT)
    assert known_store.count(Query(view="unread")) == 0
    assert all(window.model.row(r).read for r in range(window.model.rowCount()))
    assert "Marked" in message(window)


def test_shift_a_marks_only_the_listed_articles(qtbot: Any, window: Any, known_store: Store) -> None:
    topic = TOPICS[2]
    with qtbot.waitSignal(window.search.search_changed, timeout=5000):
        press(qtbot, window, Qt.Key.Key_Slash)
        qtbot.keyClicks(window.search, topic)
    assert window.model.query.search == topic
    window.list.setFocus()
    with wait_job(qtbot, window, JobKind.MARK_ALL_READ):
        press(qtbot, window, "A", SHIFT)
    flags_stored(qtbot, window)
    listed = {r.id for r in known_store.iter_rows(Query(search=topic))}
    assert len(listed) == KNOWN_COUNT // len(TOPICS)
    assert all(known_store.get(i).read for i in listed)
    unread = {r.id for r in known_store.iter_rows(Query(view="unread"))}
    assert len(unread) == KNOWN_COUNT - len(listed)
    assert not unread & listed


# --- search ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "modifier"), [(Qt.Key.Key_Slash, NO_MOD), (Qt.Key.Key_F, CTRL)], ids=["/", "Ctrl+F"])
def test_search_keys_focus_the_field_and_esc_returns(
    qtbot: Any, window: Any, key: Qt.Key, modifier: Qt.KeyboardModifier
) -> None:
    press(qtbot, window, key, modifier)
    assert QApplication.focusWidget() is window.search
    assert window.search.text() == "", "the key itself is not typed into the field"
    with qtbot.waitSignal(window.search.search_changed, timeout=5000):
        qtbot.keyClicks(window.search, TOPICS[3])
    assert window.model.rowCount() == KNOWN_COUNT // len(TOPICS)
    press(qtbot, window, Qt.Key.Key_Escape)
    assert window.search.text() == ""
    assert QApplication.focusWidget() is window.list
    assert window.model.query.search is None
    assert window.model.rowCount() == KNOWN_COUNT


def test_esc_with_the_list_focused_clears_an_active_search(qtbot: Any, window: Any) -> None:
    press(qtbot, window, Qt.Key.Key_Slash)
    qtbot.keyClicks(window.search, TOPICS[2])
    press(qtbot, window, Qt.Key.Key_Return)
    assert window.model.query.search == TOPICS[2]
    assert QApplication.focusWidget() is window.list
    press(qtbot, window, Qt.Key.Key_Escape)
    assert window.search.text() == ""
    assert window.model.query.search is None
    assert window.model.rowCount() == KNOWN_COUNT
    assert QApplication.focusWidget() is window.list


def test_arrows_in_the_sidebar_move_the_sidebar_not_the_articles(qtbot: Any, window: Any) -> None:
    qtbot.waitUntil(lambda: window.sidebar.count() > 3)  # filled by the counts job after the first paint
    window.sidebar.setFocus()
    window.sidebar.setCurrentRow(0)
    press(qtbot, window, Qt.Key.Key_Down)
    assert window.sidebar.currentRow() == 1
    assert window.model.query.view == "unread", "the sidebar's Down picked the Unread view"


def test_letters_in_the_search_field_are_typing(
    qtbot: Any, window: Any, opened_urls: list[str], known_store: Store
) -> None:
    window.list.select_row(1)
    first_id = window.model.row(1).id
    press(qtbot, window, Qt.Key.Key_Slash)
    assert QApplication.focusWidget() is window.search
    typed = ""
    for key, char in [
        (Qt.Key.Key_J, "j"),
        (Qt.Key.Key_O, "o"),
        (Qt.Key.Key_K, "k"),
        (Qt.Key.Key_M, "m"),
        (Qt.Key.Key_S, "s"),
        (Qt.Key.Key_N, "n"),
        (Qt.Key.Key_V, "v"),
        (Qt.Key.Key_Space, " "),
        (Qt.Key.Key_Question, "?"),
        (Qt.Key.Key_Slash, "/"),
    ]:
        press(qtbot, window, key)
        typed += char
        assert window.search.text() == typed
        assert row(window) == 1, f"{char!r} moved the list"
        assert QApplication.focusWidget() is window.search
    assert opened_urls == [], "o opened nothing"
    assert window.keys_help.dialog is None, "? showed no dialog"
    flags_stored(qtbot, window)
    assert known_store.get(first_id).read is True, "m did not toggle read"
    assert known_store.get(first_id).starred is False, "s did not star"
    # Shift+A is typing too, not "mark all read".
    press(qtbot, window, "A", SHIFT)
    assert window.search.text() == typed + "A"
    assert all(j.kind is not JobKind.MARK_ALL_READ for j in window.jobs.jobs)
    flags_stored(qtbot, window)
    assert known_store.count(Query(view="unread")) == KNOWN_COUNT - 1, "only the article selected"


def test_enter_in_the_search_field_searches_at_once_opens_nothing_and_goes_to_the_list(
    qtbot: Any, window: Any, opened_urls: list[str]
) -> None:
    """Return is not typing, but it is the search field's: it runs the search now (no throttle wait)
    and hands the keyboard to the results, and never opens the current article."""
    press(qtbot, window, Qt.Key.Key_Slash)
    qtbot.keyClicks(window.search, TOPICS[1])
    with qtbot.assertNotEmitted(window.search.search_changed, wait=0):
        pass  # still inside the pause: nothing searched yet
    press(qtbot, window, Qt.Key.Key_Return)
    assert window.model.query.search == TOPICS[1], "Enter searched at once"
    assert opened_urls == []
    assert QApplication.focusWidget() is window.list
    press(qtbot, window, Qt.Key.Key_J)
    assert TOPICS[1] in window.pane.toPlainText().lower() or window.model.rowCount() > 0


def test_typing_j_in_search_field_types_j(qtbot: Any, window: Any) -> None:
    """The issue's own words: typing ``j`` in the search field types a ``j`` and does not move the list."""
    press(qtbot, window, Qt.Key.Key_Slash)
    with qtbot.waitSignal(window.search.search_changed, timeout=5000):
        press(qtbot, window, Qt.Key.Key_J)
        assert window.search.text() == "j"
        assert row(window) == 0
    assert window.model.query.search is None, "one letter does not search yet (see test_ui_search)"


# --- the rest of the table ------------------------------------------------------------------------


def test_question_mark_shows_every_key(qtbot: Any, window: Any) -> None:
    press(qtbot, window, Qt.Key.Key_Question)
    dialog = window.keys_help.dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    tables = dialog.findChildren(QTableWidget)
    rows = [(t.item(r, 0).text(), t.item(r, 1).text()) for t in tables for r in range(t.rowCount())]
    specs = window.action_registry.specs
    assert sorted(text for _, text in rows) == sorted(spec.text for spec in specs), "every action, once"
    # Grouped by menu, as the menu bar is.
    article = dialog.findChild(QTableWidget, "keysTableArticle")
    assert article.item(0, 1).text() == "Next article"
    assert [article.item(r, 1).text() for r in range(article.rowCount())] == [
        spec.text for spec in specs if spec.menu == "Article"
    ]
    keys = dict((text, key) for key, text in rows)
    assert "J" in keys["Next article"] and "Down" in keys["Next article"]
    assert "Shift+A" in keys["Mark all listed read"]
    assert "Ctrl+Z" in keys["Undo the last mark all read"]
    assert "?" in keys["Show every key"]
    assert any(key == "Esc" for key, _ in rows)
    dialog.close()


def test_the_readmes_key_table_names_every_key_of_the_registry() -> None:
    """The README is where a person reads the keys before starting: none may be missing there
    (Ctrl+Z, the undo of Shift+A, was only a clause of another row)."""
    import re
    from pathlib import Path

    from reader.ui.actions import ACTIONS

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = [line for line in readme.splitlines() if line.startswith("| `")]
    listed = {key.lower() for line in table for key in re.findall(r"`([^`]+)`", line.split(" | ")[0])}
    missing = [spec.keys[0] for spec in ACTIONS if spec.keys and spec.keys[0].lower() not in listed]
    assert missing == [], f"keys missing from README.md's table: {missing}"


def test_question_mark_shows_every_key_without_scrolling(qtbot: Any, window: Any) -> None:
    """At the window's default size (1280x800) the ``?`` dialog shows every row at once: no table
    has a scroll bar, each is as tall as its rows, and the dialog fits inside the window."""
    assert (window.width(), window.height()) == (1280, 800)
    press(qtbot, window, Qt.Key.Key_Question)
    dialog = window.keys_help.dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.width() <= window.width() and dialog.height() <= window.height(), dialog.size()
    tables = dialog.findChildren(QTableWidget)
    assert sum(t.rowCount() for t in tables) == len(window.action_registry.specs)
    for table in tables:
        assert not table.verticalScrollBar().isVisible(), table.objectName()
        assert not table.horizontalScrollBar().isVisible(), table.objectName()
        assert table.verticalScrollBar().maximum() == 0, f"{table.objectName()} would scroll"
        viewport = table.viewport().rect()
        for r in range(table.rowCount()):
            top = table.rowViewportPosition(r)
            assert top >= 0 and top + table.rowHeight(r) <= viewport.height(), (table.objectName(), r)
            for c in range(2):
                cell = table.visualRect(table.model().index(r, c))
                assert viewport.contains(cell), (table.objectName(), r, c, cell, viewport)
            text = table.item(r, 1).text()
            assert table.fontMetrics().horizontalAdvance(text) <= table.columnWidth(1), f"{text!r} is cut off"
    dialog.close()


def test_text_size_keys(qtbot: Any, window: Any) -> None:
    pane = window.pane
    base = pane.document().defaultFont().pointSizeF()
    press(qtbot, window, Qt.Key.Key_Plus, CTRL)
    assert pane.zoom == 1
    assert pane.document().defaultFont().pointSizeF() > base
    press(qtbot, window, Qt.Key.Key_Equal, CTRL)
    assert pane.zoom == 2
    press(qtbot, window, Qt.Key.Key_Minus, CTRL)
    press(qtbot, window, Qt.Key.Key_Minus, CTRL)
    press(qtbot, window, Qt.Key.Key_Minus, CTRL)
    assert pane.zoom == -1
    assert pane.document().defaultFont().pointSizeF() < base
    assert window.settings.text_zoom == -1
    press(qtbot, window, Qt.Key.Key_0, CTRL)
    assert pane.zoom == 0
    assert pane.document().defaultFont().pointSizeF() == base
    assert window.settings.text_zoom == 0


def test_text_size_keys_say_the_size(qtbot: Any, window: Any) -> None:
    """Each step shows the size it arrived at in the status bar, while the keys are being pressed."""
    base = window.pane.document().defaultFont().pointSizeF()
    press(qtbot, window, Qt.Key.Key_Plus, CTRL)
    press(qtbot, window, Qt.Key.Key_Plus, CTRL)
    assert window.statusBar().currentMessage() == f"Text size {round((base + 2) / base * 100)}%"
    press(qtbot, window, Qt.Key.Key_Minus, CTRL)
    assert window.statusBar().currentMessage() == f"Text size {round((base + 1) / base * 100)}%"
    press(qtbot, window, Qt.Key.Key_0, CTRL)
    assert window.statusBar().currentMessage() == "Text size 100%"


def test_ctrl_o_imports_files(
    qtbot: Any, window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, known_store: Store
) -> None:
    seed = write_seed(tmp_path / "fresh.txt", "Freshly imported with Ctrl O", "https://example.org/fresh")
    asked: list[object] = []

    def files(cls: type, parent: object) -> list[str]:
        asked.append(parent)
        return [str(seed)]

    monkeypatch.setattr(Ask, "files", classmethod(files))
    window.list.select_row(3)
    with wait_job(qtbot, window, JobKind.IMPORT):
        press(qtbot, window, Qt.Key.Key_O, CTRL)
    assert asked == [window]
    assert known_store.count() == KNOWN_COUNT + 1
    assert window.model.row(0).title == "Freshly imported with Ctrl O", "newest first, so at the top"
    assert window.list.current_article().title == known_title(3), "the article being read stays selected"
    assert "1 new" in message(window)


def test_ctrl_shift_o_imports_a_folder(
    qtbot: Any, window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "incoming"
    (folder / "deeper").mkdir(parents=True)
    write_seed(folder / "a.txt", "Folder record A", "https://example.org/a")
    write_seed(folder / "deeper" / "b.txt", "Folder record B", "https://example.org/b")
    monkeypatch.setattr(Ask, "folder", classmethod(lambda cls, parent: str(folder)))
    with wait_job(qtbot, window, JobKind.IMPORT):
        press(qtbot, window, Qt.Key.Key_O, CTRL | SHIFT)
    titles = all_titles(window)
    assert {"Folder record A", "Folder record B"} <= set(titles)
    assert len(titles) == KNOWN_COUNT + 2


RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>Local Test Feed</title><link>https://feed.example.com/</link><description>test</description>
<item><title>Feed item one</title><link>https://feed.example.com/one</link><guid>one</guid>
<pubDate>Sat, 02 Mar 2024 10:00:00 GMT</pubDate><description>The first item.</description></item>
<item><title>Feed item two</title><link>https://feed.example.com/two</link><guid>two</guid>
<pubDate>Sat, 02 Mar 2024 09:00:00 GMT</pubDate><description>The second item.</description></item>
</channel></rss>
"""


def test_ctrl_n_adds_a_feed(
    qtbot: Any, window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, known_store: Store
) -> None:
    feed_file = tmp_path / "local.rss"
    feed_file.write_text(RSS, encoding="utf-8")
    monkeypatch.setattr(Ask, "feed_url", classmethod(lambda cls, parent: str(feed_file)))
    with wait_job(qtbot, window, JobKind.IMPORT):
        press(qtbot, window, Qt.Key.Key_N, CTRL)
    subscribed = known_store.feeds()
    assert len(subscribed) == 1
    assert subscribed[0].title == "Local Test Feed"
    titles = all_titles(window)
    assert titles[:2] == ["Feed item one", "Feed item two"]
    assert window.importing.problems_dialog is None, message(window)


@pytest.mark.parametrize(("key", "name"), [(Qt.Key.Key_R, "r"), (Qt.Key.Key_F5, "F5")])
def test_refresh_without_feeds(qtbot: Any, window: Any, key: Qt.Key, name: str) -> None:
    with wait_job(qtbot, window, JobKind.REFRESH):
        press(qtbot, window, key)
    assert "No feeds" in message(window)


def test_ctrl_q_closes_and_quits(qtbot: Any, window: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    quits: list[bool] = []
    monkeypatch.setattr(QApplication, "quit", staticmethod(lambda: quits.append(True)))
    press(qtbot, window, Qt.Key.Key_Q, CTRL)
    assert quits == [True]
    assert not window.isVisible()
    assert window.settings.last_article == window.model.row(0).id


def test_every_key_of_the_registry_runs_the_handler_bound_to_it(qtbot: Any) -> None:
    """Every shortcut of every action in the registry itself (not a list kept here), pressed as a
    person would: it runs the handler bound to that action, once, and no other."""
    from PySide6.QtGui import QKeySequence
    from PySide6.QtWidgets import QWidget

    from reader.ui.actions import ACTIONS, ActionRegistry

    ran: list[Action] = []
    host = QWidget()
    qtbot.addWidget(host)
    registry = ActionRegistry(host, {spec.action: functools.partial(ran.append, spec.action) for spec in ACTIONS})
    host.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    host.show()
    qtbot.waitExposed(host)
    host.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is host)
    host.setFocus()
    pressed = []
    for spec in registry:
        for key in spec.keys:
            combo = QKeySequence(key)[0]  # type: ignore[index]
            ran.clear()
            qtbot.keyClick(host, combo.key(), combo.keyboardModifiers())
            assert ran == [spec.action], f"{key} ran {ran}, not {spec.action}"
            pressed.append(key)
    assert len(pressed) == sum(len(spec.keys) for spec in ACTIONS)
    assert {"J", "K", "N", "P", "O", "M", "S", "Shift+A", "/", "?", "Ctrl+Q"} <= set(pressed)
    assert [spec.action for spec in registry] == list(Action), "every Action is in the table, once"


def test_the_registry_takes_every_action_bound_once(qtbot: Any) -> None:
    from PySide6.QtWidgets import QWidget

    from reader.ui.actions import ActionRegistry

    host = QWidget()
    qtbot.addWidget(host)
    everything = {action: (lambda: None) for action in Action}
    ActionRegistry(host, everything)
    missing = dict(everything)
    del missing[Action.TOGGLE_STARRED]
    with pytest.raises(ValueError, match="TOGGLE_STARRED"):
        ActionRegistry(host, missing)


def test_the_window_binds_each_action_to_a_method_of_the_object_that_owns_it(window: Any) -> None:
    owners = {
        Action.NEXT_ARTICLE: window.reading,
        Action.TOGGLE_READ: window.reading,
        Action.OPEN_ORIGINAL: window.reading,
        Action.MARK_ALL_READ: window.marking,
        Action.FOCUS_SEARCH: window.searching,
        Action.REFRESH_FEEDS: window.refreshing,
        Action.IMPORT_FILES: window.importing,
        Action.SHOW_KEYS: window.keys_help,
        Action.ZOOM_IN: window.text_size,
        Action.TOGGLE_REMOTE_IMAGES: window.remote_images,
    }
    for action in Action:
        handler = window.action_registry.handler(action)
        assert callable(handler) and getattr(handler, "__self__", None) is not None, f"{action}: a bound method"
        if action in owners:
            assert handler.__self__ is owners[action], action
