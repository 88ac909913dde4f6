"""Read and star flags, stored on a thread of their own, in order.

Selecting an article marks it read. A background import or feed refresh holds the store's write
lock while it stores a batch, and another program may hold it for longer (the store waits up to
10 s for it): a flag written on the GUI thread would freeze the window meanwhile. So the list shows
the new flag at once (:class:`reader.ui.article_model.ArticleListModel` with this as its
:class:`~reader.ui.article_model.FlagSink`), and this writer stores it on a long-lived thread that
owns its own :class:`Store` connection.

What keeps that safe (an earlier writer thread was reverted for each of these):

- Nothing on the GUI thread waits for the writer, except closing the window (bounded). A view
  change or a reload does not wait for pending flags: the model shows them over the rows it reads
  back (:meth:`FlagWriter.pending`), and a list whose rows a pending flag chooses (the Starred
  view while a star is queued) is reloaded once the flags are stored (``idle``).
- Any exception in a write, not only a :class:`StoreError`, is reported and the thread goes on;
  a thread that is gone anyway is started again at the next write.
- Which state a refused write leaves on screen is decided per article and flag: only when no
  later write of that flag for that article is queued (that one decides), and then the state the
  store holds, read back on the writer's connection (else the last state known to be stored).
- Writes are stored in the order they were made; several queued for one article and flag are
  coalesced into the last one (flags are set, not toggled, in the store, so the last one wins).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from typing import NamedTuple

from PySide6.QtCore import QObject, Signal

from reader.store import StoreAddress, StoreError, StoreProtocol
from reader.ui.article_model import Flag

#: How long closing the window waits for the queued flags to be stored: one write that waits
#: out the store's busy timeout (10 s), and a little more.
CLOSE_WAIT_S = 12.0

_Key = tuple[Flag, int]  # (flag, article id)

#: Per flag: article id -> the state to show again (writes the store refused).
Corrections = Mapping[Flag, Mapping[int, bool]]


class _Write(NamedTuple):
    seq: int
    flag: Flag
    article_id: int
    value: bool


# Plain classes, not dataclasses: these are defined before the window first paints (a dataclass
# costs about 0.3 ms to define).
class _Pending:
    __slots__ = ("seq", "stored", "value")

    def __init__(self, seq: int, value: bool, stored: bool) -> None:
        self.seq = seq  # the latest write queued for this article and flag
        self.value = value  # what that write stores
        self.stored = stored  # what the store holds as far as this window knows


class _Outcome:
    """What a batch of writes came to (built on the writer's thread, read on the GUI thread)."""

    __slots__ = ("errors", "last_seq", "refused", "stored", "written")

    def __init__(self, last_seq: int) -> None:
        self.last_seq = last_seq
        self.written: dict[_Key, tuple[int, bool]] = {}  # key -> (seq, value) stored
        self.refused: dict[_Key, int] = {}  # key -> seq of the write refused
        self.stored: dict[_Key, bool] = {}  # the store's value for refused keys, read back
        self.errors: list[str] = []


class FlagWriter(QObject):
    """The window's :class:`~reader.ui.article_model.FlagSink`: queues flags for the writer thread.

    Signals (on the GUI thread):
        stored(): some flags were stored (the sidebar's counts may have changed).
        failed(str, object): the store refused some flags: the message for a person, and the
            :data:`Corrections` (the state to show again for each refused article).
        idle(): nothing is pending any more.
    """

    stored = Signal()
    failed = Signal(str, object)
    idle = Signal()
    _settled = Signal(object)  # an _Outcome, from the writer thread (queued to the GUI thread)

    def __init__(self, db: StoreAddress, parent: QObject | None = None, *, direct: StoreProtocol | None = None) -> None:
        """``direct``: write on this store on the calling thread instead (an in-memory store has
        no second connection to write on, and no other writer to wait for)."""
        super().__init__(parent)
        self._db = db
        self._direct = direct
        self._seq = 0
        self._pending: dict[_Key, _Pending] = {}
        # Writes for the thread, in order; None ends it. Guarded by _queued.
        self._queue: deque[_Write | None] = deque()
        self._queued = threading.Condition()
        self._thread: threading.Thread | None = None
        # Shared with the writer thread: the last write it finished with (stored or refused).
        self._done = threading.Condition()
        self._done_seq = 0
        # Set when closing gave up waiting: the thread, still stuck in a write, reports nothing more
        # (the window may be gone by then) and no new thread is started.
        self._abandoned = False
        self._settled.connect(self._on_settled)

    # --- FlagSink (GUI thread) ---

    def write(self, flag: Flag, article_id: int, value: bool, *, was: bool) -> None:
        value, was = bool(value), bool(was)
        self._seq += 1
        key = (flag, article_id)
        pending = self._pending.get(key)
        if pending is None:
            self._pending[key] = _Pending(self._seq, value, was)
        else:
            pending.seq, pending.value = self._seq, value
        write = _Write(self._seq, flag, article_id, value)
        if self._direct is not None or self._abandoned:
            if self._direct is not None:
                outcome = _store_batch(self._direct, [write])
            else:
                outcome = _refused_all([write], _GAVE_UP)
            self._finished(outcome)
            self._on_settled(outcome)
            return
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="reader-flag-writer", daemon=True)
            self._thread.start()
        self._put(write)

    def pending(self, flag: Flag, article_id: int) -> bool | None:
        found = self._pending.get((flag, article_id))
        return None if found is None else found.value

    def any_pending(self, flag: Flag | None = None) -> bool:
        if flag is None:
            return bool(self._pending)
        return any(key[0] is flag for key in self._pending)

    @property
    def last_seq(self) -> int:
        """The number of the last write queued (for :meth:`wait_stored`)."""
        return self._seq

    # --- waiting (any thread but the writer's) ---

    def wait_stored(self, seq: int, timeout: float = 30.0) -> bool:
        """Wait until the writer is done with every write up to ``seq`` (stored or refused), as a
        job must before it writes flags of its own (mark all read): False on timeout. Never
        called on the GUI thread."""
        with self._done:
            return self._done.wait_for(lambda: self._done_seq >= seq, timeout)

    def close(self, timeout: float = CLOSE_WAIT_S) -> bool:
        """Store what is queued and end the thread (the window is closing); wait at most
        ``timeout`` seconds. False when the writer was still busy then (its writes may be lost)."""
        thread, self._thread = self._thread, None
        if thread is None or not thread.is_alive():
            return True
        self._put(None)
        thread.join(timeout)
        if thread.is_alive():
            self._abandoned = True
            return False
        return True

    # --- the writer thread ---

    def _run(self) -> None:
        store: StoreProtocol | None = None
        try:
            while True:
                batch, stop = self._next_batch()
                if batch:
                    try:
                        if store is None:
                            store = self._db.open(create=False, cache_mb=1)
                        outcome = _store_batch(store, batch)
                    except Exception as exc:  # opening the store failed, or a bug: say so, go on
                        outcome = _refused_all(batch, _describe(exc))
                    self._finished(outcome)
                    if not self._abandoned:
                        try:
                            self._settled.emit(outcome)
                        except RuntimeError:  # the window and this object are gone
                            return
                if stop:
                    return
        finally:
            if store is not None:
                store.close()

    def _finished(self, outcome: _Outcome) -> None:
        with self._done:
            # (max: after closing gave up, a thread still stuck may finish an older batch last)
            self._done_seq = max(self._done_seq, outcome.last_seq)
            self._done.notify_all()

    def _put(self, item: _Write | None) -> None:
        with self._queued:
            self._queue.append(item)
            self._queued.notify()

    def _next_batch(self) -> tuple[list[_Write], bool]:
        """The writes queued now (waiting for the first), and whether the thread is to end."""
        batch: list[_Write] = []
        with self._queued:
            while not self._queue:
                self._queued.wait()
            while self._queue:
                item = self._queue.popleft()
                if item is None:
                    return batch, True
                batch.append(item)
        return batch, False

    # --- results (GUI thread) ---

    def _on_settled(self, outcome: _Outcome) -> None:
        for key, (seq, value) in outcome.written.items():
            pending = self._pending.get(key)
            if pending is None:
                continue
            if pending.seq == seq:
                del self._pending[key]
            else:
                pending.stored = value  # a later write is queued: it decides what is shown
        corrections: dict[Flag, dict[int, bool]] = {}
        for key, seq in outcome.refused.items():
            pending = self._pending.get(key)
            if pending is None or pending.seq != seq:
                continue  # a later write for this article is queued: it decides
            del self._pending[key]
            flag, article_id = key
            corrections.setdefault(flag, {})[article_id] = outcome.stored.get(key, pending.stored)
        if outcome.written:
            self.stored.emit()
        if outcome.errors:
            self.failed.emit(outcome.errors[0], corrections)
        if not self._pending:
            self.idle.emit()


_GAVE_UP = "the store did not take the last read and star changes in time; they were not written"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, StoreError):
        return str(exc)
    import traceback  # only for a bug: not imported before the first paint

    traceback.print_exc()  # a bug: the details go to stderr, the person gets one line
    return f"read and star changes were not written ({type(exc).__name__}: {exc})"


def _refused_all(batch: list[_Write], message: str) -> _Outcome:
    outcome = _Outcome(batch[-1].seq)
    outcome.refused.update((key, w.seq) for key, w in _last_writes(batch).items())
    outcome.errors.append(message)
    return outcome


def _last_writes(batch: list[_Write]) -> dict[_Key, _Write]:
    """The last write of each article and flag in ``batch``: the state it leaves in the store."""
    last: dict[_Key, _Write] = {}
    for write in batch:
        last[(write.flag, write.article_id)] = write
    return last


def _store_batch(store: StoreProtocol, batch: list[_Write]) -> _Outcome:
    """Store ``batch`` on ``store`` in one transaction (one ``set_read`` per value, one
    ``set_starred`` per article, one commit): however many flags queued up behind another
    writer's lock, they take one turn at it. A batch the store refuses is read back, so the list
    can show what the store holds."""
    outcome = _Outcome(batch[-1].seq)
    last = list(_last_writes(batch).values())
    groups = [[w for w in last if w.flag is Flag.READ and w.value is value] for value in (True, False)]
    groups += [[w] for w in last if w.flag is Flag.STARRED]
    try:
        with store.transaction():
            for writes in filter(None, groups):
                first = writes[0]
                if first.flag is Flag.READ:
                    store.set_read([w.article_id for w in writes], first.value)
                else:
                    store.set_starred(first.article_id, first.value)
    except Exception as exc:  # all of it rolled back
        outcome.errors.append(_describe(exc))
        for w in last:
            outcome.refused[(w.flag, w.article_id)] = w.seq
        outcome.stored.update(_read_back(store, last))
    else:
        for w in last:
            outcome.written[(w.flag, w.article_id)] = (w.seq, w.value)
    return outcome


def _read_back(store: StoreProtocol, writes: list[_Write]) -> dict[_Key, bool]:
    try:
        rows = store.rows_by_id([w.article_id for w in writes])
    except Exception:  # the store cannot be read either: the last state known to be stored is shown
        return {}
    found: dict[_Key, bool] = {}
    for w in writes:
        row = rows.get(w.article_id)
        if row is not None:
            found[(w.flag, w.article_id)] = row.read if w.flag is Flag.READ else row.starred
    return found
