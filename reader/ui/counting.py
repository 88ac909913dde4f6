"""Counting: totals in the status bar and the title, unread counts in the sidebar; recounted in
the background."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QLabel

from reader.records import Progress
from reader.store import Store
from reader.ui.jobs import JobKind, JobRunner
from reader.ui.sidebar import Sidebar

if TYPE_CHECKING:
    from reader.ui.results import Counts

#: Counts are recomputed at most this often while the person moves through articles.
COUNTS_DELAY_MS = 400


class Counting(QObject):
    """Owns the sidebar's entries and counts, the status bar's totals and the window title's unread."""

    def __init__(
        self,
        jobs: JobRunner,
        db_path: Path,
        sidebar: Sidebar,
        label: QLabel,
        set_title: Callable[[str], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self._db_path = db_path
        self._sidebar = sidebar
        self._label = label
        self._set_title = set_title
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(COUNTS_DELAY_MS)
        self._timer.timeout.connect(self.refresh)

    def schedule(self) -> None:
        """Recount soon (flags keep landing while the person reads: one count per pause)."""
        self._timer.start()

    def refresh(self) -> None:
        """Recount now, in the background."""
        self._timer.stop()
        db_path = self._db_path

        def work(progress: Progress, cancel: threading.Event) -> Counts:
            from reader.ui.results import Counts

            with Store.open(db_path) as store:
                return Counts(store.totals(), tuple(store.sources()), tuple(store.feeds()))

        self._jobs.start(JobKind.COUNTS, work, self.show, quiet=True)

    def show(self, counts: Counts) -> None:
        self._sidebar.populate(counts.totals, counts.sources, counts.feeds)
        total, unread, starred = counts.totals
        self._label.setText(f"{total} articles · {unread} unread · {starred} starred")
        self._set_title(f"Reader ({unread} unread)" if unread else "Reader")
