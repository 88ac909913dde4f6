"""A window on a shared store follows what others change (:mod:`reader.store.changes`): an
import, a refresh or a sync by anyone, or this person's read and star changes made elsewhere (the
command line, another window of theirs), list again and recount as after the window's own refresh,
keeping the place. Another person's read and star changes are ignored: the state shown is this
person's. A burst of changes (an import storing batch after batch) is one reload per
:data:`LIVE_DELAY_MS`. A lost connection is one status-bar line; the listener reconnects itself.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal, SignalInstance

from reader.store import StoreAddress
from reader.store.changes import Change, ChangeListener
from reader.ui.status import Message

#: Changes heard within this long of the first are one reload (an import commits batch by batch).
LIVE_DELAY_MS = 300


class LiveUpdates(QObject):
    """Owns the listener of a shared store's changes, and the reloads they bring.

    Signals:
        applied(): the list was read again and a recount started, for changes made elsewhere.
        heard(object): a change was heard (a :class:`~reader.store.changes.Change`), whether
            it concerns this window or not.
    """

    applied = Signal()
    heard = Signal(object)
    _heard = Signal(object)  # from the listener's thread (queued to the GUI thread)
    _connection = Signal(object)
    _listening = Signal(object)

    def __init__(
        self,
        db: StoreAddress,
        reload: Callable[[], None],
        recount: Callable[[], None],
        message: Message,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._db = db
        self._reload = reload
        self._recount = recount
        self._message = message
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(LIVE_DELAY_MS)
        self._timer.timeout.connect(self.apply)
        self._heard.connect(self._on_heard)
        self._connection.connect(self._on_connection)
        self._listening.connect(self._on_listening)
        #: Whether the list was read again since the listener began (the catch-up, or a change).
        self.caught_up = False
        self.listener = ChangeListener(
            str(db.target),
            self._from_thread(self._heard),
            self._from_thread(self._connection),
            lambda: self._from_thread(self._listening)(None),
        )

    @staticmethod
    def _from_thread(signal: SignalInstance) -> Callable[[object], None]:
        def emit(value: object) -> None:
            try:
                signal.emit(value)
            except RuntimeError:  # the window is gone: nobody to tell
                pass

        return emit

    def start(self) -> None:
        self.listener.start()

    def stop(self) -> None:
        self._timer.stop()
        self.listener.stop()

    def _on_heard(self, change: Change) -> None:
        self.heard.emit(change)
        if change.concerns(self._db.person) and not self._timer.isActive():
            self._timer.start()  # (not restarted by the next one: a long import still shows as it goes)

    def _on_listening(self, _: object) -> None:
        self._timer.start()  # what was committed between the first page and the LISTEN went unheard

    def _on_connection(self, line: str | None) -> None:
        if line is not None:
            self._message(f"{line}; reconnecting…")
            return
        self._message("Reconnected to the database server.")
        self._timer.start()  # what changed meanwhile went unheard

    def apply(self) -> None:
        self.caught_up = True
        self._reload()
        self._recount()
        self.applied.emit()
