"""Bulk work off the GUI thread: imports, feed refreshes, mark-all-read.

Each job runs a plain function on a QThread with its own store connection and reports back through
queued signals. The GUI thread never waits on the network or on a bulk write.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal


class Job(QObject):
    """A function run on its own thread.

    Signals:
        progress(int, int): done, total.
        finished(object): the function's result.
        failed(str): a one-line reason (store errors and the like).
    """

    progress = Signal(int, int)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, name: str, func: Callable[..., Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._func = func
        self.cancel_event = threading.Event()
        self._thread = _JobThread(self)
        self._thread.setObjectName(f"reader-{name}")

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self.cancel_event.set()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, ms: int = 30000) -> bool:
        return self._thread.wait(ms)

    def _run(self) -> None:
        try:
            result = self._func(progress=self._progress, cancel=self.cancel_event)
        except Exception as exc:  # reported to the person in one line, not swallowed
            from reader.store import StoreError

            if not isinstance(exc, StoreError):
                traceback.print_exc()
            self._emit(self.failed, str(exc) or type(exc).__name__)
        else:
            self._emit(self.finished, result)

    def _progress(self, done: int, total: int) -> None:
        self._emit(self.progress, done, total)

    @staticmethod
    def _emit(signal: Any, *args: object) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:
            # The application is shutting down and deleted this job's QObject first; nobody is
            # listening any more, so there is nothing to report to.
            pass


class _JobThread(QThread):
    def __init__(self, job: Job) -> None:
        super().__init__()
        self._job = job

    def run(self) -> None:
        """Override QThread.run."""
        self._job._run()
