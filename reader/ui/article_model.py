"""The article list model: store pages -> list items, fetched lazily, newest first."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Protocol

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QPixmap

from reader.article import ArticleRow
from reader.store import Cursor, Query, Store

#: Rows per store page; a page is one indexed keyset query (a few ms even at row 100,000).
PAGE_SIZE = 200

_Index = QModelIndex | QPersistentModelIndex


class ArticleRole(enum.IntEnum):
    """Custom roles. ``item`` returns the whole frozen :class:`ArticleRow`."""

    item = Qt.ItemDataRole.UserRole + 1
    id = enum.auto()
    source = enum.auto()
    author = enum.auto()
    published = enum.auto()
    snippet = enum.auto()
    url = enum.auto()
    image_url = enum.auto()
    read = enum.auto()
    starred = enum.auto()
    thumbnail = enum.auto()


class ThumbnailProvider(Protocol):
    """What the model needs of the image service (see :mod:`reader.ui.thumbnails`)."""

    def thumbnail_for(self, row: ArticleRow) -> QPixmap | None: ...


class ArticleListModel(QAbstractListModel):
    """Articles matching a :class:`Query`, loaded page by page with keyset pagination.

    Signals:
        query_changed: the list was reset for a new query.
    """

    query_changed = Signal()

    def __init__(self, store: Store, parent: QObject | None = None, *, page_size: int = PAGE_SIZE) -> None:
        super().__init__(parent)
        self._store = store
        self._page_size = page_size
        self._query = Query()
        self._rows: list[ArticleRow] = []
        self._row_of_id: dict[int, int] = {}
        self._cursor: Cursor | None = None
        self._exhausted = False
        # True while the model announces a reset or an insert: a slot of those signals (the model
        # tester does this) must not fetch into a half-announced model, or pages land out of order.
        self._notifying = False
        self.thumbnails: ThumbnailProvider | None = None

    # --- the query ---

    @property
    def query(self) -> Query:
        return self._query

    def set_query(self, query: Query) -> None:
        self._notifying = True
        try:
            self.beginResetModel()
            self._query = query
            self._rows = []
            self._row_of_id = {}
            self._cursor = None
            self._exhausted = False
            self.endResetModel()
        finally:
            self._notifying = False
        # Load the first page now, so the view can select and show the first article at once.
        if self.canFetchMore(QModelIndex()):
            self.fetchMore(QModelIndex())
        self.query_changed.emit()

    def reload(self) -> None:
        """Reload from the store (after an import or a refresh), keeping the query."""
        self.set_query(self._query)

    # --- Qt model interface ---

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Override QAbstractListModel.rowCount."""
        return 0 if parent.isValid() else len(self._rows)

    def canFetchMore(self, parent: _Index) -> bool:
        """Override QAbstractItemModel.canFetchMore."""
        return not parent.isValid() and not self._exhausted and not self._notifying

    def fetchMore(self, parent: _Index) -> None:
        """Override QAbstractItemModel.fetchMore: append the next keyset page."""
        if parent.isValid() or self._exhausted or self._notifying:
            return
        page = self._store.page(self._query, self._cursor, self._page_size)
        self._cursor = page.next_cursor
        self._exhausted = page.next_cursor is None
        if not page.rows:
            return
        first = len(self._rows)
        self._notifying = True
        try:
            self.beginInsertRows(QModelIndex(), first, first + len(page.rows) - 1)  # last is inclusive
            self._rows.extend(page.rows)
            for offset, row in enumerate(page.rows):
                self._row_of_id[row.id] = first + offset
            self.endInsertRows()
        finally:
            self._notifying = False

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Override QAbstractListModel.data; None for roles it does not serve."""
        if not index.isValid() or index.row() >= len(self._rows) or index.column() != 0:
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.title or "(untitled)"
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.title
        if role == ArticleRole.item:
            return row
        if role == ArticleRole.id:
            return row.id
        if role == ArticleRole.source:
            return row.source
        if role == ArticleRole.author:
            return row.author
        if role == ArticleRole.published:
            return row.published
        if role == ArticleRole.snippet:
            return row.snippet
        if role == ArticleRole.url:
            return row.url
        if role == ArticleRole.image_url:
            return row.image_url
        if role == ArticleRole.read:
            return row.read
        if role == ArticleRole.starred:
            return row.starred
        if role == ArticleRole.thumbnail:
            return self.thumbnails.thumbnail_for(row) if self.thumbnails is not None else None
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        """Override QAbstractListModel.flags."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def roleNames(self) -> dict[int, bytes]:
        """Override QAbstractItemModel.roleNames."""
        names = dict(super().roleNames())
        names.update({int(role): role.name.encode() for role in ArticleRole})
        return names

    # --- rows ---

    def row(self, index: int) -> ArticleRow | None:
        return self._rows[index] if 0 <= index < len(self._rows) else None

    def row_of(self, article_id: int) -> int | None:
        return self._row_of_id.get(article_id)

    def find_row(self, article_id: int, *, max_rows: int = 5000) -> int | None:
        """The row of ``article_id``, fetching pages until found (at most ``max_rows`` deep)."""
        while (found := self.row_of(article_id)) is None and self.canFetchMore(QModelIndex()):
            if len(self._rows) >= max_rows:
                return None
            self.fetchMore(QModelIndex())
        return found

    # --- read / star state (written to the store, then shown) ---

    def set_read(self, row: int, read: bool) -> None:
        item = self.row(row)
        if item is None or item.read == read:
            return
        self._store.set_read([item.id], read)
        self._replace(row, dataclasses.replace(item, read=read), [ArticleRole.read])

    def toggle_read(self, row: int) -> None:
        item = self.row(row)
        if item is not None:
            self.set_read(row, not item.read)

    def toggle_starred(self, row: int) -> None:
        item = self.row(row)
        if item is None:
            return
        self._store.set_starred(item.id, not item.starred)
        self._replace(row, dataclasses.replace(item, starred=not item.starred), [ArticleRole.starred])

    def mark_rows_read(self, ids: set[int] | None = None) -> None:
        """Show rows as read after a bulk write (``ids`` None: every loaded row)."""
        changed = []
        for i, item in enumerate(self._rows):
            if not item.read and (ids is None or item.id in ids):
                self._rows[i] = dataclasses.replace(item, read=True)
                changed.append(i)
        if changed:
            roles = [int(ArticleRole.read), int(ArticleRole.item), int(Qt.ItemDataRole.FontRole)]
            self.dataChanged.emit(self.index(changed[0]), self.index(changed[-1]), roles)

    def thumbnail_arrived(self, row: int) -> None:
        """An image for ``row`` is ready: repaint only its thumbnail."""
        if 0 <= row < len(self._rows):
            index = self.index(row)
            self.dataChanged.emit(index, index, [int(ArticleRole.thumbnail)])

    def rows_with_image(self, image_url: str) -> list[int]:
        return self._rows_of_image.get(image_url, [])

    def _replace(self, row: int, item: ArticleRow, roles: list[ArticleRole]) -> None:
        self._rows[row] = item
        index = self.index(row)
        self.dataChanged.emit(index, index, [int(r) for r in (*roles, ArticleRole.item)])
