"""What the article list lists: the query, the empty state, and reloading it without losing the
reader's place."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QStackedWidget

from reader.records import Query
from reader.ui.article_model import ArticleListModel
from reader.ui.article_view import ArticleListView
from reader.ui.status import Message, reports_store_errors

EMPTY_STORE_TEXT = "No articles yet.\n\nImport files (Ctrl+O) or add a feed (Ctrl+N),\nor drop files or folders here."


class Listing(QObject):
    """Owns the list's query and what shows when it lists nothing (``stack`` holds the list and
    ``empty_label``)."""

    def __init__(
        self,
        model: ArticleListModel,
        view: ArticleListView,
        stack: QStackedWidget,
        empty_label: QLabel,
        message: Message,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._model = model
        self._view = view
        self._stack = stack
        self._empty = empty_label
        self.message = message
        # A shared store's reload whose pages are still on their way: the place it is to keep
        # (current article, rows loaded, scroll), for a reload that comes before they arrive.
        self._owed: tuple[int | None, int, int] | None = None
        # Not modelReset: a reset has no rows until the first page is in, and showing the empty state
        # for that moment hides the focused list; focus coming back makes Qt select row 0 (marked read).
        model.query_changed.connect(self.update_empty_state)
        model.rowsInserted.connect(self.update_empty_state)
        model.page_loaded.connect(self.update_empty_state)  # (a shared store's page, rows or none)

    @property
    def query(self) -> Query:
        return self._model.query

    def set_query(self, query: Query, *, first_page: int | None = None) -> None:
        """List ``query``; ``first_page``: see :meth:`ArticleListModel.set_query`."""
        if first_page is None:
            self._model.set_query(query)
        else:
            self._model.set_query(query, first_page=first_page)
        self.update_empty_state()

    def when_listed(self, then: Callable[[], None]) -> None:
        """``then()`` once the list's first page is in (see :meth:`ArticleListModel.when_listed`)."""
        self._model.when_listed(then)

    def update_empty_state(self) -> None:
        # (A shared store's first page still on its way: the list stays, empty, till it comes.)
        if self._model.rowCount() == 0 and self._model.listed:
            query = self._model.query
            if query.search:
                self._empty.setText(f"No articles match “{query.search}”.\n\nEsc clears the search.")
            elif query.view != "all" or query.source or query.feed_id:
                self._empty.setText("Nothing here.")
            else:
                self._empty.setText(EMPTY_STORE_TEXT)
            self._stack.setCurrentWidget(self._empty)
        else:
            self._stack.setCurrentWidget(self._view)

    @reports_store_errors
    def reload_keeping_place(self) -> None:
        """Read the list from the store again (an import or a refresh brought articles) and keep
        the reader's place: the same article current, the list scrolled where it was. Nothing
        else is shown or marked read on the way."""
        view, model = self._view, self._model
        if self._owed is not None and not model.listed:
            # (The last reload's pages are still on their way: its place is still the one to keep.)
            current, loaded, scroll = self._owed
        else:
            current = model.article_id(view.current_row())
            loaded = model.rowCount()
            scroll = view.verticalScrollBar().value()
        self._owed = (current, loaded, scroll)
        model.reload()

        def restore(row: int | None) -> None:
            self._owed = None
            if row is not None:
                view.select_row(row, scroll=False)
            view.verticalScrollBar().setValue(scroll)
            self.update_empty_state()

        if current is None:
            model.when_listed(lambda: restore(None))
        else:
            # New articles land above; page down as far as the list had been read, no further.
            # (At once on a store file; on a shared store when the pages have arrived.)
            model.find_row_then(current, restore, max_rows=loaded + model.page_size)
        self.update_empty_state()

    def on_flags_idle(self) -> None:
        """Every flag is stored: a list chosen by flags still pending when it was read (the Starred
        view just after a star) is read again, so it lists what the store now says."""
        if self._model.reload_owed:
            self.reload_keeping_place()
