"""Syncing accounts in the window: at start, with ``r`` / F5 and on the refresh timer, in the
background, one account after another, with progress and errors in the status bar.

A network error is never a modal box: it is one line ("alice: the server did not answer") in the
status bar, and the account keeps it as its last error (File > Accounts shows it). ``reader.sync``
is imported by the job when it runs, never when the window starts.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from reader.records import Account, Progress
from reader.store import StoreProtocol
from reader.ui.jobs import JobKind, StoreWork
from reader.ui.refreshing import Refreshing
from reader.ui.status import reports_store_errors

if TYPE_CHECKING:
    from reader.ui.results import Synced


class Syncing(QObject):
    """Owns syncing: the queue of accounts to sync, one job at a time.

    Signals:
        synced(str): an account's sync ended (its name), well or not; the store holds its outcome.
    """

    synced = Signal(str)

    def __init__(
        self, store: StoreProtocol, work: StoreWork, refreshing: Refreshing, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._work = work
        self._queue: deque[str] = deque()
        #: The account whose sync runs now, or None.
        self.current: str | None = None
        #: Accounts being removed: not synced meanwhile (the removal and a sync would collide).
        self._held: set[str] = set()
        self.message = work.message
        # r / F5 and the refresh timer: the feeds refresh and the accounts sync side by side.
        refreshing.requested.connect(self.sync_accounts)

    @reports_store_errors
    def sync_accounts(self) -> None:
        """Sync every account, one after another (nothing without accounts). The accounts table
        is a few rows: read here from a store file (on a shared store by a job: the UI thread
        never waits on the network); the syncs run on the job's thread."""
        if self._work.db.shared:
            db = self._work.db

            def work(progress: Progress, cancel: threading.Event) -> list[str]:
                with db.open(create=False) as store:
                    return [account.name for account in store.accounts()]

            def done(names: list[str]) -> None:
                for name in names:
                    self.sync_account(name)

            self._work.jobs.start(JobKind.ACCOUNTS, work, done, quiet=True)
            return
        for account in self._store.accounts():
            self.sync_account(account.name)

    def sync_account(self, name: str) -> None:
        """Sync ``name`` after the syncs already queued (once: queued twice is one sync; never
        while it is being removed)."""
        if name == self.current or name in self._queue or name in self._held:
            return
        self._queue.append(name)
        if self.current is None:
            self._next()

    def is_syncing(self, name: str) -> bool:
        return name == self.current or name in self._queue

    def hold(self, name: str) -> None:
        """No sync of ``name`` starts until :meth:`release` (it is being removed)."""
        self._held.add(name)

    def release(self, name: str) -> None:
        self._held.discard(name)

    def _next(self) -> None:
        if not self._queue:
            self.current = None
            return
        name = self.current = self._queue.popleft()
        db = self._work.db

        def work(progress: Progress, cancel: threading.Event) -> Synced:
            from reader.sync import credentials, engine  # not before an account is synced
            from reader.sync.greader import GReaderClient, SyncError
            from reader.ui.results import Synced

            with db.open() as store:
                account: Account | None = store.get_account(name)
                if account is None:
                    return Synced(name, f"{name}: removed before it was synced", ok=False, changed=False)
                token = credentials.load_token(name)
                if token is None:
                    line = f"{name}: no saved login (remove the account and add it again)"
                    store.update_account(account.id, last_error=line)
                    return Synced(name, line, ok=False, changed=True)
                client = GReaderClient(account.url, account=name, auth=token, stop=cancel)
                try:
                    report = engine.sync(store, account, client, progress=progress, stop=cancel)
                except SyncError as exc:
                    return Synced(name, str(exc), ok=False, changed=True)
                changed = bool(
                    report.new_items
                    or report.read_changed
                    or report.star_changed
                    or report.feeds_added
                    or report.feeds_removed
                )
                return Synced(name, str(report), ok=True, changed=changed)

        def done(result: Synced) -> None:
            self.message(result.line)
            if result.changed:
                self._work.reload()
            self._work.refresh_counts()

        self._work.jobs.start(JobKind.SYNC, work, done, label=f"Syncing {name}", ended=lambda: self._ended(name))

    def _ended(self, name: str) -> None:
        """After the job's own ``done`` (or its failure): the next account's turn."""
        if self.current == name:
            self.current = None
        self.synced.emit(name)
        self._next()
