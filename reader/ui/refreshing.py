"""Refreshing feeds: on ``r`` / F5 and every so many minutes, in the background. Each time the
sync accounts are synced too (:class:`Refreshing` says ``requested``; reader.ui.syncing listens)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from reader.records import Progress
from reader.ui.jobs import JobKind, StoreWork

if TYPE_CHECKING:
    from reader.ui.results import Refreshed


class Refreshing(QObject):
    """Owns the refresh key and the periodic refresh's timer (one refresh at a time).

    Signals:
        requested(): ``r`` / F5 or the timer asked for a refresh (the accounts sync then too).
    """

    requested = Signal()

    def __init__(self, work: StoreWork, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh_feeds)
        self._interval_s: float | None = None  # None: the subscriptions' default

    def set_interval(self, minutes: int) -> None:
        """Refresh every ``minutes`` (0: never by itself). A server's Cache-Control holds a feed
        back at most this long (its Retry-After longer)."""
        if minutes > 0:
            self.timer.start(minutes * 60_000)
            self._interval_s = minutes * 60.0
        else:
            self.timer.stop()
            self._interval_s = None

    def stop(self) -> None:
        self.timer.stop()

    def refresh_feeds(self) -> None:
        if not self._work.jobs.running(JobKind.REFRESH):
            self._start_refresh()
        # After the refresh started: the syncs' progress (the longer work) is the one shown.
        self.requested.emit()

    def _start_refresh(self) -> None:
        db = self._work.db
        interval = self._interval_s

        def work(progress: Progress, cancel: threading.Event) -> Refreshed | bool | None:
            from reader import subscriptions  # not before it is needed: start-up stays quick
            from reader.ui.results import Refreshed

            with db.open() as store:
                if not any(feed.account_id is None for feed in store.feeds()):
                    # No feed of ours (an account's server fetches its own): False when accounts
                    # sync instead, and their sync says what it did.
                    return False if store.accounts() else None
                added, problems = subscriptions.refresh(
                    store,
                    progress=progress,
                    cancel=cancel,
                    interval_s=subscriptions.DEFAULT_INTERVAL_S if interval is None else interval,
                )
                return Refreshed(added, len(problems))

        def done(result: Refreshed | bool | None) -> None:
            if result is False:
                return
            if result is None or result is True:
                self._work.message("No feeds to refresh. Add one with Ctrl+N.")
                return
            added = result.added
            self._work.message(
                f"Feeds refreshed: {added.added} new, {added.updated} updated articles"
                + (f"; {result.failed} feeds failed" if result.failed else "")
            )
            if added.added or added.updated:
                self._work.reload()
            self._work.refresh_counts()

        self._work.jobs.start(JobKind.REFRESH, work, done, label="Refreshing feeds")
