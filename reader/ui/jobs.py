"""Bulk work off the GUI thread: imports, feed refreshes, mark-all-read, counts, the store check.

A :class:`Job` runs a plain function on a QThread of its own (which opens its own store
connection) and hands its typed result back to the GUI thread through a queued signal. The
:class:`JobRunner` owns the running jobs, shows their progress in the status bar and waits for
them when the window closes. The GUI thread never waits on the network or on a bulk write.
"""

from __future__ import annotations

import enum
import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, NamedTuple, TypeVar, cast

from PySide6.QtCore import QObject, Signal, SignalInstance
from PySide6.QtWidgets import QProgressBar, QPushButton

from reader.records import Progress
from reader.store import StoreAddress, StoreError
from reader.ui.status import Message

if TYPE_CHECKING:
    from PySide6.QtCore import QThread

T = TypeVar("T")

#: What a job runs: ``work(progress, cancel)`` on its own thread; its result goes to the job's ``done``.
Work = Callable[[Progress, threading.Event], T]


class JobKind(enum.Enum):
    """What a job does (and what ``JobRunner.job_finished`` says ended)."""

    IMPORT = "import"
    REFRESH = "refresh"
    MARK_ALL_READ = "mark_all_read"
    #: Ctrl+Z: the articles the last mark-all-read changed set unread again.
    UNDO_MARK_ALL_READ = "undo_mark_all_read"
    COUNTS = "counts"
    #: How many articles the search lists, for the status bar.
    SEARCH_COUNT = "search_count"
    #: File > Export OPML…: the subscriptions written to a file.
    EXPORT_OPML = "export_opml"
    #: The store's pages checked once after the first paint (``Store.verify``), so that the
    #: first flag write does not wait for that check.
    VERIFY = "verify"
    #: One sync account synced with its server (reader.ui.syncing: one job per account, in turn).
    SYNC = "sync"
    #: File > Accounts: logging in to a new account's server, or forgetting an account.
    ADD_ACCOUNT = "add_account"
    REMOVE_ACCOUNT = "remove_account"
    #: File > Rules…: the rules read, added, removed or applied (reader.ui.rules).
    RULES = "rules"
    #: Articles' pages fetched for their main text (reader.ui.full_articles).
    FULL_CONTENT = "full_content"
    #: Old read articles removed after a refresh (reader.ui.retention).
    CLEANUP = "cleanup"
    #: What a refresh or a sync brought, counted for the tray's notification (reader.ui.tray).
    ARRIVALS = "arrivals"
    #: The sync accounts listed, on a shared store (reader.ui.syncing, reader.ui.accounts: a
    #: store file's few rows are read on the GUI thread; a server's answer is waited for here).
    ACCOUNTS = "accounts"

    @property
    def cancellable(self) -> bool:
        """Whether the status bar offers a Cancel button while it runs."""
        return self in (JobKind.IMPORT, JobKind.REFRESH, JobKind.SYNC)


class _JobSignals(QObject):
    """A job's way back to the GUI thread (emitted on the job's thread, delivered queued).

    Signals:
        progress(int, int): done, total.
        finished(object): the work function's result (a ``T``; Qt carries it as ``object``).
        failed(str): a one-line reason.
    """

    progress = Signal(int, int)
    finished = Signal(object)
    failed = Signal(str)


class Job(Generic[T]):
    """One work function on its own thread; its result is handed to ``done`` on the GUI thread."""

    def __init__(self, kind: JobKind, work: Work[T], done: Callable[[T], None], label: str) -> None:
        self.kind = kind
        self.label = label
        self.cancel_event = threading.Event()
        self._work = work
        self._done = done
        self.signals = _JobSignals()
        self._thread = _job_thread()(self._run)
        self._thread.setObjectName(f"reader-{kind.value}")

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self.cancel_event.set()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, ms: int = 30000) -> bool:
        return self._thread.wait(ms)

    def deliver(self, result: object) -> None:
        """On the GUI thread: hand the work function's result to ``done``. The result came through
        a signal typed ``object``; it is the ``T`` that ``work`` returned."""
        self._done(cast(T, result))

    def _run(self) -> None:
        try:
            result = self._work(self._progress, self.cancel_event)
        except Exception as exc:  # reported to the person in one line, not swallowed
            if not isinstance(exc, StoreError):
                import traceback  # only for a bug: not imported before the first paint

                traceback.print_exc()
            self._emit(self.signals.failed, str(exc) or type(exc).__name__)
        else:
            self._emit(self.signals.finished, result)

    def _progress(self, done: int, total: int) -> None:
        self._emit(self.signals.progress, done, total)

    @staticmethod
    def _emit(signal: SignalInstance, *args: object) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:
            # The application is shutting down and deleted the signals' QObject first; nobody is
            # listening any more, so there is nothing to report to.
            pass


@functools.cache
def _job_thread() -> Callable[[Callable[[], None]], QThread]:
    """The QThread a job runs on (made with the first job, after the window's first paint: QThread's
    Python type and enums took about a millisecond to set up before it)."""
    from PySide6.QtCore import QThread

    class JobThread(QThread):
        def __init__(self, run: Callable[[], None]) -> None:
            super().__init__()
            self._target = run

        def run(self) -> None:
            """Override QThread.run."""
            self._target()

    return JobThread


class StatusProgress(QObject):
    """The status bar's progress bar and Cancel button, showing the last job started that is not
    quiet and has not ended (when it ends, the one before it, still running, shows again: a sync
    and a refresh run side by side)."""

    def __init__(
        self, bar: QProgressBar, cancel_button: QPushButton, message: Message, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._bar = bar
        self._cancel = cancel_button
        self._message = message
        self._job: Job[object] | None = None
        self._shown: list[Job[object]] = []
        bar.hide()
        cancel_button.hide()
        cancel_button.clicked.connect(self.on_cancel_clicked)

    def show(self, job: Job[T]) -> None:
        shown = cast("Job[object]", job)
        if shown not in self._shown:
            self._shown.append(shown)
        self._job = shown
        self._bar.setFormat(f"{job.label}…")
        self._bar.setRange(0, 0)
        self._bar.show()
        self._cancel.setVisible(job.kind.cancellable)

    def on_progress(self, job: Job[T], done: int, total: int) -> None:
        """``job`` got this far. Only the job shown moves the bar: a refresh and a sync run side by
        side, and the other's numbers under this one's label would be wrong."""
        if total > 0 and job is self._job:
            self._bar.setRange(0, total)
            self._bar.setValue(done)
            # Grouped digits ("250/10,000"): Qt's %v/%m would say 10000, hard to read at a glance.
            self._bar.setFormat(f"{job.label}… {done:,}/{total:,}")

    def hide(self, job: Job[T]) -> None:
        ended = cast("Job[object]", job)
        if ended in self._shown:
            self._shown.remove(ended)
        if self._job is not ended:
            return
        self._job = None
        if self._shown:
            self.show(self._shown[-1])  # (its numbers come with its next progress)
        else:
            self._bar.hide()
            self._cancel.hide()

    def on_cancel_clicked(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self._message("Cancelling…")


class JobRunner(QObject):
    """Starts jobs, keeps the running ones, and waits for them.

    Signals:
        job_finished(JobKind): a job ended (its kind), after its ``done`` ran.
    """

    job_finished = Signal(JobKind)

    def __init__(self, progress: StatusProgress, message: Message, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._progress = progress
        self._message = message
        self._jobs: set[Job[object]] = set()
        self._closed = False  # the window closed: results still on their way are dropped

    @property
    def jobs(self) -> frozenset[Job[object]]:
        """The jobs started and not ended yet."""
        return frozenset(self._jobs)

    def running(self, kind: JobKind) -> bool:
        return any(job.kind is kind for job in self._jobs)

    def start(
        self,
        kind: JobKind,
        work: Work[T],
        done: Callable[[T], None],
        *,
        label: str | None = None,
        quiet: bool = False,
        ended: Callable[[], None] | None = None,
    ) -> Job[T]:
        """Run ``work`` on a thread of its own; ``done(result)`` runs on the GUI thread. ``quiet``
        jobs show no progress; a failure is said in the status bar either way. ``ended`` runs on
        the GUI thread once the job is over, after ``done`` or the failure (connected before the
        thread starts: a job that ends at once is not missed)."""
        job = Job(kind, work, done, label or kind.value)
        if self._closed:
            return job  # the window has closed: nothing new starts
        self._jobs.add(cast("Job[object]", job))
        if not quiet:
            self._progress.show(job)
            job.signals.progress.connect(lambda done, total: self._progress.on_progress(job, done, total))

        def finished(result: object) -> None:
            if self._closed:  # queued before the window closed: its widgets are gone
                job.wait()
                return
            try:
                job.deliver(result)
            finally:
                self._end(job, quiet)
                if ended is not None:
                    ended()

        def failed(reason: str) -> None:
            if self._closed:
                job.wait()
                return
            self._message(f"{job.label} failed: {reason}")
            self._end(job, quiet)
            if ended is not None:
                ended()

        job.signals.finished.connect(finished)
        job.signals.failed.connect(failed)
        job.start()
        return job

    def _end(self, job: Job[T], quiet: bool) -> None:
        job.wait()
        self._jobs.discard(cast("Job[object]", job))
        if not quiet:
            self._progress.hide(job)
        self.job_finished.emit(job.kind)
        job.signals.deleteLater()

    def wait_for_jobs(self, ms: int = 30000) -> None:
        """Cancel every running job and wait (at most ``ms`` each) for its thread to end."""
        for job in list(self._jobs):
            job.cancel()
            job.wait(ms)

    def close(self) -> None:
        """The window is closing: stop every job, and deliver no result that is still on its way
        (its ``done`` would reach widgets that are about to be deleted)."""
        self.wait_for_jobs()
        self._closed = True
        self._jobs.clear()


class StoreWork(NamedTuple):
    """What a concern that changes the store in the background is handed: the job runner, the
    store's address (its file, or its URL and person: each job opens a connection of its own),
    what to do once the store changed (reload the list, recount), and the status-bar message."""

    jobs: JobRunner
    db: StoreAddress
    reload: Callable[[], None]
    refresh_counts: Callable[[], None]
    message: Message


def verify_store(jobs: JobRunner, db: StoreAddress) -> Job[None]:
    """Check the store's pages once, off the GUI thread: every write checks a store it has not
    checked yet first (a damaged one is never written), and the person's first ``j`` must not
    wait for that. A damaged store is said in the status bar (as the job's failure)."""

    def work(progress: Progress, cancel: threading.Event) -> None:
        with db.open() as store:
            store.verify()

    return jobs.start(JobKind.VERIFY, work, lambda _none: None, label="Checking the store", quiet=True)
