"""Searching and filtering: the search field's text and the sidebar's pick become the list's query."""

from __future__ import annotations

from PySide6.QtCore import QObject

from reader.records import Query
from reader.ui.article_view import ArticleListView
from reader.ui.listing import Listing
from reader.ui.reading import Place, Reading
from reader.ui.search_bar import SearchBar
from reader.ui.sidebar import SidebarKey
from reader.ui.status import Message, reports_store_errors

#: Searches start at this many typed characters.
MIN_SEARCH_CHARS = 2


class Searching(QObject):
    """Owns the search field's part: focus on ``/``, searching as the text settles, Enter, Esc;
    and the place in the list to return to when the search ends."""

    def __init__(
        self,
        search: SearchBar,
        view: ArticleListView,
        listing: Listing,
        reading: Reading,
        message: Message,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._search = search
        self._view = view
        self._listing = listing
        self._reading = reading
        self.message = message
        # Where the person was when the search started: Esc goes back there, not to the top.
        self._before: Place | None = None

    def focus_search(self) -> None:
        self._search.setFocus()
        self._search.selectAll()

    @reports_store_errors
    def on_search_changed(self, text: str) -> None:
        # One letter is a whole word ("a", "I") that matches most articles or none, nothing useful
        # while typing: the search starts at the second character.
        search = text if len(text.strip()) >= MIN_SEARCH_CHARS else None
        if search is None and text.strip():
            self.message(f"Type at least {MIN_SEARCH_CHARS} characters to search.")
        was = self._listing.query.search
        if search == was:
            return
        if was is None:
            self._before = self._reading.place()
        self._listing.set_query(self._listing.query._replace(search=search))
        # (On a shared store the results arrive later: what follows them waits for them.)
        if search is not None:
            self._listing.when_listed(self._reading.show_results)
        elif self._before is not None:
            before, self._before = self._before, None
            self._reading.return_to(before)
        else:
            self._listing.when_listed(self._reading.show_results)

    def on_search_escaped(self) -> None:
        self._view.setFocus()

    def on_search_accepted(self) -> None:
        """Enter: the first result is selected and read, and the list takes the keys."""
        if self._listing.query.search:
            self._listing.when_listed(self._reading.choose_first)
        self._view.setFocus()

    def clear_search(self) -> None:
        """Esc anywhere: drop an active search and go back to the list."""
        if self._search.text() or self._listing.query.search:
            self._search.clear_search()
        self._view.setFocus()

    @reports_store_errors
    def on_sidebar_changed(self, key: SidebarKey) -> None:
        """The sidebar's pick (a view, a source, a feed, an account's folder), keeping the search."""
        query = Query(
            view=key.view,
            source=key.source,
            feed_id=key.feed_id,
            account_id=key.account_id,
            folder=key.folder,
            label=key.label,
            search=self._listing.query.search,
        )
        if query != self._listing.query:
            self._listing.set_query(query)
            if query.search:
                self._listing.when_listed(self._reading.show_results)
