"""Read and star flags are stored on the flag writer's thread: the keys never wait for another
writer's lock, writes land in order, and what the store refuses is taken back correctly."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import KNOWN_COUNT, OFFSCREEN_SIZE_HINTS, TOPICS, flags_stored, known_title
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from reader.store import Query, Store, StoreAddress
from reader.ui.article_model import Flag
from reader.ui.flag_writer import FlagWriter
from reader.ui.jobs import JobKind

pytestmark = OFFSCREEN_SIZE_HINTS

NO_MOD = Qt.KeyboardModifier.NoModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def press(
    qtbot: Any, window: Any, key: Qt.Key | str, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
) -> None:
    focused = QApplication.focusWidget()
    assert focused is not None and focused.window() is window, f"focus is outside the window: {focused!r}"
    qtbot.keyClick(focused, key, modifier)


@contextmanager
def write_lock(path: Path) -> Iterator[None]:
    """Another connection holds the store's write lock, as an import storing a batch does (or
    another program, for as long as it likes)."""
    other = sqlite3.connect(path, isolation_level=None, timeout=1)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("COMMIT")
        other.close()


def read_in_store(store: Store, article_id: int) -> bool:
    article = store.get(article_id)
    assert article is not None
    return article.read


def test_j_while_another_writer_holds_the_store_moves_and_shows_read_at_once(
    qtbot: Any, window: Any, known_store: Store
) -> None:
    flags_stored(qtbot, window)
    second = window.model.row(1).id
    with write_lock(known_store.path):
        press(qtbot, window, Qt.Key.Key_J)
        # Still inside the other writer's transaction: the key has been handled all the same.
        assert window.list.current_row() == 1
        assert window.pane.article.title == known_title(1)
        assert window.model.is_read(1), "the list shows the article read at once"
        press(qtbot, window, Qt.Key.Key_S)
        assert window.model.row(1).starred
        assert read_in_store(known_store, second) is False, "not stored yet: the lock is held"
        assert window.flags.any_pending()
    qtbot.waitUntil(lambda: read_in_store(known_store, second), timeout=15000)
    qtbot.waitUntil(lambda: known_store.get(second).starred, timeout=15000)
    # The counts follow once the flags are stored (the read and the star may be stored, and
    # counted, in two batches: wait for both, not for the first count to come).
    qtbot.waitUntil(
        lambda: f"{KNOWN_COUNT - 1} unread" in window.counts_label.text() and "1 starred" in window.counts_label.text(),
        timeout=15000,
    )


def test_read_then_unread_ends_unread_in_the_store(qtbot: Any, window: Any, known_store: Store) -> None:
    flags_stored(qtbot, window)
    second, third = window.model.row(1).id, window.model.row(2).id
    # One after the other as fast as the keys come: stored in that order.
    press(qtbot, window, Qt.Key.Key_J)  # read
    press(qtbot, window, Qt.Key.Key_M)  # unread
    press(qtbot, window, Qt.Key.Key_M)  # read
    press(qtbot, window, Qt.Key.Key_M)  # unread
    assert window.model.is_read(1) is False
    flags_stored(qtbot, window)
    assert read_in_store(known_store, second) is False
    # And all queued behind another writer's lock (one batch): the last of them wins.
    with write_lock(known_store.path):
        press(qtbot, window, Qt.Key.Key_J)  # the third: read
        press(qtbot, window, Qt.Key.Key_M)  # unread
        press(qtbot, window, Qt.Key.Key_K)  # back to the second: read
        press(qtbot, window, Qt.Key.Key_M)  # unread
        press(qtbot, window, Qt.Key.Key_M)  # read
        press(qtbot, window, Qt.Key.Key_M)  # unread
    flags_stored(qtbot, window)
    assert read_in_store(known_store, second) is False
    assert read_in_store(known_store, third) is False
    assert window.model.is_read(1) is False and window.model.is_read(2) is False


def test_a_star_still_queued_when_the_starred_view_opens_is_listed_once_stored(
    qtbot: Any, window: Any, known_store: Store
) -> None:
    qtbot.waitUntil(lambda: window.sidebar.count() > 3)
    flags_stored(qtbot, window)
    window.list.select_row(5)
    starred = window.model.row(5).id
    with write_lock(known_store.path):
        press(qtbot, window, Qt.Key.Key_S)
        window.sidebar.setCurrentRow(2)  # Starred: read from the store, which has no star yet
        assert window.model.query.view == "starred"
        assert window.model.rowCount() == 0
        assert window.model.reload_owed
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=15000)
    assert window.model.row(0).id == starred
    assert not window.model.reload_owed


def test_a_reload_shows_the_flags_still_queued(qtbot: Any, window: Any, known_store: Store) -> None:
    flags_stored(qtbot, window)
    starred, read = window.model.row(4).id, window.model.row(6).id
    with write_lock(known_store.path):
        window.model.toggle_starred(4)  # queued
        window.model.set_read(6, True)  # queued
        window.listing.reload_keeping_place()  # as after an import: read from the store again
        assert known_store.get(starred).starred is False and read_in_store(known_store, read) is False
        assert window.model.row(4).starred is True, "the queued flags show over the store's"
        assert window.model.row(6).read is True
        assert window.list.current_row() == 0
    flags_stored(qtbot, window)
    assert known_store.get(starred).starred is True and read_in_store(known_store, read) is True


def test_a_refused_write_with_a_later_one_queued_leaves_the_later_one_shown(
    qtbot: Any, window: Any, known_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reader.store import StoreBusyError

    flags_stored(qtbot, window)
    window.list.select_row(6)
    flags_stored(qtbot, window)
    article_id = window.model.row(6).id
    real = Store.set_starred
    in_first_write = threading.Event()
    go_on = threading.Event()
    calls = 0

    def first_refused(self: Store, article_id: int, starred: bool = True) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:  # held until the later writes are queued, then refused
            in_first_write.set()
            assert go_on.wait(10)
            raise StoreBusyError("store.sqlite: the store is busy in another program (database is locked)")
        return real(self, article_id, starred)

    monkeypatch.setattr(Store, "set_starred", first_refused)
    press(qtbot, window, Qt.Key.Key_S)  # star: refused, later
    qtbot.waitUntil(in_first_write.is_set)
    press(qtbot, window, Qt.Key.Key_S)  # unstar
    press(qtbot, window, Qt.Key.Key_S)  # star again
    go_on.set()
    flags_stored(qtbot, window)
    assert "busy" in window.statusBar().currentMessage()
    assert known_store.get(article_id).starred is True
    assert window.model.row(6).starred is True, "the refusal of the first did not take back the last"


def test_an_unexpected_error_is_a_message_and_the_writer_goes_on(
    qtbot: Any, window: Any, known_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags_stored(qtbot, window)
    real = Store.set_read
    calls = 0

    def broken_once(self: Store, ids: Any, read: bool = True) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug in the store")
        return real(self, ids, read)

    monkeypatch.setattr(Store, "set_read", broken_once)
    press(qtbot, window, Qt.Key.Key_J)
    qtbot.waitUntil(lambda: "RuntimeError: a bug in the store" in window.statusBar().currentMessage())
    assert window.model.is_read(1) is False, "taken back: the store has it unread"
    press(qtbot, window, Qt.Key.Key_J)
    flags_stored(qtbot, window)
    assert read_in_store(known_store, window.model.row(2).id) is True, "the next write was stored"
    assert read_in_store(known_store, window.model.row(1).id) is False


def test_shift_a_lands_after_the_flags_queued_before_it(qtbot: Any, window: Any, known_store: Store) -> None:
    """An "unread" queued a moment before Shift+A must not land after "all read" and undo it: the
    job waits for the flags queued before it (both wait for the same lock here)."""
    flags_stored(qtbot, window)
    first = window.model.row(0).id
    done = qtbot.waitSignal(
        window.jobs.job_finished, timeout=30000, check_params_cb=lambda k: k is JobKind.MARK_ALL_READ
    )
    with done, write_lock(known_store.path):
        press(qtbot, window, Qt.Key.Key_M)  # unread, queued behind the lock
        press(qtbot, window, "A", SHIFT)
        assert window.jobs.running(JobKind.MARK_ALL_READ)
    flags_stored(qtbot, window)
    assert known_store.count(Query(view="unread")) == 0
    assert read_in_store(known_store, first) is True
    assert window.model.is_read(0)


def test_the_writer_coalesces_what_queues_up_and_stores_it_on_close(
    qtbot: Any, known_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [r.id for r in known_store.iter_rows()][:3]
    writes: list[tuple[list[int], bool]] = []
    real = Store.set_read

    def counted(self: Store, article_ids: Any, read: bool = True) -> int:
        writes.append((list(article_ids), read))
        return real(self, article_ids, read)

    monkeypatch.setattr(Store, "set_read", counted)
    writer = FlagWriter(StoreAddress(known_store.path))
    with write_lock(known_store.path):
        for n in range(50):
            for article_id in ids:
                writer.write(Flag.READ, article_id, n % 2 == 0, was=n % 2 == 1)
        # While the first of them waits for the lock, the rest queue up behind it.
    assert writer.close(timeout=15)
    assert [read_in_store(known_store, i) for i in ids] == [False, False, False]  # the 50th: unread
    assert len(writes) < 10, f"coalesced: {len(writes)} writes for 150 flags"


def test_closing_the_window_stores_the_flags_still_queued(
    qtbot: Any, window: Any, known_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closing waits (bounded) for the writer: a star queued behind another writer's lock is in
    the store once the window has closed."""
    flags_stored(qtbot, window)
    window.list.select_row(3)
    flags_stored(qtbot, window)
    starred = window.model.row(3).id
    other = sqlite3.connect(known_store.path, isolation_level=None, timeout=1)
    other.execute("BEGIN IMMEDIATE")
    try:
        press(qtbot, window, Qt.Key.Key_S)
        real_close = window.flags.close

        def close_once_the_lock_goes(timeout: float = 12.0) -> bool:
            other.execute("COMMIT")  # the other writer is done just as the window closes
            return real_close(timeout)

        monkeypatch.setattr(window.flags, "close", close_once_the_lock_goes)
        assert known_store.get(starred).starred is False
        window.close()
        assert known_store.get(starred).starred is True
    finally:
        if other.in_transaction:
            other.execute("COMMIT")
        other.close()


def test_flags_that_queued_up_take_one_turn_at_the_store(
    qtbot: Any, known_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stars and reads queued behind another writer's lock are stored in one transaction, one
    commit (the window's close waits for one turn at the lock, not one per star)."""
    ids = [r.id for r in known_store.iter_rows()][:4]
    commits: list[str] = []
    real = Store.transaction

    @contextmanager
    def counted(self: Store) -> Iterator[sqlite3.Connection]:
        outer = not self._in_transaction
        with real(self) as conn:
            yield conn
        if outer:
            commits.append("commit")

    monkeypatch.setattr(Store, "transaction", counted)
    writer = FlagWriter(StoreAddress(known_store.path))
    with write_lock(known_store.path):
        writer.write(Flag.STARRED, ids[0], True, was=False)
        writer.write(Flag.STARRED, ids[1], True, was=False)
        writer.write(Flag.READ, ids[2], True, was=False)
        writer.write(Flag.READ, ids[3], True, was=False)
    assert writer.close(timeout=15)
    assert known_store.get(ids[0]).starred and known_store.get(ids[1]).starred
    assert read_in_store(known_store, ids[2]) and read_in_store(known_store, ids[3])
    assert len(commits) <= 2, f"{len(commits)} commits for one queue of flags"  # (the first may go alone)


def test_ctrl_z_after_shift_a_sets_exactly_the_articles_it_marked_unread_again(
    qtbot: Any, window: Any, known_store: Store
) -> None:
    """Shift+A offers an undo; Ctrl+Z restores the unread state of exactly the articles it
    changed (one read before it stays read), and only the last mark-all is undone."""
    press(qtbot, window, Qt.Key.Key_J)  # row 1 read by the person, before Shift+A
    flags_stored(qtbot, window)
    read_before = window.model.row(1).id
    with qtbot.waitSignal(
        window.jobs.job_finished, timeout=30000, check_params_cb=lambda k: k is JobKind.MARK_ALL_READ
    ):
        press(qtbot, window, "A", SHIFT)
    assert window.statusBar().currentMessage() == f"Marked {KNOWN_COUNT - 1} articles read — Ctrl+Z to undo"
    assert known_store.count(Query(view="unread")) == 0
    undone = qtbot.waitSignal(
        window.jobs.job_finished, timeout=30000, check_params_cb=lambda k: k is JobKind.UNDO_MARK_ALL_READ
    )
    with undone:
        press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert known_store.count(Query(view="unread")) == KNOWN_COUNT - 1
    assert read_in_store(known_store, read_before) is True, "read before Shift+A: not its doing"
    shown = {window.model.article_id(r): window.model.is_read(r) for r in range(window.model.rowCount())}
    assert shown == {r.id: r.read for r in known_store.iter_rows(Query())}, "the list shows the store's state"
    assert "unread again" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: f"{KNOWN_COUNT - 1} unread" in window.counts_label.text(), timeout=15000)
    # A second Ctrl+Z undoes nothing more.
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.statusBar().currentMessage() == "Nothing to undo."
    assert not window.jobs.running(JobKind.UNDO_MARK_ALL_READ)
    assert known_store.count(Query(view="unread")) == KNOWN_COUNT - 1


def test_ctrl_z_undoes_only_the_last_mark_all(qtbot: Any, window: Any, known_store: Store) -> None:
    def mark_all_in(topic: str) -> None:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Slash)
        with qtbot.waitSignal(window.search.search_changed, timeout=5000):
            qtbot.keyClicks(window.search, topic)
        window.list.setFocus()  # (not Enter: that would read the first result itself)
        qtbot.waitUntil(window.list.hasFocus)
        with qtbot.waitSignal(
            window.jobs.job_finished, timeout=30000, check_params_cb=lambda k: k is JobKind.MARK_ALL_READ
        ):
            press(qtbot, window, "A", SHIFT)
        press(qtbot, window, Qt.Key.Key_Escape)

    mark_all_in(TOPICS[0])
    mark_all_in(TOPICS[1])
    flags_stored(qtbot, window)
    first = {r.id for r in known_store.iter_rows(Query(search=TOPICS[0]))}
    second = {r.id for r in known_store.iter_rows(Query(search=TOPICS[1]))}
    assert QApplication.focusWidget() is window.list
    with qtbot.waitSignal(
        window.jobs.job_finished, timeout=30000, check_params_cb=lambda k: k is JobKind.UNDO_MARK_ALL_READ
    ):
        press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert all(read_in_store(known_store, i) for i in first), "the earlier mark-all stays"
    assert not any(read_in_store(known_store, i) for i in second), "the last one is undone"
    shown = {window.model.article_id(r): window.model.is_read(r) for r in range(window.model.rowCount())}
    assert shown == {r.id: r.read for r in known_store.iter_rows(Query())}, "the list shows the store's state"


def test_shift_a_while_an_undo_is_still_being_stored_waits_for_it(qtbot: Any, window: Any, known_store: Store) -> None:
    """The undo's "unread" and a new "all read" would race for the store on two connections:
    Shift+A says the undo is still running instead."""
    with qtbot.waitSignal(
        window.jobs.job_finished, timeout=30000, check_params_cb=lambda k: k is JobKind.MARK_ALL_READ
    ):
        press(qtbot, window, "A", SHIFT)
    undone = qtbot.waitSignal(
        window.jobs.job_finished, timeout=30000, check_params_cb=lambda k: k is JobKind.UNDO_MARK_ALL_READ
    )
    with undone, write_lock(known_store.path):
        press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert window.jobs.running(JobKind.UNDO_MARK_ALL_READ)
        press(qtbot, window, "A", SHIFT)
        assert not window.jobs.running(JobKind.MARK_ALL_READ)
        assert window.statusBar().currentMessage() == "Still undoing the last mark all read."
    assert known_store.count(Query(view="unread")) == KNOWN_COUNT
