"""Exporting: the subscriptions written as an OPML file (File > Export OPML…), in the background."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from reader.records import Progress, counted
from reader.ui.jobs import JobKind, StoreWork

if TYPE_CHECKING:
    from reader.ui.results import Exported


class Exporting(QObject):
    """Owns File > Export OPML…: asks for a file, writes ``subscriptions.export_opml`` there on a
    job (reading every feed and writing a file is disk work the UI thread does not wait on), and
    says in the status bar how many subscriptions went where, or why none did."""

    def __init__(self, work: StoreWork, window: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work
        self._window = window  # the parent of the file chooser

    def export_opml(self) -> None:
        from reader.ui.dialogs import Ask  # (dialogs are imported when first asked, not at start)

        name = Ask.opml_file(self._window)
        if not name:
            return
        db = self._work.db
        target = Path(name)

        def work(progress: Progress, cancel: threading.Event) -> Exported:
            from reader import subscriptions
            from reader.ui.results import Exported

            with db.open() as store:
                data = subscriptions.export_opml(store)
                count = len(store.feeds())
            try:
                target.write_bytes(data)
            except OSError as exc:
                return Exported(target, count, error=exc.strerror or str(exc))
            return Exported(target, count)

        def done(result: Exported) -> None:
            if result.error is not None:
                self._work.message(f"Could not export to {result.path}: {result.error}")
            else:
                self._work.message(f"Exported {counted(result.count, 'subscription')} to {result.path}")

        self._work.jobs.start(JobKind.EXPORT_OPML, work, done, label="Exporting OPML")
