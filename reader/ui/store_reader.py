"""Reads for the window from a shared store, off the GUI thread.

On a store file a page of the list, a block of rows or one article is a local indexed read of a
few milliseconds, and the window reads it on the GUI thread. On a shared (PostgreSQL) store each
of them is a round trip to a server, and a slow or stalled server would freeze the window. There
the list model and the reading pane ask a :class:`StoreReader` instead: one long-lived thread with
a connection of its own, which answers in the order asked and hands each answer to its callback
on the GUI thread. Nothing on the GUI thread waits for it, not even closing the window (bounded,
and the thread is a daemon: a server that never answers does not keep the program alive).

A read that is no longer wanted when its turn comes (the list was reset, the person moved on to
another article) is skipped; an answer that arrives for something no longer current is dropped
by its asker (the model's generation, the pane's current article).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, Signal

from reader.store import StoreAddress, StoreError, StoreProtocol

T = TypeVar("T")

#: How long closing the window waits for a read under way (a stalled server is not waited out).
CLOSE_WAIT_S = 1.0


class _Request(Generic[T]):
    __slots__ = ("answer", "failed", "read", "wanted")

    def __init__(
        self,
        read: Callable[[StoreProtocol], T],
        answer: Callable[[T], None],
        failed: Callable[[str], None] | None,
        wanted: Callable[[], bool] | None,
    ) -> None:
        self.read = read
        self.answer = answer
        self.failed = failed
        self.wanted = wanted


class StoreReader(QObject):
    """Answers the window's reads of a shared store on a thread with its own connection.

    Signals:
        failed(str): a read failed (one line, e.g. the server went away); its own ``failed``
            callback, if it has one, is called too. The next read connects again.
        answered(): an answer was handed to its callback (tests wait on it).
    """

    failed = Signal(str)
    answered = Signal()
    _done = Signal(object)  # from the reader's thread, delivered queued on the GUI thread

    def __init__(self, db: StoreAddress, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self._queue: deque[_Request[Any] | None] = deque()
        self._queued = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._done.connect(self._on_done)

    @property
    def db(self) -> StoreAddress:
        return self._db

    def ask(
        self,
        read: Callable[[StoreProtocol], T],
        answer: Callable[[T], None],
        *,
        failed: Callable[[str], None] | None = None,
        wanted: Callable[[], bool] | None = None,
    ) -> None:
        """Run ``read(store)`` on the reader's thread; ``answer(result)`` runs on the GUI thread.
        ``wanted()`` (called on the reader's thread: it must only compare plain values) says
        whether the read is still worth making when its turn comes. Never blocks."""
        if self._closed:
            return
        with self._queued:
            self._queue.append(_Request(read, answer, failed, wanted))
            self._queued.notify()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="reader-store-reads", daemon=True)
            self._thread.start()

    def close(self, timeout: float = CLOSE_WAIT_S) -> None:
        """The window is closing: nothing more is asked or answered; the thread ends after the read
        under way (waited for at most ``timeout`` seconds)."""
        self._closed = True
        thread, self._thread = self._thread, None
        with self._queued:
            self._queue.clear()
            self._queue.append(None)
            self._queued.notify()
        if thread is not None:
            thread.join(timeout)

    # --- the reader's thread ---

    def _next(self) -> _Request[Any] | None:
        with self._queued:
            while not self._queue:
                self._queued.wait()
            return self._queue.popleft()

    def _run(self) -> None:
        store: StoreProtocol | None = None
        try:
            while (request := self._next()) is not None:
                if request.wanted is not None and not request.wanted():
                    continue
                try:
                    if store is None:
                        store = self._db.open(create=False)
                    outcome: tuple[_Request[Any], object, str | None] = (request, request.read(store), None)
                except Exception as exc:  # a lost server, or a bug: said in one line, the thread goes on
                    outcome = (request, None, _describe(exc))
                    if store is not None:
                        _close_quietly(store)
                        store = None  # (the next read connects again)
                if self._closed:
                    return
                try:
                    self._done.emit(outcome)
                except RuntimeError:  # the window and this object are gone
                    return
        finally:
            if store is not None:
                _close_quietly(store)

    # --- back on the GUI thread ---

    def _on_done(self, outcome: tuple[_Request[Any], object, str | None]) -> None:
        if self._closed:
            return
        request, result, error = outcome
        if error is not None:
            if request.failed is not None:
                request.failed(error)
            self.failed.emit(error)
            return
        request.answer(result)
        self.answered.emit()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, StoreError):
        return str(exc)
    import traceback  # only for a bug

    traceback.print_exc()  # a bug: the details go to stderr, the person gets one line
    return f"reading the store failed ({type(exc).__name__}: {exc})"


def _close_quietly(store: StoreProtocol) -> None:
    try:
        store.close()
    except Exception:  # (closing a connection that is gone: nothing left to do)
        pass
