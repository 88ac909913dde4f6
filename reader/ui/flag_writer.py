"""Read and star flags, written to the store on a thread of their own.

The window marks an article read as it is selected. A background import or feed refresh holds the
store's write lock while it stores a batch (up to about 0.1 s for a feed batch, 0.5 s for 2,048
seed records), and a write on the window's own connection would wait for it on the UI thread. The
window shows the new flag at once; this writer stores it, in order, on its own connection.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from reader.store import Store, StoreError

#: A write: ("read", ids, flag) or ("starred", ids, flag); None ends the thread.
_Write = tuple[str, list[int], bool]


class FlagWriter(QObject):
    """Has the methods of :class:`Store` that the list model writes flags with.

    Signals (from the writer's thread; queued to the receiver's):
        written(): a write was stored (the sidebar's counts may have changed).
        failed(str, str, list, bool): a write could not be stored: the message for a person, and
            the write (kind, ids, flag), which the window takes back.
    """

    written = Signal()
    failed = Signal(str, str, list, bool)

    def __init__(self, db_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._db_path = db_path
        self._queue: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._pending = 0
        self._idle = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="reader-flag-writer", daemon=True)
        self._thread.start()

    # --- what the model calls (as it would call the store) ---

    def set_read(self, ids: list[int], read: bool = True) -> None:
        self._put(("read", list(ids), read))

    def set_starred(self, article_id: int, starred: bool = True) -> None:
        self._put(("starred", [article_id], starred))

    # --- waiting for it ---

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every write so far is stored (or has failed); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Store what is queued, then end the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)

    def _put(self, write: _Write) -> None:
        if self._closed:
            return
        with self._idle:
            self._pending += 1
        self._queue.put(write)

    # --- the thread ---

    def _run(self) -> None:
        store: Store | None = None
        try:
            while (write := self._queue.get()) is not None:
                try:
                    if store is None:
                        store = Store.open(self._db_path, create=False, cache_mb=1)
                    kind, ids, flag = write
                    if kind == "read":
                        store.set_read(ids, flag)
                    else:
                        store.set_starred(ids[0], flag)
                except StoreError as exc:
                    self.failed.emit(str(exc), *write)
                else:
                    self.written.emit()
                finally:
                    with self._idle:
                        self._pending -= 1
                        self._idle.notify_all()
        finally:
            if store is not None:
                store.close()
