"""The local SQLite store: schema and migrations, WAL, FTS5 search, keyset pages. No Qt.

One :class:`Store` per thread (SQLite connections are not shared across threads here): the GUI
thread keeps one for reading pages, workers open their own for bulk writes. WAL lets them overlap.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import os
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from reader import textpack
from reader.records import (
    NO_SOURCE,
    SNIPPET_CHARS,
    Account,
    AddResult,
    Article,
    ArticleRow,
    Cleaned,
    Cursor,
    Enclosure,
    Feed,
    Page,
    Query,
    Rule,
    SourceCount,
    snippet_of,
)

log = logging.getLogger(__name__)

#: The oldest SQLite the store works with: INSERT ... RETURNING came in 3.35 (2021).
MIN_SQLITE = (3, 35, 0)

#: Sort value for articles whose date is unknown: below every real date, so they list last.
UNKNOWN_TS = -(2**62)

# --- errors -----------------------------------------------------------------------------------


class StoreError(Exception):
    """Anything that went wrong in the store, with a message fit for a person."""


class NotADatabaseError(StoreError):
    pass


class CorruptStoreError(StoreError):
    pass


class StoreVersionError(StoreError):
    pass


class StoreBusyError(StoreError):
    pass


class DiskFullError(StoreError):
    pass


class ReadOnlyStoreError(StoreError):
    pass


def _wrap(path: Path | str, exc: sqlite3.Error) -> StoreError:
    """The store error for an SQLite error, told apart by its result code (the primary code of
    ``sqlite_errorcode``), not by its message text."""
    message = str(exc)
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == sqlite3.SQLITE_NOTADB:
        return NotADatabaseError(f"{path}: not a Reader store (file is not an SQLite database); left untouched")
    if primary == sqlite3.SQLITE_CORRUPT or _damage_without_a_code(exc):
        # The detail can quote a whole garbled column: cut it short.
        detail = message if len(message) <= 100 else message[:100] + "..."
        return CorruptStoreError(f"{path}: the store is damaged ({detail}); left untouched")
    if primary == sqlite3.SQLITE_FULL or (primary == sqlite3.SQLITE_IOERR and _disk_nearly_full(path)):
        # SQLITE_FULL, or an I/O error that a full disk explains (a -wal or -shm that could not grow).
        return DiskFullError(f"{path}: the disk is full; the last change was not written")
    if primary == sqlite3.SQLITE_READONLY:
        return ReadOnlyStoreError(f"{path}: the store is read-only (no change was written)")
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreBusyError(f"{path}: the store is busy in another program ({message})")
    if primary == sqlite3.SQLITE_CANTOPEN:
        return StoreError(f"{path}: cannot open the store ({message})")
    return StoreError(f"{path}: {message}")


def _damage_without_a_code(exc: sqlite3.Error) -> bool:
    """Two signs of damaged pages that come without SQLITE_CORRUPT: text that is not UTF-8 (the
    sqlite3 module's own error, no SQLite code: this store writes nothing else) and an FTS5 index
    whose structure cannot be read (SQLITE_ERROR from the virtual table's constructor)."""
    code = getattr(exc, "sqlite_errorcode", None)
    message = str(exc).lower()
    if code is None:
        return "could not decode" in message
    return code & 0xFF == sqlite3.SQLITE_ERROR and "vtable constructor failed" in message


#: How long a statement that SQLite answers "busy" at once (without its busy handler, as it does
#: for switching a file being created by another process to WAL) is tried again.
BUSY_RETRY_S = 10.0


def _busy_retried(conn: sqlite3.Connection, sql: str) -> None:
    """Execute ``sql``, trying again for up to :data:`BUSY_RETRY_S` while the store is busy."""
    deadline = time.monotonic() + BUSY_RETRY_S
    pause = 0.005
    while True:
        try:
            conn.execute(sql)
            return
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            busy = isinstance(code, int) and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def _disk_nearly_full(path: Path | str) -> bool:
    try:
        usage = shutil.disk_usage(Path(path).resolve().parent)
    except OSError:
        return False
    return usage.free < max(4 * 1024 * 1024, usage.total // 1000)


_F = TypeVar("_F", bound=Callable[..., Any])


# --- schema -----------------------------------------------------------------------------------

_ARTICLE_COLUMNS = (
    "key, source, feed_id, title, author, description, url, image_url, published, sort_ts, "
    "body_z, body_html_z, raw_z, origin, imported_at, enclosures"
)

_ARTICLE_COLUMN_COUNT = _ARTICLE_COLUMNS.count(",") + 1

#: FTS5 settings for writing (measured on the 100,000-record seed import; search speed unchanged):
#: - hashsize: FTS5 gathers new terms in memory and writes them out as an index segment when this
#:   many bytes are pending (or at the end of a statement). Its default (1 MB, about 70 articles)
#:   makes dozens of small segments per import batch, each merged again later; 32 MB holds a whole
#:   INSERT of MAX_ROWS_PER_INSERT articles. A writer needs that much memory at most.
#: - automerge: merge segments 8 at a time instead of 4, so each article's terms are rewritten
#:   about half as often while importing (writer CPU -15%). Searches read at most a few more
#:   segments, which measured no slower.
FTS_WRITE_CONFIG = {"hashsize": 32 * 1024 * 1024, "automerge": 8}

#: The article indexes (made again when migration 4 rebuilds the table).
_ARTICLE_INDEXES = (
    "CREATE INDEX articles_newest ON articles(sort_ts DESC, id DESC)",
    "CREATE INDEX articles_source_newest ON articles(source, sort_ts DESC, id DESC)",
    "CREATE INDEX articles_feed_newest ON articles(feed_id, sort_ts DESC, id DESC)",
    "CREATE INDEX articles_unread_newest ON articles(sort_ts DESC, id DESC) WHERE read = 0",
    "CREATE INDEX articles_starred_newest ON articles(sort_ts DESC, id DESC) WHERE starred = 1",
    # Counts for the sidebar and status bar read only this narrow index, not the wide rows
    # (a full scan of 100,000 rows with their bodies takes ~200 ms; this takes a few).
    "CREATE INDEX articles_counts ON articles(feed_id, source, read, starred)",
)

#: The articles table from schema 4 on. The cleaned body, its HTML and the raw record are packed
#: (reader.textpack): the body deflated, the raw record as what the body cannot give back. On the
#: synthetic 30,000-record corpus: body 104.6 MB -> 55.8 MB, raw 114.3 MB -> 7.0 MB.
_ARTICLES_V4 = """CREATE TABLE articles (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    source TEXT,
    feed_id INTEGER REFERENCES feeds(id) ON DELETE SET NULL,
    title TEXT,
    author TEXT,
    description TEXT,
    url TEXT,
    image_url TEXT,
    published INTEGER,
    sort_ts INTEGER NOT NULL,
    body_z BLOB NOT NULL DEFAULT x'',
    body_html_z BLOB,
    raw_z BLOB NOT NULL DEFAULT x'',
    origin TEXT,
    imported_at INTEGER NOT NULL,
    read INTEGER NOT NULL DEFAULT 0,
    starred INTEGER NOT NULL DEFAULT 0
)"""

#: article_counts' key: one row per feed (0: none), source (NULL and '' apart) and hidden or not
#: (rules hide articles: they are left out of the totals, not of their source's or feed's count),
#: as an expression index (a UNIQUE over the columns themselves would let NULLs repeat).
_COUNTS_KEY = "ifnull(feed_id, 0), ifnull(source, ''), source IS NULL, hidden"
#: The triggers' statements: ``{row}`` (new or old) counted in, or out.
_COUNTS_ADD = (
    "INSERT INTO article_counts (feed_id, source, hidden, total, unread, starred) "
    "VALUES ({row}.feed_id, {row}.source, {row}.hidden, 1, {row}.read = 0, {row}.starred = 1) "
    f"ON CONFLICT ({_COUNTS_KEY}) DO UPDATE SET total = total + 1, "
    "unread = unread + excluded.unread, starred = starred + excluded.starred;"
)
_COUNTS_TAKE = (
    "UPDATE article_counts SET total = total - 1, unread = unread - ({row}.read = 0), "
    "starred = starred - ({row}.starred = 1) WHERE ifnull(feed_id, 0) = ifnull({row}.feed_id, 0) "
    "AND ifnull(source, '') = ifnull({row}.source, '') AND (source IS NULL) = ({row}.source IS NULL) "
    "AND hidden = {row}.hidden;"
)


def _change_queue(table: str, more: str = "") -> str:
    """A queue of changes for sync servers as migration 13 makes it: the kind a flag ('read',
    'unread', 'star', 'unstar') or a label given or taken ('label:NAME', 'unlabel:NAME')."""
    return (
        f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, "
        "article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE, "
        "kind TEXT NOT NULL CHECK (kind IN ('read', 'unread', 'star', 'unstar') "
        "OR kind GLOB 'label:?*' OR kind GLOB 'unlabel:?*'), "
        f"queued_at INTEGER NOT NULL{more})"
    )


MIGRATIONS: list[list[str]] = [
    # 1: articles, feeds, full-text index.
    [
        """CREATE TABLE feeds (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            title TEXT,
            site_url TEXT,
            etag TEXT,
            last_modified TEXT,
            added_at INTEGER NOT NULL,
            updated_at INTEGER,
            last_error TEXT,
            dead INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            source TEXT,
            feed_id INTEGER REFERENCES feeds(id) ON DELETE SET NULL,
            title TEXT,
            author TEXT,
            description TEXT,
            url TEXT,
            image_url TEXT,
            published INTEGER,
            sort_ts INTEGER NOT NULL,
            snippet TEXT NOT NULL DEFAULT '',
            body TEXT NOT NULL DEFAULT '',
            body_html TEXT,
            raw TEXT NOT NULL DEFAULT '',
            origin TEXT,
            imported_at INTEGER NOT NULL,
            read INTEGER NOT NULL DEFAULT 0,
            starred INTEGER NOT NULL DEFAULT 0
        )""",
        *_ARTICLE_INDEXES,
        """CREATE VIRTUAL TABLE articles_fts USING fts5(
            title, author, description, body,
            content='articles', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2', prefix='2 3'
        )""",
        """CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
            INSERT INTO articles_fts(rowid, title, author, description, body)
            VALUES (new.id, new.title, new.author, new.description, new.body);
        END""",
        """CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title, author, description, body)
            VALUES ('delete', old.id, old.title, old.author, old.description, old.body);
        END""",
        """CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, author, description, body ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title, author, description, body)
            VALUES ('delete', old.id, old.title, old.author, old.description, old.body);
            INSERT INTO articles_fts(rowid, title, author, description, body)
            VALUES (new.id, new.title, new.author, new.description, new.body);
        END""",
    ],
    # 2: the full-text index without its 2-letter prefix index. Each prefix index costs as much to
    # build as the word index itself (a fifth of a feed import's time); a last word of one or two
    # letters is now matched as a whole word (see fts_query), so nothing reads that one any more.
    # The index is rebuilt from the articles: about 16 s for 100,000 of them, once.
    [
        "DROP TABLE articles_fts",
        """CREATE VIRTUAL TABLE articles_fts USING fts5(
            title, author, description, body,
            content='articles', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2', prefix='3'
        )""",
        *(f"INSERT INTO articles_fts(articles_fts, rank) VALUES ('{k}', {v})" for k, v in FTS_WRITE_CONFIG.items()),
        "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",
    ],
    # 3: when a feed may be fetched again (Cache-Control or Expires; Retry-After): instant.
    ["ALTER TABLE feeds ADD COLUMN fresh_until INTEGER", "ALTER TABLE feeds ADD COLUMN retry_at INTEGER"],
    # 4: long text packed (reader.textpack), and a full-text index without the prefix index: the
    # store went from 3.6x the bytes of its records to about 1.4x (see _packed_articles).
    [
        "DROP TRIGGER articles_fts_insert",
        "DROP TRIGGER articles_fts_delete",
        "DROP TRIGGER articles_fts_update",
        "DROP TABLE articles_fts",
        _ARTICLES_V4.replace("CREATE TABLE articles", "CREATE TABLE articles_v4"),
        "INSERT INTO articles_v4 (id, key, source, feed_id, title, author, description, url, image_url, "
        "published, sort_ts, body_z, body_html_z, raw_z, origin, imported_at, read, starred) "
        "SELECT id, key, source, feed_id, title, author, description, url, image_url, published, sort_ts, "
        "reader_pack(body), reader_pack(body_html), reader_pack_raw(raw, body), origin, imported_at, "
        "read, starred FROM articles ORDER BY id",
        "DROP TABLE articles",
        "ALTER TABLE articles_v4 RENAME TO articles",
        *_ARTICLE_INDEXES,
        # The index reads the packed bodies through this view only to rebuild itself (and for
        # integrity-check); Store.add_articles and remove_feed give it the text themselves.
        "CREATE VIEW articles_text AS "
        "SELECT id, title, author, description, reader_unpack(body_z) AS body FROM articles",
        """CREATE VIRTUAL TABLE articles_fts USING fts5(
            title, author, description, body,
            content='articles_text', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2'
        )""",
        *(f"INSERT INTO articles_fts(articles_fts, rank) VALUES ('{k}', {v})" for k, v in FTS_WRITE_CONFIG.items()),
        "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",
    ],
    # 5: sync accounts (Google Reader API servers; reader.sync). Their feeds and articles are rows
    # like any other, marked with the account and the server's id; a read or star change on one
    # of their articles waits in pending_changes (written in the transaction of the change) until
    # the server has acknowledged it. Instant: columns added, nothing rewritten.
    [
        """CREATE TABLE accounts (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            url TEXT NOT NULL,
            user TEXT NOT NULL,
            added_at INTEGER NOT NULL,
            last_sync INTEGER,
            since INTEGER,
            retry_at INTEGER,
            last_error TEXT
        )""",
        "ALTER TABLE feeds ADD COLUMN account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE",
        "ALTER TABLE feeds ADD COLUMN remote_id TEXT",
        "ALTER TABLE feeds ADD COLUMN remote_url TEXT",
        "ALTER TABLE feeds ADD COLUMN folder TEXT",
        "CREATE UNIQUE INDEX feeds_remote ON feeds(account_id, remote_id) WHERE account_id IS NOT NULL",
        "ALTER TABLE articles ADD COLUMN account_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL",
        "ALTER TABLE articles ADD COLUMN remote_id TEXT",
        "CREATE UNIQUE INDEX articles_remote ON articles(account_id, remote_id) WHERE account_id IS NOT NULL",
        """CREATE TABLE pending_changes (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('read', 'unread', 'star', 'unstar')),
            queued_at INTEGER NOT NULL
        )""",
        "CREATE INDEX pending_changes_article ON pending_changes(article_id)",
    ],
    # 6: retention (reader cleanup). A feed article that cleanup removed leaves its key here, so
    # that the next refresh of its feed, which still lists it, does not bring it back. Instant.
    [
        """CREATE TABLE tombstones (
            key TEXT PRIMARY KEY,
            removed_at INTEGER NOT NULL
        ) WITHOUT ROWID""",
    ],
    # 7: enclosures (a podcast's audio, a video, a file): a JSON list on the article, NULL for the
    # many that have none. Instant: a column added.
    ["ALTER TABLE articles ADD COLUMN enclosures TEXT"],
    # 8: full articles (reader.fullcontent): the page's main text, fetched for the feeds that ask
    # for it, kept beside the feed's own text (HTML for the pane, text for the index, both packed)
    # with why it could not be had. The index's body is the feed's text and then the page's, so
    # the view it rebuilds and checks itself from says the same. Instant: columns added.
    [
        "ALTER TABLE articles ADD COLUMN full_html_z BLOB",
        "ALTER TABLE articles ADD COLUMN full_body_z BLOB",
        "ALTER TABLE articles ADD COLUMN full_status TEXT",
        "ALTER TABLE feeds ADD COLUMN full_content INTEGER NOT NULL DEFAULT 0",
        "DROP VIEW articles_text",
        "CREATE VIEW articles_text AS SELECT id, title, author, description, reader_unpack(body_z) "
        "|| iif(full_body_z IS NULL, '', char(10) || reader_unpack(full_body_z)) AS body FROM articles",
    ],
    # 9: rules (reader rules): a saved search and what to do with what it finds, applied to new
    # articles as they are stored and on request to all; labels they give; articles they hide
    # (kept, not listed unless asked; the partial index finds whether any are hidden at once).
    # Instant: tables and a column added.
    [
        """CREATE TABLE rules (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            query TEXT NOT NULL,
            action TEXT NOT NULL,
            feed_id INTEGER REFERENCES feeds(id) ON DELETE CASCADE,
            folder TEXT,
            added_at INTEGER NOT NULL
        )""",
        # (Columns in the key's order: SQLite 3.40's quick_check reports NULLs in a WITHOUT ROWID
        # table whose key lists its columns in another order.)
        """CREATE TABLE labels (
            label TEXT NOT NULL,
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            PRIMARY KEY (label, article_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX labels_article ON labels(article_id)",
        "ALTER TABLE articles ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX articles_hidden ON articles(id) WHERE hidden = 1",
    ],
    # 10: changes the server refused (an edit-tag answered 400, 403, 404, 410 or not "OK"): out of
    # the queue, so that one refused change no longer holds every later one back, but kept with
    # the server's reason, and the local flag is left as the person set it (reconcile_flags skips
    # them as it skips queued ones). Instant: a new, empty table.
    [
        """CREATE TABLE refused_changes (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('read', 'unread', 'star', 'unstar')),
            queued_at INTEGER NOT NULL,
            refused_at INTEGER NOT NULL,
            reason TEXT NOT NULL
        )""",
        "CREATE INDEX refused_changes_article ON refused_changes(article_id)",
    ],
    # 11: the articles' counts by feed, source and hidden or not, kept by triggers in the
    # transaction of every change (insert, delete, a read, star, source, feed or hidden changed:
    # cleanup and a feed's or an account's removal delete, rules update; a feed's removal sets its
    # starred articles' feed_id NULL through the foreign key, which fires the update trigger). The
    # window counts the sidebar at every start before its first paint: from this table that takes
    # well under a millisecond, where counting the articles took ~17 ms of CPU at 100,000 (and
    # grows with them). Each written article costs the triggers a few microseconds. Filled from
    # the articles once (about 1.5 s per 100,000 of them).
    [
        """CREATE TABLE article_counts (
            feed_id INTEGER,
            source TEXT,
            hidden INTEGER NOT NULL,
            total INTEGER NOT NULL,
            unread INTEGER NOT NULL,
            starred INTEGER NOT NULL
        )""",
        f"CREATE UNIQUE INDEX article_counts_key ON article_counts({_COUNTS_KEY})",
        "INSERT INTO article_counts (feed_id, source, hidden, total, unread, starred) "
        "SELECT feed_id, source, hidden, count(*), total(read = 0), total(starred = 1) FROM articles "
        "GROUP BY feed_id, source, hidden",
        f"""CREATE TRIGGER article_counts_insert AFTER INSERT ON articles BEGIN
            {_COUNTS_ADD.format(row="new")}
        END""",
        f"""CREATE TRIGGER article_counts_delete AFTER DELETE ON articles BEGIN
            {_COUNTS_TAKE.format(row="old")}
        END""",
        f"""CREATE TRIGGER article_counts_update AFTER UPDATE OF read, starred, source, feed_id, hidden ON articles
        WHEN old.read IS NOT new.read OR old.starred IS NOT new.starred OR old.source IS NOT new.source
            OR old.feed_id IS NOT new.feed_id OR old.hidden IS NOT new.hidden
        BEGIN
            {_COUNTS_TAKE.format(row="old")}
            {_COUNTS_ADD.format(row="new")}
        END""",
    ],
    # 12: arrivals, the ids each storing of articles gave out, numbered by a sequence that never
    # goes back (AUTOINCREMENT). Article ids do go back: without AUTOINCREMENT (which the articles
    # table cannot gain without being rebuilt) SQLite gives max(id) + 1, so once the newest
    # articles are removed (a feed unsubscribed, a cleanup) the next ones get their ids again, and
    # "ids above the newest seen" missed them (the tray's notification). Articles stored after
    # arrival N are those with an id in the range of an arrival above N: every id in a range was
    # new when it was recorded, so one there now came then or later. Instant: a new, empty table.
    [
        """CREATE TABLE arrivals (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            first_id INTEGER NOT NULL,
            last_id INTEGER NOT NULL
        )""",
    ],
    # 13: labels pushed to sync servers: a label given to (or taken from) a synced article is a
    # queued change like read and star, kind 'label:NAME' or 'unlabel:NAME' (the server's user
    # label user/-/label/NAME). SQLite cannot change a CHECK constraint, so both queues are made
    # again with the new one (they hold a few changes at most: instant).
    [
        _change_queue("pending_changes_v13"),
        "INSERT INTO pending_changes_v13 SELECT id, article_id, kind, queued_at FROM pending_changes ORDER BY id",
        "DROP TABLE pending_changes",
        "ALTER TABLE pending_changes_v13 RENAME TO pending_changes",
        "CREATE INDEX pending_changes_article ON pending_changes(article_id)",
        _change_queue("refused_changes_v13", ", refused_at INTEGER NOT NULL, reason TEXT NOT NULL"),
        "INSERT INTO refused_changes_v13 SELECT id, article_id, kind, queued_at, refused_at, reason "
        "FROM refused_changes ORDER BY id",
        "DROP TABLE refused_changes",
        "ALTER TABLE refused_changes_v13 RENAME TO refused_changes",
        "CREATE INDEX refused_changes_article ON refused_changes(article_id)",
    ],
    # 14: whether the person asked for an article's page (``g``, ``reader fetch-full ID``): a feed
    # turned back off from full articles drops the pages fetched because of it (the feed's text
    # is shown and indexed again) and keeps these. Instant: a column added.
    ["ALTER TABLE articles ADD COLUMN full_asked INTEGER NOT NULL DEFAULT 0"],
]
SCHEMA_VERSION = len(MIGRATIONS)
#: The schema from which long text is packed (migration 4).
PACKED_SINCE = 4

#: Page size of new stores. An article is a few kilobytes of text (feed entries about 9 KB with
#: their HTML): with SQLite's default 4 KB pages, storing 5,000 feed entries made 55,000 page
#: writes and 24,000 reads (WAL, checkpoints, index merges), a quarter of the writer's time in
#: system calls; 8 KB pages halved that (-10% writer CPU). Packed (schema 4), an article row is
#: about 2 KB, and a page holds whole rows only: 8 KB pages were left 19% empty, 16 KB pages 9%
#: (the 30,000-record benchmark store: 181 MB at 8 KB, 171 MB at 16 KB, 166 MB at 32 KB).
PAGE_SIZE = 16384
#: Rows per INSERT statement, a power of two. Statements are cached per size (a 2,048-row one takes
#: ~3 MB), so the sizes used are powers of two: a dozen cached statements at most.
MAX_ROWS_PER_INSERT = 2048


def _add_functions(conn: sqlite3.Connection) -> None:
    """The SQL functions the schema uses: packing for migration 4, unpacking for the view the
    full-text index rebuilds itself from (every connection has them, read-only ones too)."""
    conn.create_function("reader_pack", 1, _sql_pack, deterministic=True)
    conn.create_function("reader_pack_raw", 2, _sql_pack_raw, deterministic=True)
    conn.create_function("reader_unpack", 1, _sql_unpack, deterministic=True)


def _sql_pack(text: str | None) -> bytes | None:
    return None if text is None else textpack.pack(str(text))


def _sql_pack_raw(raw: str | None, body: str | None) -> bytes:
    return textpack.pack_raw(str(raw or ""), str(body or ""))


def _sql_unpack(blob: bytes | None) -> str | None:
    return None if blob is None else textpack.unpack(blob)


def _ts(dt: datetime | None) -> int | None:
    return None if dt is None else int(dt.timestamp())


def _dt(ts: int | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


_WORD = re.compile(r"\w+", re.UNICODE)


#: A last word this long or longer is taken as a prefix (search as you type); shorter ones are
#: whole words. Since schema 4 the index has no prefix index: FTS5 merges the words that start so
#: (measured on 30,000 articles: "vel"*, in every article, 12 ms to count against 4 ms with one),
#: and the prefix index cost 0.45x the records' bytes. A dense prefix's newest-first page is found
#: without the index instead (Store._text_walk).
MIN_PREFIX = 3


#: The field prefixes of the search syntax (``title:word``, ``author:"a name"``): the index's
#: columns each one limits a term to (an FTS5 column filter), or None for ``source:``, which the
#: index does not hold (:meth:`Store._source_filter` matches it against the sources stored: a
#: few hundred names at most, where indexing it would mean rebuilding the index).
SEARCH_FIELDS: dict[str, str | None] = {
    "title": "{title}",
    "author": "{author}",
    "body": "{description body}",
    "source": None,
}

#: One term of a search: an optional known field prefix, then a phrase in double quotes (to the
#: closing quote, or to the end while it is being typed) or a run of anything else but spaces and
#: quotes (its words each a term). "http://x" or "note:" are text: only the fields above prefix.
_SEARCH_TERM = re.compile(
    r"(?:(?P<field>" + "|".join(SEARCH_FIELDS) + r'):(?=[^\s]))?(?:"(?P<phrase>[^"]*)(?P<closed>")?|(?P<run>[^\s"]+))',
    re.IGNORECASE,
)


class SearchTerm(NamedTuple):
    """Words that must be in the text in this order, next to each other (one word: anywhere), in
    ``field`` (None: title, author, description or body)."""

    field: str | None
    words: tuple[str, ...]


class Search(NamedTuple):
    """What a person typed in the search field (or a rule's query), parsed: every term must match;
    the last term's last word is a prefix when ``prefix`` (search as you type)."""

    terms: tuple[SearchTerm, ...]
    prefix: bool

    @property
    def empty(self) -> bool:
        """No word to match: nothing is found."""
        return not self.terms

    @property
    def plain(self) -> bool:
        """Only words, anywhere: the syntax before fields and phrases (the fast walks know it)."""
        return all(t.field is None and len(t.words) == 1 for t in self.terms)

    def indexed_words(self) -> list[str]:
        """The words the full-text index must have (every term's but the source's)."""
        return [w for t in self.terms if t.field != "source" for w in t.words]

    def match(self) -> str | None:
        """The FTS5 query of the terms the index holds; None when there are none."""
        return self._query(lambda t: t.field != "source", columns=True)

    def source_match(self) -> str | None:
        """The FTS5 query the source must match (for a one-column index of sources); None: any."""
        return self._query(lambda t: t.field == "source", columns=False)

    def _query(self, wanted: Callable[[SearchTerm], bool], *, columns: bool) -> str | None:
        parts = []
        for i, term in enumerate(self.terms):
            if not wanted(term):
                continue
            part = '"' + " ".join(w.replace('"', '""') for w in term.words) + '"'
            if self.prefix and i == len(self.terms) - 1:
                part += "*"
            column = SEARCH_FIELDS.get(term.field or "")
            parts.append(f"{column} : {part}" if columns and column else part)
        return " ".join(parts) or None


def parse_search(text: str) -> Search:
    """The terms of what a person typed: words (all must match, wherever they are), "a phrase"
    (its words next to each other, in this order), each with an optional field prefix (``title:``,
    ``author:``, ``body:``, ``source:``: only there). The last word is a prefix from
    :data:`MIN_PREFIX` letters on, unless a space or a closing quote follows it. FTS5's operators
    are text."""
    terms: list[SearchTerm] = []
    last_open = False
    for m in _SEARCH_TERM.finditer(text):
        field = m.group("field")
        field = field.lower() if field else None
        # (A part without words, "!!" or a quote just typed, leaves the last term as it was.)
        if m.group("run") is not None:
            words = _WORD.findall(m.group("run"))
            if words:
                terms += [SearchTerm(field, (w,)) for w in words]
                last_open = True
        else:
            phrase = tuple(_WORD.findall(m.group("phrase")))
            if phrase:
                terms.append(SearchTerm(field, phrase))
                last_open = m.group("closed") is None
    prefix = bool(terms) and last_open and not text[-1:].isspace() and len(terms[-1].words[-1]) >= MIN_PREFIX
    return Search(tuple(terms), prefix)


def search_words(text: str) -> tuple[list[str], bool]:
    """The words of what a person typed that the index must have, and whether the last one is a
    prefix (see :func:`parse_search`; the pane highlights these same words)."""
    search = parse_search(text)
    words = search.indexed_words()
    return words, bool(words) and search.prefix and search.terms[-1].field != "source"


def fts_query(text: str) -> str | None:
    """What a person typed -> a safe FTS5 query (:func:`parse_search`): every word must match, the
    last one (from :data:`MIN_PREFIX` letters on) as a prefix, for search as you type. A shorter
    last word is a whole word: "AI" finds AI, not air and aid; at one or two letters a prefix
    matches nearly every article anyway. A phrase is an FTS5 phrase, a field an FTS5 column
    filter; operators are taken as text. None when the index has no terms to match (none at all,
    or only ``source:`` ones: see :meth:`Store._source_filter`)."""
    return parse_search(text).match()


#: A queued change and the one it undoes (either replaces the other in the queue).
_OPPOSITE_CHANGE = {"read": "unread", "unread": "read", "star": "unstar", "unstar": "star"}


def checked_rule(name: str, query: str, action: str) -> tuple[str, str]:
    """A new rule's name and action as stored (both engines): raises StoreError naming what is
    wrong (an empty name, a query with no word to match, an unknown action)."""
    name = name.strip()
    if not name:
        raise StoreError("a rule needs a name")
    if parse_search(query).empty:
        raise StoreError(f"rule {name}: the query {query!r} has no word to match")
    action = action.strip()
    kind, _, label = action.partition(":")
    if kind not in ("read", "star", "hide", "label") or (kind == "label") != bool(label.strip()):
        raise StoreError(f"rule {name}: unknown action {action!r} (read, star, hide or label:NAME)")
    return name, f"label:{label.strip()}" if kind == "label" else kind


def _opposite_change(kind: str) -> str:
    """The change that undoes ``kind``: a flag's (:data:`_OPPOSITE_CHANGE`), or a label's
    ('label:NAME' and 'unlabel:NAME')."""
    if kind in _OPPOSITE_CHANGE:
        return _OPPOSITE_CHANGE[kind]
    action, _, label = kind.partition(":")
    return f"{'unlabel' if action == 'label' else 'label'}:{label}"


#: The tokenizer of the full-text index (migration 4), which the walk's scratch index repeats.
FTS_TOKENIZE = "unicode61 remove_diacritics 2"

#: UTF-8 bytes -> the same with every ASCII character but letters and digits made a space (what
#: unicode61 splits words at), ASCII capitals made small (its only case folding for ASCII) and
#: the bytes of other characters left as they are. One byte for one, so it runs at C speed.
_ASCII_WORDS = bytes(
    b + 32 if 65 <= b <= 90 else b if b >= 128 or 48 <= b <= 57 or 97 <= b <= 122 else 32 for b in range(256)
)
#: Every byte beyond ASCII made 128, the others left: where the runs beyond ASCII are.
_BEYOND_ASCII = bytes(min(b, 128) for b in range(256))
_ASCII_WORD = re.compile(r"[0-9A-Za-z]+\Z")


class _TextTest:
    """Whether an article's text matches ``fts_query(text)``, told in Python where that is
    certain: a dense prefix ("vel"*) FTS5 answers only by merging every word that starts so (the
    index has no prefix index since schema 4), while testing the newest rows one by one fills a
    page from the first rows walked.

    Only for searches whose words are ASCII letters and digits, which FTS5 folds in case only. A
    word of ASCII letters and digits between ASCII separators is a word to unicode61 whatever the
    rest of the text, so a search word found so is certainly there (found at its start, for the
    last word of a prefix search). Every other word is a run that holds a character beyond ASCII:
    only those runs, far fewer, are left for FTS5 itself to split (:meth:`Store._scratch_matches`).
    """

    def __init__(self, words: Sequence[str], prefix: bool) -> None:
        self._words = [w.lower().encode() for w in words]
        self._needles = [
            b" " + w + (b"" if prefix and i == len(words) - 1 else b" ") for i, w in enumerate(self._words)
        ]

    @classmethod
    def of(cls, text: str) -> _TextTest | None:
        """The test for what a person typed; None when a word is not ASCII letters and digits, or
        the search has a phrase or a field (FTS5 tells those)."""
        words, prefix = search_words(text)
        if not words or not all(_ASCII_WORD.match(w) for w in words) or not parse_search(text).plain:
            return None
        return cls(words, prefix)

    def __call__(self, head: Sequence[str | None], body: Callable[[], str]) -> bool | str:
        """True or False when certain; else the text FTS5 must be asked about (the runs beyond
        ASCII, and the words found). ``head`` are the title, author and description; the body is
        unpacked only when they do not settle it."""
        texts = [t for t in head if t]
        if self._words_in(texts) is None:
            return True
        texts.append(body())
        words = self._words_in(texts)
        if words is None:
            return True
        low, found = words
        if low.isascii():
            return False
        # The runs holding a byte beyond ASCII, found from those bytes (a few a text) rather than
        # by splitting the text into its hundreds of words.
        marked = low.translate(_BEYOND_ASCII)
        runs = []
        at = marked.find(128)
        while at >= 0:
            start = marked.rfind(32, 0, at) + 1
            end = marked.find(32, at)
            runs.append(low[start:end])
            at = marked.find(128, end)
        return b" ".join([*runs, *found]).decode("utf-8", "surrogatepass")

    def _words_in(self, texts: Sequence[str]) -> tuple[bytes, list[bytes]] | None:
        """None when every word is certainly in ``texts``; else the texts as :data:`_ASCII_WORDS`
        makes them, and the words certainly there."""
        low = b" " + " ".join(texts).encode("utf-8", "surrogatepass").translate(_ASCII_WORDS) + b" "
        found = [w for w, needle in zip(self._words, self._needles, strict=True) if needle in low]
        return None if len(found) == len(self._words) else (low, found)


# --- the store --------------------------------------------------------------------------------


class Store:
    """An open store file. Create with :meth:`open`; use from one thread."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, readonly: bool = False) -> None:
        self._conn = conn
        self.path = path
        self._fts_tuned = False
        self._readonly = readonly
        self._verified = False
        self._key: tuple[int, int] | None = None  # the file, in _verified
        self._in_transaction = False

    # opening

    @classmethod
    def open(cls, path: Path | str, *, create: bool = True, cache_mb: int = 16) -> Store:
        """Open (and migrate) the store at ``path``.

        Nothing is written to a file until it is known to be a Reader store this version can
        write: another program's SQLite database, a store written by a newer Reader, and a file
        that is not SQLite at all are refused, byte for byte untouched. A store that cannot be
        written (read-only file, folder or file system) opens read-only. The file is only ever
        looked at through SQLite: closing any other descriptor of it would drop this process's
        locks on it, and another process could then take the store's WAL away (see _probe).
        """
        path = Path(path)
        if str(path) == ":memory:":
            return cls._connect(
                path, sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False), cache_mb
            )
        if path.is_dir():
            raise StoreError(f"{path}: is a folder, not a store file")
        if not path.exists():
            if not create:
                raise StoreError(f"{path}: no such store")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"{path}: cannot create the store's folder ({exc.strerror})") from None
            return cls._open_writable(path, cache_mb)
        if not path.is_file():  # a FIFO would block SQLite's open until a writer came; a device is endless
            raise StoreError(f"{path}: not a regular file, so not a store; left untouched")
        state = _probe(path)
        if not _writable(path):
            if state.version == 0:
                raise StoreError(f"{path}: is read-only and holds no store yet")
            if state.version < SCHEMA_VERSION:
                raise StoreError(
                    f"{path}: the store needs an update for this version (schema {state.version} to "
                    f"{SCHEMA_VERSION}) but is read-only; left untouched"
                )
            try:
                conn = _connect_readonly(path)
            except sqlite3.Error as exc:
                raise _wrap(path, exc) from None
            return cls._connect(path, conn, cache_mb, readonly=True)
        return cls._open_writable(path, cache_mb)

    @classmethod
    def _open_writable(cls, path: Path, cache_mb: int) -> Store:
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        except sqlite3.Error as exc:
            raise _wrap(path, exc) from None
        return cls._connect(path, conn, cache_mb)

    @classmethod
    def _connect(cls, path: Path, conn: sqlite3.Connection, cache_mb: int, *, readonly: bool = False) -> Store:
        store = cls(conn, path, readonly=readonly)
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            store.close()
            raise StoreError(
                f"{path}: this Python's SQLite {sqlite3.sqlite_version} is too old for Reader "
                f"({'.'.join(map(str, MIN_SQLITE))} or newer is needed); left untouched"
            )
        try:
            _add_functions(conn)
            if readonly:  # (mode=ro: the file cannot be written; temporary tables still can)
                store._configure_reading(cache_mb)
            else:
                store._configure(cache_mb)
                if str(path) != ":memory:":
                    store._key = _verified.opened(path)
                store._migrate()
        except sqlite3.Error as exc:
            store.close()
            raise _wrap(path, exc) from None
        except BaseException:
            store.close()
            raise
        return store

    @staticmethod
    def needs_upgrade(path: Path | str) -> bool:
        """Whether opening ``path`` will migrate an existing store (which can take a while: say so
        first). False for a missing file, a current store or anything that is not a store."""
        path = Path(path)
        if str(path) == ":memory:" or not path.is_file():
            return False
        try:
            state = _probe(path)
        except StoreError:
            return False
        return 0 < state.version < SCHEMA_VERSION

    def _configure(self, cache_mb: int) -> None:
        c = self._conn
        # Only a new, empty store takes it (an existing one keeps its page size).
        c.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        _busy_retried(c, "PRAGMA journal_mode = WAL")
        c.execute("PRAGMA synchronous = NORMAL")
        self._configure_reading(cache_mb)

    def _configure_reading(self, cache_mb: int) -> None:
        c = self._conn
        c.execute("PRAGMA foreign_keys = ON")
        c.execute("PRAGMA temp_store = MEMORY")
        c.execute(f"PRAGMA cache_size = {-1024 * int(cache_mb)}")

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        self._check_version(version)
        if version == SCHEMA_VERSION:
            return
        # Temporary data (statement journals, sorts, VACUUM's copy) goes to files while the store
        # is rebuilt, not memory as for searches: in memory, migrating 100,000 articles to schema
        # 4 peaked at 982 MB of RSS (82 MB with files), and VACUUM held the whole store at once.
        self._conn.execute("PRAGMA temp_store = FILE")
        try:
            self._run_migrations()
            if 0 < version < PACKED_SINCE:
                # Packing left most of the old file's pages free: give them back to the file
                # system (a copy of the store is written, so this needs its size free again;
                # without it, SQLite fills the free pages first before the file grows).
                try:
                    self._conn.execute("VACUUM")
                except sqlite3.Error as exc:
                    log.info("%s: left unvacuumed after the update (%s)", self.path, exc)
        finally:
            self._conn.execute("PRAGMA temp_store = MEMORY")

    def _run_migrations(self) -> None:
        with self.transaction():
            # Read again under the write lock: another process may have migrated (or created the
            # store) while we waited for it.
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            self._check_version(version)
            if version == SCHEMA_VERSION:
                return
            if version == 0:
                # Created here, or by another process since _probe looked: still nobody else's.
                _check_identity(self.path, _read_state(self._conn))
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number]:
                    self._conn.execute(statement)
            self._conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _check_version(self, version: int) -> None:
        _check_version(self.path, version)

    @property
    def readonly(self) -> bool:
        """Opened read-only: the file, its folder or its file system cannot be written here."""
        return self._readonly

    def verify(self) -> None:
        """Check the store's pages (``PRAGMA quick_check``) once per file and process, so that a
        damaged store is refused before anything is written to it. Writes call it first; the
        window calls it on a worker thread at start, so its first write does not wait for it."""
        if self._verified or self._readonly or self._key is None:
            return
        _verified.check(self._key, self._quick_check)
        self._verified = True

    def _quick_check(self) -> None:
        try:
            rows = self._conn.execute("PRAGMA quick_check(3)").fetchall()
        except sqlite3.Error as exc:
            raise _wrap(self.path, exc) from None
        problems = [str(r[0]) for r in rows]
        if problems != ["ok"]:
            detail = "; ".join(problems)
            detail = detail if len(detail) <= 100 else detail[:100] + "..."
            raise CorruptStoreError(f"{self.path}: the store is damaged ({detail}); left untouched")

    def close(self) -> None:
        if self._key is not None:
            _verified.closed(self._key)
            self._key = None
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back on any error so nothing half-written stays. Inside
        another one (the flag writer stores a batch of flags as one), it is part of that one."""
        if self._in_transaction:
            yield self._conn
            return
        if self._readonly:
            raise ReadOnlyStoreError(f"{self.path}: the store is read-only (no change was written)")
        self.verify()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _wrap(self.path, exc) from None
        self._in_transaction = True
        try:
            yield self._conn
        except sqlite3.Error as exc:
            # Errors inside the transaction (a damaged page met by an INSERT) are store errors too:
            # callers such as the import writer thread only expect StoreError.
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            raise _wrap(self.path, exc) from None
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            raise
        finally:
            self._in_transaction = False
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            raise _wrap(self.path, exc) from None

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise _wrap(self.path, exc) from None

    # writing articles

    def add_articles(
        self, articles: Iterable[Article] | PreparedArticles, *, update: bool = False, rules: bool = True
    ) -> AddResult:
        """Store articles in one transaction. Known articles (same identity) are left as they are,
        or with ``update`` get the new content; read/starred state is always kept. Articles given
        as :func:`prepare_articles` made them are stored without that work on this thread.

        The full-text index is given each article's text here, from the values in hand (the store
        keeps the body packed, so no trigger could give it the text without unpacking it again)."""
        given = (articles if isinstance(articles, PreparedArticles) else prepare_articles(articles)).rows
        if not given:
            return AddResult()
        conflict = upsert_clause(update)
        added = updated = 0
        with self.transaction() as conn:
            # (Inside the transaction: a cleanup cannot tombstone one of them between the check and the insert.)
            removed = self._tombstoned([row[0] for row in given])
            if removed:  # removed by a cleanup: a feed that still lists them does not bring them back
                given = [row for row in given if row[0] not in removed]
            wanted = self.rules() if rules and self._has_rules(conn) else []
            newest = self._newest_id(conn)
            self._tune_fts(conn)
            # Many rows per INSERT statement (multi-row VALUES), not one statement per row
            # (executemany), for two reasons measured on the seed import:
            # - FTS5 writes its pending terms out as a new index segment at every statement
            #   (statement savepoint): row by row, every article became a tiny segment, merged again
            #   and again. Per statement, a batch is indexed in memory and written once.
            # - sqlite3 releases the GIL around each statement; row by row, each of thousands of
            #   handovers waits for the parsing thread, which stalled the importer's writer.
            # Rows are taken in order, so ids follow the input; a key seen again starts a new
            # statement, so it meets the earlier row exactly as row by row (and RETURNING's rows
            # name one row each).
            # The index is told at the end, in as few statements as the changes allow (see
            # _index_all): a batch with a key seen again is several INSERTs, and giving the
            # index each one's rows made a segment per statement (~1,000 for the 30,000-record
            # corpus, 143 keys seen again), merged again and again: twice the index time.
            limit = self._max_rows_per_insert()
            index: list[tuple[bool, list[tuple[Any, ...]]]] = []
            for run in _unique_runs(given):
                start = 0
                for size in _statement_sizes(len(run), limit):
                    batch = run[start : start + size]
                    start += size
                    new, changed = self._insert(conn, batch, conflict, update, index)
                    added += new
                    updated += changed
            self._index_all(conn, index)
            if added:
                self._record_arrival(conn, newest)
            if wanted and added:
                # New articles only (ids above the newest before), in this transaction (and after
                # the index was told of them: a rule is a full-text query): a rule's article is
                # never seen without what the rule does to it.
                for rule in wanted:
                    self._apply_rule(conn, rule, after_id=newest)
        return AddResult(added=added, updated=updated, unchanged=len(given) + len(removed) - added - updated)

    #: Arrivals kept (migration 12): the tray counts what came since it last looked, a few
    #: storings ago; an import of 100,000 records is about 50 of them.
    ARRIVALS_KEPT = 1000

    def _record_arrival(self, conn: sqlite3.Connection, newest_before: int) -> None:
        """Note the ids this transaction gave out (all above ``newest_before``) as one arrival."""
        seq = conn.execute(
            "INSERT INTO arrivals (first_id, last_id) VALUES (?, ?) RETURNING seq",
            (newest_before + 1, self._newest_id(conn)),
        ).fetchone()[0]
        conn.execute("DELETE FROM arrivals WHERE seq <= ?", (seq - self.ARRIVALS_KEPT,))

    def _tombstoned(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` a cleanup removed (one probe when it never removed any)."""
        with self._errors():
            if self._conn.execute("SELECT 1 FROM tombstones LIMIT 1").fetchone() is None:
                return set()
            found: set[str] = set()
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ", ".join("?" * len(chunk))
                rows = self._conn.execute(f"SELECT key FROM tombstones WHERE key IN ({marks})", chunk)
                found.update(key for (key,) in rows)
        return found

    def _insert(
        self,
        conn: sqlite3.Connection,
        batch: Sequence[tuple[Any, ...]],
        conflict: str,
        update: bool,
        index: list[tuple[bool, list[tuple[Any, ...]]]],
    ) -> tuple[int, int]:
        """One INSERT of ``batch`` (rows of distinct keys): (added, updated). What the full-text
        index must be told of what it added and changed is appended to ``index`` as (delete,
        entries), in the order it must be told (see :meth:`_index_all`)."""
        before = self._indexed_text(conn, [row[0] for row in batch]) if update else {}
        values = [v for row in batch for v in row[:_ARTICLE_COLUMN_COUNT]]
        rows = _values_list(len(batch))
        sql = f"INSERT INTO articles ({_ARTICLE_COLUMNS}) VALUES {rows} {conflict} RETURNING id, key"
        stored = conn.execute(sql, values).fetchall()  # the rows inserted or changed
        old = []
        text_of = {row[0]: row[_ARTICLE_COLUMN_COUNT] for row in batch}
        for article_id, key in stored:
            if key in before:  # changed: its old text leaves the index first
                title, author, description, body_z, full_z = before[key]
                old.append((article_id, title, author, description, self._indexed_body(body_z, article_id, full_z)))
                if full_z is not None:  # the page's text stays (and in the index, after the new body)
                    t, a, d, body = text_of[key]
                    text_of[key] = (t, a, d, body + "\n" + textpack.unpack(full_z))
        if old:
            index.append((True, old))
        index.append((False, [(i, *text_of[k]) for i, k in stored]))
        return len(stored) - len(old), len(old)

    def _index_all(self, conn: sqlite3.Connection, changes: Sequence[tuple[bool, list[tuple[Any, ...]]]]) -> None:
        """Tell the full-text index of ``changes`` ((delete, entries), in order), joining
        consecutive ones of one kind. The order is kept: an article changed twice in one batch
        leaves with the text it was last given. Entries are given as they come, ids rising for
        new articles, so FTS5 gathers a batch in memory and writes it as one segment."""
        for delete, group in itertools.groupby(changes, key=lambda change: change[0]):
            entries = [entry for _, part in group for entry in part]
            if entries:
                self._index(conn, entries, delete=delete)

    def _indexed_text(self, conn: sqlite3.Connection, keys: Sequence[str]) -> dict[str, tuple[Any, ...]]:
        """The indexed columns of the stored articles with these keys, the body still packed:
        key -> (title, author, description, body_z, full_body_z). Only the rows an update then changes are
        unpacked (:meth:`_indexed_body`): a refresh that changes nothing inflates nothing."""
        found: dict[str, tuple[Any, ...]] = {}
        for start in range(0, len(keys), 500):  # stay well under SQLite's variable limit
            chunk = list(keys[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            for key, *text in conn.execute(
                f"SELECT key, title, author, description, body_z, full_body_z FROM articles WHERE key IN ({marks})",
                chunk,
            ):
                found[key] = tuple(text)
        return found

    def _indexed_body(self, body_z: bytes | None, article: object, full_z: bytes | None = None) -> str:
        """The body the index was given (the feed's text, then the page's when it was fetched), to
        take it out again. A body that cannot be unpacked (a damaged value) must not stop the
        refresh or removal it is part of: its words stay in the index (searches may find the
        article by them), and the log says so."""
        try:
            return _indexed_text_of(body_z, full_z)
        except textpack.PackError as exc:
            log.warning("%s: article %s: %s; its words stay in the search index", self.path, article, exc)
            return ""

    def _index(self, conn: sqlite3.Connection, entries: Sequence[tuple[Any, ...]], *, delete: bool = False) -> None:
        """Add (id, title, author, description, body) entries to the full-text index, or with
        ``delete`` take them out (given the text they were added with)."""
        command = "'delete', " if delete else ""
        columns = "articles_fts, rowid" if delete else "rowid"
        per_statement = max(1, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // 5)
        for start in range(0, len(entries), per_statement):
            chunk = entries[start : start + per_statement]
            marks = ", ".join([f"({command}?, ?, ?, ?, ?)"] * len(chunk))
            conn.execute(
                f"INSERT INTO articles_fts({columns}, title, author, description, body) VALUES {marks}",
                [v for entry in chunk for v in entry],
            )

    def _max_rows_per_insert(self) -> int:
        """Rows per INSERT: a power of two within SQLite's limit on bound values."""
        bound = self._conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // _ARTICLE_COLUMN_COUNT
        fitting = min(MAX_ROWS_PER_INSERT, bound)
        return 1 << (max(fitting, 1).bit_length() - 1)

    def _tune_fts(self, conn: sqlite3.Connection) -> None:
        """Once per connection, inside a write transaction: the index's write settings (see
        :data:`FTS_WRITE_CONFIG`). They live in the index's own config table, so they are set
        once per store and every writer uses them."""
        if self._fts_tuned:
            return
        current = dict(conn.execute("SELECT k, v FROM articles_fts_config").fetchall())
        for key, value in FTS_WRITE_CONFIG.items():
            if current.get(key) != value:
                conn.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES (?, ?)", (key, value))
        self._fts_tuned = True

    # reading articles

    #: A list row: its snippet is made from the description (4) or the start of the body (12).
    _ROW_COLUMNS = (
        "id, source, title, author, description, url, image_url, published, read, starred, feed_id, sort_ts, body_z"
    )

    def page(self, query: Query = Query(), after: Cursor | None = None, limit: int = 100) -> Page:
        """One page of list rows, newest first (or most relevant first), starting after ``after``.
        A search of sources only (``source:``) is a filter: its rows come newest first."""
        filters = self._filters_searching(query)
        if filters is None:
            return Page([], None)
        where, params, match = filters
        with self._errors():
            if match is not None and query.order == "relevance":
                raw = self._relevance_rows(query, match, where, params, after, limit)
                rows = [_row(r) for r in raw]
                cursor = (raw[-1][-1], raw[-1][0]) if raw else None
            else:
                if match is None:
                    raw = self._newest_rows(f"articles a {_indexed_by(query)}", where, params, after, limit)
                else:
                    raw = self._search_newest_rows(query, match, where, params, after, limit)
                rows = [_row(r) for r in raw]
                cursor = (raw[-1][11], raw[-1][0]) if raw else None
        return Page(rows, cursor if len(rows) == limit else None)

    def _newest_rows(
        self,
        source: str,
        where: list[str],
        params: list[Any],
        after: Cursor | None,
        limit: int,
        floor: Cursor | None = None,
    ) -> list[Any]:
        """Rows of ``source`` (an SQL FROM clause naming the articles ``a``) newest first, after the
        cursor ``after`` and down to ``floor`` (included)."""
        columns = _prefixed(self._ROW_COLUMNS, "a")
        sql, args = _newest_first(columns, source, where, params, after, floor)
        return self._conn.execute(sql + " LIMIT ?", [*args, limit]).fetchall()

    #: By relevance, the newest this many matches are ranked (bm25), best first; the older matches
    #: follow them, newest first: as on PostgreSQL (see PostgresStore.RANKED_MATCHES), so both
    #: engines mean the same by "by relevance". Ranking every match took 10 s for a common word
    #: at 1,000,000 articles (bm25 for each of them); the newest ones are what a person searching
    #: the news wants first, and the older ones are all still listed.
    RANKED_MATCHES = 2000
    #: The cursor's score of a row after the ranked ones (FTS5's rank is minus bm25: below 0).
    _OLDER = 1.0

    def _relevance_rows(
        self, query: Query, match: str, where: list[str], params: list[Any], after: Cursor | None, limit: int
    ) -> list[Any]:
        """A page by relevance: the newest :data:`RANKED_MATCHES` matches best first (the cursor
        is a score and an id), then the older matches newest first (score :data:`_OLDER`, and
        the id of the row the page ended on)."""
        with self._snapshot():
            rows: list[Any] = []
            if after is None or after[0] < self._OLDER:
                newest, scores = self._newest_matches_scored(query, match, where, params)
                ranked = sorted((scores.get(i, 0.0), i) for _, i in newest)
                if after is not None:
                    ranked = [k for k in ranked if k > (after[0], after[1])]
                page = ranked[:limit]
                marks = ", ".join("?" * len(page))
                found = {
                    r[0]: r
                    for r in self._conn.execute(
                        f"SELECT {self._ROW_COLUMNS} FROM articles WHERE id IN ({marks})", [i for _, i in page]
                    )
                }
                rows = [(*found[i], score) for score, i in page if i in found]
                if len(rows) == limit or len(newest) < self.RANKED_MATCHES:
                    return rows
                below: Cursor = newest[-1]
            else:
                r = self._conn.execute("SELECT sort_ts FROM articles WHERE id = ?", (int(after[1]),)).fetchone()
                if r is None:
                    return []
                below = (r[0], int(after[1]))
            older = self._search_newest_rows(query, match, where, params, below, limit - len(rows))
            return rows + [(*r, self._OLDER) for r in older]

    #: The ranked matches are first looked for among the newest rows, this many times
    #: RANKED_MATCHES of them, then (matches fewer) in as many rows as their share there says
    #: would hold enough, when that is at most _RANK_WINDOW_MAX rows; sparser matches are all
    #: ranked when few, else found by the newest-first plans. Each look is one pass of FTS5
    #: over the matches (bm25 counts them anyway): a common word's newest matches cost no walk.
    _RANK_WINDOW = 2
    _RANK_WINDOW_MAX = 50_000
    #: When the newest rows say there are at most this many matches, every one is ranked (in one
    #: pass, as before the bound: 17 ms for a rare word at 1,000,000 articles).
    _RANK_ALL_MATCHES = 10_000

    def _newest_matches_scored(
        self, query: Query, match: str, where: list[str], params: list[Any]
    ) -> tuple[list[tuple[int, int]], dict[int, float]]:
        """The newest :data:`RANKED_MATCHES` matches (date, id), newest first, and their scores
        (when there are fewer, every match, in no order and with no date)."""
        wanted = self.RANKED_MATCHES
        window = self._RANK_WINDOW * wanted
        index = f"articles a {_walk_index(query)}"
        while True:
            sql, args = _newest_first("a.id", index, where, params, None)
            c = self._conn
            c.execute("DELETE FROM temp.search_hits")
            try:
                walked = c.execute(f"INSERT INTO temp.search_hits(id) {sql} LIMIT ?", [*args, window]).rowcount
                hits = c.execute(
                    "SELECT a.sort_ts, a.id, f.rank FROM articles_fts f CROSS JOIN articles a ON a.id = f.rowid "
                    "WHERE articles_fts MATCH ? AND +f.rowid IN temp.search_hits",
                    (match,),
                ).fetchall()
            finally:
                c.execute("DELETE FROM temp.search_hits")
            if len(hits) >= wanted or walked < window:
                hits.sort(reverse=True)
                return [(h[0], h[1]) for h in hits[:wanted]], {h[1]: h[2] for h in hits[:wanted]}
            window = int(1.25 * wanted * walked / len(hits)) + 1 if hits else self._RANK_WINDOW_MAX + 1
            if window > self._RANK_WINDOW_MAX:
                break
        if len(hits) * max(1, self._newest_id(c)) <= self._RANK_ALL_MATCHES * walked:
            # Few matches (as many as the newest rows say): every one ranked, in one pass, their
            # dates read only when there are more than the bound (the filters tested against the
            # narrow covering indexes, as before the bound).
            sql = "SELECT rowid, rank FROM articles_fts f WHERE articles_fts MATCH ?"
            if where:
                # "+": keeps SQLite from handing the IN list to FTS5 as rowids to look up one by one.
                sql += f" AND +f.rowid IN (SELECT a.id FROM articles a WHERE {' AND '.join(where)})"
            every = dict(c.execute(sql, [match, *params]))
            if len(every) < wanted:
                return [(0, i) for i in every], every
            dates = self._dates(list(every))
            kept = sorted(((dates[i], i) for i in every), reverse=True)[:wanted]
            return kept, {i: every[i] for _, i in kept}
        newest = self._search_newest_rows(query, match, where, params, None, wanted)
        pairs = [(r[11], r[0]) for r in newest]
        return pairs, self._scores(match, [p[1] for p in pairs])

    def _dates(self, ids: Sequence[int]) -> dict[int, int]:
        """The sort date of each of ``ids``."""
        found: dict[int, int] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            found.update(
                self._conn.execute(
                    f"SELECT id, sort_ts FROM articles WHERE id IN ({', '.join('?' * len(chunk))})", chunk
                )
            )
        return found

    def _scores(self, match: str, ids: Sequence[int]) -> dict[int, float]:
        """FTS5's rank (minus bm25) of each of ``ids``, all matches of ``match``: the matches are
        gone through once, and ranked only where they are one of ``ids`` (asked about one by one,
        FTS5 would count each term's documents again for every one: bm25's statistics)."""
        if not ids:
            return {}
        c = self._conn
        c.execute("DELETE FROM temp.search_hits")
        try:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                c.execute(f"INSERT INTO temp.search_hits(id) VALUES {', '.join(['(?)'] * len(chunk))}", chunk)
            # "+": a test of each match (FTS5 would look each id up); the range lets FTS5 skip
            # the matches outside it.
            return dict(
                c.execute(
                    "SELECT rowid, rank FROM articles_fts WHERE articles_fts MATCH ? AND rowid BETWEEN ? AND ? "
                    "AND +rowid IN temp.search_hits",
                    (match, min(ids), max(ids)),
                )
            )
        finally:
            c.execute("DELETE FROM temp.search_hits")

    # Newest-first search. Which plan is fast depends on how many articles match:
    # - few matches: take them all from the index and sort them by date ("collect");
    # - many: walk the newest-first index and keep the rows that match, stopping at a full page
    #   ("walk"). Membership is tested either against the matches put in a scratch table first
    #   (costs one step per match), or by asking FTS5 about each row ("probe", no setup, but ~20 us
    #   a row and only cheap when every term can be looked up in the index without merging).
    # Costs measured on the 100,000-article benchmark store, in units of one match put in the
    # scratch table (~0.15 us); the plan with the lowest estimate is taken. Every plan returns the
    # same rows in the same order (tests/test_store_perf_plans.py), so this only changes speed.
    _PROBE_COST = 150  # FTS5 membership probe of one row
    _LOOKUP_COST = 15  # reading one match's date through its id, to sort it
    _SCAN_COST = 0.3  # one step along a newest-first index, checking the scratch table
    #: A probing walk looks at most this many times the rows the density predicts before it gives
    #: up (the matches are not where the estimate says, e.g. a topic only in older articles) and
    #: goes on from there with the scratch table.
    _WINDOW_SLACK = 4
    #: A prefix search ("vel"*) merges every word that starts so before it yields a match: about
    #: 1 us a match for a dense 3-letter prefix, 5x a whole word's cost.
    _PREFIX_MATCH_COST = 7
    #: Testing one walked row in Python (:class:`_TextTest`; ~60 us with its body unpacked), and
    #: finding the runs beyond ASCII of a row it could not tell, for the scratch index (~75 us).
    _TEXT_TEST_COST = 400
    _SCRATCH_TEST_COST = 500
    #: After how many rows a testing walk first compares its cost with collecting (then at every
    #: doubling; the unsure rows between go to the scratch index together): enough rows to tell a
    #: dense prefix from a rare one, few enough that a rare one costs ~0.5 ms more than before.
    _TEXT_WALK_CHECK = 4

    def _search_newest_rows(
        self, query: Query, match: str, where: list[str], params: list[Any], after: Cursor | None, limit: int
    ) -> list[Any]:
        index = f"articles a {_walk_index(query)}"
        with self._snapshot():
            # An upper bound on the rows listed, for the estimates (max(id) is one index lookup).
            total = max(1, self._newest_id(self._conn))
            test = None if query.search is None else _TextTest.of(query.search)
            if test is not None and not _probe_friendly(query.search or ""):
                raw, floor = self._text_walk(index, test, match, where, params, after, limit, total)
                if floor is None:
                    return raw
                return raw + self._hits_rows(index, match, where, params, floor, limit - len(raw), total)
            if query.search is not None and _probe_friendly(query.search):
                # Count matches only up to where probing becomes the cheapest plan (FTS5 counts
                # ~25 million a second): beyond it, the exact count does not matter.
                enough = int((limit * total * self._PROBE_COST) ** 0.5) + 1
                found = self._conn.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM articles_fts WHERE articles_fts MATCH ? LIMIT ?)",
                    (match, enough),
                ).fetchone()[0]
                if found >= enough:
                    window = self._WINDOW_SLACK * (limit * total // found) + limit
                    floor = self._walk_floor(index, where, params, after, window)
                    probe = "EXISTS (SELECT 1 FROM articles_fts WHERE articles_fts MATCH ? AND rowid = a.id)"
                    raw = self._newest_rows(index, [*where, probe], [*params, match], after, limit, floor)
                    if len(raw) == limit or floor is None:
                        return raw
                    rest = self._hits_rows(index, match, where, params, floor, limit - len(raw), total)
                    return raw + rest
            return self._hits_rows(index, match, where, params, after, limit, total)

    def _text_walk(
        self,
        index: str,
        test: _TextTest,
        match: str,
        where: list[str],
        params: list[Any],
        after: Cursor | None,
        limit: int,
        total: int,
    ) -> tuple[list[Any], Cursor | None]:
        """Walk the newest-first index from ``after``, keeping the rows whose text matches (told by
        ``test``, or by the scratch index when it is unsure), while that is estimated cheaper than
        collecting every match. Returns the rows kept and None when the walk is done (a full page
        or the end of the list), or the last row walked, for collecting the rest after it."""
        kept: list[Any] = []
        walked = 0
        spent = 0.0
        check = self._TEXT_WALK_CHECK
        position = after
        chunk = self._TEXT_WALK_CHECK  # then 4x as many at a time: a rare prefix reads few rows
        while True:
            rows = self._newest_rows(index, where, params, position, chunk)
            start = 0
            while start < len(rows):
                # Up to the next comparison (4, 8, 16, ... rows walked), at most 64 rows at a time.
                batch = rows[start : start + min(check - walked, 64)]
                start += len(batch)
                verdicts: list[bool | str] = []
                for r in batch:
                    try:
                        verdicts.append(test((r[2], r[3], r[4]), functools.partial(self._walked_body, r[0], r[12])))
                    except textpack.PackError:
                        break  # a damaged body: the index says whether it matches (collected below)
                unsure = {i: v for i, v in enumerate(verdicts) if isinstance(v, str)}
                matched = self._scratch_matches(match, unsure) if unsure else set()
                spent += len(verdicts) * self._TEXT_TEST_COST + len(unsure) * self._SCRATCH_TEST_COST
                for i, verdict in enumerate(verdicts):
                    r = batch[i]
                    walked += 1
                    position = (r[11], r[0])
                    if verdict is True or i in matched:
                        kept.append(r)
                        if len(kept) == limit:
                            return kept, None
                if len(verdicts) < len(batch):
                    return kept, position
                if walked >= check:
                    check = 2 * walked
                    density = len(kept) / walked
                    walk = (limit - len(kept)) / density * spent / walked if kept else float("inf")
                    if walk > density * total * self._PREFIX_MATCH_COST:
                        return kept, position
            if len(rows) < chunk:
                return kept, None
            chunk = min(4 * chunk, 4096)

    def _walked_body(self, article_id: int, body_z: bytes) -> str:
        """A walked row's body as the index has it: with its page's text, when it was fetched (read
        here, only for the rows whose title and description did not settle the test: a list page
        does not read the page texts)."""
        (full_z,) = self._conn.execute("SELECT full_body_z FROM articles WHERE id = ?", (article_id,)).fetchone()
        return _indexed_text_of(body_z, full_z)

    def _scratch_matches(self, match: str, texts: dict[int, str]) -> set[int]:
        """Which of ``texts`` (by key) FTS5 matches ``match`` in: indexed in a scratch index of the
        same tokenizer, which is emptied again."""
        c = self._conn
        c.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_text "
            f"USING fts5(text, content='', detail=none, columnsize=0, tokenize='{FTS_TOKENIZE}')"
        )
        marks = ", ".join(["(?, ?)"] * len(texts))
        c.execute(f"INSERT INTO temp.search_text(rowid, text) VALUES {marks}", [v for kv in texts.items() for v in kv])
        try:
            return {r[0] for r in c.execute("SELECT rowid FROM temp.search_text WHERE search_text MATCH ?", (match,))}
        finally:
            c.execute("INSERT INTO temp.search_text(search_text) VALUES ('delete-all')")

    def _hits_rows(
        self,
        index: str,
        match: str,
        where: list[str],
        params: list[Any],
        after: Cursor | None,
        limit: int,
        total: int,
    ) -> list[Any]:
        """Collect or walk, with the matches in the scratch table ``temp.search_hits``."""
        c = self._conn
        c.execute("DELETE FROM temp.search_hits")
        hits = c.execute(
            "INSERT INTO temp.search_hits SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", (match,)
        ).rowcount
        try:
            if hits * self._LOOKUP_COST < (limit * total / max(hits, 1)) * self._SCAN_COST:
                source = "temp.search_hits h CROSS JOIN articles a ON a.id = h.id"  # CROSS JOIN: hits first
                return self._newest_rows(source, where, params, after, limit)
            return self._newest_rows(index, [*where, "a.id IN temp.search_hits"], params, after, limit)
        finally:
            c.execute("DELETE FROM temp.search_hits")

    def _walk_floor(
        self, index: str, where: list[str], params: list[Any], after: Cursor | None, window: int
    ) -> Cursor | None:
        """The position ``window`` rows down the walk from ``after``; None when fewer rows are left.
        (OFFSET over a bounded window of the index, not for paging: pages are keyset.)"""
        sql, args = _newest_first("a.sort_ts, a.id", index, where, params, after)
        r = self._conn.execute(sql + " LIMIT 1 OFFSET ?", [*args, window - 1]).fetchone()
        return (r[0], r[1]) if r else None

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[None]:
        """Several statements that must see the same data: one read transaction (writes go only
        to the connection's own temp tables). Inside a caller's transaction, that one."""
        c = self._conn
        # Every time (a few microseconds): a caller's rolled-back transaction may have taken it.
        c.execute("CREATE TEMP TABLE IF NOT EXISTS search_hits (id INTEGER PRIMARY KEY)")
        if c.in_transaction:
            yield
            return
        c.execute("BEGIN")
        try:
            yield
        finally:
            try:
                c.execute("COMMIT")
            except sqlite3.Error:
                # Never leave the connection inside a transaction (it would pin an old snapshot).
                with contextlib.suppress(sqlite3.Error):
                    c.execute("ROLLBACK")

    def iter_rows(self, query: Query = Query(), page_size: int = 500) -> Iterator[ArticleRow]:
        after: Cursor | None = None
        while True:
            page = self.page(query, after, page_size)
            yield from page.rows
            if page.next_cursor is None:
                return
            after = page.next_cursor

    def rows_by_id(self, ids: Sequence[int]) -> dict[int, ArticleRow]:
        """List rows for these ids (a block the list is about to paint); missing ids are left out."""
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        with self._errors():
            raw = self._conn.execute(f"SELECT {self._ROW_COLUMNS} FROM articles WHERE id IN ({marks})", list(ids))
            return {r[0]: _row(r) for r in raw}

    def descriptions(self, ids: Sequence[int]) -> dict[int, str | None]:
        """The description of each article (what ``list --json`` adds to the list rows), without
        reading bodies or raw text."""
        found: dict[int, str | None] = {}
        with self._errors():
            for start in range(0, len(ids), 500):  # stay well under SQLite's variable limit
                chunk = list(ids[start : start + 500])
                marks = ", ".join("?" * len(chunk))
                found.update(self._conn.execute(f"SELECT id, description FROM articles WHERE id IN ({marks})", chunk))
        return found

    def _filters(self, query: Query) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        if query.view == "unread":
            where.append("a.read = 0")
        elif query.view == "starred":
            where.append("a.starred = 1")
        if query.view == "hidden":
            where.append("a.id IN (SELECT id FROM articles WHERE hidden = 1)")
        elif self._any_hidden():
            # Through the partial index of the hidden: the covering indexes the lists and counts
            # read stay covering (a.hidden = 0 would read every row).
            where.append("a.id NOT IN (SELECT id FROM articles WHERE hidden = 1)")
        if query.label is not None:
            where.append("a.id IN (SELECT article_id FROM labels WHERE label = ?)")
            params.append(query.label)
        if query.source == NO_SOURCE:
            where.append("a.source IS NULL AND a.feed_id IS NULL")
        elif query.source is not None:
            where.append("a.source = ?" if query.feeds_too else "a.source = ? AND a.feed_id IS NULL")
            params.append(query.source)
        if query.feed_id is not None:
            where.append("a.feed_id = ?")
            params.append(query.feed_id)
        if query.account_id is not None:
            where.append("a.account_id = ?")
            params.append(query.account_id)
        if query.folder is not None:
            where.append("a.feed_id IN (SELECT id FROM feeds WHERE folder = ?)")
            params.append(query.folder)
        return where, params

    def _any_hidden(self) -> bool:
        """Whether a rule hid any article (the lists leave them out then): one partial-index probe."""
        return self._conn.execute("SELECT 1 FROM articles WHERE hidden = 1 LIMIT 1").fetchone() is not None

    def _filters_matching(self, query: Query) -> tuple[list[str], list[Any]] | None:
        """:meth:`_filters` plus the full-text match of ``query.search`` (a plain membership test:
        :meth:`page` picks its own search plans); None when the search can find nothing."""
        filters = self._filters_searching(query)
        if filters is None:
            return None
        where, params, match = filters
        if match is not None:
            where.append("a.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)")
            params.append(match)
        return where, params

    def _filters_searching(self, query: Query) -> tuple[list[str], list[Any], str | None] | None:
        """:meth:`_filters` with the search's source condition, and its full-text query (None: the
        index is not asked); None when the search can find nothing (no word, no source matches)."""
        where, params = self._filters(query)
        if not query.search:
            return where, params, None
        search = parse_search(query.search)
        if search.empty:
            return None
        with self._errors():
            source = self._source_filter(search)
        if source is None:
            return None
        return where + source[0], params + source[1], search.match()

    def _source_filter(self, search: Search) -> tuple[list[str], list[Any]] | None:
        """The condition on ``a.source`` that ``search``'s ``source:`` terms make ([] when it has
        none; None when no source matches them). They are matched by FTS5 itself, as the index
        matches words (same tokenizer), against the sources stored, put in a scratch index: the
        article counts list each once (a few hundred at most; well under a millisecond)."""
        match = search.source_match()
        if match is None:
            return [], []
        c = self._conn
        sources = [
            r[0] for r in c.execute("SELECT DISTINCT source FROM article_counts WHERE source IS NOT NULL AND total > 0")
        ]
        if not sources:
            return None
        # (Contentless, emptied by 'delete-all': the filter took 0.34 ms for 40 sources, against
        # 0.74 ms with a table of its own content emptied by DELETE.)
        c.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.source_text "
            f"USING fts5(text, content='', columnsize=0, tokenize='{FTS_TOKENIZE}')"
        )
        try:
            for start in range(0, len(sources), 500):
                chunk = sources[start : start + 500]
                c.execute(
                    f"INSERT INTO temp.source_text(rowid, text) VALUES {', '.join(['(?, ?)'] * len(chunk))}",
                    [v for i, name in enumerate(chunk, start) for v in (i, name)],
                )
            found = [
                sources[r[0]]
                for r in c.execute("SELECT rowid FROM temp.source_text WHERE source_text MATCH ?", (match,))
            ]
        finally:
            c.execute("INSERT INTO temp.source_text(source_text) VALUES ('delete-all')")
        if not found:
            return None
        return [f"a.source IN ({', '.join('?' * len(found))})"], found

    def get(self, article_id: int) -> Article | None:
        """The whole article, cleaned body and raw text included."""
        with self._errors():
            r = self._conn.execute(
                "SELECT id, key, source, feed_id, title, author, description, url, image_url, published, body_z, "
                "body_html_z, raw_z, origin, imported_at, read, starred, enclosures, full_html_z, full_status "
                "FROM articles WHERE id = ?",
                (article_id,),
            ).fetchone()
        if r is None:
            return None
        try:
            body = textpack.unpack(r[10])
            body_html = None if r[11] is None else textpack.unpack(r[11])
            raw = textpack.unpack_raw(r[12], body)
            full_html = None if r[18] is None else textpack.unpack(r[18])
        except textpack.PackError as exc:
            raise CorruptStoreError(f"{self.path}: article {article_id}: {exc}; left untouched") from None
        return Article(
            id=r[0],
            key=r[1],
            source=r[2],
            feed_id=r[3],
            title=r[4],
            author=r[5],
            description=r[6],
            url=r[7],
            image_url=r[8],
            published=_dt(r[9]),
            body=body,
            body_html=body_html,
            raw=raw,
            origin=r[13],
            imported_at=_dt(r[14]),
            read=bool(r[15]),
            starred=bool(r[16]),
            enclosures=_enclosures_of(r[17]),
            full_html=full_html,
            full_status=r[19],
        )

    def count(self, query: Query = Query()) -> int:
        filters = self._filters_matching(query)
        if filters is None:
            return 0
        where, params = filters
        sql = "SELECT count(*) FROM articles a" + (" WHERE " + " AND ".join(where) if where else "")
        with self._errors():
            return int(self._conn.execute(sql, params).fetchone()[0])

    def sources(self) -> list[SourceCount]:
        """Seed-record sources (feeds are listed by :meth:`feeds`) with total and unread counts."""
        with self._errors():
            rows = self._conn.execute(
                "SELECT source, count(*), total(read = 0) FROM articles WHERE feed_id IS NULL "
                "GROUP BY source ORDER BY source IS NULL, lower(source)"
            ).fetchall()
        return [SourceCount(r[0], r[1], int(r[2])) for r in rows]

    def counts(self) -> tuple[tuple[int, int, int], list[SourceCount]]:
        """:meth:`totals` and :meth:`sources` together, from the counts the triggers keep
        (migration 11), not from the articles: the window counts both at every start, and counting
        the articles took ~17 ms of CPU at 100,000 of them. As there, the hidden articles are out of
        the totals and in their sources' counts."""
        with self._errors():
            rows = self._conn.execute(
                "SELECT * FROM (SELECT 0 AS part, NULL AS source, sum(total), sum(unread), sum(starred) "
                "FROM article_counts WHERE hidden = 0 UNION ALL SELECT 1, source, sum(total), sum(unread), 0 "
                "FROM article_counts WHERE feed_id IS NULL GROUP BY source HAVING sum(total) > 0) "
                "ORDER BY part, source IS NULL, lower(source)"
            ).fetchall()
        total, unread, starred = (int(n or 0) for n in rows[0][2:])
        return (total, unread, starred), [SourceCount(r[1], r[2], int(r[3])) for r in rows[1:]]

    def totals(self) -> tuple[int, int, int]:
        """(all, unread, starred) article counts."""
        with self._errors():
            r = self._conn.execute("SELECT count(*), total(read = 0), total(starred = 1) FROM articles").fetchone()
            if self._any_hidden():  # (listed only under Hidden: not in the totals)
                h = self._conn.execute(
                    "SELECT count(*), total(read = 0), total(starred = 1) FROM articles WHERE hidden = 1"
                ).fetchone()
                r = (r[0] - h[0], r[1] - h[1], r[2] - h[2])
        return int(r[0]), int(r[1]), int(r[2])

    def arrivals(self, after: int | None) -> tuple[int, int, int, int | None]:
        """(newest arrival, unread feed articles stored after arrival ``after``, the feeds they
        are in, one of those feeds): what a refresh or a sync brought since ``after`` was the
        newest (None: only the newest arrival). An arrival is one storing of new articles, numbered
        by a sequence that only grows (migration 12: article ids do not, once the newest articles
        are removed); its articles are read through ranges of the primary key, not the table."""
        with self._errors():
            c = self._conn
            newest = int(c.execute("SELECT coalesce(max(seq), 0) FROM arrivals").fetchone()[0])
            if after is None or after >= newest:
                return newest, 0, 0, None
            ranges: list[list[int]] = []
            for first, last in c.execute(
                "SELECT first_id, last_id FROM arrivals WHERE seq > ? ORDER BY first_id", (after,)
            ):
                if ranges and first <= ranges[-1][1] + 1:  # (overlapping or touching: one range)
                    ranges[-1][1] = max(ranges[-1][1], last)
                else:
                    ranges.append([first, last])
            if not ranges:
                return newest, 0, 0, None
            within = " OR ".join(["id BETWEEN ? AND ?"] * len(ranges))
            r = c.execute(
                "SELECT count(*), count(DISTINCT feed_id), min(feed_id) FROM articles "
                f"WHERE ({within}) AND feed_id IS NOT NULL AND read = 0",
                [v for pair in ranges for v in pair],
            ).fetchone()
        return newest, int(r[0]), int(r[1]), r[2]

    # read / star state

    def set_read(self, ids: Sequence[int], read: bool = True) -> int:
        """Set articles read (or unread): how many changed. A change to a sync account's article
        is queued for its server in the same transaction (:meth:`_queue_changes`)."""
        if not ids:
            return 0
        changed: list[tuple[int, int | None]] = []
        with self.transaction() as conn:
            for start in range(0, len(ids), 500):  # stay well under SQLite's variable limit
                chunk = list(ids[start : start + 500])
                marks = ", ".join("?" * len(chunk))
                changed += conn.execute(
                    f"UPDATE articles SET read = ? WHERE id IN ({marks}) AND read != ? RETURNING id, account_id",
                    [int(read), *chunk, int(read)],
                ).fetchall()
            self._queue_changes(conn, changed, "read" if read else "unread")
        return len(changed)

    def set_starred(self, article_id: int, starred: bool = True) -> bool:
        with self.transaction() as conn:
            changed = conn.execute(
                "UPDATE articles SET starred = ? WHERE id = ? AND starred != ? RETURNING id, account_id",
                (int(starred), article_id, int(starred)),
            ).fetchall()
            self._queue_changes(conn, changed, "star" if starred else "unstar")
        return bool(changed)

    def _queue_changes(self, conn: sqlite3.Connection, changed: Sequence[tuple[int, int | None]], kind: str) -> None:
        """Queue ``kind`` for the changed articles that belong to a sync account (the others are
        local only). An earlier change of the same flag still queued goes: the newest one is what
        the server must be told, once."""
        synced = [(article_id,) for article_id, account in changed if account is not None]
        if not synced:
            return
        for table in ("pending_changes", "refused_changes"):  # (a refused one is superseded too)
            conn.executemany(
                f"DELETE FROM {table} WHERE article_id = ? AND kind IN (?, ?)",
                [(a, kind, _opposite_change(kind)) for (a,) in synced],
            )
        now = int(time.time())
        conn.executemany(
            "INSERT INTO pending_changes (article_id, kind, queued_at) VALUES (?, ?, ?)",
            [(a, kind, now) for (a,) in synced],
        )

    def mark_all_read(self, query: Query = Query()) -> int:
        """Mark every article the query lists as read; returns how many changed."""
        return len(self.mark_all_read_ids(query))

    def mark_all_read_ids(self, query: Query = Query()) -> list[int]:
        """Mark every article the query lists as read; returns the ids of those that were unread
        (what an undo sets unread again: exactly these, not every article listed)."""
        filters = self._filters_matching(query)
        if filters is None:
            return []
        where, params = filters
        where.append("a.read = 0")
        sql = (
            f"UPDATE articles SET read = 1 WHERE id IN (SELECT a.id FROM articles a WHERE {' AND '.join(where)})"
            " RETURNING id, account_id"
        )
        with self.transaction() as conn:
            changed = conn.execute(sql, params).fetchall()
            self._queue_changes(conn, changed, "read")
        return [int(r[0]) for r in changed]

    # feeds

    def add_feed(self, url: str, title: str | None = None) -> Feed:
        """Subscribe to ``url`` (idempotent: an existing subscription is returned as it is)."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO feeds (url, title, added_at) VALUES (?, ?, ?) ON CONFLICT(url) DO NOTHING",
                (url, title, int(time.time())),
            )
        feed = self.get_feed(url)
        assert feed is not None
        return feed

    _FEED_SELECT = (
        "SELECT f.id, f.url, f.title, f.site_url, f.etag, f.last_modified, f.added_at, f.updated_at, "
        "f.last_error, f.dead, ifnull(c.n, 0), ifnull(c.u, 0), f.fresh_until, f.retry_at, "
        "f.account_id, f.remote_url, f.folder, f.full_content "
        # (Its articles' counts as the triggers keep them, summed over their sources: a feed's
        # articles are not read. Callers add GROUP BY f.id.)
        "FROM feeds f LEFT JOIN (SELECT feed_id, sum(total) AS n, sum(unread) AS u FROM article_counts "
        "WHERE feed_id IS NOT NULL GROUP BY feed_id) c ON c.feed_id = f.id"
    )

    def get_feed(self, url_or_id: str | int) -> Feed | None:
        column = "f.id" if isinstance(url_or_id, int) else "f.url"
        with self._errors():
            r = self._conn.execute(f"{self._FEED_SELECT} WHERE {column} = ? GROUP BY f.id", (url_or_id,)).fetchone()
        return _feed(r) if r else None

    def feeds(self) -> list[Feed]:
        with self._errors():
            rows = self._conn.execute(
                f"{self._FEED_SELECT} GROUP BY f.id ORDER BY lower(coalesce(f.title, f.url))"
            ).fetchall()
        return [_feed(r) for r in rows]

    def update_feed(self, feed_id: int, **fields: Any) -> None:
        """Set feed fields (``url`` after a permanent redirect, ``etag``, ``last_error``, ...)."""
        clause = set_clause("feed", fields, FEED_FIELDS, "?", bools_as_ints=True)
        if clause is None:
            return
        assignments, values = clause
        with self.transaction() as conn:
            conn.execute(f"UPDATE feeds SET {assignments} WHERE id = ?", [*values, feed_id])

    def remove_feed(self, url_or_id: str | int) -> bool:
        """Unsubscribe; the feed's articles go too, except starred ones, which are kept."""
        return self.unsubscribe(url_or_id) is not None

    def unsubscribe(self, url_or_id: str | int) -> tuple[int, int] | None:
        """:meth:`remove_feed`, saying how many articles went and how many starred ones were kept;
        None when there is no such feed."""
        feed = self.get_feed(url_or_id)
        if feed is None:
            return None
        with self.transaction() as conn:
            (kept,) = conn.execute(
                "SELECT count(*) FROM articles WHERE feed_id = ? AND starred = 1", (feed.id,)
            ).fetchone()
            removed = self._delete_articles(conn, "feed_id = ? AND starred = 0", (feed.id,))
            conn.execute("DELETE FROM feeds WHERE id = ?", (feed.id,))
            # Its tombstones too: subscribed again, its entries come back; and a new feed that
            # gets this id is not kept from entries of the same ids.
            conn.execute("DELETE FROM tombstones WHERE key >= ? AND key < ?", _key_range(f"feed:{feed.id}:"))
        return removed, kept

    # full articles (reader.fullcontent)

    def wanting_full_content(self, limit: int = 1000) -> list[tuple[int, str]]:
        """(id, url) of the articles whose feed asks for full articles and that were not tried yet,
        newest first."""
        with self._errors():
            rows = self._conn.execute(
                "SELECT a.id, a.url FROM articles a JOIN feeds f ON f.id = a.feed_id "
                "WHERE f.full_content = 1 AND a.full_status IS NULL AND a.url IS NOT NULL "
                "ORDER BY a.sort_ts DESC, a.id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [(int(i), str(u)) for i, u in rows]

    def set_full_content(
        self, article_id: int, html: str | None, text: str | None, status: str, *, asked: bool = False
    ) -> bool:
        """Keep the page's main text for ``article_id`` (sanitised ``html`` for the pane, ``text`` for
        search: the index's entry is made again with it), or with ``html`` None only ``status``, why
        it could not be had (the feed's text is what the pane shows then). ``asked``: the person
        asked for this article's page (kept when its feed is turned off, :meth:`drop_full_content`).
        False: no such article."""
        with self.transaction() as conn:
            r = conn.execute(
                "SELECT a.title, a.author, a.description, a.body_z, a.full_body_z, coalesce(f.full_content, 1) "
                "FROM articles a LEFT JOIN feeds f ON f.id = a.feed_id WHERE a.id = ?",
                (article_id,),
            ).fetchone()
            if r is None:
                return False
            if not asked and not r[5]:  # (its feed was turned off while the page was fetched: not kept)
                return True
            r = r[:5]
            if html is None:  # (a page fetched before stays, with its status: it is what the pane shows)
                conn.execute(
                    "UPDATE articles SET full_status = ? WHERE id = ? AND full_html_z IS NULL", (status, article_id)
                )
                return True
            title, author, description, body_z, old_full = r
            self._index(
                conn,
                [(article_id, title, author, description, self._indexed_body(body_z, article_id, old_full))],
                delete=True,
            )
            full_z = textpack.pack(text or "")
            conn.execute(
                "UPDATE articles SET full_html_z = ?, full_body_z = ?, full_status = ?, "
                "full_asked = max(full_asked, ?) WHERE id = ?",
                (textpack.pack(html), full_z, status, int(asked), article_id),
            )
            self._index(
                conn, [(article_id, title, author, description, self._indexed_body(body_z, article_id, full_z))]
            )
        return True

    def drop_full_content(self, feed_id: int) -> int:
        """What full articles fetched for feed ``feed_id`` (turned off): their pages' text goes,
        from the store and the index (the feed's text is shown and found again), and so do the
        reasons a page could not be had (turned on again, its pages are tried again); the pages
        the person asked for one by one stay. How many pages' text went."""
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT id, title, author, description, body_z, full_body_z FROM articles "
                "WHERE feed_id = ? AND full_status IS NOT NULL AND full_asked = 0",
                (feed_id,),
            ).fetchall()
            paged = [r for r in rows if r[5] is not None]
            self._index(conn, [(i, t, a, d, self._indexed_body(b, i, f)) for i, t, a, d, b, f in paged], delete=True)
            for start in range(0, len(rows), 500):
                chunk = [r[0] for r in rows[start : start + 500]]
                conn.execute(
                    "UPDATE articles SET full_html_z = NULL, full_body_z = NULL, full_status = NULL "
                    f"WHERE id IN ({', '.join('?' * len(chunk))})",
                    chunk,
                )
            self._index(conn, [(i, t, a, d, self._indexed_body(b, i, None)) for i, t, a, d, b, _ in paged])
        return len(paged)

    # rules (reader rules)

    _RULE_SELECT = (
        "SELECT r.id, r.name, r.query, r.action, r.feed_id, f.url, r.folder FROM rules r "
        "LEFT JOIN feeds f ON f.id = r.feed_id"
    )

    @staticmethod
    def _newest_id(conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT coalesce(max(id), 0) FROM articles").fetchone()[0])

    def _has_rules(self, conn: sqlite3.Connection) -> bool:
        return conn.execute("SELECT 1 FROM rules LIMIT 1").fetchone() is not None

    def add_rule(
        self, name: str, query: str, action: str, feed_id: int | None = None, folder: str | None = None
    ) -> Rule:
        """A rule: what ``query`` finds (the search field's syntax), ``action`` done to it (read,
        star, hide, label:NAME), limited to one feed, or to the feeds of a sync folder, when given.
        Raises StoreError naming what is wrong: an empty name, a query with no word to match, an
        unknown action, a name taken."""
        name, action = checked_rule(name, query, action)
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM rules WHERE name = ?", (name,)).fetchone():
                raise StoreError(f"rule {name}: there is one by that name already")
            conn.execute(
                "INSERT INTO rules (name, query, action, feed_id, folder, added_at) VALUES (?, ?, ?, ?, ?, ?)",
                (name, query.strip(), action, feed_id, folder, int(time.time())),
            )
        rule = self.get_rule(name)
        assert rule is not None
        return rule

    def rules(self) -> list[Rule]:
        with self._errors():
            rows = self._conn.execute(f"{self._RULE_SELECT} ORDER BY r.name").fetchall()
        return [Rule(*r) for r in rows]

    def get_rule(self, name: str) -> Rule | None:
        with self._errors():
            r = self._conn.execute(f"{self._RULE_SELECT} WHERE r.name = ?", (name,)).fetchone()
        return Rule(*r) if r else None

    def remove_rule(self, name: str) -> bool:
        """Forget a rule (what it did stays done)."""
        with self.transaction() as conn:
            return conn.execute("DELETE FROM rules WHERE name = ?", (name,)).rowcount > 0

    def apply_rules(self, names: Sequence[str] | None = None) -> dict[str, int]:
        """Apply the rules (these, or all) to every stored article: {rule: articles it changed}."""
        with self.transaction() as conn:
            wanted = [r for r in self.rules() if names is None or r.name in names]
            return {rule.name: self._apply_rule(conn, rule) for rule in wanted}

    def _apply_rule(self, conn: sqlite3.Connection, rule: Rule, after_id: int | None = None) -> int:
        """Do what ``rule`` says to the articles it finds (above ``after_id``, when given) that are
        not so yet: one full-text query, then one statement a chunk of 500. How many it changed."""
        search = parse_search(rule.query)
        # (add_rule refuses a query with no word; a rule written by hand may still have one)
        source = None if search.empty else self._source_filter(search)
        if source is None:
            return 0
        where, params = source
        match = search.match()
        if match is None:  # (sources only: their index, then the new rows' ids)
            if after_id is not None:
                where.append("a.id > ?")
                params.append(after_id)
        elif after_id is None:
            where.append("a.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)")
            params.append(match)
        else:  # (the bound inside the match: FTS5 reads only the new rows' entries, not every match)
            where.append("a.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? AND rowid > ?)")
            params += [match, after_id]
        if rule.feed_id is not None:
            where.append("a.feed_id = ?")
            params.append(rule.feed_id)
        if rule.folder is not None:
            where.append("a.feed_id IN (SELECT id FROM feeds WHERE folder = ?)")
            params.append(rule.folder)
        kind, _, label = rule.action.partition(":")
        if kind == "read":
            where.append("a.read = 0")
        elif kind == "star":
            where.append("a.starred = 0")
        elif kind == "hide":
            where.append("a.hidden = 0")
        else:
            where.append("a.id NOT IN (SELECT article_id FROM labels WHERE label = ?)")
            params.append(label)
        ids = [r[0] for r in conn.execute(f"SELECT a.id FROM articles a WHERE {' AND '.join(where)}", params)]
        if not ids:
            return 0
        if kind in ("read", "hide"):
            self.set_read(ids)  # (a sync account's articles: queued for its server, as a person's change)
            if kind == "hide":
                for start in range(0, len(ids), 500):
                    chunk = ids[start : start + 500]
                    conn.execute(f"UPDATE articles SET hidden = 1 WHERE id IN ({', '.join('?' * len(chunk))})", chunk)
        elif kind == "star":
            changed: list[tuple[int, int | None]] = []
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                changed += conn.execute(
                    f"UPDATE articles SET starred = 1 WHERE id IN ({', '.join('?' * len(chunk))}) "
                    "RETURNING id, account_id",
                    chunk,
                ).fetchall()
            self._queue_changes(conn, changed, "star")
        else:
            self._add_label(conn, ids, label)
        return len(ids)

    def set_hidden(self, ids: Sequence[int], hidden: bool = True) -> int:
        """Hide articles (as a rule does: kept, listed only under Hidden) or list them again; how
        many changed. Unhidden, an article keeps its read flag."""
        changed = 0
        with self.transaction() as conn:
            for start in range(0, len(ids), 500):
                chunk = list(ids[start : start + 500])
                marks = ", ".join("?" * len(chunk))
                changed += conn.execute(
                    f"UPDATE articles SET hidden = ? WHERE id IN ({marks}) AND hidden != ?",
                    [int(hidden), *chunk, int(hidden)],
                ).rowcount
        return changed

    def add_label(self, ids: Sequence[int], label: str) -> int:
        """Give these articles ``label`` (as a rule does); how many did not have it. Raises
        StoreError for an empty label."""
        label = label.strip()
        if not label:
            raise StoreError("a label needs a name")
        with self.transaction() as conn:
            return self._add_label(conn, ids, label)

    def _add_label(self, conn: sqlite3.Connection, ids: Sequence[int], label: str) -> int:
        """``label`` given to the articles ``ids`` that lack it; for a sync account's article, the
        server's user label is queued too, like a read or star change."""
        changed: list[tuple[int]] = []
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            changed += conn.execute(
                "INSERT INTO labels (label, article_id) SELECT ?, id FROM articles "
                f"WHERE id IN ({', '.join('?' * len(chunk))}) "
                "ON CONFLICT DO NOTHING RETURNING article_id",
                [label, *chunk],
            ).fetchall()
        self._queue_labelled(conn, [i for (i,) in changed], f"label:{label}")
        return len(changed)

    def _queue_labelled(self, conn: sqlite3.Connection, ids: Sequence[int], kind: str) -> None:
        """Queue ``kind`` (a label given or taken) for those of ``ids`` that belong to an account."""
        changed: list[tuple[int, int | None]] = []
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            changed += conn.execute(
                f"SELECT id, account_id FROM articles WHERE id IN ({', '.join('?' * len(chunk))}) "
                "AND account_id IS NOT NULL",
                chunk,
            ).fetchall()
        self._queue_changes(conn, changed, kind)

    def remove_label(self, ids: Sequence[int], label: str) -> int:
        """Take ``label`` off these articles; how many had it (a sync account's article: queued
        for its server too)."""
        label = label.strip()  # (as add_label keeps it)
        with self.transaction() as conn:
            gone = [
                i
                for i in ids
                if conn.execute("DELETE FROM labels WHERE label = ? AND article_id = ?", (label, i)).rowcount
            ]
            self._queue_labelled(conn, gone, f"unlabel:{label}")
        return len(gone)

    def hidden_count(self) -> int:
        """How many articles rules hid (read off the partial index)."""
        with self._errors():
            return int(self._conn.execute("SELECT count(*) FROM articles WHERE hidden = 1").fetchone()[0])

    def labels(self) -> list[SourceCount]:
        """The labels rules gave, with their articles and unread counts (for the sidebar)."""
        with self._errors():
            rows = self._conn.execute(
                "SELECT l.label, count(*), total(a.read = 0) FROM labels l JOIN articles a ON a.id = l.article_id "
                "GROUP BY l.label ORDER BY lower(l.label)"
            ).fetchall()
        return [SourceCount(r[0], r[1], int(r[2])) for r in rows]

    # retention (reader cleanup)

    def cleanup(
        self,
        older_than: datetime,
        *,
        starred_too: bool = False,
        unread_too: bool = False,
        dry_run: bool = False,
    ) -> Cleaned:
        """Remove the articles dated before ``older_than`` that are read and not starred (with
        ``unread_too`` / ``starred_too``: those too), with their search index entries. A feed
        article leaves a tombstone (its key), so that its feed, still listing it, does not bring
        it back. An article whose read or star change still waits for its sync server stays. The
        space they took is reused by what comes next (:meth:`compact` gives it back to the disk).
        ``dry_run``: only count them."""
        # Dated by publication or by when it was stored, whichever is later: an entry that arrives
        # with an old date (an archive, a bogus 1970) is not removed the first time it is read.
        old = ["max(coalesce(published, 0), imported_at) < ?", "id NOT IN (SELECT article_id FROM pending_changes)"]
        if not unread_too:
            old.append("read = 1")
        params: list[Any] = [_ts(older_than)]
        clause = " AND ".join(old if starred_too else [*old, "starred = 0"])
        with self.transaction() as conn:
            starred_kept = 0
            if not starred_too:
                kept = " AND ".join([*old, "starred = 1"])
                (starred_kept,) = conn.execute(f"SELECT count(*) FROM articles WHERE {kept}", params).fetchone()
            if dry_run:
                (count,) = conn.execute(f"SELECT count(*) FROM articles WHERE {clause}", params).fetchone()
                return Cleaned(int(count), int(starred_kept), 0)
            now = int(time.time())
            conn.execute(
                "INSERT OR IGNORE INTO tombstones (key, removed_at) "
                f"SELECT key, ? FROM articles WHERE {clause} AND feed_id IS NOT NULL",
                [now, *params],
            )
            removed = self._delete_articles(conn, clause, params)
        return Cleaned(removed, int(starred_kept), self.free_bytes())

    def free_bytes(self) -> int:
        """Bytes of the store's file that hold nothing (reused before the file grows)."""
        with self._errors():
            free = self._conn.execute("PRAGMA freelist_count").fetchone()[0]
            size = self._conn.execute("PRAGMA page_size").fetchone()[0]
        return int(free) * int(size)

    def compact(self) -> tuple[int, int]:
        """Give the free space back to the disk; (bytes before, after, the store's file and its
        write-ahead log). The search index first drops what removed articles left in it (FTS5
        takes a removal out as one more entry, merged away later: 'optimize' merges it all now),
        then VACUUM writes the store anew, which needs about its size free on the disk and holds
        off every other writer meanwhile."""
        path = Path(self.path)

        def size() -> int:
            wal = path.with_name(path.name + "-wal")
            return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)

        before = size()
        with self._errors():
            with self.transaction() as conn:
                conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('optimize')")
            self._conn.execute("VACUUM")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return before, size()

    # sync accounts (reader.sync): the account rows, their feeds and articles, the queue of changes

    _ACCOUNT_SELECT = "SELECT id, name, url, user, added_at, last_sync, since, retry_at, last_error FROM accounts"

    def add_account(self, name: str, url: str, user: str) -> Account:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO accounts (name, url, user, added_at) VALUES (?, ?, ?, ?)",
                (name, url, user, int(time.time())),
            )
        account = self.get_account(name)
        assert account is not None
        return account

    def accounts(self) -> list[Account]:
        with self._errors():
            rows = self._conn.execute(f"{self._ACCOUNT_SELECT} ORDER BY lower(name)").fetchall()
        return [_account(r) for r in rows]

    def get_account(self, name_or_id: str | int) -> Account | None:
        column = "id" if isinstance(name_or_id, int) else "name"
        with self._errors():
            r = self._conn.execute(f"{self._ACCOUNT_SELECT} WHERE {column} = ?", (name_or_id,)).fetchone()
        return _account(r) if r else None

    def update_account(self, account_id: int, **fields: Any) -> None:
        clause = set_clause("account", fields, ACCOUNT_FIELDS, "?")
        if clause is None:
            return
        assignments, values = clause
        with self.transaction() as conn:
            conn.execute(f"UPDATE accounts SET {assignments} WHERE id = ?", [*values, account_id])

    def remove_account(self, account_id: int) -> tuple[int, int, int]:
        """Forget an account: its feeds, and its articles except starred ones, which stay as local
        articles (their queued changes go). (articles removed, starred kept, feeds removed)."""
        with self.transaction() as conn:
            (kept,) = conn.execute(
                "SELECT count(*) FROM articles WHERE account_id = ? AND starred = 1", (account_id,)
            ).fetchone()
            removed = self._delete_articles(conn, "account_id = ? AND starred = 0", (account_id,))
            for table in ("pending_changes", "refused_changes"):
                conn.execute(
                    f"DELETE FROM {table} WHERE article_id IN (SELECT id FROM articles WHERE account_id = ?)",
                    (account_id,),
                )
            conn.execute("UPDATE articles SET account_id = NULL, remote_id = NULL WHERE account_id = ?", (account_id,))
            feeds = conn.execute("DELETE FROM feeds WHERE account_id = ?", (account_id,)).rowcount
            (name,) = conn.execute("SELECT name FROM accounts WHERE id = ?", (account_id,)).fetchone()
            conn.execute("DELETE FROM tombstones WHERE key >= ? AND key < ?", _key_range(f"greader:{name}:"))
            conn.execute("DELETE FROM accounts WHERE id = ?", (account_id,))
        return removed, int(kept), feeds

    def sync_subscriptions(
        self, account_id: int, subscriptions: Sequence[tuple[str, str | None, str | None, str | None, str | None]]
    ) -> tuple[int, int]:
        """Make the account's feeds the server's list of (stream id, title, feed URL, site URL,
        folder): new ones added, changed ones updated, the others removed with their articles
        (starred ones kept, as for an unsubscribed feed). (added, removed)."""
        with self.transaction() as conn:
            known = dict(conn.execute("SELECT remote_id, id FROM feeds WHERE account_id = ?", (account_id,)))
            added = 0
            now = int(time.time())
            for remote_id, title, url, site_url, folder in subscriptions:
                if remote_id in known:
                    conn.execute(
                        "UPDATE feeds SET title = ?, remote_url = ?, site_url = ?, folder = ? WHERE id = ?",
                        (title, url, site_url, folder, known.pop(remote_id)),
                    )
                    continue
                conn.execute(
                    "INSERT INTO feeds (url, title, site_url, added_at, account_id, remote_id, remote_url, folder) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (f"greader:{account_id}:{remote_id}", title, site_url, now, account_id, remote_id, url, folder),
                )
                added += 1
            for feed_id in known.values():  # gone from the server
                # (starred ones stay the account's: the server may still have them starred)
                self._delete_articles(conn, "feed_id = ? AND starred = 0", (feed_id,))
                conn.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
        return added, len(known)

    def remote_feeds(self, account_id: int) -> dict[str, Feed]:
        """The account's feeds by their stream id."""
        with self._errors():
            rows = self._conn.execute(
                f"{self._FEED_SELECT} WHERE f.account_id = ? GROUP BY f.id", (account_id,)
            ).fetchall()
            ids = dict(self._conn.execute("SELECT id, remote_id FROM feeds WHERE account_id = ?", (account_id,)))
        return {ids[r[0]]: _feed(r) for r in rows}

    def unknown_remote_ids(self, account_id: int, remote_ids: Sequence[str]) -> list[str]:
        """Those of ``remote_ids`` the store has no article for, in their order."""
        known: set[str] = set()
        with self._errors():
            for start in range(0, len(remote_ids), 500):
                chunk = list(remote_ids[start : start + 500])
                marks = ", ".join("?" * len(chunk))
                known.update(
                    r[0]
                    for r in self._conn.execute(
                        f"SELECT remote_id FROM articles WHERE account_id = ? AND remote_id IN ({marks})",
                        [account_id, *chunk],
                    )
                )
        return [i for i in remote_ids if i not in known]

    def add_remote_articles(
        self, account_id: int, items: Sequence[tuple[str, Article, bool, bool]] | PreparedRemoteArticles
    ) -> int:
        """Store a server's items, (remote id, article, read, starred) each, or as
        :func:`prepare_remote_articles` made them, in one transaction: an item already stored
        (same key) is left as it is. How many were new."""
        prepared = items if isinstance(items, PreparedRemoteArticles) else prepare_remote_articles(items)
        if not prepared.remote:
            return 0
        with self.transaction() as conn:
            newest = self._newest_id(conn)
            result = self.add_articles(prepared.articles, rules=False)
            # New rows (and starred ones kept from an earlier time with this account) take the
            # account, the server's id and its read and star state.
            conn.executemany(
                "UPDATE articles SET account_id = ?, remote_id = ?, read = ?, starred = ? "
                "WHERE key = ? AND account_id IS NULL",
                [
                    (account_id, rid, int(read), int(star), row[0])
                    for (rid, read, star), row in zip(prepared.remote, prepared.articles.rows, strict=True)
                ],
            )
            # Then the rules, on the server's state: what they change is queued for the server.
            if result.added and self._has_rules(conn):
                for rule in self.rules():
                    self._apply_rule(conn, rule, after_id=newest)
        return result.added

    def reconcile_flags(self, account_id: int, unread: Iterable[str], starred: Iterable[str]) -> tuple[int, int]:
        """Take the server's read and star state: its articles in ``unread`` are unread, the others
        read; those in ``starred`` starred. Never where a local change of that flag still waits in
        the queue: the server has not heard of it yet, so its state is older. (read changed, star
        changed)."""
        with self.transaction() as conn:
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS sync_ids (kind INTEGER, remote_id TEXT, PRIMARY KEY (kind, remote_id))"
                " WITHOUT ROWID"
            )
            conn.execute("DELETE FROM temp.sync_ids")
            conn.executemany("INSERT OR IGNORE INTO temp.sync_ids VALUES (0, ?)", ((i,) for i in unread))
            conn.executemany("INSERT OR IGNORE INTO temp.sync_ids VALUES (1, ?)", ((i,) for i in starred))
            changed = []
            for column, kind, kinds in (("read", 0, ("read", "unread")), ("starred", 1, ("star", "unstar"))):
                # read = not among the unread ids; starred = among the starred ids
                among = f"IN (SELECT remote_id FROM temp.sync_ids WHERE kind = {kind})"
                value = f"(remote_id {'NOT ' if kind == 0 else ''}{among})"
                changed.append(
                    conn.execute(
                        f"UPDATE articles SET {column} = {value} WHERE account_id = ? AND {column} != {value} "
                        "AND NOT EXISTS (SELECT 1 FROM pending_changes p WHERE p.article_id = articles.id "
                        "AND p.kind IN (?, ?)) "
                        "AND NOT EXISTS (SELECT 1 FROM refused_changes r WHERE r.article_id = articles.id "
                        "AND r.kind IN (?, ?))",
                        (account_id, *kinds, *kinds),
                    ).rowcount
                )
                # A refused change the server's state now agrees with (set there some other way)
                # is settled: forgotten, and the flag follows the server again from now on.
                conn.execute(
                    "DELETE FROM refused_changes WHERE kind IN (?, ?) AND article_id IN "
                    f"(SELECT id FROM articles WHERE account_id = ? AND {column} = {value})",
                    (*kinds, account_id),
                )
            conn.execute("DELETE FROM temp.sync_ids")
        return changed[0], changed[1]

    def pending_changes(self, account_id: int | None = None) -> list[tuple[int, str, str]]:
        """Queued changes, oldest first: (change id, the article's remote id, kind)."""
        sql = (
            "SELECT p.id, a.remote_id, p.kind FROM pending_changes p JOIN articles a ON a.id = p.article_id"
            + (" WHERE a.account_id = ?" if account_id is not None else "")
            + " ORDER BY p.id"
        )
        with self._errors():
            return [(r[0], r[1], r[2]) for r in self._conn.execute(sql, () if account_id is None else (account_id,))]

    def drop_pending(self, change_ids: Sequence[int]) -> None:
        """Forget changes the server acknowledged."""
        with self.transaction() as conn:
            conn.executemany("DELETE FROM pending_changes WHERE id = ?", [(i,) for i in change_ids])

    def refuse_pending(self, change_ids: Sequence[int], reason: str) -> None:
        """Move queued changes the server refused out of the queue into ``refused_changes``, with
        the server's ``reason``, in one transaction: no longer sent, never silently lost, and the
        local flag stays as it was set (:meth:`reconcile_flags` leaves it alone)."""
        now = int(time.time())
        with self.transaction() as conn:
            for start in range(0, len(change_ids), 500):
                chunk = list(change_ids[start : start + 500])
                marks = ", ".join("?" * len(chunk))
                conn.execute(
                    "INSERT INTO refused_changes (article_id, kind, queued_at, refused_at, reason) "
                    f"SELECT article_id, kind, queued_at, ?, ? FROM pending_changes WHERE id IN ({marks}) ORDER BY id",
                    [now, reason, *chunk],
                )
                conn.execute(f"DELETE FROM pending_changes WHERE id IN ({marks})", chunk)

    def refused_changes(self, account_id: int | None = None) -> list[tuple[str, str, str]]:
        """Changes the server refused, oldest first: (the article's remote id, kind, reason)."""
        sql = (
            "SELECT a.remote_id, r.kind, r.reason FROM refused_changes r JOIN articles a ON a.id = r.article_id"
            + (" WHERE a.account_id = ?" if account_id is not None else "")
            + " ORDER BY r.id"
        )
        with self._errors():
            return [(r[0], r[1], r[2]) for r in self._conn.execute(sql, () if account_id is None else (account_id,))]

    def _delete_articles(self, conn: sqlite3.Connection, where: str, params: Sequence[Any]) -> int:
        """Delete the articles ``where`` selects, and their full-text entries; how many went."""
        gone = conn.execute(
            f"DELETE FROM articles WHERE {where} RETURNING id, title, author, description, body_z, full_body_z", params
        ).fetchall()
        self._index(conn, [(i, t, a, d, self._indexed_body(b, i, f)) for i, t, a, d, b, f in gone], delete=True)
        return len(gone)


# --- what a file holds, looked at through SQLite only -----------------------------------------------

#: ``PRAGMA application_id`` of the stores this program creates ("RdSt"). Stores made before it
#: was set have 0 there and are known by their tables.
APPLICATION_ID = int.from_bytes(b"RdSt", "big")


class _State(NamedTuple):
    application_id: int
    version: int
    tables: frozenset[str]


def _probe(path: Path) -> _State:
    """What the file at ``path`` holds, read through a read-only SQLite connection, and refused
    (with the reason) unless it is a Reader store this version can open, or an empty file.

    Never ``open()`` the file (or its -wal, -shm) from Python: POSIX drops all of a process's
    locks on a file when any descriptor of it is closed, so a store opened again in a process
    that already has connections to it (the window's workers, a test) would look unused to other
    processes, and the next one to close would checkpoint and delete the WAL under our feet
    (SQLite's "How To Corrupt An SQLite Database File", 2.2). SQLite's own connections share one
    descriptor per file in a process and never do that.
    """
    try:
        conn = _connect_readonly(path)
    except sqlite3.Error as exc:
        raise _wrap(path, exc) from None
    try:
        state = _read_state(conn)
    except sqlite3.Error as exc:
        raise _wrap(path, exc) from None
    finally:
        conn.close()
    _check_identity(path, state)
    return state


def _read_state(conn: sqlite3.Connection) -> _State:
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = frozenset(
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    )
    return _State(application_id, version, tables)


def _check_identity(path: Path, state: _State) -> None:
    empty = not state.tables and state.version == 0 and state.application_id in (0, APPLICATION_ID)
    ours = state.application_id == APPLICATION_ID or (
        state.application_id == 0 and state.version > 0 and {"articles", "feeds"} <= state.tables
    )
    if not (empty or ours):
        raise NotADatabaseError(f"{path}: not a Reader store (an SQLite database of another program); left untouched")
    _check_version(path, state.version)


def _check_version(path: Path, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise StoreVersionError(
            f"{path}: the store was written by a newer Reader (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); left untouched"
        )


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection. A WAL store in a folder this process cannot write has no -shm to
    share with writers (nobody can write there either): it is then read as an immutable file."""
    uri = path.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, check_same_thread=False, timeout=10)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError as exc:
        conn.close()
        if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_CANTOPEN or _writable(path):
            raise
        # Immutable reads the main file alone: changes still in a -wal would be missed (and the
        # folder's owner could be writing them). Then say so rather than show an older store.
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise StoreError(
                f"{path}: the store has changes in {wal.name} that cannot be read without write access "
                "to its folder; open it once where it can be written"
            ) from None
        conn = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None, check_same_thread=False)
    return conn


def _writable(path: Path) -> bool:
    """Whether this process may write the store and create its -wal and -shm beside it."""
    folder = path.parent if str(path.parent) else Path(".")
    return os.access(path, os.W_OK) and os.access(folder, os.W_OK | os.X_OK)


class _VerifiedFiles:
    """The store files whose pages this process has checked, while it has them open (by device
    and inode: a path can name another file later; forgotten when the last of its stores here
    closes, so a file damaged or replaced since is checked again). A second thread that needs a
    check already running waits for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[tuple[int, int], int] = {}
        self._done: set[tuple[int, int]] = set()
        self._running: dict[tuple[int, int], threading.Event] = {}

    def opened(self, path: Path) -> tuple[int, int] | None:
        try:
            info = os.stat(path)
        except OSError:
            return None
        key = (info.st_dev, info.st_ino)
        with self._lock:
            self._open[key] = self._open.get(key, 0) + 1
        return key

    def closed(self, key: tuple[int, int]) -> None:
        with self._lock:
            left = self._open.get(key, 1) - 1
            if left > 0:
                self._open[key] = left
            else:
                self._open.pop(key, None)
                self._done.discard(key)

    def check(self, key: tuple[int, int], run: Callable[[], None]) -> None:
        while True:
            with self._lock:
                if key in self._done:
                    return
                running = self._running.get(key)
                if running is None:
                    running = self._running[key] = threading.Event()
                    break
            running.wait()
        try:
            run()
            with self._lock:
                if key in self._open:
                    self._done.add(key)
        finally:
            with self._lock:
                del self._running[key]
            running.set()


_verified = _VerifiedFiles()


# --- helpers ----------------------------------------------------------------------------------


def _statement_sizes(n: int, largest: int) -> Iterator[int]:
    """Split ``n`` rows into INSERT statements: ``largest`` rows while they last, then the rest as
    distinct powers of two (with ``largest`` 1024: 2500 -> 1024, 1024, 256, 128, 64, 4)."""
    while n >= largest:
        yield largest
        n -= largest
    size = largest
    while n:
        size >>= 1
        if n >= size:
            yield size
            n -= size


@functools.lru_cache(maxsize=16)
def _values_list(rows: int) -> str:
    one = "(" + ", ".join("?" * _ARTICLE_COLUMN_COUNT) + ")"
    return ", ".join([one] * rows)


def upsert_clause(update: bool) -> str:
    """What an INSERT into ``articles`` does with an article it already has (same key): nothing, or
    with ``update`` take the new content when it differs. read/starred are never touched."""
    if not update:
        return "ON CONFLICT(key) DO NOTHING"
    differs = " OR ".join(
        f"articles.{c} IS NOT excluded.{c}"
        for c in (
            "title",
            "author",
            "description",
            "url",
            "image_url",
            "published",
            "body_z",
            "body_html_z",
            "enclosures",
        )
    )
    return (
        "ON CONFLICT(key) DO UPDATE SET source = excluded.source, title = excluded.title, "
        "author = excluded.author, description = excluded.description, url = excluded.url, "
        "image_url = excluded.image_url, published = excluded.published, sort_ts = excluded.sort_ts, "
        "body_z = excluded.body_z, body_html_z = excluded.body_html_z, "
        "raw_z = excluded.raw_z, enclosures = excluded.enclosures "
        f"WHERE {differs}"
    )


def _newest_first(
    columns: str,
    source: str,
    where: Sequence[str],
    params: Sequence[Any],
    after: Cursor | None,
    floor: Cursor | None = None,
) -> tuple[str, list[Any]]:
    """SELECT ``columns`` of ``source`` (naming the articles ``a``) under ``where``, newest first,
    after the cursor ``after`` and down to ``floor`` (included): the SQL (to add a LIMIT to) and
    its arguments."""
    conditions = list(where)
    args = list(params)
    if after is not None:
        conditions.append("(a.sort_ts, a.id) < (?, ?)")
        args += after
    if floor is not None:
        conditions.append("(a.sort_ts, a.id) >= (?, ?)")
        args += floor
    sql = f"SELECT {columns} FROM {source}"
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    return sql + " ORDER BY a.sort_ts DESC, a.id DESC", args


def _prefixed(columns: str, alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in columns.split(","))


def _walk_index(query: Query) -> str:
    """The index that lists ``query``'s articles newest first, for searches that walk it."""
    if query.source is not None:
        return "INDEXED BY articles_source_newest"
    if query.feed_id is not None:
        return "INDEXED BY articles_feed_newest"
    if query.view == "unread":
        return "INDEXED BY articles_unread_newest"
    if query.view == "starred":
        return "INDEXED BY articles_starred_newest"
    return "INDEXED BY articles_newest"


def _probe_friendly(text: str) -> bool:
    """Whether each term of ``fts_query(text)`` is found by seeking in one index: whole words only.
    A prefix makes FTS5 merge every word starting so, on every probe (7 ms a probe for a common
    4-letter prefix). A last word with "_" is a phrase to FTS5 (two tokens), not one lookup."""
    words, prefix = search_words(text)
    return not prefix and (not words or text[-1:].isspace() or "_" not in words[-1])


def _indexed_by(query: Query) -> str:
    # The partial indexes only pay off when the planner knows the view; name them so it uses them.
    if query.source is None and query.feed_id is None and not query.search:
        if query.view == "unread":
            return "INDEXED BY articles_unread_newest"
        if query.view == "starred":
            return "INDEXED BY articles_starred_newest"
    return ""


class PreparedArticles(NamedTuple):
    """Articles made ready to store (see :func:`prepare_articles`)."""

    rows: list[tuple[Any, ...]]


def prepare_articles(
    articles: Iterable[Article], packed: Sequence[textpack.PackedText | None] | None = None
) -> PreparedArticles:
    """What :meth:`Store.add_articles` does with articles before it needs the store: their keys
    and packed text. It needs no connection, so the importer does it on its parsing thread: the
    writer's thread then only writes (packing was a third of its time). ``packed``, one per
    article (None: pack it here), is text already packed (:func:`textpack.pack_article`): the
    feed parse workers pack what they parse."""
    now = int(time.time())
    if packed is None:
        return PreparedArticles([_article_params(a, now) for a in articles])
    return PreparedArticles([_article_params(a, now, texts) for a, texts in zip(articles, packed, strict=True)])


class PreparedRemoteArticles(NamedTuple):
    """A server's items made ready to store (see :func:`prepare_remote_articles`)."""

    articles: PreparedArticles
    #: (remote id, read, starred), one per article.
    remote: list[tuple[str, bool, bool]]


def prepare_remote_articles(items: Sequence[tuple[str, Article, bool, bool]]) -> PreparedRemoteArticles:
    """:func:`prepare_articles` for a server's items, (remote id, article, read, starred) each:
    no connection needed, so a sync's worker processes do it (the text packed there)."""
    return PreparedRemoteArticles(
        prepare_articles([article for _, article, _, _ in items]),
        [(rid, read, star) for rid, _, read, star in items],
    )


def _article_params(a: Article, now: int, packed: textpack.PackedText | None = None) -> tuple[Any, ...]:
    """The INSERT's values for ``a`` (its text packed, unless ``packed`` gives it so), then the
    text for the full-text index."""
    published = _ts(a.published)
    body, html, raw = packed or textpack.pack_article(a.body, a.body_html, a.raw)
    return (
        a.identity(),
        a.source,
        a.feed_id,
        a.title,
        a.author,
        a.description,
        a.url,
        a.image_url,
        published,
        published if published is not None else UNKNOWN_TS,
        body,
        html,
        raw,
        a.origin,
        now,
        _enclosures_json(a.enclosures),
        # Not stored as such: what the full-text index is given (title, author, description, body).
        (a.title, a.author, a.description, a.body),
    )


#: What ``update_feed`` and ``update_account`` may set, on either engine.
FEED_FIELDS = frozenset(
    {
        "full_content",
        "url",
        "title",
        "site_url",
        "etag",
        "last_modified",
        "updated_at",
        "last_error",
        "dead",
        "fresh_until",
        "retry_at",
    }
)
ACCOUNT_FIELDS = frozenset({"last_sync", "since", "retry_at", "last_error"})


def set_clause(
    what: str, fields: dict[str, Any], allowed: frozenset[str], mark: str, *, bools_as_ints: bool = False
) -> tuple[str, list[Any]] | None:
    """An UPDATE's ``name = ?, ...`` for ``fields`` and their values (dates as seconds; with
    ``bools_as_ints``, flags as 0/1), ``mark`` the engine's placeholder; None when there is none
    to set. A name outside ``allowed`` is a TypeError (a caller's bug; the names go into the SQL,
    so only these fixed ones may)."""
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"unknown {what} fields: {sorted(unknown)}")
    if not fields:
        return None
    values = [
        _ts(v) if isinstance(v, datetime) else (int(v) if bools_as_ints and isinstance(v, bool) else v)
        for v in fields.values()
    ]
    return ", ".join(f"{name} = {mark}" for name in fields), values


def _key_range(prefix: str) -> tuple[str, str]:
    """The keys that start with ``prefix``, as a range of the primary key (LIKE would scan)."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _indexed_text_of(body_z: bytes | None, full_z: bytes | None) -> str:
    """The body as the index has it: the feed's text, then the page's when it was fetched."""
    body = textpack.unpack(body_z)
    return body if full_z is None else body + "\n" + textpack.unpack(full_z)


def _enclosures_json(enclosures: Sequence[Enclosure]) -> str | None:
    if not enclosures:
        return None
    import json  # (only for the articles that have enclosures)

    return json.dumps([[e.url, e.type, e.length, e.duration] for e in enclosures], ensure_ascii=False)


def _enclosures_of(value: str | None) -> tuple[Enclosure, ...]:
    """The enclosures column read back; a value that is not what :func:`_enclosures_json` wrote
    (edited by hand, damaged) gives none rather than an error."""
    if not value:
        return ()
    import json

    try:
        return tuple(Enclosure(str(u), t, n, d) for u, t, n, d in json.loads(value))
    except (ValueError, TypeError):
        log.warning("article enclosures unreadable (%.60s); shown without them", value)
        return ()


def _unique_runs(rows: list[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    """``rows`` in order, cut where a key comes again: runs in which every key is new."""
    start = 0
    keys: set[Any] = set()
    for i, row in enumerate(rows):
        if row[0] in keys:
            yield rows[start:i]
            start = i
            keys = set()
        keys.add(row[0])
    yield rows[start:]


def _snippet_of_body(body_z: bytes | None) -> str:
    """The snippet of an article without a description, from as little of its body as it takes
    (a few microseconds a row, where keeping it stored cost 5% of the store)."""

    def enough(start: str) -> bool:
        if start.count("\n") >= 3:
            return True
        return len(start) >= SNIPPET_CHARS and len(snippet_of(None, start)) >= SNIPPET_CHARS

    try:
        return snippet_of(None, textpack.unpack_start(body_z, enough))
    except textpack.PackError:
        return ""  # a damaged body shows no snippet in the list; opening it says what is wrong


def _row(r: Sequence[Any]) -> ArticleRow:
    return ArticleRow(
        id=r[0],
        source=r[1],
        title=r[2],
        author=r[3],
        snippet=snippet_of(r[4], "") if r[4] else _snippet_of_body(r[12]),
        url=r[5],
        image_url=r[6],
        published=_dt(r[7]),
        read=bool(r[8]),
        starred=bool(r[9]),
        feed_id=r[10],
    )


def _account(r: Sequence[Any]) -> Account:
    return Account(
        id=r[0],
        name=r[1],
        url=r[2],
        user=r[3],
        added_at=_dt(r[4]),
        last_sync=_dt(r[5]),
        since=r[6],
        retry_at=_dt(r[7]),
        last_error=r[8],
    )


def _feed(r: Sequence[Any]) -> Feed:
    return Feed(
        id=r[0],
        url=r[1],
        title=r[2],
        site_url=r[3],
        etag=r[4],
        last_modified=r[5],
        added_at=_dt(r[6]),
        updated_at=_dt(r[7]),
        last_error=r[8],
        dead=bool(r[9]),
        total=r[10],
        unread=int(r[11]),
        fresh_until=_dt(r[12]),
        retry_at=_dt(r[13]),
        account_id=r[14],
        remote_url=r[15],
        folder=r[16],
        full_content=bool(r[17]),
    )
