"""The shared store on PostgreSQL (the ``postgres`` extra: psycopg 3 and psycopg_pool). No Qt.

Articles, feeds and the search index are shared by everyone who opens the database; read and star
state belong to a person (the database role, or a name given with ``--user``): one row per person
and article in ``article_state``, only where a flag is set. psycopg is imported only here, and
this module only when a PostgreSQL URL is opened: SQLite users never import it.

Search means what it means on SQLite (:func:`reader.store.sqlite.search_words`): every word must
match, the last one from its third letter as a prefix, diacritics folded. The vector is made here,
in Python, when an article is written (:func:`index_vector`: words split and folded as SQLite's
``unicode61 remove_diacritics 2`` splits and folds them, so both engines find the same words), sent
as ``tsvector`` text and stored in ``articles.tsv`` with a GIN index; what a person types is folded
by the same function (:func:`ts_query`). The server's own ``to_tsvector('simple', unaccent(...))``
cost 3x the parse of the vector's text (measured on the benchmark corpus) and split URLs, hosts and
hyphenated words otherwise than SQLite. A full article's page text joins the vector (kept apart
too, in ``full_tsv``).

Rules, the labels they give and the articles they hide are shared like the articles; what a rule
marks read or stars is the state of the person whose store met the articles (see the block of
the daily features at the end of :class:`PostgresStore`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from reader import textpack
from reader.records import (
    NO_SOURCE,
    Account,
    AddResult,
    Article,
    ArticleRow,
    Cleaned,
    Cursor,
    Feed,
    Page,
    Query,
    Rule,
    SourceCount,
)
from reader.store.sqlite import (
    _ARTICLE_COLUMNS,
    ACCOUNT_FIELDS,
    FEED_FIELDS,
    CorruptStoreError,
    NotADatabaseError,
    PreparedArticles,
    PreparedRemoteArticles,
    ReadOnlyStoreError,
    Search,
    StoreBusyError,
    StoreError,
    StoreVersionError,
    _account,
    _dt,
    _enclosures_of,
    _feed,
    _opposite_change,
    _row,
    _ts,
    _unique_runs,
    checked_rule,
    parse_search,
    prepare_articles,
    prepare_remote_articles,
    set_clause,
)

if TYPE_CHECKING:
    import psycopg
    import psycopg_pool

#: Rows per COPY (straight into articles, or into the staging table and one INSERT ... SELECT).
ROWS_PER_BATCH = 2000

#: A call storing at least this many articles has the search index's new entries merged on a
#: connection of its own meanwhile (:class:`_IndexMerger`).
MERGE_FROM_ROWS = 1000

#: Connections a store keeps open at most (the window's reader, its workers' writes).
POOL_MAX = 4
#: How long a statement waits for a free connection, or a new one, before it gives up.
CONNECT_TIMEOUT_S = 10


def shown(url: str) -> str:
    """``url`` as messages show it: without its password."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        user = quote(parts.username or "", safe="")
        return parts._replace(netloc=f"{user}@{host}" if user else host).geturl()
    except ValueError:
        return url.split("://", 1)[0] + "://..."


# --- schema -----------------------------------------------------------------------------------


def _state_counting(change: str, deltas: str) -> str:
    """(Schema 4) The function of article_state's trigger on ``change`` (inserted, updated,
    deleted): the ``deltas`` (person, article, read, starred: +1 or -1 each) counted into
    ``state_counts`` by their articles' groups, the articles locked FOR SHARE; a new state row
    whose article is gone is refused. (A delete inside the articles' delete trigger is counted
    out there: its articles are gone.)"""
    skip = "IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;" if change == "deleted" else ""
    check = (
        ""
        if change == "deleted"
        else "IF found_ < wanted THEN RAISE foreign_key_violation USING MESSAGE = "
        "'read or star state for an article that is not in the store'; END IF;"
    )
    return f"""CREATE FUNCTION reader_state_{change}() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        wanted bigint;
        found_ bigint;
    BEGIN
        {skip}
        WITH d AS MATERIALIZED ({deltas}),
        a AS MATERIALIZED (
            SELECT d.person, d.read, d.starred, a.feed_id, a.source, a.hidden FROM d
            JOIN articles a ON a.id = d.article_id FOR SHARE OF a
        ),
        counted AS (
            INSERT INTO state_counts SELECT person, feed_id, source, hidden, sum(read), sum(starred)
            FROM a GROUP BY 1, 2, 3, 4 HAVING sum(read) <> 0 OR sum(starred) <> 0
        )
        SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM a) INTO wanted, found_;
        {check}
        RETURN NULL;
    END $$"""


#: One transaction per step; ``reader_schema`` says how many have run.
MIGRATIONS: list[list[str]] = [
    # 1: feeds, shared articles with their search vector, per-person read and star state, sync.
    [
        "CREATE EXTENSION IF NOT EXISTS unaccent",
        """CREATE TABLE accounts (
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            name text NOT NULL UNIQUE,
            url text NOT NULL,
            "user" text NOT NULL,
            added_at bigint NOT NULL,
            last_sync bigint,
            since bigint,
            retry_at bigint,
            last_error text
        )""",
        """CREATE TABLE feeds (
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            url text NOT NULL UNIQUE,
            title text,
            site_url text,
            etag text,
            last_modified text,
            added_at bigint NOT NULL,
            updated_at bigint,
            last_error text,
            dead boolean NOT NULL DEFAULT false,
            fresh_until bigint,
            retry_at bigint,
            account_id bigint REFERENCES accounts(id) ON DELETE CASCADE,
            remote_id text,
            remote_url text,
            folder text,
            full_content boolean NOT NULL DEFAULT false
        )""",
        "CREATE UNIQUE INDEX feeds_remote ON feeds(account_id, remote_id) WHERE account_id IS NOT NULL",
        """CREATE TABLE articles (
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            key text NOT NULL UNIQUE,
            source text,
            feed_id bigint REFERENCES feeds(id) ON DELETE SET NULL,
            title text,
            author text,
            description text,
            url text,
            image_url text,
            published bigint,
            sort_ts bigint NOT NULL,
            body_z bytea NOT NULL DEFAULT '',
            body_html_z bytea,
            raw_z bytea NOT NULL DEFAULT '',
            origin text,
            imported_at bigint NOT NULL,
            account_id bigint REFERENCES accounts(id) ON DELETE SET NULL,
            remote_id text,
            enclosures text,
            tsv tsvector NOT NULL
        )""",
        "CREATE INDEX articles_newest ON articles(sort_ts DESC, id DESC)",
        "CREATE INDEX articles_source_newest ON articles(source, sort_ts DESC, id DESC)",
        "CREATE INDEX articles_feed_newest ON articles(feed_id, sort_ts DESC, id DESC)",
        "CREATE INDEX articles_search ON articles USING gin(tsv)",
        "CREATE UNIQUE INDEX articles_remote ON articles(account_id, remote_id) WHERE account_id IS NOT NULL",
        # A row only where a flag is set (or was): a new article is unread and unstarred for
        # everyone without a row per person.
        """CREATE TABLE article_state (
            person text NOT NULL,
            article_id bigint NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            read boolean NOT NULL DEFAULT false,
            starred boolean NOT NULL DEFAULT false,
            PRIMARY KEY (person, article_id)
        )""",
        "CREATE INDEX article_state_article ON article_state(article_id)",
        "CREATE INDEX article_state_starred ON article_state(person, article_id) WHERE starred",
        """CREATE TABLE pending_changes (
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            person text NOT NULL,
            article_id bigint NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            kind text NOT NULL CHECK (kind IN ('read', 'unread', 'star', 'unstar')),
            queued_at bigint NOT NULL
        )""",
        "CREATE INDEX pending_changes_article ON pending_changes(article_id)",
    ],
    # 2: the daily features (see "rules, labels, hidden, retention, full articles" in the class).
    # Rules, their labels and what they hide are the corpus's, shared by everyone (a rule's read
    # and star actions are the state of the person whose store stores or applies); tombstones keep
    # what a cleanup removed from coming back with its feed; the page's text of a full article,
    # its vector kept apart (full_tsv) so that an update of the feed's text keeps it in ``tsv``.
    # Instant: tables, and columns without a volatile default.
    [
        """CREATE TABLE rules (
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            name text NOT NULL UNIQUE,
            query text NOT NULL,
            action text NOT NULL,
            feed_id bigint REFERENCES feeds(id) ON DELETE CASCADE,
            folder text,
            added_at bigint NOT NULL
        )""",
        """CREATE TABLE labels (
            label text NOT NULL,
            article_id bigint NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            PRIMARY KEY (label, article_id)
        )""",
        "CREATE INDEX labels_article ON labels(article_id)",
        "ALTER TABLE articles ADD COLUMN hidden boolean NOT NULL DEFAULT false",
        "CREATE INDEX articles_hidden ON articles(id) WHERE hidden",
        "CREATE TABLE tombstones (key text PRIMARY KEY, removed_at bigint NOT NULL)",
        "ALTER TABLE articles ADD COLUMN full_html_z bytea, ADD COLUMN full_body_z bytea, "
        "ADD COLUMN full_status text, ADD COLUMN full_tsv tsvector, "
        "ADD COLUMN full_asked boolean NOT NULL DEFAULT false",
        # A label given or taken is queued for a sync server like a flag ('label:NAME').
        "ALTER TABLE pending_changes DROP CONSTRAINT pending_changes_kind_check",
        "ALTER TABLE pending_changes ADD CONSTRAINT pending_changes_kind_check CHECK "
        "(kind IN ('read', 'unread', 'star', 'unstar') OR kind LIKE 'label:_%' OR kind LIKE 'unlabel:_%')",
    ],
    # 3: changes a sync server refused for good, set aside with its reason (as SQLite's are):
    # no longer sent, never silently lost; the person's flag stays as they set it.
    [
        """CREATE TABLE refused_changes (
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            person text NOT NULL,
            article_id bigint NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            kind text NOT NULL
                CHECK (kind IN ('read', 'unread', 'star', 'unstar') OR kind LIKE 'label:_%' OR kind LIKE 'unlabel:_%'),
            queued_at bigint NOT NULL,
            refused_at bigint NOT NULL,
            reason text NOT NULL
        )""",
        "CREATE INDEX refused_changes_article ON refused_changes(article_id)",
    ],
    # 4: the sidebar's counts kept by statement-level triggers, and arrivals in commit order.
    # Counts: ``article_counts`` holds the shared totals by group (feed, source, hidden),
    # ``state_counts`` each person's read and starred counts by group; both as deltas, one row per
    # group a statement changed, summed when read and folded together now and then
    # (:meth:`PostgresStore._fold_counts`): writers only insert, so two imports or two persons'
    # marks never wait for each other on a hot count row, nor deadlock over two of them. The
    # triggers read a state row's group from its article locked FOR SHARE (a hide, or a feed's
    # removal moving it to another group, waits for that transaction, or it for them), and that
    # lock also keeps the article there until the state's commit: it replaces the foreign key,
    # whose cascade removed an article's state row by row before a statement trigger could count
    # it out (the articles' delete trigger removes them now, all in one statement, and counts them
    # out); a state row for an article that is gone is refused as the key refused it.
    # Arrivals: each transaction that stored articles takes the next number of ``arrival_counter``
    # just before it commits (its row lock is held until the commit, so the numbers are given in
    # commit order, and a number seen means every smaller one is visible), and notes the ranges
    # of the ids it stored under it: an article whose id is smaller but committed later is still
    # announced, as on SQLite (its schema 12).
    # Filled from the articles once, under a lock that holds writers off meanwhile (one scan of
    # the articles and one of the state): 5.3 s for 1,000,000 articles and 3,000,000 state rows;
    # dropping the key waits for every open reader of the state, and holds the next ones off.
    [
        "LOCK TABLE articles, article_state IN SHARE ROW EXCLUSIVE MODE",
        "CREATE TABLE article_counts (feed_id bigint, source text, hidden boolean NOT NULL, total bigint NOT NULL)",
        """CREATE TABLE state_counts (
            person text NOT NULL,
            feed_id bigint,
            source text,
            hidden boolean NOT NULL,
            read bigint NOT NULL,
            starred bigint NOT NULL
        )""",
        "CREATE INDEX state_counts_person ON state_counts(person)",
        "INSERT INTO article_counts SELECT feed_id, source, hidden, count(*) FROM articles GROUP BY 1, 2, 3",
        "INSERT INTO state_counts SELECT s.person, a.feed_id, a.source, a.hidden, count(*) FILTER (WHERE s.read), "
        "count(*) FILTER (WHERE s.starred) FROM article_state s JOIN articles a ON a.id = s.article_id "
        "GROUP BY 1, 2, 3, 4",
        "ALTER TABLE article_state DROP CONSTRAINT article_state_article_id_fkey",
        """CREATE FUNCTION reader_articles_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO article_counts SELECT feed_id, source, hidden, count(*) FROM new_rows GROUP BY 1, 2, 3;
            RETURN NULL;
        END $$""",
        """CREATE FUNCTION reader_articles_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO article_counts SELECT feed_id, source, hidden, -count(*) FROM old_rows GROUP BY 1, 2, 3;
            WITH gone AS (
                DELETE FROM article_state s USING old_rows o WHERE s.article_id = o.id
                RETURNING s.person, o.feed_id, o.source, o.hidden, s.read, s.starred
            )
            INSERT INTO state_counts SELECT person, feed_id, source, hidden, -count(*) FILTER (WHERE read),
                -count(*) FILTER (WHERE starred) FROM gone GROUP BY 1, 2, 3, 4;
            RETURN NULL;
        END $$""",
        """CREATE FUNCTION reader_articles_updated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            WITH moved AS MATERIALIZED (
                SELECT o.id, m.sign, m.feed_id, m.source, m.hidden FROM old_rows o JOIN new_rows n ON n.id = o.id
                CROSS JOIN LATERAL (VALUES (-1, o.feed_id, o.source, o.hidden), (1, n.feed_id, n.source, n.hidden))
                    m(sign, feed_id, source, hidden)
                WHERE (o.feed_id, o.source, o.hidden) IS DISTINCT FROM (n.feed_id, n.source, n.hidden)
            ), totals AS (
                INSERT INTO article_counts SELECT feed_id, source, hidden, sum(sign) FROM moved GROUP BY 1, 2, 3
            )
            INSERT INTO state_counts SELECT s.person, m.feed_id, m.source, m.hidden,
                coalesce(sum(m.sign) FILTER (WHERE s.read), 0), coalesce(sum(m.sign) FILTER (WHERE s.starred), 0)
                FROM moved m JOIN article_state s ON s.article_id = m.id GROUP BY 1, 2, 3, 4
                HAVING bool_or(s.read OR s.starred);
            RETURN NULL;
        END $$""",
        _state_counting("inserted", "SELECT person, article_id, read::integer, starred::integer FROM new_rows"),
        _state_counting(
            "updated",
            "SELECT person, article_id, read::integer, starred::integer FROM new_rows UNION ALL "
            "SELECT person, article_id, -read::integer, -starred::integer FROM old_rows",
        ),
        _state_counting("deleted", "SELECT person, article_id, -read::integer, -starred::integer FROM old_rows"),
        "CREATE TRIGGER articles_inserted AFTER INSERT ON articles REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION reader_articles_inserted()",
        "CREATE TRIGGER articles_deleted AFTER DELETE ON articles REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION reader_articles_deleted()",
        "CREATE TRIGGER articles_updated AFTER UPDATE ON articles REFERENCING OLD TABLE AS old_rows "
        "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reader_articles_updated()",
        "CREATE TRIGGER state_inserted AFTER INSERT ON article_state REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION reader_state_inserted()",
        "CREATE TRIGGER state_updated AFTER UPDATE ON article_state REFERENCING OLD TABLE AS old_rows "
        "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reader_state_updated()",
        "CREATE TRIGGER state_deleted AFTER DELETE ON article_state REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION reader_state_deleted()",
        "CREATE TABLE arrival_counter (one boolean PRIMARY KEY CHECK (one), seq bigint NOT NULL)",
        "CREATE TABLE arrivals (seq bigint NOT NULL, first_id bigint NOT NULL, last_id bigint NOT NULL)",
        "CREATE INDEX arrivals_seq ON arrivals(seq)",
    ],
    # 5: how new rows' long values are kept (the rows stored before stay as they are: instant).
    # The packed texts are deflated already (reader.textpack), so the server's pglz tried to
    # compress each one in vain: they are stored out of line as they are (EXTERNAL). The vectors
    # are compressed with lz4 where the server has it (PostgreSQL 14 and later, built with it),
    # several times faster than pglz. Server CPU per article stored 178 -> 146 us (the first
    # 20,000 of the benchmark's corpus, its index's merges aside).
    [
        "ALTER TABLE articles ALTER COLUMN body_z SET STORAGE EXTERNAL, ALTER COLUMN raw_z SET STORAGE EXTERNAL, "
        "ALTER COLUMN body_html_z SET STORAGE EXTERNAL, ALTER COLUMN full_html_z SET STORAGE EXTERNAL, "
        "ALTER COLUMN full_body_z SET STORAGE EXTERNAL",
        """DO $$ BEGIN
            EXECUTE 'ALTER TABLE articles ALTER COLUMN tsv SET COMPRESSION lz4, '
                'ALTER COLUMN full_tsv SET COMPRESSION lz4';
        EXCEPTION WHEN feature_not_supported OR syntax_error THEN NULL;
        END $$""",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)

#: Serialises schema changes between processes (pg_advisory_xact_lock), "RdSt".
_SCHEMA_LOCK = int.from_bytes(b"RdSt", "big")
#: One folding of the counts' deltas at a time (pg_try_advisory_xact_lock), "RdCn".
_FOLD_LOCK = int.from_bytes(b"RdCn", "big")

#: An updated article's vector with the words of the page fetched for it (a full article).
_WITH_FULL_TEXT = "{0} || coalesce(articles.full_tsv, ''::tsvector)"

#: A search (tsquery text made by :func:`ts_query`, its words folded as the vectors' are).
_MATCH = "%s::tsquery"

#: The columns :func:`prepare_articles` gives values for, in its order (then the indexed text),
#: and their types here: a column added there without one here fails the tests at once.
_STORED = _ARTICLE_COLUMNS
_TYPES = {
    "key": "text",
    "source": "text",
    "feed_id": "bigint",
    "title": "text",
    "author": "text",
    "description": "text",
    "url": "text",
    "image_url": "text",
    "published": "bigint",
    "sort_ts": "bigint",
    "body_z": "bytea",
    "body_html_z": "bytea",
    "raw_z": "bytea",
    "origin": "text",
    "imported_at": "bigint",
    "enclosures": "text",
}
_STAGED = "seq, " + _STORED + ", tsv"
_STAGING_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS articles_in (seq integer, "
    + ", ".join(f"{c.strip()} {_TYPES[c.strip()]}" for c in _STORED.split(","))
    + ", tsv tsvector) ON COMMIT DELETE ROWS"
)
#: What the binary COPY of an article's row sends each value as (psycopg's dumpers): the vector
#: is sent as the bytes :func:`article_vector_binary` made, which the server reads as a tsvector.
_COPY_TYPES = [_TYPES[c.strip()].replace("bigint", "int8") for c in _STORED.split(",")] + ["bytea"]
_COPY_BINARY = "FROM STDIN (FORMAT binary)"
#: What an update compares (a refresh that changes none of them writes nothing), as SQLite's does.
_COMPARED = ("title", "author", "description", "url", "image_url", "published", "body_z", "body_html_z", "enclosures")


# --- errors -----------------------------------------------------------------------------------


def _wrap(target: str, exc: Exception) -> StoreError:
    """The store error for a psycopg error: one line, told apart by SQLSTATE where the server sent
    one, else by what libpq says (no server to send one)."""
    import psycopg

    where = shown(target)
    if isinstance(exc, StoreError):
        return exc
    if not isinstance(exc, psycopg.Error):
        if type(exc).__name__ == "PoolTimeout":
            return StoreBusyError(f"{where}: no connection to the database server within {CONNECT_TIMEOUT_S} s")
        return StoreError(f"{where}: {exc}")
    state = getattr(exc, "sqlstate", None) or ""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    detail = _libpq(first)
    if state in ("28P01", "28000") or "authentication failed" in detail or "no pg_hba.conf" in detail:
        return StoreError(f"{where}: the database server refused the login ({detail})")
    if "role" in detail and "does not exist" in detail:
        return StoreError(f"{where}: the database server refused the login ({detail})")
    if state == "3D000" or ("database" in detail and "does not exist" in detail):
        return StoreError(f"{where}: no such database on the server ({detail})")
    if state == "42501":
        return ReadOnlyStoreError(f"{where}: permission denied ({detail})")
    if state.startswith("53"):
        return StoreBusyError(f"{where}: the database server is out of resources ({detail})")
    if state in ("40001", "40P01", "55P03"):
        return StoreBusyError(f"{where}: the store is busy ({detail})")
    if isinstance(exc, psycopg.OperationalError) and not state:
        lowered = detail.lower()
        if "closed the connection" in lowered or "terminating connection" in lowered:
            return StoreError(f"{where}: lost the connection to the database server ({detail})")
        if any(w in lowered for w in ("connection refused", "no such file", "timeout", "could not translate host")):
            return StoreError(f"{where}: the database server is not running or not reachable ({detail})")
        return StoreError(f"{where}: cannot connect to the database server ({detail})")
    return StoreError(f"{where}: {detail}")


def _libpq(message: str) -> str:
    """The gist of a libpq connection failure (it names every address it tried)."""
    return message.rsplit("failed: ", 1)[-1].replace("FATAL:  ", "").strip()


# --- the store --------------------------------------------------------------------------------


class PostgresStore:
    """A PostgreSQL database opened as a store, for one person. Create with :meth:`open`; its
    pool lends each call a connection, so a store may be used from several threads."""

    def __init__(self, url: str, pool: psycopg_pool.ConnectionPool, person: str) -> None:
        self.url = url
        self.path = shown(url)  # (what messages name, as the SQLite store names its file)
        self.person = person
        self._pool = pool
        self._local = threading.local()  # .tx: this thread's transaction, if one is open
        self._merger = _IndexMerger(url)

    readonly = False

    @classmethod
    def open(cls, url: str, *, create: bool = True, person: str | None = None, cache_mb: int = 0) -> PostgresStore:
        """Connect to the database at ``url`` (creating or migrating its schema; refused when it
        was written by a newer Reader), for ``person`` (default: the database role)."""
        try:
            import psycopg
            import psycopg_pool
        except ImportError:
            raise StoreError(
                f"{shown(url)}: PostgreSQL stores need the postgres extra (pip install 'reader-desktop[postgres]')"
            ) from None
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
                role = _migrate(conn, url, create)
        except psycopg.Error as exc:
            raise _wrap(url, exc) from None
        # The pool logs each failed reconnection (several lines): the store's own error says it
        # once. Kept for whoever configures logging; without that, not printed as a last resort.
        logging.getLogger("psycopg.pool").addHandler(logging.NullHandler())
        pool = psycopg_pool.ConnectionPool(
            url,
            min_size=1,
            max_size=POOL_MAX,
            timeout=CONNECT_TIMEOUT_S,
            kwargs={"connect_timeout": CONNECT_TIMEOUT_S},
            open=True,
            name="reader-store",
        )
        return cls(url, pool, person or role)

    @staticmethod
    def needs_upgrade(url: str) -> bool:
        return False  # (migrations here are quick: no step rewrites a table)

    def verify(self) -> None:
        """(The server checks its own pages.)"""

    def close(self) -> None:
        self._merger.stop()
        self._pool.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """One transaction; rolled back on any error. Inside another one, part of that one."""
        outer = getattr(self._local, "tx", None)
        if outer is not None:
            yield outer
            return
        try:
            with self._pool.connection() as conn:
                self._local.tx = conn
                self._local.stored = []
                try:
                    yield conn
                    if self._local.stored:  # (last: see _record_arrival)
                        self._record_arrival(conn, self._local.stored)
                finally:
                    self._local.tx = None
                    self._local.stored = []
        except StoreError:
            raise
        except Exception as exc:
            if _is_db_error(exc):
                raise _wrap(self.url, exc) from None
            raise

    @contextlib.contextmanager
    def _reading(self) -> Iterator[psycopg.Connection[Any]]:
        with self.transaction() as conn:
            yield conn

    # writing articles

    def add_articles(
        self, articles: Iterable[Article] | PreparedArticles, *, update: bool = False, rules: bool = True
    ) -> AddResult:
        """Store articles in one transaction (see :meth:`reader.store.sqlite.Store.add_articles`):
        known ones (same key) are left, or with ``update`` get the new content; read and star
        state are never touched. Each run of distinct keys is copied in (:meth:`_insert`). A key a
        cleanup removed is not stored again; the rules act on the new articles in this transaction
        (:meth:`_rules_before`)."""
        given = (articles if isinstance(articles, PreparedArticles) else prepare_articles(articles)).rows
        if not given:
            return AddResult()
        with self.transaction() as conn:
            return self._add(conn, given, update, rules)[0]

    def _add(
        self, conn: psycopg.Connection[Any], given: list[tuple[Any, ...]], update: bool, rules: bool
    ) -> tuple[AddResult, list[int]]:
        """(add_articles, in its transaction) What it says, and the ids of the articles stored:
        exactly those this transaction made (the rules act on them, the arrival counts them),
        never another writer's committed meanwhile."""
        count = len(given)
        added = updated = 0
        if count >= MERGE_FROM_ROWS:
            self._merger.wake()
        made: list[int] = []
        given, wanted = self._rules_before(conn, given, rules)
        for run in _unique_runs(given):
            for start in range(0, len(run), ROWS_PER_BATCH):
                ids, changed = self._insert(conn, run[start : start + ROWS_PER_BATCH], update)
                made += ids
                updated += changed
        added = len(made)
        if made:
            self._local.stored.extend(made)
            if wanted:
                self._rules_after(conn, made)
        if added or updated:
            self._notify(conn, "articles")
        return AddResult(added=added, updated=updated, unchanged=count - added - updated), made

    def _insert(
        self, conn: psycopg.Connection[Any], batch: Sequence[tuple[Any, ...]], update: bool
    ) -> tuple[list[int], int]:
        """Store one run of distinct keys: (the ids of the new articles, how many were updated).
        The rows whose keys the store lacks are copied straight into ``articles`` with ids taken
        from its identity first (the server parses, stores and indexes each row while the next is
        made here); rows already known, and a run that meets a key another writer stored
        meanwhile, go through the staging table and ``ON CONFLICT``."""
        known = {r[0] for r in conn.execute("SELECT key FROM articles WHERE key = ANY(%s)", ([r[0] for r in batch],))}
        fresh = [r for r in batch if r[0] not in known]
        ids: list[int] = []
        if fresh:
            ids = [
                int(r[0])
                for r in conn.execute(
                    "SELECT nextval(pg_get_serial_sequence('articles', 'id')) FROM generate_series(1, %s)",
                    (len(fresh),),
                ).fetchall()
            ]
            try:
                # (in a savepoint: a key another writer stored meanwhile undoes only this copy)
                with (
                    conn.transaction(),
                    conn.cursor().copy(f"COPY articles (id, {_STORED}, tsv) {_COPY_BINARY}") as copy,
                ):
                    copy.set_types(["int8", *_COPY_TYPES])
                    for article_id, row in zip(ids, fresh, strict=True):
                        copy.write_row((article_id, *self._copied(row)))
            except _unique_violation():
                return self._upsert(conn, batch, update)  # (all of the run, as a second writer requires)
        rest = [r for r in batch if r[0] in known]
        if rest and update:
            new, updated = self._upsert(conn, rest, update)
            return ids + new, updated
        return ids, 0

    @staticmethod
    def _copied(row: tuple[Any, ...]) -> tuple[Any, ...]:
        # (the last value is the text for the index: title, author, description, body)
        return (*(_text(v) for v in row[:-1]), article_vector_binary(row[-1]))

    def _upsert(
        self, conn: psycopg.Connection[Any], batch: Sequence[tuple[Any, ...]], update: bool
    ) -> tuple[list[int], int]:
        conn.execute(_STAGING_TABLE)
        conn.execute("TRUNCATE articles_in")
        with conn.cursor().copy(f"COPY articles_in ({_STAGED}) {_COPY_BINARY}") as copy:
            copy.set_types(["int4", *_COPY_TYPES])
            for seq, row in enumerate(batch):
                copy.write_row((seq, *self._copied(row)))
        if update:
            assignments = ", ".join(f"{c} = excluded.{c}" for c in ("source", *_COMPARED, "sort_ts", "raw_z"))
            assignments += f", tsv = {_WITH_FULL_TEXT.format('excluded.tsv')}"  # (a fetched page's words stay)
            stored = ", ".join(f"articles.{c}" for c in _COMPARED)
            given = ", ".join(f"excluded.{c}" for c in _COMPARED)
            conflict = f"ON CONFLICT (key) DO UPDATE SET {assignments} WHERE ({stored}) IS DISTINCT FROM ({given})"
        else:
            conflict = "ON CONFLICT (key) DO NOTHING"
        rows = conn.execute(
            f"INSERT INTO articles ({_STORED}, tsv) SELECT {_STORED}, tsv FROM articles_in "
            f"ORDER BY seq {conflict} RETURNING id, (xmax = 0)"
        ).fetchall()
        new = [int(article_id) for article_id, inserted in rows if inserted]
        return new, len(rows) - len(new)

    # reading articles

    _ROW_COLUMNS = (
        "a.id, a.source, a.title, a.author, a.description, a.url, a.image_url, a.published, "
        "coalesce(s.read, false), coalesce(s.starred, false), a.feed_id, a.sort_ts, a.body_z"
    )
    _STATE_JOIN = "articles a LEFT JOIN article_state s ON s.article_id = a.id AND s.person = %s"

    def page(self, query: Query = Query(), after: Cursor | None = None, limit: int = 100) -> Page:
        """One page of list rows, newest first (or most relevant first), after ``after`` (keyset)."""
        filters = self._filters_matching(query)
        if filters is None:
            return Page([], None)
        where, params = filters
        args: list[Any] = [self.person, *params]
        with self._reading() as conn:
            searching = bool(query.search) and ts_query(query.search or "") is not None
            if searching and query.order == "relevance":
                raw = self._relevance_rows(conn, where, args, after, limit)
                cursor: Cursor | None = (raw[-1][-1], raw[-1][0]) if raw else None
            elif searching:
                # (The search's condition is the filters' last, its tsquery the last value.)
                raw = self._search_newest_rows(conn, where[:-1], args[:-1], args[-1], after, limit)
                cursor = (raw[-1][11], raw[-1][0]) if raw else None
            else:
                if after is not None:
                    where = [*where, "(a.sort_ts, a.id) < (%s, %s)"]
                    args += [int(after[0]), int(after[1])]
                sql = f"SELECT {self._ROW_COLUMNS} FROM {self._STATE_JOIN}"
                if where:
                    sql += " WHERE " + " AND ".join(where)
                sql += " ORDER BY a.sort_ts DESC, a.id DESC LIMIT %s"
                counting = self._counting(query) if query.view == "unread" else None
                if counting is not None:
                    # No more rows than the kept counts say are unread (in the same statement, so
                    # of the same snapshot): the scan stops at the last one, where it would
                    # otherwise read every article to find the few unread, or none, after a mark
                    # all read (1.3 s at 1,000,000 articles).
                    sql = sql[: -len("%s")] + f"least(%s, ({counting[0]}))"
                    args += [limit, *counting[1]]
                    raw = conn.execute(sql, args).fetchall()
                else:
                    raw = conn.execute(sql, [*args, limit]).fetchall()
                cursor = (raw[-1][11], raw[-1][0]) if raw else None
        rows = [_row(r) for r in raw]
        return Page(rows, cursor if len(rows) == limit else None)

    # Newest first, a search has two plans, which list the same rows in the same order:
    # - walk: down the newest-first index from the cursor, keeping the rows whose vector matches
    #   (each vector read from its TOAST and unpacked: ~50 us a row on the 1,000,000-article
    #   benchmark store under load); cheap when most articles match;
    # - collect: the matches from the GIN index (a bitmap, ~20 us a match), sorted by date.
    # The planner chooses by its estimate of the matches, which beyond the statistics' most
    # common words is a guess (half the least common one's share, at most 0.5%): at 1,000,000
    # articles it walked for a rare word, reading ~100,000 vectors for a page (2.2 s). So the
    # plan is chosen here from what the newest rows tell: walk a window a little larger than the
    # page; when that does not fill it and the matches in it are too few for walking on to pay,
    # take the rest from the GIN index if it holds at most COLLECT_MATCHES below the window, and
    # walk on otherwise (tests/test_search_plans_postgres.py forces each plan, compares pages).
    #: The first window is the page and this many rows (or a fifth more), enough for a word in
    #: most articles; each row walked costs ~2x what collecting a match costs.
    WALK_SLACK = 20
    #: Walking on pays while the matches are at least this share of the rows walked.
    WALK_DENSITY = 0.03
    #: At most this many matches are collected from the GIN index (below that many, collecting
    #: them costs less than walking to the page's end at WALK_DENSITY).
    COLLECT_MATCHES = 20_000
    #: A later window of the walk is at most this many times the rows walked before it, and
    #: WALK_WINDOW_MAX.
    WALK_GROWTH = 4
    WALK_WINDOW_MAX = 50_000

    def _search_newest_rows(
        self,
        conn: psycopg.Connection[Any],
        where: list[str],
        args: list[Any],
        tsquery: str,
        after: Cursor | None,
        limit: int,
    ) -> list[Any]:
        """A search's page newest first: ``where`` and ``args`` are the filters (the person
        first) without the search's condition, ``tsquery`` its tsquery text."""
        window = limit + max(self.WALK_SLACK, limit // 5)
        rows, floor = self._walk_rows(conn, where, args, tsquery, after, window, limit)
        walked = window
        if floor is None:
            return rows
        if len(rows) < self.WALK_DENSITY * walked:
            ids = self._collected_ids(conn, tsquery, floor, self.COLLECT_MATCHES)
            if ids is not None:
                return rows + self._rows_of(conn, where, args, ids, limit - len(rows))
        while floor is not None:
            # As many rows as the matches' share so far says would fill the page (and a quarter),
            # at most WALK_GROWTH times the rows walked so far.
            wanted = 1.25 * (limit - len(rows)) * walked / max(1, len(rows))
            window = int(min(wanted, self.WALK_GROWTH * walked, self.WALK_WINDOW_MAX)) + 1
            more, floor = self._walk_rows(conn, where, args, tsquery, floor, window, limit - len(rows))
            rows += more
            walked += window
        return rows

    _WALKED_COLUMNS = (
        "a.id, a.source, a.title, a.author, a.description, a.url, a.image_url, a.published, a.feed_id, a.sort_ts, "
        "a.body_z, a.tsv"
    )

    def _walk_rows(
        self,
        conn: psycopg.Connection[Any],
        where: list[str],
        args: list[Any],
        tsquery: str,
        after: Cursor | None,
        window: int,
        limit: int,
    ) -> tuple[list[Any], Cursor | None]:
        """The plan "walk": the next ``window`` rows of the newest-first list after ``after``,
        those whose vector matches (at most ``limit``); then the last row walked when the window
        was walked to its end without filling the page (None: the page is done). (The window and
        the limit are written into the statement: as parameters of a prepared statement the
        planner would not know them and might sort.)"""
        conditions = list(where)
        params = list(args[1:])
        if after is not None:
            conditions.append("(a.sort_ts, a.id) < (%s, %s)")
            params += [int(after[0]), int(after[1])]
        sql = (
            # (The last row walked is listed whether it matches or not: it is where a walk goes on.)
            f"SELECT {self._ROW_COLUMNS}, a.n, CASE WHEN a.n = {int(window)} THEN a.tsv @@ {_MATCH} ELSE true END "
            f"FROM (SELECT {self._WALKED_COLUMNS}, "
            "row_number() OVER (ORDER BY a.sort_ts DESC, a.id DESC) AS n FROM articles a"
            + (" WHERE " + " AND ".join(conditions) if conditions else "")
            + f" ORDER BY a.sort_ts DESC, a.id DESC LIMIT {int(window)}) a "
            "LEFT JOIN article_state s ON s.article_id = a.id AND s.person = %s "
            f"WHERE a.tsv @@ {_MATCH} OR a.n = {int(window)} ORDER BY a.sort_ts DESC, a.id DESC LIMIT {int(limit)}"
        )
        found = conn.execute(sql, [tsquery, *params, args[0], tsquery]).fetchall()
        rows = [r[:-2] for r in found if r[-1]]
        last = found[-1] if found else None
        if len(rows) == limit or last is None or last[-2] != window:
            return rows, None
        return rows, (int(last[11]), int(last[0]))

    def _collected_ids(self, conn: psycopg.Connection[Any], tsquery: str, below: Cursor, most: int) -> list[int] | None:
        """The plan "collect": the ids of the articles below ``below`` whose vector matches,
        newest first, from the GIN index; None when there are more than ``most`` (the filters
        are left to :meth:`_rows_of`: the articles alone, whatever the view, are counted here).
        The planner is told to take the index: it would walk the newest-first index otherwise,
        taking a rare word for a common one."""
        conn.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off")
        try:
            (ids,) = _one(
                conn.execute(
                    "SELECT array_agg(m.id ORDER BY m.sort_ts DESC, m.id DESC) FROM (SELECT a.id, a.sort_ts "
                    f"FROM articles a WHERE a.tsv @@ {_MATCH} AND (a.sort_ts, a.id) < (%s, %s) "
                    f"LIMIT {int(most) + 1}) m",
                    [tsquery, int(below[0]), int(below[1])],
                    # Planned for its values each time: a generic plan (psycopg prepares a statement
                    # run 5 times) took the cursor's range from the newest-first index too, 20x slower.
                    prepare=False,
                )
            )
        finally:
            conn.execute("SET LOCAL enable_seqscan TO DEFAULT; SET LOCAL enable_indexscan TO DEFAULT")
        ids = ids or []
        return None if len(ids) > most else ids

    def _rows_of(
        self, conn: psycopg.Connection[Any], where: list[str], args: list[Any], ids: list[int], limit: int
    ) -> list[Any]:
        """The first ``limit`` of ``ids`` (newest first) that pass the filters, as list rows: read
        a slice of them at a time, each slice twice the one before."""
        rows: list[Any] = []
        start, size = 0, 2 * limit
        condition = "".join(f" AND {w}" for w in where)
        while start < len(ids) and len(rows) < limit:
            chunk = ids[start : start + size]
            rows += conn.execute(
                f"SELECT {self._ROW_COLUMNS} FROM {self._STATE_JOIN} WHERE a.id = ANY(%s::bigint[]){condition} "
                f"ORDER BY a.sort_ts DESC, a.id DESC LIMIT {int(limit - len(rows))}",
                [args[0], chunk, *args[1:]],
            ).fetchall()
            start += len(chunk)
            size *= 2
        return rows

    #: By relevance, the newest this many matches are ranked (``ts_rank`` reads each one's vector:
    #: ranking all of a common word's matches took seconds at 30,000 articles); the older matches
    #: follow them, newest first (as on SQLite: Store.RANKED_MATCHES).
    RANKED_MATCHES = 2000
    #: The cursor's score of a row after the ranked ones (their scores are -ts_rank, at most 0):
    #: such rows go on newest first from the row the cursor names.
    _OLDER = 1.0

    def _relevance_rows(
        self, conn: psycopg.Connection[Any], where: list[str], args: list[Any], after: Cursor | None, limit: int
    ) -> list[Any]:
        """A page by relevance: the newest :data:`RANKED_MATCHES` matches best first, then the older
        matches newest first. ``args`` are the person and the filters' values (the search's last)."""
        condition = " AND ".join(where)
        rows: list[Any] = []
        if after is None or after[0] < self._OLDER:
            tsquery = args[-1]
            ranked = (
                f"SELECT c.id, -ts_rank(c.tsv, {_MATCH})::float8 AS score FROM (SELECT a.id, a.tsv FROM articles a "
                f"WHERE {condition} ORDER BY a.sort_ts DESC, a.id DESC LIMIT %s) c"
            )
            ranked_args = [tsquery, *args[1:], self.RANKED_MATCHES]
            if after is not None:
                ranked = f"SELECT * FROM ({ranked}) r WHERE (r.score, r.id) > (%s, %s)"
                ranked_args += [float(after[0]), int(after[1])]
            sql = (
                f"SELECT {self._ROW_COLUMNS}, r.score FROM ({ranked} ORDER BY score, id LIMIT %s) r "
                "JOIN articles a ON a.id = r.id LEFT JOIN article_state s ON s.article_id = a.id AND s.person = %s "
                "ORDER BY r.score, r.id"
            )
            rows = conn.execute(sql, [*ranked_args, limit, args[0]]).fetchall()
            if len(rows) == limit:
                return rows
        # The older matches: those after the newest RANKED_MATCHES, or after the cursor's row.
        if after is not None and after[0] >= self._OLDER:
            below = conn.execute("SELECT sort_ts, id FROM articles WHERE id = %s", (int(after[1]),)).fetchone()
        else:
            below = conn.execute(
                f"SELECT a.sort_ts, a.id FROM articles a WHERE {condition} "
                "ORDER BY a.sort_ts DESC, a.id DESC OFFSET %s LIMIT 1",
                [*args[1:], self.RANKED_MATCHES - 1],
            ).fetchone()
        if below is None:
            return rows
        older = conn.execute(
            f"SELECT {self._ROW_COLUMNS}, %s::float8 FROM {self._STATE_JOIN} WHERE {condition} "
            "AND (a.sort_ts, a.id) < (%s, %s) ORDER BY a.sort_ts DESC, a.id DESC LIMIT %s",
            [self._OLDER, *args, int(below[0]), int(below[1]), limit - len(rows)],
        ).fetchall()
        return rows + older

    def iter_rows(self, query: Query = Query(), page_size: int = 500) -> Iterator[ArticleRow]:
        after: Cursor | None = None
        while True:
            page = self.page(query, after, page_size)
            yield from page.rows
            if page.next_cursor is None:
                return
            after = page.next_cursor

    def rows_by_id(self, ids: Sequence[int]) -> dict[int, ArticleRow]:
        if not ids:
            return {}
        with self._reading() as conn:
            raw = conn.execute(
                f"SELECT {self._ROW_COLUMNS} FROM {self._STATE_JOIN} WHERE a.id = ANY(%s)", (self.person, list(ids))
            ).fetchall()
        return {r[0]: _row(r) for r in raw}

    def descriptions(self, ids: Sequence[int]) -> dict[int, str | None]:
        with self._reading() as conn:
            return dict(conn.execute("SELECT id, description FROM articles WHERE id = ANY(%s)", (list(ids),)))

    def _filters(self, query: Query) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        if query.view == "unread":
            where.append(
                "NOT EXISTS (SELECT 1 FROM article_state r WHERE r.article_id = a.id AND r.person = %s AND r.read)"
            )
            params.append(self.person)
        elif query.view == "starred":
            # Found from the person's few starred rows, not by walking every article for them.
            where.append("a.id IN (SELECT article_id FROM article_state WHERE person = %s AND starred)")
            params.append(self.person)
        self._hidden_and_label(query, where, params)  # (rules: see their block)
        _source_and_feed(query, where, params, "a.")
        if query.account_id is not None:
            where.append("a.account_id = %s")
            params.append(query.account_id)
        if query.folder is not None:
            where.append("a.feed_id IN (SELECT id FROM feeds WHERE folder = %s)")
            params.append(query.folder)
        return where, params

    def _filters_matching(self, query: Query) -> tuple[list[str], list[Any]] | None:
        """:meth:`_filters` and the search (its tsquery, when it has one, the last value); None when
        the search can find nothing (no word, no source matches)."""
        where, params = self._filters(query)
        if query.search:
            search = parse_search(query.search)
            if search.empty:
                return None
            with self._reading() as conn:
                source = self._source_filter(conn, search)
            if source is None:
                return None
            where += source[0]
            params += source[1]
            tsquery = _ts_query(search)
            if tsquery is not None:
                where.append(f"a.tsv @@ {_MATCH}")
                params.append(tsquery)
        return where, params

    def _source_filter(self, conn: psycopg.Connection[Any], search: Search) -> tuple[list[str], list[Any]] | None:
        """The condition on ``a.source`` that ``search``'s ``source:`` terms make ([] when it has
        none; None when no source matches them): the sources stored (read off the source index,
        one probe each: a few hundred at most) matched here with the vectors' folding, as SQLite
        matches them with its tokenizer."""
        wanted = [(i, t) for i, t in enumerate(search.terms) if t.field == "source"]
        if not wanted:
            return [], []
        sources = [
            r[0]
            for r in conn.execute(
                "WITH RECURSIVE s(source) AS ((SELECT source FROM articles WHERE source IS NOT NULL "
                "ORDER BY source LIMIT 1) UNION ALL SELECT (SELECT a.source FROM articles a WHERE a.source > s.source "
                "ORDER BY a.source LIMIT 1) FROM s WHERE s.source IS NOT NULL) SELECT source FROM s "
                "WHERE source IS NOT NULL"
            ).fetchall()
        ]
        last = len(search.terms) - 1
        terms = [(tuple(p for w in t.words for p in index_words(w)), search.prefix and i == last) for i, t in wanted]
        found = [
            name
            for name in sources
            if all(not term or _source_matches(index_words(name), term, prefix) for term, prefix in terms)
        ]
        if not found:
            return None
        return ["a.source = ANY(%s)"], [found]

    def get(self, article_id: int) -> Article | None:
        """The whole article, cleaned body and raw record (byte for byte) included."""
        with self._reading() as conn:
            r = conn.execute(
                "SELECT a.id, a.key, a.source, a.feed_id, a.title, a.author, a.description, a.url, a.image_url, "
                "a.published, a.body_z, a.body_html_z, a.raw_z, a.origin, a.imported_at, "
                f"coalesce(s.read, false), coalesce(s.starred, false), a.enclosures, a.full_html_z, a.full_status "
                f"FROM {self._STATE_JOIN} "
                "WHERE a.id = %s",
                (self.person, article_id),
            ).fetchone()
        if r is None:
            return None
        try:
            body = textpack.unpack(bytes(r[10]))
            body_html = None if r[11] is None else textpack.unpack(bytes(r[11]))
            raw = textpack.unpack_raw(bytes(r[12]), body)
            full_html = None if r[18] is None else textpack.unpack(bytes(r[18]))
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
        counted = self._counted(query)
        if counted is not None:
            return counted
        filters = self._filters_matching(query)
        if filters is None:
            return 0
        where, params = filters
        sql = f"SELECT count(*) FROM {self._STATE_JOIN}" + (" WHERE " + " AND ".join(where) if where else "")
        with self._reading() as conn:
            return int(_one(conn.execute(sql, [self.person, *params]))[0])

    def sources(self) -> list[SourceCount]:
        """Seed-record sources with total and unread counts (this person's)."""
        return self.counts()[1]

    def totals(self) -> tuple[int, int, int]:
        """(all, unread, starred) article counts, read and star state being this person's."""
        return self.counts()[0]

    #: This person's counts by group (feed, source, hidden): (total, read, starred, delta rows),
    #: summed from the deltas the triggers keep (schema 4).
    _GROUPS = (
        "SELECT feed_id, source, hidden, sum(total) AS total, sum(read) AS read, sum(starred) AS starred, "
        "count(*) AS deltas FROM (SELECT feed_id, source, hidden, total, 0 AS read, 0 AS starred FROM article_counts "
        "UNION ALL SELECT feed_id, source, hidden, 0, read, starred FROM state_counts WHERE person = %s) d "
        "GROUP BY feed_id, source, hidden"
    )
    #: Delta rows a count reads before it folds them together (:meth:`_fold_counts`), beyond
    #: a few per group.
    FOLD_ABOVE = 2000

    def _counted(self, query: Query) -> int | None:
        """:meth:`count` from the counts the triggers keep, for a query they can answer (a view of
        all, unread or starred, of everything, a source or a feed); else None."""
        counting = self._counting(query)
        if counting is None:
            return None
        with self._reading() as conn:
            return int(_one(conn.execute(*counting))[0])

    def _counting(self, query: Query) -> tuple[str, list[Any]] | None:
        """(_counted) The statement that counts ``query``'s articles from the kept counts, and its
        values; None when they cannot say."""
        if query.search or query.label is not None or query.account_id is not None or query.folder is not None:
            return None
        if query.view not in ("all", "unread", "starred"):
            return None
        where = ["NOT hidden"]
        params: list[Any] = [self.person]
        _source_and_feed(query, where, params)
        value = {"all": "total", "unread": "total - read", "starred": "starred"}[query.view]
        return f"SELECT coalesce(sum({value}), 0) FROM ({self._GROUPS}) g WHERE {' AND '.join(where)}", params

    def counts(self) -> tuple[tuple[int, int, int], list[SourceCount]]:
        """:meth:`totals` and :meth:`sources` (what the sidebar counts at its start), from the
        counts the triggers keep (schema 4), not from the articles: as on SQLite, the hidden
        articles are out of the totals and in their sources' counts. When the counts have many
        deltas, they are folded together afterwards."""
        with self._reading() as conn:
            rows = conn.execute(
                f"WITH g AS ({self._GROUPS}) SELECT * FROM ("
                "SELECT 0 AS part, NULL AS source, sum(total) FILTER (WHERE NOT hidden), "
                "sum(total - read) FILTER (WHERE NOT hidden), sum(starred) FILTER (WHERE NOT hidden), sum(deltas) "
                "FROM g UNION ALL SELECT 1, source, sum(total), sum(total - read), 0, count(*) FROM g "
                "WHERE feed_id IS NULL GROUP BY source HAVING sum(total) > 0) c "
                "ORDER BY part, source IS NULL, lower(source), source",
                (self.person,),
            ).fetchall()
        total, unread, starred, deltas = (int(n or 0) for n in rows[0][2:])
        if deltas > self.FOLD_ABOVE + 4 * len(rows):
            self._fold_counts()
        return (total, unread, starred), [SourceCount(r[1], int(r[2]), int(r[3])) for r in rows[1:]]

    def _fold_counts(self) -> None:
        """The counts' deltas folded into one row per group (and person), in a transaction of
        their own: a writer's deltas committed meanwhile are not read, so they stay as they are;
        a second fold at the same time lets this one be."""
        with self.transaction() as conn:
            if not _one(conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (_FOLD_LOCK,)))[0]:
                return
            conn.execute(
                "WITH gone AS (DELETE FROM article_counts RETURNING *) INSERT INTO article_counts "
                "SELECT feed_id, source, hidden, sum(total) FROM gone GROUP BY 1, 2, 3 HAVING sum(total) <> 0"
            )
            conn.execute(
                "WITH gone AS (DELETE FROM state_counts RETURNING *) INSERT INTO state_counts "
                "SELECT person, feed_id, source, hidden, sum(read), sum(starred) FROM gone GROUP BY 1, 2, 3, 4 "
                "HAVING sum(read) <> 0 OR sum(starred) <> 0"
            )

    # read / star state (this person's)

    def set_read(self, ids: Sequence[int], read: bool = True) -> int:
        """Set articles read (or unread) for this person: how many changed."""
        if not ids:
            return 0
        with self.transaction() as conn:
            changed = self._set_flag(conn, "read", list(ids), read)
            self._queue_changes(conn, changed, "read" if read else "unread")
            if changed:
                self._notify(conn, "state")
        return len(changed)

    def set_starred(self, article_id: int, starred: bool = True) -> bool:
        with self.transaction() as conn:
            changed = self._set_flag(conn, "starred", [article_id], starred)
            self._queue_changes(conn, changed, "star" if starred else "unstar")
            if changed:
                self._notify(conn, "state")
        return bool(changed)

    def _set_flag(
        self, conn: psycopg.Connection[Any], column: str, ids: list[int], value: bool
    ) -> list[tuple[int, int | None]]:
        """Set ``column`` (read or starred) of these articles for this person: (id, account) of
        those that changed. A flag set needs a row (made here); cleared, a missing row is already
        clear."""
        if value:
            sql = (
                f"WITH changed AS (INSERT INTO article_state (person, article_id, {column}) "
                "SELECT %s, id, true FROM articles WHERE id = ANY(%s) "
                f"ON CONFLICT (person, article_id) DO UPDATE SET {column} = true WHERE NOT article_state.{column} "
                "RETURNING article_id) "
                "SELECT a.id, a.account_id FROM changed c JOIN articles a ON a.id = c.article_id"
            )
        else:
            sql = (
                f"WITH changed AS (UPDATE article_state SET {column} = false "
                f"WHERE person = %s AND article_id = ANY(%s) AND {column} RETURNING article_id) "
                "SELECT a.id, a.account_id FROM changed c JOIN articles a ON a.id = c.article_id"
            )
        return [(r[0], r[1]) for r in conn.execute(sql, (self.person, ids)).fetchall()]

    def _queue_changes(
        self, conn: psycopg.Connection[Any], changed: Sequence[tuple[int, int | None]], kind: str
    ) -> None:
        """Queue ``kind`` for the changed articles of a sync account, replacing an earlier change
        of that flag still queued (see the SQLite store's)."""
        synced = [article_id for article_id, account in changed if account is not None]
        if not synced:
            return
        opposite = _opposite_change(kind)
        for table in ("pending_changes", "refused_changes"):  # (a refused one is superseded too)
            conn.execute(
                f"DELETE FROM {table} WHERE person = %s AND article_id = ANY(%s) AND kind IN (%s, %s)",
                (self.person, synced, kind, opposite),
            )
        conn.execute(
            "INSERT INTO pending_changes (person, article_id, kind, queued_at) SELECT %s, unnest(%s::bigint[]), %s, %s",
            (self.person, synced, kind, int(time.time())),
        )

    def mark_all_read(self, query: Query = Query()) -> int:
        return len(self.mark_all_read_ids(query))

    def mark_all_read_ids(self, query: Query = Query()) -> list[int]:
        """Mark every article the query lists read for this person: the ids of those that were
        unread (exactly those this call changed: the undo's). Nobody else's state changes. One
        statement on the server: the query's articles are marked where they stand, and a sync
        account's are queued for its server (replacing a read or unread change still queued or
        refused); only the changed ids come back."""
        filters = self._filters_matching(query)
        if filters is None:
            return []
        where, params = filters
        where.append("NOT coalesce(s.read, false)")
        kinds = ("read", "unread")
        with self.transaction() as conn:
            rows = conn.execute(
                f"WITH target AS MATERIALIZED (SELECT a.id, a.account_id FROM {self._STATE_JOIN} "
                f"WHERE {' AND '.join(where)}), "
                "changed AS (INSERT INTO article_state (person, article_id, read) SELECT %s, id, true FROM target "
                "ON CONFLICT (person, article_id) DO UPDATE SET read = true WHERE NOT article_state.read "
                "RETURNING article_id), "
                "synced AS MATERIALIZED (SELECT c.article_id FROM changed c JOIN target t ON t.id = c.article_id "
                "WHERE t.account_id IS NOT NULL), "
                "unqueued AS (DELETE FROM pending_changes p USING synced y WHERE p.article_id = y.article_id "
                "AND p.person = %s AND p.kind IN (%s, %s)), "
                "unrefused AS (DELETE FROM refused_changes r USING synced y WHERE r.article_id = y.article_id "
                "AND r.person = %s AND r.kind IN (%s, %s)), "
                "queued AS (INSERT INTO pending_changes (person, article_id, kind, queued_at) "
                "SELECT %s, article_id, 'read', %s FROM synced ORDER BY article_id) "
                "SELECT article_id FROM changed",
                [
                    self.person,
                    *params,
                    self.person,
                    self.person,
                    *kinds,
                    self.person,
                    *kinds,
                    self.person,
                    int(time.time()),
                ],
            ).fetchall()
            if rows:
                self._notify(conn, "state")
        return [int(r[0]) for r in rows]

    # feeds

    def add_feed(self, url: str, title: str | None = None) -> Feed:
        """Subscribe to ``url`` (idempotent: an existing subscription is returned as it is)."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO feeds (url, title, added_at) VALUES (%s, %s, %s) ON CONFLICT (url) DO NOTHING",
                (url, title, int(time.time())),
            )
        feed = self.get_feed(url)
        assert feed is not None
        return feed

    #: (Its articles' counts as the triggers keep them, summed over their sources and hidden or
    #: not: a feed's articles are not read. One parameter: the person.)
    _FEED_SELECT = (
        "SELECT f.id, f.url, f.title, f.site_url, f.etag, f.last_modified, f.added_at, f.updated_at, "
        "f.last_error, f.dead, coalesce(c.n, 0)::bigint, coalesce(c.n - c.r, 0)::bigint, "
        "f.fresh_until, f.retry_at, f.account_id, f.remote_url, f.folder, f.full_content "
        "FROM feeds f LEFT JOIN (SELECT feed_id, sum(total) AS n, sum(read) AS r FROM "
        "(SELECT feed_id, total, 0 AS read FROM article_counts WHERE feed_id IS NOT NULL UNION ALL "
        "SELECT feed_id, 0, read FROM state_counts WHERE person = %s AND feed_id IS NOT NULL) d "
        "GROUP BY feed_id) c ON c.feed_id = f.id"
    )

    def get_feed(self, url_or_id: str | int) -> Feed | None:
        column = "f.id" if isinstance(url_or_id, int) else "f.url"
        with self._reading() as conn:
            r = conn.execute(f"{self._FEED_SELECT} WHERE {column} = %s", (self.person, url_or_id)).fetchone()
        return _feed(r) if r else None

    def feeds(self) -> list[Feed]:
        with self._reading() as conn:
            rows = conn.execute(
                f"{self._FEED_SELECT} ORDER BY lower(coalesce(f.title, f.url)), f.id", (self.person,)
            ).fetchall()
        return [_feed(r) for r in rows]

    def update_feed(self, feed_id: int, **fields: Any) -> None:
        """Set feed fields (``url`` after a permanent redirect, ``etag``, ``last_error``, ...)."""
        clause = set_clause("feed", fields, FEED_FIELDS, "%s")
        if clause is None:
            return
        assignments, values = clause
        with self.transaction() as conn:
            conn.execute(f"UPDATE feeds SET {assignments} WHERE id = %s", [*values, feed_id])

    def remove_feed(self, url_or_id: str | int) -> bool:
        return self.unsubscribe(url_or_id) is not None

    def unsubscribe(self, url_or_id: str | int) -> tuple[int, int] | None:
        """Unsubscribe: the feed's articles go, except those anyone starred, which are kept (one
        person's unsubscribing must not take another's starred article). (removed, kept) or None."""
        feed = self.get_feed(url_or_id)
        if feed is None:
            return None
        starred_by_anyone = self._STARRED_BY_ANYONE
        with self.transaction() as conn:
            (kept,) = _one(
                conn.execute(f"SELECT count(*) FROM articles WHERE feed_id = %s AND {starred_by_anyone}", (feed.id,))
            )
            removed = conn.execute(
                f"DELETE FROM articles WHERE feed_id = %s AND NOT {starred_by_anyone}", (feed.id,)
            ).rowcount
            conn.execute("DELETE FROM feeds WHERE id = %s", (feed.id,))
            conn.execute("DELETE FROM tombstones WHERE starts_with(key, %s)", (f"feed:{feed.id}:",))  # (as SQLite's)
            self._notify(conn, "removed")
        return removed, int(kept)

    # sync accounts (reader.sync): the account rows, their feeds and articles, the queue of changes

    _ACCOUNT_SELECT = 'SELECT id, name, url, "user", added_at, last_sync, since, retry_at, last_error FROM accounts'

    def add_account(self, name: str, url: str, user: str) -> Account:
        with self.transaction() as conn:
            conn.execute(
                'INSERT INTO accounts (name, url, "user", added_at) VALUES (%s, %s, %s, %s)',
                (name, url, user, int(time.time())),
            )
        account = self.get_account(name)
        assert account is not None
        return account

    def accounts(self) -> list[Account]:
        with self._reading() as conn:
            rows = conn.execute(f"{self._ACCOUNT_SELECT} ORDER BY lower(name)").fetchall()
        return [_account(r) for r in rows]

    def get_account(self, name_or_id: str | int) -> Account | None:
        column = "id" if isinstance(name_or_id, int) else "name"
        with self._reading() as conn:
            r = conn.execute(f"{self._ACCOUNT_SELECT} WHERE {column} = %s", (name_or_id,)).fetchone()
        return _account(r) if r else None

    def update_account(self, account_id: int, **fields: Any) -> None:
        clause = set_clause("account", fields, ACCOUNT_FIELDS, "%s")
        if clause is None:
            return
        assignments, values = clause
        with self.transaction() as conn:
            conn.execute(f"UPDATE accounts SET {assignments} WHERE id = %s", [*values, account_id])

    #: An article someone starred: kept when its feed or account goes (one person's removal must
    #: not take another's starred article).
    _STARRED_BY_ANYONE = "EXISTS (SELECT 1 FROM article_state s WHERE s.article_id = articles.id AND s.starred)"

    def remove_account(self, account_id: int) -> tuple[int, int, int]:
        """Forget an account: its feeds, and its articles except starred ones, which stay as local
        articles (their queued changes go). (articles removed, starred kept, feeds removed)."""
        with self.transaction() as conn:
            (kept,) = _one(
                conn.execute(
                    f"SELECT count(*) FROM articles WHERE account_id = %s AND {self._STARRED_BY_ANYONE}", (account_id,)
                )
            )
            removed = conn.execute(
                f"DELETE FROM articles WHERE account_id = %s AND NOT {self._STARRED_BY_ANYONE}", (account_id,)
            ).rowcount
            for table in ("pending_changes", "refused_changes"):
                conn.execute(
                    f"DELETE FROM {table} WHERE article_id IN (SELECT id FROM articles WHERE account_id = %s)",
                    (account_id,),
                )
            conn.execute("UPDATE articles SET account_id = NULL, remote_id = NULL WHERE account_id = %s", (account_id,))
            feeds = conn.execute("DELETE FROM feeds WHERE account_id = %s", (account_id,)).rowcount
            conn.execute(
                "DELETE FROM tombstones WHERE starts_with(key, 'greader:' || (SELECT name FROM accounts WHERE id = %s) "
                "|| ':')",
                (account_id,),
            )
            conn.execute("DELETE FROM accounts WHERE id = %s", (account_id,))
            self._notify(conn, "removed")
        return removed, int(kept), feeds

    def sync_subscriptions(
        self, account_id: int, subscriptions: Sequence[tuple[str, str | None, str | None, str | None, str | None]]
    ) -> tuple[int, int]:
        """Make the account's feeds the server's list of (stream id, title, feed URL, site URL,
        folder); a feed gone goes with its articles nobody starred. (added, removed)."""
        with self.transaction() as conn:
            known = {
                r[0]: r[1]
                for r in conn.execute("SELECT remote_id, id FROM feeds WHERE account_id = %s", (account_id,)).fetchall()
            }
            added = 0
            now = int(time.time())
            for remote_id, title, url, site_url, folder in subscriptions:
                if remote_id in known:
                    conn.execute(
                        "UPDATE feeds SET title = %s, remote_url = %s, site_url = %s, folder = %s WHERE id = %s",
                        (title, url, site_url, folder, known.pop(remote_id)),
                    )
                    continue
                conn.execute(
                    "INSERT INTO feeds (url, title, site_url, added_at, account_id, remote_id, remote_url, folder) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (f"greader:{account_id}:{remote_id}", title, site_url, now, account_id, remote_id, url, folder),
                )
                added += 1
            for feed_id in known.values():  # gone from the server
                conn.execute(f"DELETE FROM articles WHERE feed_id = %s AND NOT {self._STARRED_BY_ANYONE}", (feed_id,))
                conn.execute("DELETE FROM feeds WHERE id = %s", (feed_id,))
            if known:
                self._notify(conn, "removed")
        return added, len(known)

    def remote_feeds(self, account_id: int) -> dict[str, Feed]:
        """The account's feeds by their stream id."""
        with self._reading() as conn:
            rows = conn.execute(f"{self._FEED_SELECT} WHERE f.account_id = %s", (self.person, account_id)).fetchall()
            ids = {
                r[0]: r[1]
                for r in conn.execute("SELECT id, remote_id FROM feeds WHERE account_id = %s", (account_id,)).fetchall()
            }
        return {ids[r[0]]: _feed(r) for r in rows}

    def unknown_remote_ids(self, account_id: int, remote_ids: Sequence[str]) -> list[str]:
        """Those of ``remote_ids`` the store has no article for, in their order."""
        with self._reading() as conn:
            known = {
                r[0]
                for r in conn.execute(
                    "SELECT remote_id FROM articles WHERE account_id = %s AND remote_id = ANY(%s)",
                    (account_id, list(remote_ids)),
                ).fetchall()
            }
        return [i for i in remote_ids if i not in known]

    def add_remote_articles(
        self, account_id: int, items: Sequence[tuple[str, Article, bool, bool]] | PreparedRemoteArticles
    ) -> int:
        """Store a server's items, (remote id, article, read, starred) each, or as
        :func:`reader.store.sqlite.prepare_remote_articles` made them (a sync's workers), in one
        transaction: an item already stored (same key) is left as it is; new ones take the
        server's read and star state as this person's. How many were new."""
        prepared = items if isinstance(items, PreparedRemoteArticles) else prepare_remote_articles(items)
        if not prepared.remote:
            return 0
        if not prepared.articles.rows:
            return 0
        with self.transaction() as conn:
            result, made = self._add(conn, prepared.articles.rows, False, False)
            conn.execute(
                "WITH given AS (SELECT * FROM unnest(%s::text[], %s::text[], %s::boolean[], %s::boolean[]) "
                "AS g(key, remote_id, read, starred)), "
                "took AS (UPDATE articles a SET account_id = %s, remote_id = g.remote_id FROM given g "
                "WHERE a.key = g.key AND a.account_id IS NULL RETURNING a.id, g.read, g.starred) "
                "INSERT INTO article_state (person, article_id, read, starred) "
                "SELECT %s, id, read, starred FROM took "
                "ON CONFLICT (person, article_id) DO UPDATE SET read = excluded.read, starred = excluded.starred",
                (
                    [row[0] for row in prepared.articles.rows],  # (the key)
                    [rid for rid, _, _ in prepared.remote],
                    [bool(read) for _, read, _ in prepared.remote],
                    [bool(star) for _, _, star in prepared.remote],
                    account_id,
                    self.person,
                ),
            )
            if made:  # then the rules, on the server's state: what they change is queued
                self._rules_after(conn, made)
        return result.added

    def reconcile_flags(self, account_id: int, unread: Iterable[str], starred: Iterable[str]) -> tuple[int, int]:
        """Take the server's read and star state as this person's: its articles in ``unread`` are
        unread, the others read; those in ``starred`` starred. Never where a change of this
        person's to that flag still waits in the queue. (read changed, star changed)."""
        unread_ids, starred_ids = sorted(set(unread)), sorted(set(starred))
        changed = []
        with self.transaction() as conn:
            for column, ids, negate, kinds in (
                ("read", unread_ids, "NOT ", ("read", "unread")),
                ("starred", starred_ids, "", ("star", "unstar")),
            ):
                value = f"{negate}(a.remote_id IN (SELECT unnest(%s::text[])))"
                changed.append(
                    conn.execute(
                        f"INSERT INTO article_state (person, article_id, {column}) "
                        f"SELECT %s, a.id, {value} FROM {self._STATE_JOIN} "
                        f"WHERE a.account_id = %s AND coalesce(s.{column}, false) <> {value} "
                        "AND NOT EXISTS (SELECT 1 FROM pending_changes p WHERE p.article_id = a.id "
                        "AND p.person = %s AND p.kind IN (%s, %s)) "
                        "AND NOT EXISTS (SELECT 1 FROM refused_changes r WHERE r.article_id = a.id "
                        "AND r.person = %s AND r.kind IN (%s, %s)) "
                        f"ON CONFLICT (person, article_id) DO UPDATE SET {column} = excluded.{column}",
                        (self.person, ids, self.person, account_id, ids, self.person, *kinds, self.person, *kinds),
                    ).rowcount
                )
                self._settle_refused(conn, account_id, column, value, ids, kinds)
            if any(changed):
                self._notify(conn, "state")
        return changed[0], changed[1]

    def pending_changes(self, account_id: int | None = None) -> list[tuple[int, str, str]]:
        """This person's queued changes, oldest first: (change id, the article's remote id, kind)."""
        sql = (
            "SELECT p.id, a.remote_id, p.kind FROM pending_changes p JOIN articles a ON a.id = p.article_id "
            "WHERE p.person = %s" + (" AND a.account_id = %s" if account_id is not None else "") + " ORDER BY p.id"
        )
        args: list[Any] = [self.person] if account_id is None else [self.person, account_id]
        with self._reading() as conn:
            return [(r[0], r[1], r[2]) for r in conn.execute(sql, args).fetchall()]

    def drop_pending(self, change_ids: Sequence[int]) -> None:
        with self.transaction() as conn:
            conn.execute(
                "DELETE FROM pending_changes WHERE person = %s AND id = ANY(%s)", (self.person, list(change_ids))
            )

    # --- rules, labels, hidden, retention, full articles, arrivals (the daily features) -------------
    #
    # What is whose on a shared store: the rules are the corpus's (everyone's new articles meet
    # them, and anyone may add, remove or apply one), and so are what they give: labels and hidden
    # articles are shared, like the articles. Read and star stay a person's: a rule that marks
    # read or stars does so for the person whose store stores the articles (an import, a refresh,
    # a sync) or applies the rules, and queues the change for that person's sync server as any
    # of their changes. Hide marks read for that person too (as on SQLite); for the others a
    # hidden article is out of their lists and totals, and unread under Hidden.

    def _rules_before(
        self, conn: psycopg.Connection[Any], given: list[tuple[Any, ...]], rules: bool
    ) -> tuple[list[tuple[Any, ...]], bool]:
        """(add_articles) ``given`` without the keys a cleanup removed, and whether there are rules
        for the new ones."""
        if conn.execute("SELECT 1 FROM tombstones LIMIT 1").fetchone() is not None:
            removed = {
                r[0]
                for r in conn.execute(
                    "SELECT key FROM tombstones WHERE key = ANY(%s)", ([row[0] for row in given],)
                ).fetchall()
            }
            given = [row for row in given if row[0] not in removed]
        wanted = rules and conn.execute("SELECT 1 FROM rules LIMIT 1").fetchone() is not None
        return given, wanted

    def _rules_after(self, conn: psycopg.Connection[Any], ids: list[int]) -> None:
        """Every rule on the articles ``ids`` (those this transaction just stored), in it."""
        for rule in self.rules():
            self._apply_rule(conn, rule, new_ids=ids)

    _RULE_SELECT = (
        "SELECT r.id, r.name, r.query, r.action, r.feed_id, f.url, r.folder FROM rules r "
        "LEFT JOIN feeds f ON f.id = r.feed_id"
    )

    def add_rule(
        self, name: str, query: str, action: str, feed_id: int | None = None, folder: str | None = None
    ) -> Rule:
        """A rule (see :meth:`reader.store.sqlite.Store.add_rule`); refused in one line naming
        what is wrong."""
        name, action = checked_rule(name, query, action)
        with self.transaction() as conn:
            added = conn.execute(
                "INSERT INTO rules (name, query, action, feed_id, folder, added_at) VALUES (%s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (name) DO NOTHING",
                (name, query.strip(), action, feed_id, folder, int(time.time())),
            ).rowcount
        if not added:
            raise StoreError(f"rule {name}: there is one by that name already")
        rule = self.get_rule(name)
        assert rule is not None
        return rule

    def rules(self) -> list[Rule]:
        with self._reading() as conn:
            rows = conn.execute(f"{self._RULE_SELECT} ORDER BY r.name").fetchall()
        return [Rule(*r) for r in rows]

    def get_rule(self, name: str) -> Rule | None:
        with self._reading() as conn:
            r = conn.execute(f"{self._RULE_SELECT} WHERE r.name = %s", (name,)).fetchone()
        return Rule(*r) if r else None

    def remove_rule(self, name: str) -> bool:
        """Forget a rule (what it did stays done)."""
        with self.transaction() as conn:
            return bool(conn.execute("DELETE FROM rules WHERE name = %s", (name,)).rowcount)

    def apply_rules(self, names: Sequence[str] | None = None) -> dict[str, int]:
        """Apply the rules (these, or all) to every stored article: {rule: articles it changed}."""
        with self.transaction() as conn:
            wanted = [r for r in self.rules() if names is None or r.name in names]
            return {rule.name: self._apply_rule(conn, rule) for rule in wanted}

    def _apply_rule(self, conn: psycopg.Connection[Any], rule: Rule, new_ids: list[int] | None = None) -> int:
        """Do what ``rule`` says to the articles it finds (among ``new_ids``, when given) that are
        not so yet: one search of the vectors' index, then one statement. How many it changed.
        With ``new_ids`` (new articles) the search reads only those rows, taken first by the
        primary key (materialised: the planner must not search the index for every match of a
        common word and then keep the few new ones)."""
        search = parse_search(rule.query)
        # (add_rule refuses a query with no word; a rule written by hand may still have one)
        sources = None if search.empty else self._source_filter(conn, search)
        if sources is None:
            return 0
        source = self._STATE_JOIN
        head: list[Any] = [self.person]
        if new_ids is not None:
            source = "new a LEFT JOIN article_state s ON s.article_id = a.id AND s.person = %s"
            head = [new_ids, self.person]
        where, params = sources
        tsquery = _ts_query(search)
        if tsquery is not None:
            where.append(f"a.tsv @@ {_MATCH}")
            params.append(tsquery)
        if rule.feed_id is not None:
            where.append("a.feed_id = %s")
            params.append(rule.feed_id)
        if rule.folder is not None:
            where.append("a.feed_id IN (SELECT id FROM feeds WHERE folder = %s)")
            params.append(rule.folder)
        kind, _, label = rule.action.partition(":")
        if kind == "read":
            where.append("NOT coalesce(s.read, false)")
        elif kind == "star":
            where.append("NOT coalesce(s.starred, false)")
        elif kind == "hide":
            where.append("NOT a.hidden")
        else:
            where.append("NOT EXISTS (SELECT 1 FROM labels l WHERE l.label = %s AND l.article_id = a.id)")
            params.append(label)
        new = (
            ""
            if new_ids is None
            else "WITH new AS MATERIALIZED (SELECT id, source, feed_id, hidden, tsv FROM articles WHERE id = ANY(%s)) "
        )
        ids = [
            int(r[0])
            for r in conn.execute(
                f"{new}SELECT a.id FROM {source} WHERE {' AND '.join(where)}", [*head, *params]
            ).fetchall()
        ]
        if not ids:
            return 0
        if kind in ("read", "hide"):
            self.set_read(ids)  # (a sync account's articles: queued for its server, as the person's change)
            if kind == "hide":
                conn.execute("UPDATE articles SET hidden = true WHERE id = ANY(%s)", (ids,))
                self._notify(conn, "articles")  # (everyone's lists lose them)
        elif kind == "star":
            self._queue_changes(conn, self._set_flag(conn, "starred", ids, True), "star")
            self._notify(conn, "state")
        else:
            self._add_label(conn, ids, label)
        return len(ids)

    def add_label(self, ids: Sequence[int], label: str) -> int:
        """Give these articles ``label`` (as a rule does); how many did not have it. Raises
        StoreError for an empty label."""
        label = label.strip()
        if not label:
            raise StoreError("a label needs a name")
        with self.transaction() as conn:
            return self._add_label(conn, list(ids), label)

    def _add_label(self, conn: psycopg.Connection[Any], ids: list[int], label: str) -> int:
        """``label`` given to the articles ``ids`` that lack it; for a sync account's article, the
        server's user label is queued too (for this person's sync), like a read or star change."""
        changed = conn.execute(
            "WITH given AS (INSERT INTO labels (label, article_id) SELECT %s, id FROM articles WHERE id = ANY(%s) "
            "ON CONFLICT DO NOTHING RETURNING article_id) "
            "SELECT a.id, a.account_id FROM given g JOIN articles a ON a.id = g.article_id",
            (label, ids),
        ).fetchall()
        self._queue_changes(conn, [(r[0], r[1]) for r in changed], f"label:{label}")
        if changed:
            self._notify(conn, "articles")  # (the label's list and count, everyone's)
        return len(changed)

    def _hidden_and_label(self, query: Query, where: list[str], params: list[Any]) -> None:
        """(_filters) Hidden articles are listed under Hidden only; a label lists its articles."""
        where.append("a.hidden" if query.view == "hidden" else "NOT a.hidden")
        if query.label is not None:
            where.append("a.id IN (SELECT article_id FROM labels WHERE label = %s)")
            params.append(query.label)

    def set_hidden(self, ids: Sequence[int], hidden: bool = True) -> int:
        """Hide articles (for everyone, as a rule does) or list them again; how many changed."""
        with self.transaction() as conn:
            changed = int(
                conn.execute(
                    "UPDATE articles SET hidden = %s WHERE id = ANY(%s) AND hidden <> %s", (hidden, list(ids), hidden)
                ).rowcount
            )
            if changed:
                self._notify(conn, "articles")  # (everyone's lists and counts change)
        return changed

    def remove_label(self, ids: Sequence[int], label: str) -> int:
        """Take ``label`` off these articles; how many had it (a sync account's article: queued
        for its server too)."""
        label = label.strip()  # (as add_label keeps it)
        with self.transaction() as conn:
            gone = conn.execute(
                "WITH gone AS (DELETE FROM labels WHERE label = %s AND article_id = ANY(%s) RETURNING article_id) "
                "SELECT a.id, a.account_id FROM gone g JOIN articles a ON a.id = g.article_id",
                (label, list(ids)),
            ).fetchall()
            self._queue_changes(conn, [(r[0], r[1]) for r in gone], f"unlabel:{label}")
            if gone:
                self._notify(conn, "articles")  # (the label's list and count, everyone's)
        return len(gone)

    def hidden_count(self) -> int:
        with self._reading() as conn:
            return int(_one(conn.execute("SELECT count(*) FROM articles WHERE hidden"))[0])

    def labels(self) -> list[SourceCount]:
        """The labels rules gave, with their articles and this person's unread counts."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT l.label, count(*), count(*) FILTER (WHERE NOT coalesce(s.read, false)) FROM labels l "
                "LEFT JOIN article_state s ON s.article_id = l.article_id AND s.person = %s "
                "GROUP BY l.label ORDER BY lower(l.label), l.label",
                (self.person,),
            ).fetchall()
        return [SourceCount(r[0], int(r[1]), int(r[2])) for r in rows]

    #: Arrivals kept (schema 4): the tray counts what came since it last looked, a few storings
    #: ago; an import of 100,000 records is about 50 of them (as on SQLite).
    ARRIVALS_KEPT = 1000

    def _record_arrival(self, conn: psycopg.Connection[Any], ids: list[int]) -> None:
        """The articles this transaction stored (``ids``) as one arrival, its number taken from
        ``arrival_counter`` as the transaction's last statement but the commit: the counter's row
        stays locked until the commit, so arrivals are numbered in the order they commit (see
        schema 4), whatever their ids."""
        (seq,) = _one(
            conn.execute(
                "INSERT INTO arrival_counter (one, seq) VALUES (true, 1) "
                "ON CONFLICT (one) DO UPDATE SET seq = arrival_counter.seq + 1 RETURNING seq"
            )
        )
        runs: list[list[int]] = []
        for article_id in sorted(ids):
            if runs and article_id == runs[-1][1] + 1:
                runs[-1][1] = article_id
            else:
                runs.append([article_id, article_id])
        conn.execute(
            "INSERT INTO arrivals (seq, first_id, last_id) SELECT %s, unnest(%s::bigint[]), unnest(%s::bigint[])",
            (seq, [r[0] for r in runs], [r[1] for r in runs]),
        )
        if seq % 100 == 0:
            conn.execute("DELETE FROM arrivals WHERE seq <= %s", (seq - self.ARRIVALS_KEPT,))

    def arrivals(self, after: int | None) -> tuple[int, int, int, int | None]:
        """(newest arrival, this person's unread feed articles stored after arrival ``after``, the
        feeds they are in, one of those feeds): what the tray announces (see the SQLite store's).
        Arrivals are numbered in commit order (schema 4): every arrival up to the newest seen is
        visible, so none committed later with a smaller number is missed; its articles are read
        through ranges of the primary key."""
        with self._reading() as conn:
            newest = int(_one(conn.execute("SELECT coalesce(max(seq), 0) FROM arrivals"))[0])
            if after is None or after >= newest:
                return newest, 0, 0, None
            r = _one(
                conn.execute(
                    "SELECT count(*), count(DISTINCT a.feed_id), min(a.feed_id) FROM "
                    "(SELECT first_id, last_id FROM arrivals WHERE seq > %s) r "
                    "JOIN articles a ON a.id BETWEEN r.first_id AND r.last_id "
                    "LEFT JOIN article_state s ON s.article_id = a.id AND s.person = %s "
                    "WHERE a.feed_id IS NOT NULL AND NOT coalesce(s.read, false)",
                    (after, self.person),
                )
            )
        return newest, int(r[0]), int(r[1]), r[2]

    # retention (reader cleanup)

    def _persons(self, conn: psycopg.Connection[Any]) -> list[str]:
        """Everyone with a read or star state here, and this person: a skip over the state's key
        (one probe a person), not a scan of it."""
        rows = conn.execute(
            "WITH RECURSIVE p(person) AS (SELECT min(person) FROM article_state UNION ALL "
            "SELECT (SELECT min(person) FROM article_state WHERE person > p.person) FROM p "
            "WHERE p.person IS NOT NULL) SELECT person FROM p WHERE person IS NOT NULL"
        ).fetchall()
        return sorted({str(r[0]) for r in rows} | {self.person})

    def cleanup(
        self,
        older_than: datetime,
        *,
        starred_too: bool = False,
        unread_too: bool = False,
        dry_run: bool = False,
    ) -> Cleaned:
        """Remove the articles dated before ``older_than`` (the later of published and stored)
        that are read and starred by nobody, with ``unread_too`` / ``starred_too`` those too; never
        one with a change queued for a sync server. On a shared store "read" is everyone's: read by
        every person with a state here (and the one cleaning up), so that one person's cleanup
        never takes an article another has not read; "starred" is anyone's. A feed article leaves
        a tombstone (its key) so that its feed, still listing it, does not bring it back. Its
        vector goes with its row. The space is reused by new rows once (auto)vacuum has passed
        (:meth:`compact`). ``dry_run``: only count them."""
        old = [
            "greatest(coalesce(articles.published, 0), articles.imported_at) < %s",
            "NOT EXISTS (SELECT 1 FROM pending_changes p WHERE p.article_id = articles.id)",
        ]
        params: list[Any] = [_ts(older_than)]
        with self.transaction() as conn:
            if not unread_too:
                persons = self._persons(conn)
                old.append(
                    "(SELECT count(*) FROM article_state r WHERE r.article_id = articles.id AND r.read "
                    "AND r.person = ANY(%s)) = %s"
                )
                params += [persons, len(persons)]
            clause = " AND ".join(old if starred_too else [*old, f"NOT {self._STARRED_BY_ANYONE}"])
            starred_kept = 0
            if not starred_too:
                kept = " AND ".join([*old, self._STARRED_BY_ANYONE])
                (starred_kept,) = _one(conn.execute(f"SELECT count(*) FROM articles WHERE {kept}", params))
            if dry_run:
                (count,) = _one(conn.execute(f"SELECT count(*) FROM articles WHERE {clause}", params))
                return Cleaned(int(count), int(starred_kept), 0)
            (removed,) = _one(
                conn.execute(
                    f"WITH gone AS (DELETE FROM articles WHERE {clause} RETURNING key, feed_id), "
                    "marked AS (INSERT INTO tombstones (key, removed_at) SELECT key, %s FROM gone "
                    "WHERE feed_id IS NOT NULL ON CONFLICT (key) DO NOTHING) SELECT count(*) FROM gone",
                    [*params, int(time.time())],
                )
            )
        return Cleaned(int(removed), int(starred_kept), 0)

    def compact(self) -> tuple[int, int]:
        """A plain VACUUM of the articles and what hangs on them; (database bytes before, after).
        It makes the removed rows' space reusable now (autovacuum would, later) and takes no lock
        readers or writers wait for, but gives the disk back only pages at a table's end: giving
        it all back is VACUUM FULL, which rewrites the tables under an exclusive lock, so that
        every window and import on the shared store would wait: an administrator's choice, not
        run here."""

        def size(conn: psycopg.Connection[Any]) -> int:
            return int(_one(conn.execute("SELECT pg_database_size(current_database())"))[0])

        self._fold_counts()
        try:
            with self._pool.connection() as conn:
                conn.commit()  # (the pool lends it idle; VACUUM runs outside a transaction)
                conn.autocommit = True
                try:
                    before = size(conn)
                    conn.execute(
                        "VACUUM (ANALYZE) articles, article_state, labels, tombstones, article_counts, state_counts"
                    )
                    after = size(conn)
                finally:
                    conn.autocommit = False
        except Exception as exc:
            if _is_db_error(exc):
                raise _wrap(self.url, exc) from None
            raise
        return before, after

    # full articles (reader.fullcontent)

    def wanting_full_content(self, limit: int = 1000) -> list[tuple[int, str]]:
        """(id, url) of the articles whose feed asks for full articles and that were not tried yet,
        newest first."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT a.id, a.url FROM articles a JOIN feeds f ON f.id = a.feed_id "
                "WHERE f.full_content AND a.full_status IS NULL AND a.url IS NOT NULL "
                "ORDER BY a.sort_ts DESC, a.id DESC LIMIT %s",
                (limit,),
            ).fetchall()
        return [(int(i), str(u)) for i, u in rows]

    def set_full_content(
        self, article_id: int, html: str | None, text: str | None, status: str, *, asked: bool = False
    ) -> bool:
        """Keep the page's main text for ``article_id`` (sanitised ``html`` for the pane, ``text``
        for search: its words join the article's vector, kept apart too so that an update of the
        feed's text keeps them), or with ``html`` None only ``status``. ``asked``: the person asked
        for this page (kept when its feed is turned off). False: no such article."""
        with self.transaction() as conn:
            # (locked: a refresh's update of the same article waits, so the vector made here from
            # this text is not written over a newer one)
            r = conn.execute(
                "SELECT a.title, a.author, a.description, a.body_z, coalesce(f.full_content, true) "
                "FROM articles a LEFT JOIN feeds f ON f.id = a.feed_id WHERE a.id = %s FOR UPDATE OF a",
                (article_id,),
            ).fetchone()
            if r is None:
                return False
            if not asked and not r[4]:  # (its feed was turned off while the page was fetched: not kept)
                return True
            if html is None:  # (a page fetched before stays, with its status: it is what the pane shows)
                conn.execute(
                    "UPDATE articles SET full_status = %s WHERE id = %s AND full_html_z IS NULL", (status, article_id)
                )
                return True
            own = self._stored_vector(article_id, r[0], r[1], r[2], bytes(r[3]))
            conn.execute(
                "UPDATE articles SET full_html_z = %s, full_body_z = %s, full_status = %s, full_tsv = %s::tsvector, "
                "full_asked = full_asked OR %s WHERE id = %s",
                (textpack.pack(html), textpack.pack(text or ""), status, index_vector([text]), asked, article_id),
            )
            conn.execute("UPDATE articles SET tsv = %s::tsvector || full_tsv WHERE id = %s", (own, article_id))
        return True

    def _stored_vector(
        self, article_id: int, title: str | None, author: str | None, description: str | None, body_z: bytes
    ) -> str:
        """The vector of a stored article's own text (the feed's: its packed body unpacked)."""
        try:
            body = textpack.unpack(body_z)
        except textpack.PackError as exc:
            raise CorruptStoreError(f"{self.path}: article {article_id}: {exc}; left untouched") from None
        return article_vector([title, author, description, body])

    def drop_full_content(self, feed_id: int) -> int:
        """What full articles fetched for feed ``feed_id`` (turned off): their pages' text goes
        from the store and the vectors, and so do the reasons a page could not be had; the pages
        the person asked for one by one stay (see the SQLite store's). How many pages' text went."""
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT id, title, author, description, body_z, full_body_z IS NOT NULL FROM articles "
                "WHERE feed_id = %s AND full_status IS NOT NULL AND NOT full_asked FOR UPDATE",
                (feed_id,),
            ).fetchall()
            conn.execute(
                "UPDATE articles SET full_html_z = NULL, full_body_z = NULL, full_status = NULL, full_tsv = NULL "
                "WHERE id = ANY(%s)",
                ([r[0] for r in rows],),
            )
            paged = [r for r in rows if r[5]]
            for article_id, title, author, description, body_z, _ in paged:
                own = self._stored_vector(article_id, title, author, description, bytes(body_z))
                conn.execute("UPDATE articles SET tsv = %s::tsvector WHERE id = %s", (own, article_id))
        return len(paged)

    # changes a sync server refused (reader.sync.engine): this person's, as the queue is

    def refuse_pending(self, change_ids: Sequence[int], reason: str) -> None:
        """Move this person's queued changes the server refused into ``refused_changes`` with its
        ``reason``, in one transaction (see :meth:`reader.store.sqlite.Store.refuse_pending`)."""
        with self.transaction() as conn:
            conn.execute(
                "WITH gone AS (DELETE FROM pending_changes WHERE person = %s AND id = ANY(%s) "
                "RETURNING id, person, article_id, kind, queued_at) "
                "INSERT INTO refused_changes (person, article_id, kind, queued_at, refused_at, reason) "
                "SELECT person, article_id, kind, queued_at, %s, %s FROM gone ORDER BY id",
                (self.person, list(change_ids), int(time.time()), reason),
            )

    def refused_changes(self, account_id: int | None = None) -> list[tuple[str, str, str]]:
        """This person's changes the server refused, oldest first: (remote id, kind, reason)."""
        sql = (
            "SELECT a.remote_id, r.kind, r.reason FROM refused_changes r JOIN articles a ON a.id = r.article_id "
            "WHERE r.person = %s" + (" AND a.account_id = %s" if account_id is not None else "") + " ORDER BY r.id"
        )
        args: list[Any] = [self.person] if account_id is None else [self.person, account_id]
        with self._reading() as conn:
            return [(r[0], r[1], r[2]) for r in conn.execute(sql, args).fetchall()]

    def _settle_refused(
        self,
        conn: psycopg.Connection[Any],
        account_id: int,
        column: str,
        value: str,
        ids: list[str],
        kinds: tuple[str, str],
    ) -> None:
        """A refused change the server's state now agrees with (set there some other way) is
        settled: forgotten, and the flag follows the server again. ``value``: the server's state of
        ``column`` as SQL over ``a`` (one parameter: ``ids``)."""
        conn.execute(
            "DELETE FROM refused_changes r USING articles a "
            "LEFT JOIN article_state s ON s.article_id = a.id AND s.person = %s "
            f"WHERE r.article_id = a.id AND r.person = %s AND r.kind IN (%s, %s) AND a.account_id = %s "
            f"AND coalesce(s.{column}, false) = {value}",
            (self.person, self.person, *kinds, account_id, ids),
        )

    # the other windows (reader.store.changes): told at commit what changed

    def _notify(self, conn: psycopg.Connection[Any], kind: str) -> None:
        """Tell the windows listening (:mod:`reader.store.changes`) that this transaction changed
        ``kind`` (articles, removed, state): sent by the server if, and when, it commits."""
        from reader.store.changes import CHANNEL, NOTIFY_SQL, ORIGIN

        conn.execute(NOTIFY_SQL, (CHANNEL, kind, self.person, ORIGIN))


class _IndexMerger:
    """Merges the search index's pending entries into the index on a connection of its own, while
    a bulk write (:data:`MERGE_FROM_ROWS` articles or more) goes on, and a moment after it.

    A GIN index takes new rows' words into a pending list, and the writer whose insert finds that
    list full (4 MB) merges it into the index before its write goes on: at the benchmark's scale
    that merge was half of the server's time per article, and more the bigger the index. Merged
    here (``gin_clean_pending_list``), it runs beside the writer on the server's other core (a
    writer finding the merge under way goes on without waiting), and the list stays short, which
    every search reads whole (a full 4 MB list added about 20 ms to each). Only the index's owner
    may merge it: for anyone else, or when the server cannot be reached, the writers merge as
    before. Nothing here is the caller's to wait on, or to hear about."""

    #: How long it goes on after the last bulk write, and how long it pauses when nothing is pending.
    IDLE_S = 1.0
    PAUSE_S = 0.02
    #: How long closing the store waits for a merge under way before it cancels it.
    STOP_WAIT_S = 5.0

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last: threading.Thread | None = None  # (the newest, still closing its connection maybe)
        self._conn: psycopg.Connection[Any] | None = None
        self._woken = 0.0
        self._stopped = threading.Event()
        self._refused = False

    def wake(self) -> None:
        with self._lock:
            self._woken = time.monotonic()
            if self._thread is None and not self._refused and not self._stopped.is_set():
                self._thread = self._last = threading.Thread(target=self._run, name="reader-index-merger", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Stop: a merge under way may end (an import's last one, usually), and past
        :data:`STOP_WAIT_S` is cancelled (what it merged stays merged, the rest pending)."""
        self._stopped.set()
        with self._lock:
            thread, conn = self._last, self._conn
        if thread is None:
            return
        thread.join(self.STOP_WAIT_S)
        if thread.is_alive() and conn is not None:
            with contextlib.suppress(Exception):
                conn.cancel_safe(timeout=1)
            thread.join(1)

    def _run(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
                self._conn = conn
                while not self._stopped.is_set():
                    merged = _one(conn.execute("SELECT gin_clean_pending_list('articles_search'::regclass)"))[0]
                    if merged:
                        continue
                    with self._lock:
                        if time.monotonic() - self._woken > self.IDLE_S:
                            self._leave()  # (under the lock: a wake from now on starts another)
                            break
                    self._stopped.wait(self.PAUSE_S)
        except psycopg.errors.InsufficientPrivilege:
            self._refused = True  # (not the index's owner: the writers merge it)
        except Exception as exc:  # (the server gone, a cancel, too many connections: the writers merge it)
            logging.getLogger(__name__).debug("search index merger stopped: %s", exc)
        finally:
            with self._lock:
                self._leave()

    def _leave(self) -> None:
        if self._thread is threading.current_thread():
            self._thread = None
            self._conn = None


# --- helpers ----------------------------------------------------------------------------------


def _source_and_feed(query: Query, where: list[str], params: list[Any], table: str = "") -> None:
    """``query``'s source and feed as conditions (on the columns of ``table``, "a." or none: the
    articles' filters and the kept counts' groups say the same)."""
    if query.source == NO_SOURCE:
        where.append(f"{table}source IS NULL AND {table}feed_id IS NULL")
    elif query.source is not None:
        where.append(f"{table}source = %s" if query.feeds_too else f"{table}source = %s AND {table}feed_id IS NULL")
        params.append(query.source)
    if query.feed_id is not None:
        where.append(f"{table}feed_id = %s")
        params.append(query.feed_id)


def _migrate(conn: psycopg.Connection[Any], url: str, create: bool) -> str:
    """Bring the schema to :data:`SCHEMA_VERSION`, one transaction per step, under an advisory
    lock (two first openers do not both create it); refuse a newer one. The database role."""
    import psycopg

    role = str(conn.execute("SELECT current_user").fetchone()[0])  # type: ignore[index]
    version = _version(conn)
    _check_version(url, version)
    if version == SCHEMA_VERSION:
        return role
    if version == 0 and not create:
        raise StoreError(f"{shown(url)}: no store in this database yet")
    for number in range(version, SCHEMA_VERSION):
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                conn.execute("CREATE TABLE IF NOT EXISTS reader_schema (version integer NOT NULL)")
                now = _version(conn)  # again, under the lock: another process may have gone first
                _check_version(url, now)
                if now > number:
                    continue
                if now == 0:
                    _check_empty(conn, url)
                for statement in MIGRATIONS[number]:
                    conn.execute(statement)  # (fixed text, no input in it)
                conn.execute("DELETE FROM reader_schema")
                conn.execute("INSERT INTO reader_schema (version) VALUES (%s)", (number + 1,))
        except psycopg.Error as exc:
            raise _wrap(url, exc) from None
    return role


def _check_empty(conn: psycopg.Connection[Any], url: str) -> None:
    """Refuse to make a store in a database that holds another program's tables (as the SQLite
    store refuses another program's file): Reader's tables beside them would mix two programs'
    data, and a table of the same name would be another program's. Raised inside the step's
    transaction, so nothing is left of it."""
    (tables,) = _one(
        conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_name <> 'reader_schema'"
        )
    )
    if tables:
        raise NotADatabaseError(
            f"{shown(url)}: not a Reader store (a database of another program: {tables} tables and no Reader "
            "schema); left untouched"
        )


def _version(conn: psycopg.Connection[Any]) -> int:
    exists = conn.execute("SELECT to_regclass('reader_schema') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute("SELECT max(version) FROM reader_schema").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _check_version(url: str, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise StoreVersionError(
            f"{shown(url)}: the store was written by a newer Reader (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); left untouched"
        )


def ts_query(text: str) -> str | None:
    """What a person typed -> tsquery text with the meaning of :func:`reader.store.sqlite.fts_query`
    (:func:`parse_search`); None when the vectors have nothing to match (no word at all, or only
    ``source:`` terms: see :meth:`PostgresStore._source_filter`)."""
    return _ts_query(parse_search(text))


def _ts_query(search: Search) -> str | None:
    """Every term must match; a phrase is its words in a row (``<->``); a field limits a term to
    its weight in the vectors (:data:`ARTICLE_WEIGHTS`: ``title:`` A, ``author:`` B, ``body:``
    D); the last word, when :attr:`Search.prefix`, is a prefix (``:*``). Each word is folded and
    split as the vectors are (:func:`index_words`): one that splits (``_``, a character SQLite
    splits at) is its parts in a row, as FTS5 takes it. The lexemes are only letters and digits,
    so nothing typed is an operator."""
    terms = []
    last = len(search.terms) - 1
    for i, term in enumerate(search.terms):
        if term.field == "source":
            continue
        weight = _FIELD_WEIGHTS.get(term.field or "", "")
        parts = [p.decode() for word in term.words for p in index_words(word)]
        if not parts:
            continue
        marks = [weight] * len(parts)
        if search.prefix and i == last:
            marks[-1] = "*" + weight
        lexemes = [f"{p}:{m}" if m else p for p, m in zip(parts, marks, strict=True)]
        terms.append(lexemes[0] if len(lexemes) == 1 else "(" + " <-> ".join(lexemes) + ")")
    return " & ".join(terms) if terms else None


def _source_matches(words: list[bytes], term: tuple[bytes, ...], prefix: bool) -> bool:
    """Whether a source's words (:func:`index_words`) hold ``term``'s in a row, its last one only
    as a prefix when ``prefix`` (as FTS5 matches a phrase against SQLite's scratch index)."""
    n = len(term)
    for start in range(len(words) - n + 1):
        if words[start : start + n - 1] == list(term[:-1]) and (
            words[start + n - 1].startswith(term[-1]) if prefix else words[start + n - 1] == term[-1]
        ):
            return True
    return False


# --- the search vector --------------------------------------------------------------------------

#: UTF-8 bytes -> the same with ASCII capitals made small and every other ASCII character but
#: letters and digits made a space (what unicode61 splits at); bytes beyond ASCII left as they are.
_ASCII_WORDS = bytes(
    b + 32 if 65 <= b <= 90 else b if b >= 128 or 48 <= b <= 57 or 97 <= b <= 122 else 32 for b in range(256)
)
#: Every byte beyond ASCII made 128: where the runs beyond ASCII are (a few in most texts).
_BEYOND_ASCII = bytes(min(b, 128) for b in range(256))


class _Fold(dict[int, str]):
    """A character -> what it is in a word, as unicode61 with remove_diacritics 2 has it: letters,
    digits and private-use characters in lower case without their diacritics ("É" -> "e"), a
    combining diacritic nothing (it belongs to the letter before it), anything else a space (a
    separator). Filled as characters are met (``str.translate`` asks for each one once)."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        category = unicodedata.category(char)
        if category[0] in "LN" or category == "Co":
            lower = char.lower()
            folded = "".join(c for c in unicodedata.normalize("NFD", lower) if not unicodedata.combining(c)) or lower
        elif category == "Mn" and unicodedata.combining(char):
            folded = ""
        else:
            folded = " "
        self[code] = folded
        return folded


_FOLD = _Fold()
#: PostgreSQL's limits: a lexeme of at most 2046 bytes (longer words are left out, as
#: ``to_tsvector`` leaves them; the text form refuses a word of 2047, and with it the whole
#: import, though the binary form would take it), positions up to 16383 (later ones are 16383),
#: 256 a lexeme.
_MAX_LEXEME = 2046
_MAX_POSITION = 16383
_MAX_POSITIONS = 256
#: Position i's text, i up to the most a vector holds (then longer for a longer text).
_POSITIONS = [b"%d" % min(i, _MAX_POSITION) for i in range(_MAX_POSITION + 1)]


def index_words(text: str) -> list[bytes]:
    """The words of ``text`` as the index has them (UTF-8), in order. ASCII is split at C speed;
    only the runs holding a character beyond ASCII are folded character by character."""
    low = text.encode("utf-8", "surrogatepass").translate(_ASCII_WORDS)
    if not low.isascii():
        marked = low.translate(_BEYOND_ASCII)
        parts = []
        done = 0
        at = marked.find(128)
        while at >= 0:
            start = marked.rfind(32, 0, at) + 1
            end = marked.find(32, at)
            if end < 0:
                end = len(low)
            folded = low[start:end].decode("utf-8", "surrogatepass").translate(_FOLD)
            parts += [low[done:start], folded.encode("utf-8", "surrogatepass")]
            done = end
            at = marked.find(128, end)
        low = b" ".join([*parts, low[done:]])
    return low.split()


#: The weight of an article's indexed texts in its vector, in :func:`index_vector`'s order (title,
#: author, description, body; a full article's page text is body): what the search's fields
#: limit a term to (:data:`_FIELD_WEIGHTS`). D, the default, is not written in the vector's text.
ARTICLE_WEIGHTS = ("A", "B")
_FIELD_WEIGHTS = {"title": "A", "author": "B", "body": "D"}


def article_vector(texts: Sequence[str | None]) -> str:
    """The vector of an article's title, author, description and body (:data:`ARTICLE_WEIGHTS`)."""
    return index_vector(texts, ARTICLE_WEIGHTS)


def index_vector(texts: Sequence[str | None], weights: Sequence[str] = ()) -> str:
    """``tsvector`` text for an article's indexed texts (title, author, description, body, with
    :data:`ARTICLE_WEIGHTS`; or a page's text alone): each word with the positions it has (for
    phrases and for ``ts_rank``), each position with its text's weight (none given: D). The
    words are letters and digits only, so none needs quoting."""
    positions: dict[bytes, list[bytes]] = {}
    at = 0
    for k, text in enumerate(texts):
        if not text:
            continue
        words = index_words(text)
        if at:
            at += 1  # (a gap: a phrase does not run from one text into the next, as in SQLite's columns)
        while at + len(words) >= len(_POSITIONS):  # (positions after the last one the vector holds are that one)
            _POSITIONS.extend([_POSITIONS[-1]] * len(_POSITIONS))
        suffix = weights[k].encode() if k < len(weights) and weights[k] != "D" else b""
        for word in words:
            at += 1
            found = positions.get(word)
            if found is None:
                positions[word] = [_POSITIONS[at] + suffix if suffix else _POSITIONS[at]]
            elif len(found) < _MAX_POSITIONS:
                found.append(_POSITIONS[at] + suffix if suffix else _POSITIONS[at])
    return b" ".join([w + b":" + b",".join(p) for w, p in positions.items() if len(w) <= _MAX_LEXEME]).decode(
        "utf-8", "surrogatepass"
    )


#: A position's two bytes in the binary form of a vector (``tsvectorrecv``), big-endian, the weight
#: in the top two bits (A 3, B 2, C 1, D 0); also the count of a lexeme's positions.
_U16 = [i.to_bytes(2, "big") for i in range(1 << 16)]
#: :data:`ARTICLE_WEIGHTS` as those bits, in the same order.
_ARTICLE_WEIGHT_BITS = (3 << 14, 2 << 14)


def article_vector_binary(texts: Sequence[str | None]) -> bytes:
    """:func:`article_vector` in the binary form ``COPY ... (FORMAT binary)`` sends: the same
    words, positions and weights (a test proves the server reads the same vector from both), which
    the server takes in without parsing text (its ``tsvectorin`` was half of its time per article
    before the search index's merges). Lexemes go unsorted (the server sorts them, in C); a
    position past the last one a vector holds is kept once, as the server's text input keeps it."""
    positions: defaultdict[bytes, list[bytes]] = defaultdict(list)
    clamped: set[bytes] = set()
    u16 = _U16
    at = 0
    for k, text in enumerate(texts):
        if not text:
            continue
        words = index_words(text)
        if at:
            at += 1  # (a gap, as in index_vector)
        bits = _ARTICLE_WEIGHT_BITS[k] if k < len(_ARTICLE_WEIGHT_BITS) else 0
        if at + len(words) < _MAX_POSITION:
            for i, word in enumerate(words, at + 1):
                positions[word].append(u16[i | bits])
            at += len(words)
        else:
            for word in words:
                at += 1
                if at < _MAX_POSITION:
                    positions[word].append(u16[at | bits])
                elif word not in clamped:
                    clamped.add(word)
                    positions[word].append(u16[_MAX_POSITION | bits])
    lexemes = [
        w + b"\0" + u16[len(p)] + b"".join(p)
        if len(p) <= _MAX_POSITIONS
        else w + b"\0" + u16[_MAX_POSITIONS] + b"".join(p[:_MAX_POSITIONS])
        for w, p in positions.items()
        if len(w) <= _MAX_LEXEME
    ]
    return len(lexemes).to_bytes(4, "big") + b"".join(lexemes)


def _text(value: Any) -> Any:
    """PostgreSQL text holds no NUL character: a scraped title with one keeps its place as U+FFFD
    (the raw record, stored packed, keeps the original)."""
    return value.replace("\x00", "\ufffd") if isinstance(value, str) and "\x00" in value else value


def _one(cursor: Any) -> Any:
    """The one row of an aggregate (always there)."""
    return cursor.fetchone()


def _unique_violation() -> type[Exception]:
    import psycopg

    return psycopg.errors.UniqueViolation


def _is_db_error(exc: Exception) -> bool:
    import psycopg

    return isinstance(exc, psycopg.Error) or type(exc).__name__ == "PoolTimeout"
