"""Telling the other windows of a shared store what changed: PostgreSQL's ``LISTEN/NOTIFY``. No Qt.

A commit that adds, changes or removes articles, or changes a person's read and star state,
sends one small notification on :data:`CHANNEL` (sent by the server when, and only if, the
transaction commits): its kind, the newest article id, whose state changed and which process sent
it. A window listens on a connection of its own (:class:`ChangeListener`, on a thread) and lists
again, as after its own refresh, for what concerns it: new articles, or its own person's state
changed elsewhere; another person's read and star changes are not its business, nor what its own
process did (its jobs list again themselves).

psycopg is imported only here and in :mod:`reader.store.postgres`, for a PostgreSQL URL.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from typing import NamedTuple

#: The channel every change is sent on.
CHANNEL = "reader_articles"

#: What a change was: articles added or changed, articles removed (a feed or account that went),
#: or a person's read and star state.
ARTICLES, REMOVED, STATE = "articles", "removed", "state"

#: This process, as its notifications name it (a window ignores what its own jobs did).
ORIGIN = uuid.uuid4().hex[:16]

#: Seconds the listener waits for a notification before it looks whether it is to stop.
POLL_S = 0.25
#: Seconds between attempts to reconnect, growing to at most the second figure.
RETRY_S = (0.5, 10.0)

#: The statement a writer adds to its transaction (the newest id is read in it, on the server).
NOTIFY_SQL = (
    "SELECT pg_notify(%s, json_build_object('kind', %s::text, 'newest', (SELECT coalesce(max(id), 0) FROM articles), "
    "'person', %s::text, 'origin', %s::text)::text)"
)


class Change(NamedTuple):
    """One notification: what changed, the newest article id then, whose state (for
    :data:`STATE`), and the process that changed it."""

    kind: str
    newest: int
    person: str | None
    origin: str

    @classmethod
    def parse(cls, payload: str) -> Change | None:
        """The change a payload says (None: not one of ours, or damaged)."""
        try:
            data = json.loads(payload)
            return cls(str(data["kind"]), int(data["newest"]), data.get("person"), str(data["origin"]))
        except (ValueError, TypeError, KeyError):
            return None

    def concerns(self, person: str | None) -> bool:
        """Whether a window of ``person`` (in another process) lists anything differently now."""
        if self.origin == ORIGIN:
            return False
        return self.kind != STATE or self.person == person


class ChangeListener:
    """Listens on :data:`CHANNEL` on a connection of its own, on a thread, until :meth:`stop`.
    ``on_change(change)`` is called (on that thread) for each notification; ``on_connection(line)``
    once when the connection is lost (a one-line reason; the listener reconnects by itself) and
    with None once it is back (a change may have gone unheard meanwhile: list again);
    ``on_listening()`` once, when the first LISTEN is in place (what was committed between the
    caller's first read and then went unheard: read again)."""

    def __init__(
        self,
        url: str,
        on_change: Callable[[Change], None],
        on_connection: Callable[[str | None], None],
        on_listening: Callable[[], None] | None = None,
    ) -> None:
        self._url = url
        self._on_change = on_change
        self._on_connection = on_connection
        self._on_listening = on_listening
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reader-store-changes", daemon=True)
        #: Set once the first LISTEN is in place (a change committed after it is heard).
        self.listening = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 0.3) -> None:
        """Stop listening; waits ``timeout_s`` at most (the thread is a daemon: one still waiting
        on a server that is not there must not hold the window's closing)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        import psycopg

        from reader.store.postgres import CONNECT_TIMEOUT_S, _wrap

        lost = False
        delay = RETRY_S[0]
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")  # (a fixed name)
                    if not self.listening.is_set() and self._on_listening is not None:
                        self._on_listening()
                    self.listening.set()
                    if lost:
                        lost, delay = False, RETRY_S[0]
                        self._on_connection(None)
                    while not self._stop.is_set():
                        for notify in conn.notifies(timeout=POLL_S):
                            change = Change.parse(notify.payload)
                            if change is not None:
                                self._on_change(change)
            except psycopg.Error as exc:
                if self._stop.is_set():
                    return
                if not lost:
                    lost = True
                    self._on_connection(str(_wrap(self._url, exc)))
                self._stop.wait(delay)
                delay = min(delay * 2, RETRY_S[1])
