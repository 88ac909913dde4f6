"""What the window's actions do. The main window builds widgets; this object gives them behaviour.

Slow work (imports, refreshes, mark-all-read, counting) runs as :class:`reader.ui.workers.Job` on
its own thread with its own store connection; the GUI thread only reads single pages and rows.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtWidgets import QApplication

from reader.records import Query
from reader.store import Store, StoreError
from reader.ui import desktop
from reader.ui.dialogs import Ask, KeysDialog, ProblemsDialog
from reader.ui.sidebar import SidebarKey
from reader.ui.workers import Job

if TYPE_CHECKING:
    from reader.ui.main_window import MainWindow

#: Status-bar messages stay this long.
MESSAGE_MS = 6000
#: Searches start at this many typed characters.
MIN_SEARCH_CHARS = 2
#: Counts are recomputed at most this often while the person moves through articles.
COUNTS_DELAY_MS = 400


_Slot = TypeVar("_Slot", bound=Callable[..., None])


def reports_store_errors(slot: _Slot) -> _Slot:
    """A store error inside a slot (the store is busy for longer than its timeout, or damaged) is
    shown in the status bar; it must not escape into Qt's event loop as a traceback."""

    @functools.wraps(slot)
    def wrapper(self: Controller, *args: Any, **kwargs: Any) -> None:
        try:
            slot(self, *args, **kwargs)
        except StoreError as exc:
            self.message(str(exc))

    return wrapper  # type: ignore[return-value]


class Controller(QObject):
    """Signals:
    job_finished(str): a background job (``import``, ``refresh``, ``mark_all_read``, ``counts``) ended.
    """

    job_finished = Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.store: Store = window.store
        self.db_path: Path = window.store.path
        self._jobs: set[Job] = set()
        self._counts_timer = QTimer(self)
        self._counts_timer.setSingleShot(True)
        self._counts_timer.setInterval(COUNTS_DELAY_MS)
        self._counts_timer.timeout.connect(self.refresh_counts)
        self.refresh_timer = QTimer(self)
        self.refresh_timer.timeout.connect(self.refresh_feeds)

    # --- selection and reading ---

    @reports_store_errors
    def on_article_selected(self, article_id: int) -> None:
        pane = self.w.pane
        if pane.article is None or pane.article.id != article_id:
            # Re-selecting the shown article (after a reload) keeps the pane's scroll position.
            pane.show_article(self.store.get(article_id))
        row = self.w.list.current_row()
        model = self.w.model
        if model.article_id(row) == article_id and not model.is_read(row):
            model.set_read(row, True)
            self.schedule_counts()
        self.w.settings.last_article = article_id

    @reports_store_errors
    def next_article(self) -> None:
        self.w.list.next_article()

    @reports_store_errors
    def previous_article(self) -> None:
        self.w.list.previous_article()

    @reports_store_errors
    def next_unread(self) -> None:
        if not self.w.list.next_unread():
            self.message("No more unread articles.")

    @reports_store_errors
    def previous_unread(self) -> None:
        self.w.list.previous_unread()

    @reports_store_errors
    def scroll_down(self) -> None:
        if not self.w.pane.scroll_page(True):
            self.next_unread()

    def scroll_up(self) -> None:
        self.w.pane.scroll_page(False)

    def open_original(self) -> None:
        item = self.w.list.current_article()
        if item is None:
            self.message("No article selected.")
            return
        if not item.url:
            self.message("This article has no link to an original.")
            return
        self.open_link(QUrl(item.url))

    def open_link(self, url: QUrl | str) -> None:
        """The one way the window hands a URL to the system browser."""
        error = desktop.open_url(url)
        if error:
            self.message(error[:1].upper() + error[1:])
        else:
            text = url.toString() if isinstance(url, QUrl) else url
            self.message(f"Opened {text}")

    @reports_store_errors
    def toggle_read(self) -> None:
        row = self.w.list.current_row()
        if row >= 0:
            self.w.model.toggle_read(row)
            self.schedule_counts()

    @reports_store_errors
    def toggle_starred(self) -> None:
        row = self.w.list.current_row()
        if row >= 0:
            self.w.model.toggle_starred(row)
            self.schedule_counts()

    def mark_all_read(self) -> None:
        query = self.w.model.query
        db_path = self.db_path

        def work(progress: Callable[[int, int], None], cancel: Any) -> int:
            with Store.open(db_path) as store:
                return store.mark_all_read(query)

        def done(changed: object) -> None:
            if self.w.model.query == query:
                self.w.model.mark_rows_read()
            else:
                self.after_store_changed()  # the person moved on to another list meanwhile
            self.message(f"Marked {changed} articles read.")
            self.refresh_counts()

        self.start_job("mark_all_read", work, done)

    # --- search and filters ---

    def focus_search(self) -> None:
        self.w.search.setFocus()
        self.w.search.selectAll()

    @reports_store_errors
    def on_search_changed(self, text: str) -> None:
        # One letter is a whole word ("a", "I") that matches most articles or none, nothing useful
        # while typing: the search starts at the second character.
        search = text if len(text.strip()) >= MIN_SEARCH_CHARS else None
        if search is None and text.strip():
            self.message(f"Type at least {MIN_SEARCH_CHARS} characters to search.")
        if search != self.w.model.query.search:
            self.set_query(dataclasses.replace(self.w.model.query, search=search))

    def on_search_escaped(self) -> None:
        self.w.list.setFocus()

    def on_search_accepted(self) -> None:
        self.w.list.setFocus()

    def clear_search(self) -> None:
        """Esc anywhere: drop an active search and go back to the list."""
        if self.w.search.text() or self.w.model.query.search:
            self.w.search.clear_search()
        self.w.list.setFocus()

    @reports_store_errors
    def on_sidebar_changed(self, key: SidebarKey) -> None:
        query = Query(view=key.view, source=key.source, feed_id=key.feed_id, search=self.w.model.query.search)
        self.set_query(query)

    def set_query(self, query: Query) -> None:
        self.w.model.set_query(query)
        self.w.update_empty_state()

    # --- import, feeds ---

    def import_files(self) -> None:
        names = Ask.files(self.w)
        if names:
            self.import_paths(names)

    def import_folder(self) -> None:
        name = Ask.folder(self.w)
        if name:
            self.import_paths([name])

    def add_feed(self) -> None:
        url = Ask.feed_url(self.w)
        if url:
            self.import_paths([url], what="Adding feed")

    def import_paths(self, inputs: Sequence[str], what: str = "Importing") -> None:
        from reader.importer import import_paths

        db_path = self.db_path
        items = list(inputs)

        def work(progress: Callable[[int, int], None], cancel: Any) -> Any:
            return import_paths(db_path, items, progress=progress, cancel=cancel)

        def done(report: Any) -> None:
            r = report.result
            summary = f"{r.added} new, {r.updated} updated articles"
            if report.cancelled:
                summary += " (cancelled)"
            if report.problems:
                summary += f"; {len(report.problems)} inputs rejected"
            self.message(summary)
            self.after_store_changed(changed=bool(r.added or r.updated))
            if report.problems:
                self.show_problems(summary, report.problems)

        self.start_job("import", work, done, label=what)

    def refresh_feeds(self) -> None:
        if any(j.name == "refresh" for j in self._jobs):
            return
        db_path = self.db_path

        def work(progress: Callable[[int, int], None], cancel: Any) -> Any:
            from reader import subscriptions

            with Store.open(db_path) as store:
                if not store.feeds():
                    return None
                return subscriptions.refresh(store, progress=progress, cancel=cancel)

        def done(result: Any) -> None:
            if result is None:
                self.message("No feeds to refresh. Add one with Ctrl+N.")
                return
            added, problems = result
            self.message(
                f"Feeds refreshed: {added.added} new, {added.updated} updated articles"
                + (f"; {len(problems)} feeds failed" if problems else "")
            )
            self.after_store_changed(changed=bool(added.added or added.updated))

        self.start_job("refresh", work, done, label="Refreshing feeds")

    def set_refresh_interval(self, minutes: int) -> None:
        if minutes > 0:
            self.refresh_timer.start(minutes * 60_000)
        else:
            self.refresh_timer.stop()

    @reports_store_errors
    def after_store_changed(self, changed: bool = True) -> None:
        """An import or refresh ended. When it brought new or changed articles, reload the list and
        keep the reader's place: the same article current, the list scrolled where it was."""
        if changed:
            view = self.w.list
            model = self.w.model
            current = model.article_id(view.current_row())
            loaded = model.rowCount()
            scroll = view.verticalScrollBar().value()
            model.reload()
            if current is not None:
                # New articles land above; page down as far as the list had been read, no further.
                row = model.find_row(current, max_rows=loaded + model.page_size)
                if row is not None:
                    view.select_row(row, scroll=False)
            view.verticalScrollBar().setValue(scroll)
            self.w.update_empty_state()
        self.refresh_counts()

    def show_problems(self, summary: str, problems: Sequence[Any]) -> None:
        dialog = ProblemsDialog(summary, problems, self.w)
        dialog.setModal(False)
        dialog.show()
        self.w.problems_dialog = dialog

    # --- counts ---

    def schedule_counts(self) -> None:
        self._counts_timer.start()

    def refresh_counts(self) -> None:
        self._counts_timer.stop()
        db_path = self.db_path

        def work(progress: Callable[[int, int], None], cancel: Any) -> Any:
            with Store.open(db_path) as store:
                return store.totals(), store.sources(), store.feeds()

        def done(result: Any) -> None:
            totals, sources, feeds = result
            self.w.sidebar.populate(totals, sources, feeds)
            self.w.update_counts(totals)

        self.start_job("counts", work, done, quiet=True)

    def verify_store(self) -> None:
        """Check the store's pages once, off the GUI thread: every write checks a store it has not
        checked yet first (a damaged one is never written), and the person's first ``j`` must not
        wait for that. A damaged store is said in the status bar."""
        db_path = self.db_path

        def work(progress: Callable[[int, int], None], cancel: Any) -> None:
            with Store.open(db_path) as store:
                store.verify()

        self.start_job("verify", work, lambda _result: None, label="Checking the store", quiet=True)

    # --- jobs ---

    def start_job(
        self,
        name: str,
        work: Callable[..., Any],
        done: Callable[[Any], None],
        *,
        label: str | None = None,
        quiet: bool = False,
    ) -> Job:
        job = Job(name, work, self)
        self._jobs.add(job)
        if not quiet:
            self.w.show_progress(label or name, job)
            job.progress.connect(self.w.on_job_progress)

        def finished(result: object) -> None:
            try:
                done(result)
            finally:
                self._end_job(job, quiet)

        def failed(reason: str) -> None:
            self.message(f"{label or name} failed: {reason}")
            self._end_job(job, quiet)

        job.finished.connect(finished)
        job.failed.connect(failed)
        job.start()
        return job

    def _end_job(self, job: Job, quiet: bool) -> None:
        job.wait()
        self._jobs.discard(job)
        if not quiet:
            self.w.hide_progress(job)
        self.job_finished.emit(job.name)
        job.deleteLater()

    def wait_for_jobs(self, ms: int = 30000) -> None:
        for job in list(self._jobs):
            job.cancel()
            job.wait(ms)

    @property
    def jobs(self) -> set[Job]:
        return self._jobs

    # --- misc ---

    def show_keys(self) -> None:
        dialog = KeysDialog(self.w.action_registry.help_rows(), self.w)
        dialog.setModal(False)
        dialog.show()
        self.w.keys_dialog = dialog

    def quit(self) -> None:
        self.w.close()
        QApplication.quit()

    def zoom_in(self) -> None:
        self.w.pane.zoom_in()
        self.w.settings.text_zoom = self.w.pane.zoom

    def zoom_out(self) -> None:
        self.w.pane.zoom_out()
        self.w.settings.text_zoom = self.w.pane.zoom

    def zoom_reset(self) -> None:
        self.w.pane.zoom_reset()
        self.w.settings.text_zoom = self.w.pane.zoom

    def toggle_remote_images(self) -> None:
        enabled = self.w.action_registry["toggle_remote_images"].isChecked()
        self.w.settings.remote_images = enabled
        self.w.set_remote_images(enabled)
        self.message("Remote images " + ("on." if enabled else "off: no image is fetched from the network."))

    def message(self, text: str) -> None:
        self.w.statusBar().showMessage(text, MESSAGE_MS)
