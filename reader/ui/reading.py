"""Reading: the selected article in the pane, moving through the list, opening originals, read and
star flags; and marking a whole list read."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex

from reader.records import NO_SOURCE, Article, Progress, Query, counted
from reader.store import StoreProtocol
from reader.ui.article_model import ArticleListModel, ArticleRole
from reader.ui.article_view import ArticleListView
from reader.ui.flag_writer import Corrections, FlagWriter
from reader.ui.jobs import JobKind, StoreWork
from reader.ui.reading_pane import ReadingPane
from reader.ui.settings import Settings
from reader.ui.status import Message, reports_store_errors

if TYPE_CHECKING:
    from PySide6.QtCore import QUrl  # (imported where it is used: see reader.ui.reading_pane)

    from reader.ui.results import MarkedRead
    from reader.ui.store_reader import StoreReader


#: Where the person is in the list: the current article's id and the list's scroll position.
Place = tuple[int, int]


def lists(query: Query, article: Article) -> bool:
    """Whether a list of ``query`` (without a search) holds ``article``: the last article read is
    shown at start only in a start-up view that lists it (an Unread view does not list it once
    read), never beside a list without it."""
    if (query.view == "unread" and article.read) or (query.view == "starred" and not article.starred):
        return False
    if query.feed_id is not None and article.feed_id != query.feed_id:
        return False
    if query.source == NO_SOURCE:
        return article.source is None and article.feed_id is None
    if query.source is not None:
        return article.source == query.source and (query.feeds_too or article.feed_id is None)
    return True


class Reading(QObject):
    """Owns what the person reads: the list's current article shown in the pane, and its flags.

    ``store`` is the GUI thread's connection, only read here (one article for the pane); flags
    go through the model, which hands them to the window's flag writer. With a ``reader`` (a
    shared store) the pane's article is read on the reader's thread and shown when it arrives,
    if it is still the one wanted then (the person may have moved on).
    """

    def __init__(
        self,
        store: StoreProtocol,
        model: ArticleListModel,
        view: ArticleListView,
        pane: ReadingPane,
        settings: Settings,
        message: Message,
        parent: QObject | None = None,
        *,
        reader: StoreReader | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._reader = reader
        #: The article asked of the reader for the pane and not shown yet (None: none on its way).
        self._wanted: int | None = None
        #: Counts "next unread" keys: an answer for an older one (still on its way) is dropped.
        self._unread_asked = 0
        self._model = model
        self._view = view
        self._pane = pane
        self._settings = settings
        self.message = message
        self._find_after_paint: int | None = None
        #: The article the window picked at start, to show in the pane after the first paint.
        self._pane_owed: int | None = None
        self._starting = False
        # The article the window put up by itself at start: shown, not read, until the person
        # moves or acts (re-selecting it after a reload is neither).
        self._unasked: int | None = None
        model.dataChanged.connect(self._on_data_changed)

    # --- start ---

    def start(self) -> None:
        """Select the last article read (else the first). Before the first paint only the first
        page is searched; an article deeper down is selected after the paint. The pane shows the
        article right after the first paint (rendering it took 6-8 ms before it); it is blank till then
        (see ReadingPane). Asynchronous (a shared store): all of it once the first page is in."""
        if self._reader is not None:
            self._model.when_listed(self._start_listed)
            return
        self._starting = True
        try:
            last = self._settings.last_article
            row = self._model.row_of(last) if last else None
            if row is not None:
                self._select_unasked(row)
            elif last and (article := self._store.get(last)) is not None and lists(self._model.query, article):
                self._pane_owed = article.id
                self._unasked = article.id
                self._find_after_paint = last
            else:
                self._select_unasked(0)
        finally:
            self._starting = False
        if self._pane_owed is None:
            self._pane.show_empty()  # (nothing to show: say so; else the pane is blank till then)

    def _start_listed(self) -> None:
        """:meth:`start` on a shared store: the first page is in (the window has been painted
        meanwhile, so the pane shows what it is given at once)."""
        if self._view.current_row() >= 0:
            return  # the person moved already
        last = self._settings.last_article
        row = self._model.row_of(last) if last else None
        if row is not None:
            self._select_unasked(row)
            return
        if not last or self._reader is None:
            self._select_first()
            return
        generation = self._model.generation

        def got(article: Article | None) -> None:
            if generation != self._model.generation or self._view.current_row() >= 0:
                return  # another list, or the person moved meanwhile
            if article is None or article.id is None or not lists(self._model.query, article):
                self._select_first()
                return
            self._unasked = article.id
            self._pane.show_article(article)
            self._model.find_row_then(article.id, found)

        def found(row: int | None) -> None:
            if row is not None and self._view.current_row() < 0:
                self._select_unasked(row)

        self._reader.ask(lambda store: store.get(last), got)

    def _select_first(self) -> None:
        if self._model.rowCount():
            self._select_unasked(0)
        else:
            self._pane.show_empty()

    def after_first_paint(self) -> None:
        self._show_owed()
        if self._find_after_paint is not None and self._view.current_row() < 0:
            row = self._model.find_row(self._find_after_paint)
            if row is not None:
                self._select_unasked(row)
        self._find_after_paint = None

    @reports_store_errors
    def _show_owed(self) -> None:
        owed, self._pane_owed = self._pane_owed, None
        if owed is not None and self._pane.article is None:
            self._pane.show_article(self._store.get(owed))

    def _select_unasked(self, row: int) -> None:
        """Select ``row`` for the person without marking it read: they have not chosen it yet."""
        self._unasked = self._model.article_id(row)
        self._view.select_row(row)

    # --- selection ---

    @reports_store_errors
    def on_article_selected(self, article_id: int, row: int) -> None:
        """The list's current article is now ``article_id``, on ``row``: show it, and mark it read
        unless it is the window's own pick at start (DESIGN: only what the person chose counts)."""
        if self._starting and article_id == self._unasked:
            self._pane_owed = article_id  # shown after the first paint (see start)
            self._settings.last_article = article_id
            return
        self._pane_owed = None
        article = self._pane.article
        if article is None or article.id != article_id:
            # Re-selecting the shown article (after a reload) keeps the pane's scroll position.
            self._show_in_pane(article_id, row)
        else:
            self._wanted = None  # (back on the shown one: an article still on its way is not)
        # The window's own pick at start, or that pick again after a reload, is not read: any
        # other selection is the person's, and from then on every selection marks read.
        if article_id != self._unasked:
            self._unasked = None
            if not self._model.is_read(row):
                self._model.set_read(row, True)  # shown at once; stored by the flag writer
        self._settings.last_article = article_id

    def _show_in_pane(self, article_id: int, row: int) -> None:
        """The pane shows ``article_id`` (on ``row``): read at once from a store file; asked of
        the reader on a shared store, and shown when it arrives if it is still wanted."""
        if self._reader is None:
            self._pane.show_article(self._store.get(article_id))
            self._pane.set_starred(bool(self._model.data(self._model.index(row), ArticleRole.starred)))
            return
        if self._wanted == article_id:
            return  # (on its way already)
        self._wanted = article_id

        def arrived(article: Article | None) -> None:
            if self._wanted != article_id:
                return  # the person moved on meanwhile
            self._wanted = None
            self._pane.show_article(article)
            shown = self._model.row_of(article_id)
            if shown is not None:
                self._pane.set_starred(bool(self._model.data(self._model.index(shown), ArticleRole.starred)))

        def failed(_line: str) -> None:
            if self._wanted == article_id:
                self._wanted = None  # (the reader says why; selecting it again asks again)

        self._reader.ask(
            lambda store: store.get(article_id), arrived, failed=failed, wanted=lambda: self._wanted == article_id
        )

    @property
    def wanted(self) -> int | None:
        """The article on its way to the pane (a shared store), or None."""
        return self._wanted

    @reports_store_errors
    def next_article(self) -> None:
        self._view.next_article()

    @reports_store_errors
    def previous_article(self) -> None:
        self._view.previous_article()

    @reports_store_errors
    def next_unread(self) -> None:
        self._unread_asked += 1
        asked = self._unread_asked

        def then(selected: bool) -> None:
            if not selected and asked == self._unread_asked:
                self.message("No more unread articles.")

        self._view.next_unread_then(then)

    @reports_store_errors
    def previous_unread(self) -> None:
        self._view.previous_unread()

    @reports_store_errors
    def scroll_down(self) -> None:
        if not self._pane.scroll_page(True):
            self.next_unread()

    def scroll_up(self) -> None:
        self._pane.scroll_page(False)

    # --- search results ---

    def place(self) -> Place | None:
        """Where the person is, to come back to when a search ends: the current article (else the
        one shown) and how far the list is scrolled."""
        article_id = self._model.article_id(self._view.current_row())
        if article_id is None and self._pane.article is not None:
            article_id = self._pane.article.id
        return None if article_id is None else (article_id, self._view.verticalScrollBar().value())

    @reports_store_errors
    def return_to(self, place: Place) -> None:
        """Back to ``place`` (the search was cleared): that article current and shown, the list
        scrolled as it was. Not marked read on the way: coming back is not choosing it again."""
        article_id, scroll = place
        self._model.find_row_then(article_id, lambda row: self._returned(article_id, scroll, row))

    @reports_store_errors
    def _returned(self, article_id: int, scroll: int, row: int | None) -> None:
        if row is None:
            self.show_results()  # gone meanwhile (or another list): as for any new list
            return
        self._unasked = article_id
        self._view.select_row(row, scroll=False)
        self._view.verticalScrollBar().setValue(scroll)
        self._view.scrollTo(self._model.index(row))  # (only moves when the row is out of sight)

    @reports_store_errors
    def show_results(self) -> None:
        """The list has new results (a search): the article shown stays when they list it (among
        the rows loaded), else the first result is selected and shown; neither is marked read,
        the person has not chosen them. No results: the pane shows nothing either, rather than an
        article the search does not list."""
        shown = self._pane.article.id if self._pane.article is not None else None
        row = self._model.row_of(shown) if shown is not None else None
        if row is None and self._model.rowCount():
            row = 0
        if row is None:
            self._pane.show_empty()
        else:
            self._select_unasked(row)

    @reports_store_errors
    def choose_first(self) -> None:
        """Enter in the search field: the first result, chosen by the person (so it is read)."""
        article_id = self._model.article_id(0)
        if article_id is None:
            return
        self._unasked = None
        if self._view.current_row() == 0:
            self.on_article_selected(article_id, 0)  # already current: no signal to say so
        else:
            self._view.select_row(0)

    # --- originals ---

    def open_original(self) -> None:
        item = self._view.current_article()
        if item is None:
            self.message("No article selected.")
            return
        if not item.url:
            self.message("This article has no link to an original.")
            return
        row = self._view.current_row()
        if row >= 0 and not self._model.is_read(row):
            self._model.set_read(row, True)  # opening the original is reading it
        self._unasked = None
        from PySide6.QtCore import QUrl

        self.open_link(QUrl(item.url))

    def open_link(self, url: QUrl | str) -> None:
        """The one way the window hands a URL to the system browser."""
        from reader.ui import desktop  # (QDesktopServices and QProcess: not needed for the first paint)

        error = desktop.open_url(url)
        if error:
            self.message(error[:1].upper() + error[1:])
        else:
            text = url if isinstance(url, str) else url.toString()
            self.message(f"Opened {text}")

    # --- flags ---

    def toggle_read(self) -> None:
        row = self._view.current_row()
        if row >= 0:
            self._model.toggle_read(row)

    def toggle_starred(self) -> None:
        row = self._view.current_row()
        if row >= 0:
            self._model.toggle_starred(row)

    def toggle_pane_starred(self) -> None:
        """The pane's star was clicked: the shown article's star, as the star key toggles it."""
        article = self._pane.article
        row = self._model.row_of(article.id) if article is not None and article.id is not None else None
        if row is not None:
            self._model.toggle_starred(row)

    def _on_data_changed(
        self, first: QModelIndex | QPersistentModelIndex, last: QModelIndex | QPersistentModelIndex, roles: list[int]
    ) -> None:
        """The pane's star follows the list's (toggled by key or click, or taken back when refused)."""
        article = self._pane.article
        if article is None or article.id is None or (roles and ArticleRole.starred not in roles):
            return
        row = self._model.row_of(article.id)
        if row is not None and first.row() <= row <= last.row():
            self._pane.set_starred(bool(self._model.data(self._model.index(row), ArticleRole.starred)))

    def on_flags_refused(self, message: str, corrections: Corrections) -> None:
        """The store refused some flags (busy past its timeout, read-only, damaged, disk full):
        said in the status bar, and the list shows those articles as the store has them."""
        self.message(message)
        for flag, values in corrections.items():
            self._model.show_flags(flag, values)


class MarkingAllRead(QObject):
    """Shift+A: every article the list shows is marked read, by a job (a list can be long).
    Ctrl+Z sets exactly the articles the last Shift+A changed unread again."""

    def __init__(
        self, model: ArticleListModel, work: StoreWork, flags: FlagWriter, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._model = model
        self._work = work
        self._flags = flags
        # The last mark-all's list and the articles it changed, until undone or marked again.
        self._undo: tuple[Query, tuple[int, ...]] | None = None

    def mark_all_read(self) -> None:
        if self._work.jobs.running(JobKind.UNDO_MARK_ALL_READ):
            # Its "unread" and this "read" would race for the store on two connections.
            self._work.message("Still undoing the last mark all read.")
            return
        query = self._model.query
        db = self._work.db
        flags = self._flags
        before = flags.last_seq
        self._undo = None  # only the last mark-all is undone, and this one is not done yet

        def work(progress: Progress, cancel: threading.Event) -> MarkedRead:
            from reader.ui.results import MarkedRead

            # The flags set before Shift+A are stored first: an "unread" queued a moment before
            # must not land after "all read" and undo it. (Not cancelled by closing the window:
            # the writer needs nothing from the GUI thread, so this ends within a write.)
            flags.wait_stored(before)
            with db.open() as store:
                return MarkedRead(tuple(store.mark_all_read_ids(query)))

        def done(result: MarkedRead) -> None:
            if self._model.query == query:
                self._model.mark_rows_read()
            else:
                self._work.reload()  # the person moved on to another list meanwhile
            if result.changed:
                self._undo = (query, result.ids)
                self._work.message(f"Marked {counted(result.changed, 'article')} read — Ctrl+Z to undo")
            else:
                self._work.message("Nothing to mark read: every article listed is read.")
            self._work.refresh_counts()

        self._work.jobs.start(JobKind.MARK_ALL_READ, work, done)

    def undo(self) -> None:
        """Ctrl+Z: the articles the last mark-all changed are unread again (not the ones that
        were read before it: their state was not its doing)."""
        if self._undo is None:
            self._work.message("Nothing to undo.")
            return
        (query, ids), self._undo = self._undo, None
        db = self._work.db
        flags = self._flags
        before = flags.last_seq

        def work(progress: Progress, cancel: threading.Event) -> int:
            flags.wait_stored(before)  # as for Shift+A: flags set before it land before it
            with db.open() as store:
                return store.set_read(ids, False)

        def done(_changed: int) -> None:
            if self._model.query == query:
                self._model.mark_rows_read(ids, read=False)
            else:
                self._work.reload()
            self._work.message(f"Marked {counted(len(ids), 'article')} unread again.")
            self._work.refresh_counts()

        self._work.jobs.start(JobKind.UNDO_MARK_ALL_READ, work, done, label="Undoing mark all read")
