"""Importing: files, folders and feed addresses into the store, in the background; what could not
be imported is listed in a dialog."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from reader.records import Problem, Progress
from reader.ui.jobs import JobKind, StoreWork

if TYPE_CHECKING:
    from reader.importer import ImportReport
    from reader.ui.dialogs import Ask, ProblemsDialog


def _ask() -> type[Ask]:
    """The questions (file and folder choosers, a feed address): imported when first asked, not
    at the window's start."""
    from reader.ui.dialogs import Ask

    return Ask


class Importing(QObject):
    """Owns Ctrl+O, Ctrl+Shift+O, Ctrl+N and dropped files, and the dialog of rejected inputs.

    ``reload`` reads the list again keeping the reader's place; ``refresh_counts`` recounts.
    """

    def __init__(self, work: StoreWork, window: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work
        self._window = window  # the parent of the questions asked and of the problems dialog
        #: The last import's problems, while it is open.
        self.problems_dialog: ProblemsDialog | None = None

    def import_files(self) -> None:
        names = _ask().files(self._window)
        if names:
            self.import_paths(names)

    def import_folder(self) -> None:
        name = _ask().folder(self._window)
        if name:
            self.import_paths([name])

    def add_feed(self) -> None:
        url = _ask().feed_url(self._window)
        if url:
            self.import_paths([url], what="Adding feed")

    def import_paths(self, inputs: Sequence[str], what: str = "Importing") -> None:
        target = self._work.db.target
        items = list(inputs)

        def work(progress: Progress, cancel: threading.Event) -> ImportReport:
            from reader.importer import import_paths  # not before it is needed: start-up stays quick

            return import_paths(target, items, progress=progress, cancel=cancel)

        def done(report: ImportReport) -> None:
            r = report.result
            summary = f"{r.added} new, {r.updated} updated articles"
            if report.cancelled:
                summary += " (cancelled)"
            if report.problems:
                summary += f"; {len(report.problems)} inputs rejected"
            self._work.message(summary)
            if r.added or r.updated:
                self._work.reload()
            self._work.refresh_counts()
            if report.problems:
                self.show_problems(summary, report.problems)

        self._work.jobs.start(JobKind.IMPORT, work, done, label=what)

    def show_problems(self, summary: str, problems: Sequence[Problem]) -> None:
        from reader.ui.dialogs import ProblemsDialog

        dialog = ProblemsDialog(summary, problems, self._window)
        dialog.setModal(False)
        dialog.show()
        self.problems_dialog = dialog
