"""Retention in the window: with the preference on, every refresh and sync is followed by a
cleanup in the background (read, unstarred articles older than the days chosen; the same as
``reader cleanup --older-than Nd --no-compact``). The space they took is reused by the articles
that come next; giving it back to the disk (VACUUM) is left to ``reader cleanup``, which may hold
the store for a while."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QObject

from reader.records import Cleaned, Progress, counted
from reader.ui.jobs import JobKind, StoreWork
from reader.ui.settings import Settings


class Retention(QObject):
    """Owns the "remove read articles older than" preference and the cleanups it runs."""

    def __init__(self, work: StoreWork, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work
        self._settings = settings
        work.jobs.job_finished.connect(self._on_job_finished)

    @property
    def days(self) -> int:
        """Read articles older than this many days are removed after a refresh (0: never)."""
        return self._settings.cleanup_days

    def set_days(self, days: int) -> None:
        self._settings.cleanup_days = days

    def _on_job_finished(self, kind: JobKind) -> None:
        if kind in (JobKind.REFRESH, JobKind.SYNC) and self.days > 0:
            self.clean_up()

    def clean_up(self) -> None:
        """One cleanup now, in the background (none while one runs)."""
        if self._work.jobs.running(JobKind.CLEANUP):
            return
        days = self.days
        db = self._work.db

        def work(progress: Progress, cancel: threading.Event) -> Cleaned:
            with db.open() as store:
                return store.cleanup(datetime.now(UTC) - timedelta(days=days))

        def done(result: Cleaned) -> None:
            if result.removed:
                self._work.message(
                    f"Removed {counted(result.removed, 'read article')} older than {counted(days, 'day')}"
                )
                self._work.reload()
                self._work.refresh_counts()

        self._work.jobs.start(JobKind.CLEANUP, work, done, label="Removing old articles", quiet=True)
