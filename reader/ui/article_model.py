"""The article list model: store pages -> list items, fetched lazily, newest first.

Memory stays flat at 100,000 rows: for every listed article the model keeps only its id and its
read/starred flags (compact arrays: navigation and "next unread" need nothing else). What a row
shows (title, snippet, source, image URL ...) is loaded in blocks for the rows being painted and
kept in a bounded cache.

On a store file pages and blocks are read on the GUI thread (local indexed reads of a few ms). On
a shared store each is a round trip to a server: there the model is given a
:class:`~reader.ui.store_reader.StoreReader` and asks it instead (*asynchronous*): a page asked
for is inserted when it arrives, a row whose block is on its way is empty (the delegate paints it
as loading) until the block arrives and ``dataChanged`` says so. Every reset for a new query
starts a new *generation*: answers for an older one are dropped. What needs rows that are not
loaded yet (finding an article, the next unread) takes a callback: at once on a store file, when
the rows arrive on a shared store.
"""

from __future__ import annotations

import enum
from array import array
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QAbstractListModel, QByteArray, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QPixmap

from reader.records import ArticleRow, Cursor, Page, Query
from reader.store import StoreProtocol

if TYPE_CHECKING:
    from reader.ui.store_reader import StoreReader

#: Rows per store page; a page is one indexed keyset query (a few ms even at row 100,000).
PAGE_SIZE = 200
#: Rows loaded together when a row not in the cache is painted (one ``id IN (...)`` query).
BLOCK_SIZE = 64
#: Display rows kept in memory (a few screens up and down).
CACHE_ROWS = 2048

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


class Flag(enum.Enum):
    """A flag a person sets on an article."""

    READ = "read"
    STARRED = "starred"


class FlagSink(Protocol):
    """Where the model writes flags when it is not to write them itself (the window's
    :class:`reader.ui.flag_writer.FlagWriter`, which stores them off the GUI thread). Flags it
    has been handed and not stored yet are *pending*: the model shows them over what it reads
    back from the store."""

    def write(self, flag: Flag, article_id: int, value: bool, *, was: bool) -> None:
        """Store ``flag`` = ``value`` for ``article_id`` (shown as ``was`` until now). Never blocks."""

    def pending(self, flag: Flag, article_id: int) -> bool | None:
        """The value of ``flag`` queued for ``article_id`` and not stored yet, or None."""

    def any_pending(self, flag: Flag | None = None) -> bool:
        """Whether any write (of ``flag``) is queued and not stored yet."""


class ArticleListModel(QAbstractListModel):
    """Articles matching a :class:`Query`, loaded page by page with keyset pagination.

    Read and star flags are written to the store at once, on the GUI thread, unless a
    :class:`FlagSink` is given (the window's): then the row shows the new flag at once and the
    sink stores it; rows read back from the store meanwhile show the pending flags.

    With a :class:`~reader.ui.store_reader.StoreReader` (a shared store) pages and blocks of rows
    are read on its thread and arrive later (see the module's docstring).

    Signals:
        query_changed: the list was reset for a new query.
        page_loaded: a page asked of the reader arrived and its rows (if any) were inserted.
    """

    query_changed = Signal()
    page_loaded = Signal()

    def __init__(
        self,
        store: StoreProtocol,
        parent: QObject | None = None,
        *,
        page_size: int = PAGE_SIZE,
        cache_rows: int = CACHE_ROWS,
        flags: FlagSink | None = None,
        reader: StoreReader | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._reader = reader
        # Asynchronous reads (see the module's docstring): the query's generation, whether a page
        # is on its way, the blocks on their way (their first rows), what waits for the next page
        # and for the first one, and whether the first page of this generation is in.
        self._generation = 0
        self._page_asked = False
        self._blocks_asked: set[int] = set()
        self._after_page: list[Callable[[], None]] = []
        self._after_listed: list[Callable[[], None]] = []
        self._listed = reader is None
        self._flags = flags
        #: The list was read from the store while flags that decide which articles it lists were
        #: pending (the Starred view while a star was queued): it is to be read again once they are stored.
        self._reload_owed = False
        self._page_size = page_size
        self._cache_rows = max(cache_rows, BLOCK_SIZE)
        self._query = Query()
        self._ids = array("q")
        self._read = bytearray()
        self._starred = bytearray()
        self._cache: OrderedDict[int, ArticleRow] = OrderedDict()  # row -> display row, LRU
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

    def set_query(self, query: Query, *, first_page: int | None = None) -> None:
        """List ``query``, from its first page. ``first_page``: read only that many rows of it now
        (the rows the view shows: the window's first paint waits for them alone); the next
        :meth:`fetchMore` reads the rest of the page."""
        self._reload_owed = self._flags is not None and any(
            self._flags.any_pending(flag) for flag in _FLAGS_THAT_CHOOSE_ROWS.get(query.view, ())
        )
        self._notifying = True
        try:
            self.beginResetModel()
            self._query = query
            self._ids = array("q")
            self._read = bytearray()
            self._starred = bytearray()
            self._cache.clear()
            self._cursor = None
            self._exhausted = False
            self._generation += 1
            self._page_asked = False
            self._blocks_asked.clear()
            self._after_page.clear()
            self._after_listed.clear()
            self._listed = self._reader is None
            self.endResetModel()
        finally:
            self._notifying = False
        if self._reader is not None:
            # One round trip for the whole first page: it arrives when the server answers.
            self._fetch(self._page_size)
        # Load the first page now, so the view can select and show the first article at once.
        elif self.canFetchMore(QModelIndex()):
            self._fetch(self._page_size if first_page is None else max(1, min(first_page, self._page_size)))
        self.query_changed.emit()

    def reload(self) -> None:
        """Reload from the store (after an import or a refresh), keeping the query."""
        self.set_query(self._query)

    @property
    def asynchronous(self) -> bool:
        """Whether pages and rows are read on a :class:`StoreReader` and arrive later."""
        return self._reader is not None

    @property
    def generation(self) -> int:
        """The query's generation: a new one with every reset (answers for an older one are dropped)."""
        return self._generation

    @property
    def listed(self) -> bool:
        """Whether the query's first page is in (always, on a store file)."""
        return self._listed

    @property
    def fetching(self) -> bool:
        """Whether a page asked of the reader is on its way."""
        return self._page_asked

    def when_listed(self, then: Callable[[], None]) -> None:
        """``then()`` once the query's first page is in: at once when it is (always on a store
        file), else when it arrives; never when the list is reset for another query first."""
        if self._listed:
            then()
        else:
            self._after_listed.append(then)

    def fetch_then(self, then: Callable[[], None]) -> None:
        """Fetch the next page and call ``then()`` once it is in (at once on a store file; not
        at all when the list is reset first, or when there is nothing more to fetch)."""
        if not self.canFetchMore(QModelIndex()):
            return
        if self._reader is None:
            self.fetchMore(QModelIndex())
            then()
            return
        self._after_page.append(then)
        self.fetchMore(QModelIndex())

    @property
    def reload_owed(self) -> bool:
        """Whether the rows listed were chosen by the store before pending flags that choose them
        were stored (see :class:`FlagSink`): reload once they are."""
        return self._reload_owed

    # --- Qt model interface ---

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Override QAbstractListModel.rowCount."""
        return 0 if parent.isValid() else len(self._ids)

    def canFetchMore(self, parent: _Index) -> bool:
        """Override QAbstractItemModel.canFetchMore."""
        return not parent.isValid() and not self._exhausted and not self._notifying

    def fetchMore(self, parent: _Index) -> None:
        """Override QAbstractItemModel.fetchMore: append the next keyset page (the rest of the
        first one, after a short first page: see :meth:`set_query`)."""
        if parent.isValid():
            return
        self._fetch(self._page_size - len(self._ids) % self._page_size)

    def _fetch(self, size: int) -> None:
        if self._exhausted or self._notifying:
            return
        if self._reader is not None:
            self._ask_page(size)
            return
        self._take_page(self._store.page(self._query, self._cursor, size))

    def _ask_page(self, size: int) -> None:
        assert self._reader is not None
        if self._page_asked:
            return  # (one page on its way at a time: the next starts where it ends)
        self._page_asked = True
        generation, query, cursor = self._generation, self._query, self._cursor
        self._reader.ask(
            lambda store: store.page(query, cursor, size),
            lambda page: self._page_arrived(generation, page),
            failed=lambda _line: self._page_failed(generation),
            wanted=lambda: generation == self._generation,
        )

    def _page_arrived(self, generation: int, page: Page) -> None:
        if generation != self._generation:
            return  # an answer for a list that is gone
        self._page_asked = False
        self._take_page(page)
        first = not self._listed
        self._listed = True
        waiting, self._after_page = self._after_page, []
        if first:
            waiting += self._after_listed
            self._after_listed = []
        for then in waiting:
            if generation != self._generation:
                break  # (one of them started another list)
            then()
        self.page_loaded.emit()

    def _page_failed(self, generation: int) -> None:
        if generation == self._generation:
            self._page_asked = False  # (the next fetchMore asks again; the reader said why)

    def _take_page(self, page: Page) -> None:
        self._cursor = page.next_cursor
        self._exhausted = page.next_cursor is None
        if not page.rows:
            return
        rows = page.rows
        if self._flags is not None and self._flags.any_pending():
            rows = [self._with_pending(r) for r in rows]
        first = len(self._ids)
        self._notifying = True
        try:
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)  # last is inclusive
            self._ids.extend(r.id for r in rows)
            self._read.extend(r.read for r in rows)
            self._starred.extend(r.starred for r in rows)
            # The page's rows are the ones about to be painted (the first page, or the end the
            # view scrolled to): keep them instead of loading them again.
            for offset, r in enumerate(rows):
                self._remember(first + offset, r)
            self.endInsertRows()
        finally:
            self._notifying = False

    def _with_pending(self, row: ArticleRow) -> ArticleRow:
        """``row`` as read from the store, with the flags still on their way to it."""
        assert self._flags is not None
        read = self._flags.pending(Flag.READ, row.id)
        starred = self._flags.pending(Flag.STARRED, row.id)
        if (read is None or read == row.read) and (starred is None or starred == row.starred):
            return row
        return row._replace(
            read=row.read if read is None else read, starred=row.starred if starred is None else starred
        )

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Override QAbstractListModel.data; None for roles it does not serve."""
        if not index.isValid() or index.column() != 0:
            return None
        number = index.row()
        if not 0 <= number < len(self._ids):
            return None
        if role == ArticleRole.id:
            return self._ids[number]
        if role == ArticleRole.read:
            return bool(self._read[number])
        if role == ArticleRole.starred:
            return bool(self._starred[number])
        if role not in _SERVED_ROLES:
            return None
        row = self.row(number)
        if row is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return row.title or "(untitled)"
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.title
        if role == ArticleRole.item:
            return row
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
        if role == ArticleRole.thumbnail:
            return self.thumbnails.thumbnail_for(row) if self.thumbnails is not None else None
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        """Override QAbstractListModel.flags."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def roleNames(self) -> dict[int, QByteArray]:
        """Override QAbstractItemModel.roleNames."""
        names = dict(super().roleNames())
        names.update({int(role): QByteArray(role.name.encode()) for role in ArticleRole})
        return names

    # --- rows ---

    def row(self, index: int) -> ArticleRow | None:
        """The display row ``index`` (loaded with its block if it is not cached; asynchronous:
        None until its block arrives)."""
        if not 0 <= index < len(self._ids):
            return None
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        if self._reader is not None:
            self._ask_block(index)
            return None
        self._load_block(index)
        return self._cache.get(index)

    def article_id(self, index: int) -> int | None:
        return self._ids[index] if 0 <= index < len(self._ids) else None

    def is_read(self, index: int) -> bool:
        return bool(self._read[index]) if 0 <= index < len(self._read) else True

    def row_of(self, article_id: int) -> int | None:
        try:
            return self._ids.index(article_id)  # a C scan: well under a millisecond at 100,000
        except ValueError:
            return None

    @property
    def page_size(self) -> int:
        return self._page_size

    def next_unread_row(self, after: int) -> int | None:
        """The first unread row below ``after``. Rows not loaded yet are asked of the store first (one
        indexed query), so at the end of a long, all-read list nothing is paged in for nothing."""
        for n in range(after + 1, len(self._ids)):
            if not self._read[n]:
                return n
        if self._exhausted:
            return None
        if self._query.view in ("all", "unread") and self._query.order == "newest":
            page = self._store.page(self._query._replace(view="unread"), self._cursor, 1)
            if not page.rows:
                return None
            return self.find_row(page.rows[0].id, max_rows=None)
        # Other views (starred): page on until an unread row turns up.
        while self.canFetchMore(QModelIndex()):
            start = len(self._ids)
            self.fetchMore(QModelIndex())
            for n in range(start, len(self._ids)):
                if not self._read[n]:
                    return n
        return None

    def next_unread_then(self, after: int, then: Callable[[int | None], None]) -> None:
        """``then(row)`` with :meth:`next_unread_row` (at once on a store file); asynchronous:
        the rows loaded are searched at once, rows beyond them are asked of the reader and
        ``then`` runs when they arrive (not at all when the list is reset first)."""
        if self._reader is None:
            then(self.next_unread_row(after))
            return
        for n in range(after + 1, len(self._ids)):
            if not self._read[n]:
                then(n)
                return
        if self._exhausted:
            then(None)
            return
        generation = self._generation
        if self._query.view in ("all", "unread") and self._query.order == "newest":
            query, cursor = self._query._replace(view="unread"), self._cursor

            def found(page: Page) -> None:
                if generation != self._generation:
                    return
                if not page.rows:
                    then(None)
                else:
                    self.find_row_then(page.rows[0].id, then, max_rows=None)

            self._reader.ask(
                lambda store: store.page(query, cursor, 1), found, wanted=lambda: generation == self._generation
            )
            return
        # Other views (starred): page on until an unread row turns up.
        start = len(self._ids)

        def paged() -> None:
            self.next_unread_then(max(after, start - 1), then)

        if self.canFetchMore(QModelIndex()):
            self.fetch_then(paged)
        else:
            then(None)

    def find_row_then(
        self, article_id: int, then: Callable[[int | None], None], *, max_rows: int | None = 5000
    ) -> None:
        """``then(row)`` with :meth:`find_row` (at once on a store file); asynchronous: pages are
        asked until the article is found (at most ``max_rows`` deep) and ``then`` runs when the
        answer is known (not at all when the list is reset first)."""
        if self._reader is None:
            then(self.find_row(article_id, max_rows=max_rows))
            return
        generation = self._generation

        def attempt() -> None:
            if generation != self._generation:
                return
            found = self.row_of(article_id)
            if (
                found is not None
                or not self.canFetchMore(QModelIndex())
                or (max_rows is not None and len(self._ids) >= max_rows)
            ):
                then(found)
                return
            self.fetch_then(attempt)

        self.when_listed(attempt)

    def find_row(self, article_id: int, *, max_rows: int | None = 5000) -> int | None:
        """The row of ``article_id``, fetching pages until found (at most ``max_rows`` deep)."""
        while (found := self.row_of(article_id)) is None and self.canFetchMore(QModelIndex()):
            if max_rows is not None and len(self._ids) >= max_rows:
                return None
            self.fetchMore(QModelIndex())
        return found

    def _load_block(self, index: int) -> None:
        start = index - index % BLOCK_SIZE
        numbers = [n for n in range(start, min(start + BLOCK_SIZE, len(self._ids))) if n not in self._cache]
        found = self._store.rows_by_id([self._ids[n] for n in numbers])
        for n in numbers:
            r = found.get(self._ids[n])
            if r is not None:
                # The flags here are the model's: they may be newer than a block read back later.
                if r.read != bool(self._read[n]) or r.starred != bool(self._starred[n]):
                    r = r._replace(read=bool(self._read[n]), starred=bool(self._starred[n]))
                self._remember(n, r)

    def _ask_block(self, index: int) -> None:
        assert self._reader is not None
        start = index - index % BLOCK_SIZE
        if start in self._blocks_asked:
            return
        numbers = [n for n in range(start, min(start + BLOCK_SIZE, len(self._ids))) if n not in self._cache]
        if not numbers:
            return
        self._blocks_asked.add(start)
        ids = [self._ids[n] for n in numbers]
        generation = self._generation
        self._reader.ask(
            lambda store: store.rows_by_id(ids),
            lambda found: self._block_arrived(generation, start, numbers, ids, found),
            failed=lambda _line: self._block_failed(generation, start),
            wanted=lambda: generation == self._generation,
        )

    def _block_arrived(
        self, generation: int, start: int, numbers: list[int], ids: list[int], found: dict[int, ArticleRow]
    ) -> None:
        if generation != self._generation:
            return
        self._blocks_asked.discard(start)
        arrived = []
        for n, article_id in zip(numbers, ids, strict=True):
            r = found.get(article_id)
            if r is not None and n < len(self._ids) and self._ids[n] == article_id:
                # The flags here are the model's: they may be newer than the block.
                if r.read != bool(self._read[n]) or r.starred != bool(self._starred[n]):
                    r = r._replace(read=bool(self._read[n]), starred=bool(self._starred[n]))
                self._remember(n, r)
                arrived.append(n)
        if arrived:
            self.dataChanged.emit(self.index(arrived[0]), self.index(arrived[-1]))  # (every role)

    def _block_failed(self, generation: int, start: int) -> None:
        if generation == self._generation:
            self._blocks_asked.discard(start)  # (asked again when painted again)

    def _remember(self, index: int, row: ArticleRow) -> None:
        self._cache[index] = row
        self._cache.move_to_end(index)
        while len(self._cache) > self._cache_rows:
            self._cache.popitem(last=False)

    # --- read / star state ---

    def set_read(self, row: int, read: bool) -> None:
        """Mark ``row`` read (or unread). Without a flag sink the store is written first (a store
        error propagates and nothing changes); with one the row changes at once and the sink
        stores it."""
        article_id = self.article_id(row)
        if article_id is None or self.is_read(row) == read:
            return
        if self._flags is None:
            self._store.set_read([article_id], read)
        self._show(row, Flag.READ, read)
        if self._flags is not None:
            self._flags.write(Flag.READ, article_id, read, was=not read)

    def toggle_read(self, row: int) -> None:
        if self.article_id(row) is not None:
            self.set_read(row, not self.is_read(row))

    def toggle_starred(self, row: int) -> None:
        article_id = self.article_id(row)
        if article_id is None:
            return
        starred = not self._starred[row]
        if self._flags is None:
            self._store.set_starred(article_id, starred)
        self._show(row, Flag.STARRED, starred)
        if self._flags is not None:
            self._flags.write(Flag.STARRED, article_id, starred, was=not starred)

    def show_flags(self, flag: Flag, values: Mapping[int, bool]) -> None:
        """Show ``flag`` as ``values`` (article id -> flag) on the listed rows of those articles,
        writing nothing: how a write the store refused is taken back."""
        for article_id, value in values.items():
            row = self.row_of(article_id)
            if row is not None:
                column = self._read if flag is Flag.READ else self._starred
                if bool(column[row]) != value:
                    self._show(row, flag, value)

    def _show(self, row: int, flag: Flag, value: bool) -> None:
        if flag is Flag.READ:
            self._read[row] = value
            self._update_cached(row, read=value)
            self._changed(row, row, [ArticleRole.read])
        else:
            self._starred[row] = value
            self._update_cached(row, starred=value)
            self._changed(row, row, [ArticleRole.starred])

    def mark_rows_read(self, ids: Collection[int] | None = None, *, read: bool = True) -> None:
        """Show rows as read (or unread) after a bulk write (``ids`` None: every listed row)."""
        wanted = None if ids is None else frozenset(ids)
        changed = [
            n
            for n in range(len(self._ids))
            if bool(self._read[n]) != read and (wanted is None or self._ids[n] in wanted)
        ]
        for n in changed:
            self._read[n] = read
            self._update_cached(n, read=read)
        if changed:
            self._changed(changed[0], changed[-1], [ArticleRole.read])

    def thumbnail_arrived(self, row: int) -> None:
        """An image for ``row`` is ready: repaint only its thumbnail."""
        if 0 <= row < len(self._ids):
            index = self.index(row)
            self.dataChanged.emit(index, index, [int(ArticleRole.thumbnail)])

    def rows_with_image(self, image_url: str) -> list[int]:
        """Rows showing ``image_url``: only cached rows can be on screen, so only they are searched."""
        return sorted(n for n, r in self._cache.items() if r.image_url == image_url)

    def _update_cached(self, row: int, *, read: bool | None = None, starred: bool | None = None) -> None:
        cached = self._cache.get(row)
        if cached is not None:
            self._cache[row] = cached._replace(
                read=cached.read if read is None else read,
                starred=cached.starred if starred is None else starred,
            )

    def _changed(self, first: int, last: int, roles: list[int]) -> None:
        roles = [int(r) for r in (*roles, ArticleRole.item)]
        self.dataChanged.emit(self.index(first), self.index(last), roles)


#: The flags that decide which articles a view lists.
_FLAGS_THAT_CHOOSE_ROWS: dict[str, tuple[Flag, ...]] = {"unread": (Flag.READ,), "starred": (Flag.STARRED,)}

_SERVED_ROLES = frozenset(
    {
        int(Qt.ItemDataRole.DisplayRole),
        int(Qt.ItemDataRole.ToolTipRole),
        *(int(r) for r in ArticleRole),
    }
)
