"""Counting: totals in the status bar and the title, unread counts in the sidebar; recounted in
the background. While a search is active the status bar counts its results instead."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel

from reader.records import Feed, Progress, Query, counted
from reader.store import StoreAddress
from reader.ui.jobs import JobKind, JobRunner
from reader.ui.sidebar import Sidebar

if TYPE_CHECKING:
    from reader.ui.counts import Counts
    from reader.ui.results import SearchCount

#: Counts are recomputed at most this often while the person moves through articles.
COUNTS_DELAY_MS = 400


class Counting(QObject):
    """Owns the sidebar's entries and counts, the status bar's totals (or, while a search is active,
    its number of results) and the window title's unread.

    Signals:
    feeds_counted(object): the feeds as just counted (a tuple of Feed): their titles name their articles.
    unread_counted(int): the unread articles in the whole store, as just counted.
    """

    feeds_counted = Signal(object)
    unread_counted = Signal(int)

    def __init__(
        self,
        jobs: JobRunner,
        db: StoreAddress,
        sidebar: Sidebar,
        label: QLabel,
        set_title: Callable[[str], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self._db = db
        self._sidebar = sidebar
        self._label = label
        self._set_title = set_title
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(COUNTS_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        self._totals: tuple[int, int, int] | None = None
        # Each count is numbered: counts run side by side on threads of their own and may end in
        # any order; one that ends after a newer one was shown is dropped (it read the store before
        # a later change, and would put its older counts back in the sidebar). One that ends first
        # is shown at once (it is newer than what the sidebar shows), as every count was before.
        self._generation = 0
        self._shown_generation = 0
        self._feeds: tuple[Feed, ...] | None = None
        # The query whose results the status bar counts (None: no search, the totals show).
        self._search: Query | None = None

    @property
    def totals(self) -> tuple[int, int, int] | None:
        """(all, unread, starred) as last counted (None: not counted yet)."""
        return self._totals

    @property
    def feeds(self) -> tuple[Feed, ...] | None:
        """The feeds as last counted (None: not counted yet), for what is built after they were
        (the first paint's counts are not counted again after it: see MainWindow.start)."""
        return self._feeds

    def schedule(self) -> None:
        """Recount soon (flags keep landing while the person reads: one count per pause)."""
        self._timer.start()

    def refresh(self) -> None:
        """Recount now, in the background."""
        self._timer.stop()
        db = self._db

        def work(progress: Progress, cancel: threading.Event) -> Counts:
            from reader.ui.counts import count_store

            return count_store(db)

        self._generation += 1
        generation = self._generation
        self._jobs.start(JobKind.COUNTS, work, lambda counts: self._counted(generation, counts), quiet=True)

    def _counted(self, generation: int, counts: Counts) -> None:
        if generation > self._shown_generation:  # (else a newer count is already shown)
            self._shown_generation = generation
            self.show(counts)

    def show(self, counts: Counts) -> None:
        self._sidebar.populate(
            counts.totals, counts.sources, counts.feeds, counts.accounts, counts.labels, counts.hidden
        )
        self._feeds = counts.feeds
        self.feeds_counted.emit(counts.feeds)
        self._totals = counts.totals
        if self._search is None:
            self._show_totals()
        unread = counts.totals[1]
        self._set_title(f"Reader ({unread} unread)" if unread else "Reader")
        self.unread_counted.emit(unread)

    def _show_totals(self) -> None:
        if self._totals is not None:
            total, unread, starred = self._totals
            self._label.setText(f"{total} articles · {unread} unread · {starred} starred")
        else:
            self._label.clear()

    def count_results(self, query: Query) -> None:
        """The list now lists ``query`` (a new search, a reload): with a search, the status bar
        counts its results, counted in the background (a search of a large store can take a
        while); without one it shows the totals again."""
        if not query.search:
            self._search = None
            self._show_totals()
            return
        if query != self._search:  # (a reload of the same search keeps its count until recounted)
            self._label.setText(f"Searching for “{query.search}”…")
        self._search = query
        db = self._db

        def work(progress: Progress, cancel: threading.Event) -> SearchCount:
            from reader.ui.results import SearchCount

            with db.open() as store:
                return SearchCount(query, store.count(query))

        self._jobs.start(JobKind.SEARCH_COUNT, work, self.show_results, quiet=True)

    def show_results(self, found: SearchCount) -> None:
        if found.query != self._search:
            return  # the search changed while this one was counted: its own count is on the way
        search, count = found.query.search, found.count
        if count == 0:
            self._label.setText(f"no results for “{search}”")
        else:
            self._label.setText(f"{counted(count, 'result')} for “{search}”")
