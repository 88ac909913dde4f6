"""``reader store copy SRC DST``: one store's contents into another, SQLite or PostgreSQL either
way. No Qt.

The copy goes table by table (:data:`TABLES`, one entry each), in batches of one transaction
each, and keeps every id: an article's feed, a queued change's article, a feed article's key
(``feed:ID:...``) and an account feed's address (``greader:ID:...``) all name rows by id, so a
copy with other ids would have to rewrite them all, and the next refresh would otherwise bring
every article of a feed in again. So the destination must be empty, or what an earlier run of
the same copy left: a copy that was interrupted (killed, a lost connection, Ctrl+C) is run
again and goes on after the last batch it committed, without duplicates or gaps. A destination
that holds anything else is refused in one line, before anything is written to it.

The packed columns (the body, its HTML, the raw record: :mod:`reader.textpack`) are copied as
they are, byte for byte; the body is unpacked only for the destination's search index (FTS5 on
SQLite, the ``tsvector`` on PostgreSQL). Read and star state are the person's a PostgreSQL side
names (``--user``, default the database role). What one side has and the other has not yet
(a table or a column of the newer SQLite schema) is said in one line, "not copied: ...", and is
copied as soon as both have it: each entry checks the tables themselves, not a version.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from reader import textpack
from reader.records import counted
from reader.store.protocol import StoreProtocol
from reader.store.sqlite import Store, StoreError

#: Articles per batch (one transaction): about 4 MB of packed text from the seed corpus.
BATCH_ROWS = 2000
#: Rows of the small tables per batch.
SMALL_BATCH_ROWS = 5000

#: Called inside each article batch's transaction, after its rows are written and before it is
#: committed, with the batch's number (from 1): the tests stop a copy there (a killed process,
#: an exception) to prove that a rerun finishes it. None in normal use.
batch_written: Callable[[int], None] | None = None


@dataclass(frozen=True)
class Table:
    """One entry of the copy: a table both engines may have, the columns copied, the key its
    batches are read in order of (and resumed after). ``noun`` is what messages call a row."""

    name: str
    noun: str
    columns: tuple[str, ...]
    key: tuple[str, ...] = ("id",)


#: Every table of a store, in the order copied (a row's references are copied before it).
#: Articles (their flags, packed text and search index) are copied by :func:`_copy_articles`.
ACCOUNTS = Table(
    "accounts", "account", ("id", "name", "url", '"user"', "added_at", "last_sync", "since", "retry_at", "last_error")
)
FEEDS = Table(
    "feeds",
    "feed",
    (
        "id",
        "url",
        "title",
        "site_url",
        "etag",
        "last_modified",
        "added_at",
        "updated_at",
        "last_error",
        "dead",
        "fresh_until",
        "retry_at",
        "account_id",
        "remote_id",
        "remote_url",
        "folder",
        "full_content",
    ),
)
ARTICLES = Table(
    "articles",
    "article",
    (
        "id",
        "key",
        "source",
        "feed_id",
        "title",
        "author",
        "description",
        "url",
        "image_url",
        "published",
        "sort_ts",
        "body_z",
        "body_html_z",
        "raw_z",
        "origin",
        "imported_at",
        "enclosures",
        "account_id",
        "remote_id",
    ),
)
PENDING = Table("pending_changes", "queued change", ("id", "article_id", "kind", "queued_at"))
REFUSED = Table("refused_changes", "refused change", ("id", "article_id", "kind", "queued_at", "refused_at", "reason"))
TOMBSTONES = Table("tombstones", "cleanup tombstone", ("key", "removed_at"), key=("key",))
RULES = Table("rules", "rule", ("id", "name", "query", "action", "feed_id", "folder", "added_at"))
LABELS = Table("labels", "label", ("label", "article_id"), key=("label", "article_id"))
TABLES = (ACCOUNTS, FEEDS, ARTICLES, PENDING, REFUSED, TOMBSTONES, RULES, LABELS)

#: Article columns one schema has and the other may not have yet: (column, what a message calls
#: an article with one set, the SQL that tells one is set).
ARTICLE_EXTRAS = (
    ("hidden", "hidden mark", "hidden"),
    ("full_html_z", "full article", "full_html_z IS NOT NULL"),
    ("full_body_z", "", ""),
    ("full_status", "full-article status", "full_status IS NOT NULL AND full_html_z IS NULL"),
    ("full_asked", "", ""),
)

#: The tables whose rows are one person's on PostgreSQL (a ``person`` column).
PERSON = "person"


@dataclass
class CopyReport:
    """What a copy did: rows copied by noun, rows found there already (an earlier run's), and
    what could not be copied (one line each)."""

    copied: dict[str, int] = field(default_factory=dict)
    already: int = 0
    not_copied: list[str] = field(default_factory=list)
    #: Articles whose packed body cannot be read: copied as they are, their body's words not in
    #: the destination's search index (one line each).
    damaged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [counted(n, noun) for noun, n in self.copied.items() if n]
        line = "copied " + (", ".join(parts) if parts else "nothing")
        if self.already:
            line += f" ({counted(self.already, 'row')} an earlier run copied were left as they were)"
        return line


class _Side:
    """One store of the copy, as SQL sees it: its placeholder, its tables' columns, the person
    whose flags it holds (PostgreSQL), a connection to read from."""

    def __init__(self, store: StoreProtocol) -> None:
        self.store = store
        self.sqlite = isinstance(store, Store)
        self.person: str | None = None if self.sqlite else str(getattr(store, "person", None))
        self.name = str(getattr(store, "path", "the store"))
        self._columns: dict[str, dict[str, str]] = {}

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read inside sees the store as it was at the first one (one read transaction:
        SQLite's in WAL mode, PostgreSQL's REPEATABLE READ), so a store another program writes to
        meanwhile is copied as one moment of it: no queued change or label naming an article the
        copy has not got, no count that moves under it."""
        if self.sqlite:
            store: Store = self.store  # type: ignore[assignment]
            with store._errors():
                store._conn.execute("BEGIN")
            try:
                yield
            finally:
                with store._errors():
                    store._conn.execute("COMMIT")
        else:
            with self.store.transaction() as conn:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                yield

    def sql(self, text: str) -> str:
        """``text`` written with ``?`` placeholders, in this engine's."""
        return text if self.sqlite else text.replace("?", "%s")

    @contextlib.contextmanager
    def reading(self) -> Iterator[Any]:
        if self.sqlite:
            store: Store = self.store  # type: ignore[assignment]
            with store._errors():
                yield store._conn
        else:
            with self.store.transaction() as conn:
                yield conn

    def rows(self, text: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.reading() as conn:
            return list(conn.execute(self.sql(text), list(params)).fetchall())

    def columns(self, table: str) -> dict[str, str]:
        """``table``'s columns and their types (lower case); empty when it has no such table."""
        if table not in self._columns:
            if self.sqlite:
                found = {r[1]: str(r[2]).lower() for r in self.rows(f"PRAGMA table_info({table})")}
            else:
                found = {
                    r[0]: str(r[1]).lower()
                    for r in self.rows(
                        "SELECT column_name, data_type FROM information_schema.columns "
                        "WHERE table_schema = current_schema() AND table_name = ?",
                        (table,),
                    )
                }
            self._columns[table] = found
        return self._columns[table]

    def has(self, table: Table | str) -> bool:
        """Whether this side has the table (given as an entry: with all of the entry's columns)."""
        if isinstance(table, str):
            return bool(self.columns(table))
        have = self.columns(table.name)
        return bool(have) and all(c.strip('"') in have for c in table.columns)

    def value(self, table: str, column: str, value: Any) -> Any:
        """``value`` as this side's ``column`` takes it (a SQLite 0/1 flag is a PostgreSQL boolean)."""
        if not self.sqlite and value is not None and self.columns(table).get(column.strip('"')) == "boolean":
            return bool(value)
        return value

    def engine(self) -> str:
        return "SQLite store" if self.sqlite else "PostgreSQL store"


def copy_store(
    source: StoreProtocol, target: StoreProtocol, *, progress: Callable[[int, int], None] | None = None
) -> CopyReport:
    """Copy everything ``source`` holds into ``target`` (empty, or an earlier run's copy of the
    same source); ``progress(done, total)`` after each batch. Refused with a StoreError before
    anything is written when ``target`` holds other data."""
    src, dst = _Side(source), _Side(target)
    with src.snapshot():
        return _copy(src, dst, progress)


def _copy(src: _Side, dst: _Side, progress: Callable[[int, int], None] | None) -> CopyReport:
    report = CopyReport()
    tables = [t for t in TABLES if src.has(t)]
    total = sum(_source_count(src, t) for t in tables)
    # (Everything that can refuse the destination, before anything is written to it.)
    for table in (ACCOUNTS, FEEDS):
        _check_same(src, dst, table, "name" if table is ACCOUNTS else "url")
    start = _resume_point(src, dst)
    done = 0

    def advanced(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    for table in tables:
        if table is ARTICLES:
            _copy_articles(src, dst, start, report, advanced)
        elif not dst.has(table):
            n = _source_count(src, table)
            if n:
                report.not_copied.append(f"not copied: {counted(n, table.noun)} (not in {dst.engine()} yet)")
                advanced(n)
        else:
            _copy_table(src, dst, table, report, advanced)
    return report


def _source_count(side: _Side, table: Table) -> int:
    where, params = _person_filter(side, table.name)
    return int(side.rows(f"SELECT count(*) FROM {table.name}{where}", params)[0][0])


def _person_filter(side: _Side, table: str) -> tuple[str, list[Any]]:
    """On PostgreSQL, where a table holds everyone's rows: the person's only."""
    if side.person is not None and PERSON in side.columns(table):
        return f" WHERE {PERSON} = ?", [side.person]
    return "", []


def _check_same(src: _Side, dst: _Side, table: Table, name: str) -> None:
    """Refuse a destination whose ``table`` rows are not the source's (same id, same ``name``)."""
    if not dst.has(table.name):
        return
    theirs = dict(dst.rows(f"SELECT id, {name} FROM {table.name}"))
    if not theirs:
        return
    ours = dict(src.rows(f"SELECT id, {name} FROM {table.name}"))
    for row_id, value in theirs.items():
        if ours.get(row_id) != value:
            raise StoreError(
                f"{dst.name}: holds other data ({table.noun} {row_id}, {value!r}, is not the source's); "
                "copy into an empty store"
            )


def _copy_table(src: _Side, dst: _Side, table: Table, report: CopyReport, advanced: Callable[[int], None]) -> None:
    """Copy ``table`` in batches in the order of its key; a row there already (an earlier run's)
    is left as it is."""
    columns = list(table.columns)
    listed = ", ".join(columns)
    where, params = _person_filter(src, table.name)
    into = [*columns, PERSON] if dst.person is not None and PERSON in dst.columns(table.name) else columns
    insert = dst.sql(
        f"INSERT INTO {table.name} ({', '.join(into)}) VALUES ({', '.join('?' * len(into))}) ON CONFLICT DO NOTHING"
    )
    keys = ", ".join(table.key)
    after: tuple[Any, ...] | None = None
    copied = 0
    while True:
        condition = f"({keys}) > ({', '.join('?' * len(table.key))})" if after is not None else ""
        clause = where + (f" {'AND' if where else 'WHERE'} {condition}" if condition else "")
        rows = src.rows(
            f"SELECT {listed} FROM {table.name}{clause} ORDER BY {keys} LIMIT ?",
            [*params, *(after or ()), SMALL_BATCH_ROWS],
        )
        if not rows:
            break
        values = [
            [dst.value(table.name, c, v) for c, v in zip(columns, r, strict=True)]
            + ([dst.person] if len(into) > len(columns) else [])
            for r in rows
        ]
        with dst.store.transaction() as conn:
            before = _count(conn, table.name)
            conn.cursor().executemany(insert, values)
            new = _count(conn, table.name) - before
            if "id" in table.key:
                _identity_past(conn, dst, table.name)
        copied += new
        report.already += len(rows) - new
        advanced(len(rows))
        after = tuple(rows[-1][columns.index(k)] for k in table.key)
    report.copied[table.noun] = report.copied.get(table.noun, 0) + copied


def _count(conn: Any, table: str) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _identity_past(conn: Any, side: _Side, table: str) -> None:
    """On PostgreSQL, rows given their ids leave the table's identity behind: move it past them
    (the next row stored gets the next id, not one of these)."""
    if not side.sqlite:
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 1), max(id) IS NOT NULL) "
            f"FROM {table}"
        )


# --- articles ----------------------------------------------------------------------------------


def _copy_articles(src: _Side, dst: _Side, start: int, report: CopyReport, advanced: Callable[[int], None]) -> None:
    """Articles with their packed text as it is, this person's read and star state, and what of
    the newer columns both sides have; batch after batch after ``start`` (where an earlier run
    stopped: :func:`_resume_point`)."""
    extras = [c for c, _, _ in ARTICLE_EXTRAS if c in src.columns("articles")]
    copied_extras = [c for c in extras if c in dst.columns("articles")]
    for column, noun, test in ARTICLE_EXTRAS:
        if column in extras and column not in copied_extras and noun:
            (n,) = src.rows(f"SELECT count(*) FROM articles WHERE {test}")[0]
            if n:
                report.not_copied.append(f"not copied: {counted(int(n), noun)} (not in {dst.engine()} yet)")
    done_before = int(src.rows("SELECT count(*) FROM articles WHERE id <= ?", (start,))[0][0])
    report.already += done_before
    advanced(done_before)
    columns = [f"a.{c}" for c in ARTICLES.columns]
    if src.sqlite:
        state, join, params = "a.read, a.starred", "", []
    else:
        state = "coalesce(s.read, false), coalesce(s.starred, false)"
        join, params = " LEFT JOIN article_state s ON s.article_id = a.id AND s.person = ?", [src.person]
    select = f"SELECT {', '.join([*columns, state, *(f'a.{c}' for c in copied_extras)])} FROM articles a{join}"
    write = _write_sqlite if dst.sqlite else _write_postgres
    after, batch, copied = start, 0, 0
    while True:
        rows = src.rows(f"{select} WHERE a.id > ? ORDER BY a.id LIMIT ?", [*params, after, BATCH_ROWS])
        if not rows:
            break
        batch += 1
        damaged: list[int] = []
        with dst.store.transaction() as conn:
            write(conn, dst, rows, copied_extras, damaged)
            if batch_written is not None:
                batch_written(batch)
        report.damaged += [
            f"{src.name}: article {i}: damaged packed text; copied as it is, its body left out of the search index"
            for i in damaged
        ]
        copied += len(rows)
        after = rows[-1][0]
        advanced(len(rows))
    report.copied["article"] = copied


def _resume_point(src: _Side, dst: _Side) -> int:
    """The id after which the copy goes on: 0 into an empty destination; after an earlier run,
    its last article, when the destination holds exactly the source's articles up to it (batches
    are committed in the order of the ids). Anything else is other data: refused."""
    (newest, n) = dst.rows("SELECT coalesce(max(id), 0), count(*) FROM articles")[0]
    if not n:
        return 0
    ours = src.rows("SELECT key FROM articles WHERE id = ?", (newest,))
    theirs = dst.rows("SELECT key FROM articles WHERE id = ?", (newest,))
    (before,) = src.rows("SELECT count(*) FROM articles WHERE id <= ?", (newest,))[0]
    if not ours or ours[0][0] != theirs[0][0] or int(before) != int(n):
        raise StoreError(
            f"{dst.name}: holds other articles ({counted(int(n), 'article')}, not what a copy of the source "
            "left there); copy into an empty store"
        )
    return int(newest)


_OTHER_ARTICLES = "holds other articles (an id or a key of the source's is there already); copy into an empty store"


def _indexed(row: Sequence[Any], extras: Sequence[str], damaged: list[int]) -> tuple[str, str | None]:
    """The feed's text and the page's (None: no full article, or the destination keeps none), as
    the destination's search index is given them. A body that cannot be unpacked (damaged) is
    copied as it is, and gives the index nothing: its id goes in ``damaged``."""
    try:
        body = textpack.unpack(_bytes(row[11]))
        page = None
        if "full_body_z" in extras:
            full = row[len(ARTICLES.columns) + 2 + extras.index("full_body_z")]
            if full is not None:
                page = textpack.unpack(_bytes(full))
    except textpack.PackError:
        damaged.append(int(row[0]))
        return "", None
    return body, page


def _index_text(row: Sequence[Any], extras: Sequence[str], damaged: list[int]) -> str:
    """The body as SQLite's index is given it: the feed's text, then the page's."""
    body, page = _indexed(row, extras, damaged)
    return body if page is None else body + "\n" + page


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else bytes(value)


def _write_sqlite(
    conn: Any, dst: _Side, rows: Sequence[Sequence[Any]], extras: Sequence[str], damaged: list[int]
) -> None:
    store: Store = dst.store  # type: ignore[assignment]
    columns = [*ARTICLES.columns, "read", "starred", *extras]
    try:
        conn.cursor().executemany(
            f"INSERT INTO articles ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [[_bytes(v) if isinstance(v, memoryview) else v for v in r] for r in rows],
        )
    except sqlite3.IntegrityError:  # (an id or a key there already: not an earlier run's)
        raise StoreError(f"{dst.name}: {_OTHER_ARTICLES}") from None
    store._tune_fts(conn)
    store._index(conn, [(r[0], r[4], r[5], r[6], _index_text(r, extras, damaged)) for r in rows])


#: The staging table a batch is copied into on PostgreSQL, then stored with its search vector.
_PG_TYPES = {
    "id": "bigint",
    "feed_id": "bigint",
    "published": "bigint",
    "sort_ts": "bigint",
    "imported_at": "bigint",
    "account_id": "bigint",
    "body_z": "bytea",
    "body_html_z": "bytea",
    "raw_z": "bytea",
    "full_html_z": "bytea",
    "full_body_z": "bytea",
    "read": "boolean",
    "starred": "boolean",
    "hidden": "boolean",
}


def _write_postgres(
    conn: Any, dst: _Side, rows: Sequence[Sequence[Any]], extras: Sequence[str], damaged: list[int]
) -> None:
    import psycopg

    from reader.store.postgres import _text, article_vector, index_vector

    columns = [*ARTICLES.columns, "read", "starred", *extras]
    types = {c: dst.columns("articles").get(c, _PG_TYPES.get(c, "text")) for c in columns}
    types["read"] = types["starred"] = "boolean"
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS articles_copied ("
        + ", ".join(f"{c} {types[c]}" for c in columns)
        + ", own_tsv tsvector, page_tsv tsvector) ON COMMIT DELETE ROWS"
    )
    paged = "full_body_z" in extras
    with conn.cursor().copy(f"COPY articles_copied ({', '.join(columns)}, own_tsv, page_tsv) FROM STDIN") as copy:
        for r in rows:
            values = [
                bool(v) if c in ("read", "starred") else _text(dst.value("articles", c, v))
                for c, v in zip(columns, r, strict=True)
            ]
            # The vectors as the store makes them (index_vector): the feed's text, and apart the
            # page's (full_tsv: an update of the feed's text keeps it).
            body, page = _indexed(r, extras, damaged)
            own = article_vector([r[4], r[5], r[6], body])
            copy.write_row((*values, own, None if page is None else index_vector([page])))
    stored = [c for c in columns if c not in ("read", "starred")]
    vectors = "tsv, full_tsv" if paged else "tsv"
    made = "own_tsv || coalesce(page_tsv, ''::tsvector), page_tsv" if paged else "own_tsv"
    try:
        conn.execute(
            f"INSERT INTO articles ({', '.join(stored)}, {vectors}) SELECT {', '.join(stored)}, {made} "
            "FROM articles_copied ORDER BY id"
        )
    except psycopg.errors.UniqueViolation:
        raise StoreError(f"{dst.name}: {_OTHER_ARTICLES}") from None
    conn.execute(
        "INSERT INTO article_state (person, article_id, read, starred) "
        "SELECT %s, id, read, starred FROM articles_copied WHERE read OR starred",
        (dst.person,),
    )
    _identity_past(conn, dst, "articles")
