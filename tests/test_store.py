"""The SQLite store: schema and migrations, WAL, identity, keyset pages, FTS5, state, and bad files.

The tests that need only a store (the ``store``, ``big`` and ``news`` fixtures) run on PostgreSQL
too: tests/test_store_backends.py collects them again over both engines. Those left here alone
are SQLite's by nature: its file (WAL, pages, user_version, an empty or foreign or damaged file, a
folder), its migrations of schemas 1-11 and packing in place with VACUUM, its SQLite version, and
the counts its triggers keep (read through ``_conn``). Their database counterparts (another
program's database, a migration step that fails or keeps data, a damaged body) are there too."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import all_pages, older_store

from reader.records import Article
from reader.store import (
    SCHEMA_VERSION,
    AddResult,
    CorruptStoreError,
    NotADatabaseError,
    Query,
    Store,
    StoreError,
    StoreVersionError,
    fts_query,
)
from reader.store import sqlite as store_module

BASE = datetime(2018, 4, 1, tzinfo=UTC)


def art(n: int, **fields: object) -> Article:
    values: dict[str, object] = {
        "source": "wire",
        "title": f"Story number {n}",
        "url": f"https://wire.example/story/{n}",
        "published": BASE + timedelta(hours=n),
        "body": f"Paragraph one of story {n}.\nParagraph two.",
        "raw": f"['wire', '{n}', ...]\nParagraph one of story {n}.\n",
    }
    values.update(fields)
    return Article(**values)  # type: ignore[arg-type]


def ids(rows) -> list[int]:
    return [r.id for r in rows]


def query_file(db: Path, sql: str) -> list[Any]:
    """``sql``'s rows, read from the store file ``db`` on a connection of its own."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def user_version(db: Path) -> int:
    return query_file(db, "PRAGMA user_version")[0][0]


def columns(db: Path, table: str) -> set[str]:
    return {r[1] for r in query_file(db, f"PRAGMA table_info({table})")}


# --- schema ----------------------------------------------------------------------------------------


def test_new_store_has_the_current_schema_version_and_wal(store: Store, db: Path) -> None:
    # Every migration ran, and the store says so (the next start runs none again).
    assert user_version(db) == len(store_module.MIGRATIONS)
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA page_size").fetchone()[0] == store_module.PAGE_SIZE
    finally:
        conn.close()
    assert {"source", "title", "author", "description", "url", "image_url", "published", "body_z", "raw_z"} <= columns(
        db, "articles"
    )
    assert {"origin", "imported_at", "read", "starred"} <= columns(db, "articles")


def test_a_store_with_other_pages_keeps_them_and_works(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA page_size = 4096")
    conn.execute("CREATE TABLE t (x)")  # the page size is fixed from the first write
    conn.execute("DROP TABLE t")
    conn.close()
    with Store.open(db) as s:
        s.add_articles([art(n) for n in range(1, 4)])
    with Store.open(db) as s:
        assert s.count() == 3
        assert s._conn.execute("PRAGMA page_size").fetchone()[0] == 4096


def test_an_empty_file_becomes_a_store(db: Path) -> None:
    db.write_bytes(b"")
    with Store.open(db) as s:
        assert s.totals() == (0, 0, 0)
    assert user_version(db) == SCHEMA_VERSION


def schema(db: Path) -> list[Any]:
    """What makes the store's schema: its tables, indexes and triggers, and its FTS settings."""
    return query_file(db, "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name") + query_file(
        db, "SELECT k, v FROM articles_fts_config ORDER BY k"
    )


@pytest.mark.parametrize("version", range(1, len(store_module.MIGRATIONS)))
def test_a_store_of_every_older_version_migrates_to_the_schema_of_a_new_one(
    version: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = tmp_path / "new.sqlite"
    Store.open(new).close()
    old = tmp_path / f"version-{version}.sqlite"
    with older_store(old, version) as s:  # as the release that made stores of this version
        s.add_articles([art(1), art(2)])
        s.set_starred(1)
    assert user_version(old) == version
    assert Store.needs_upgrade(old)

    with Store.open(old) as s:
        assert [(r.title, r.starred) for r in s.page(Query(search="story")).rows] == [
            ("Story number 2", False),
            ("Story number 1", True),
        ]
        assert s.counts() == (s.totals(), s.sources()) == ((2, 2, 1), s.sources())  # (filled by migration 11)
    assert user_version(old) == user_version(new) == len(store_module.MIGRATIONS)
    assert schema(old) == schema(new)
    assert not Store.needs_upgrade(old)


def test_migration_from_an_older_version_keeps_data(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store.open(db) as s:
        s.add_articles([art(1)])
    monkeypatch.setattr(
        store_module,
        "MIGRATIONS",
        [
            *store_module.MIGRATIONS,
            ["ALTER TABLE articles ADD COLUMN lang TEXT", "CREATE INDEX by_lang ON articles(lang)"],
        ],
    )
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)

    with Store.open(db) as s:
        assert s.count() == 1
    assert user_version(db) == SCHEMA_VERSION + 1
    assert "lang" in columns(db, "articles")


def test_a_failing_migration_changes_nothing(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store.open(db) as s:
        s.add_articles([art(1)])
    monkeypatch.setattr(
        store_module,
        "MIGRATIONS",
        [*store_module.MIGRATIONS, ["ALTER TABLE articles ADD COLUMN lang TEXT", "THIS IS NOT SQL"]],
    )
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)

    with pytest.raises(StoreError, match=str(db)):
        Store.open(db)
    # One DDL transaction: the first statement was rolled back with the second.
    assert user_version(db) == SCHEMA_VERSION
    assert "lang" not in columns(db, "articles")
    monkeypatch.undo()
    with Store.open(db) as s:
        assert s.count() == 1


def fts_options(db: Path) -> str:
    return query_file(db, "SELECT sql FROM sqlite_master WHERE name = 'articles_fts'")[0][0]


def test_a_version_1_store_gets_its_text_packed_and_its_index_rebuilt_without_prefix_indexes(db: Path) -> None:
    raw = "['https://wire.example/1', 'Kaspersky report 1']\nBy Ann\nThe report says 42.\n"
    with older_store(db) as s:
        s.add_articles(
            [art(1, title="Kaspersky report 1", body="The report says 42.", raw=raw)]
            + [art(n, title=f"Kaspersky report {n}") for n in range(2, 4)]
            + [art(9, title="Weather", body_html="<p>Sunny</p>")]
        )
        s.set_starred(1)
    assert "prefix='2 3'" in fts_options(db)

    with Store.open(db) as s:
        # Rebuilt from the articles: every word and prefix is found, state is kept.
        assert len(s.page(Query(search="kas")).rows) == 3
        assert len(s.page(Query(search="kaspersky report 2 ")).rows) == 1
        assert [r.title for r in s.page(Query(search="weather")).rows] == ["Weather"]
        assert s.count(Query(view="starred")) == 1
        # The text comes back as it went in, from its packed form.
        first = s.get(1)
        assert first is not None and (first.body, first.raw) == ("The report says 42.", raw)
        weather = s.get(4)
        assert weather is not None and weather.body_html == "<p>Sunny</p>"
        # And kept up to date, as before.
        s.add_articles([art(10, title="Kaspersky again")])
        assert len(s.page(Query(search="kasp")).rows) == 4
        # FTS5's own check of the index against the articles (raises if they differ).
        s._conn.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)")
        packed = s._conn.execute("SELECT typeof(body_z), typeof(raw_z) FROM articles WHERE id = 1").fetchone()
    assert packed == ("blob", "blob")
    assert user_version(db) == SCHEMA_VERSION
    assert "prefix" not in fts_options(db)
    assert {"body", "raw", "body_html"}.isdisjoint(columns(db, "articles"))


def test_a_source_is_seed_records_and_with_feeds_too_its_feeds_articles(store: Store) -> None:
    feed = store.add_feed("https://wire.example/feed.xml", "Wire")
    store.add_articles(
        [art(1, source="Wire"), art(2, source="Wire", feed_id=feed.id, key="feed:1:a"), art(3, source="Other")]
    )
    # The window lists feeds apart from sources, and counts a source without them: so it lists it.
    assert [(s.source, s.total) for s in store.sources()] == [("Other", 1), ("Wire", 1)]
    assert [r.title for r in store.page(Query(source="Wire")).rows] == ["Story number 1"]
    assert store.count(Query(source="Wire")) == 1
    # A feed article's source is its feed's title: `reader list --source Wire` finds both.
    both = Query(source="Wire", feeds_too=True)
    assert sorted(r.title for r in store.page(both).rows) == ["Story number 1", "Story number 2"]
    assert [r.title for r in store.page(Query(feed_id=feed.id)).rows] == ["Story number 2"]


def test_two_openers_of_a_new_store_do_not_both_create_it(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The window and a command started together on a first run: the other one wins the race and
    # creates the store while this one waits for the write lock.
    real = Store.transaction
    raced: list[bool] = []

    def transaction(self: Store):  # type: ignore[no-untyped-def]
        if not raced:
            raced.append(True)
            with Store.open(db) as other:
                other.add_articles([art(1)])
        return real(self)

    monkeypatch.setattr(Store, "transaction", transaction)
    with Store.open(db) as s:
        assert raced and s.count() == 1
    assert user_version(db) == SCHEMA_VERSION


def test_a_newer_version_that_migrated_while_we_waited_is_refused(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with older_store(db):
        pass
    real = Store.transaction
    raced: list[bool] = []

    def transaction(self: Store):  # type: ignore[no-untyped-def]
        if not raced:  # a newer Reader upgrades it while this one waits for the write lock
            raced.append(True)
            conn = sqlite3.connect(db)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
            conn.commit()
            conn.close()
        return real(self)

    monkeypatch.setattr(Store, "transaction", transaction)
    with pytest.raises(StoreVersionError, match="newer"):
        Store.open(db)
    assert user_version(db) == SCHEMA_VERSION + 1


def test_a_store_from_a_newer_version_is_refused(db: Path) -> None:
    with Store.open(db) as s:
        s.add_articles([art(1)])
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = db.read_bytes()

    with pytest.raises(StoreVersionError, match="newer") as info:
        Store.open(db)

    assert str(db) in str(info.value)
    assert db.read_bytes() == before
    assert user_version(db) == SCHEMA_VERSION + 1


# --- identity and re-import ------------------------------------------------------------------------


def test_reimport_changes_nothing_and_keeps_read_and_star(store: Store) -> None:
    articles = [art(n) for n in range(20)]
    assert store.add_articles(articles) == AddResult(added=20)
    first = ids(store.page(limit=100).rows)
    store.set_read(first[:5])
    store.set_starred(first[7])
    before = [store.get(i) for i in first]

    assert store.add_articles(articles) == AddResult(unchanged=20)
    assert store.add_articles(articles, update=True) == AddResult(unchanged=20)

    assert ids(store.page(limit=100).rows) == first
    assert [store.get(i) for i in first] == before
    assert store.totals() == (20, 15, 1)


def test_update_changes_content_but_keeps_read_and_star(store: Store) -> None:
    store.add_articles([art(1)])
    (row,) = store.page().rows
    store.set_read([row.id])
    store.set_starred(row.id)

    changed = art(1, body="A corrected body.", title="Corrected title")
    assert store.add_articles([changed]) == AddResult(unchanged=1)  # without update: first one wins
    assert store.add_articles([changed], update=True) == AddResult(updated=1)

    got = store.get(row.id)
    assert got is not None
    assert (got.title, got.body, got.read, got.starred) == ("Corrected title", "A corrected body.", True, True)
    assert store.page(Query(search="corrected")).rows[0].id == row.id
    assert store.page(Query(search="Paragraph")).rows == []


def test_same_canonical_url_is_one_article(store: Store) -> None:
    variants = [
        "https://Example.org/news/story-1",
        "http://example.org/news/story-1/",
        "https://example.org:443/news/story-1?utm_source=twitter&utm_medium=social",
        "https://example.org/news/story-1#comments",
        "  https://example.org/news/story-1?fbclid=abc  ",
    ]
    result = store.add_articles([art(n, url=u, title=f"Variant {n}") for n, u in enumerate(variants)])
    assert result == AddResult(added=1, unchanged=4)
    assert store.add_articles([art(9, url="https://example.org/news/story-2")]).added == 1
    assert store.add_articles([art(10, url="https://example.org/news/story-1?page=2")]).added == 1
    assert store.count() == 3


def test_records_without_url_are_one_per_source_title_and_date(store: Store) -> None:
    day = datetime(2018, 4, 20, 22, 49, 8, tzinfo=UTC)
    same = Article(source="bbc", title="No link", published=day, body="one")
    assert store.add_articles([same, Article(source="bbc", title="No link", published=day, body="two")]) == AddResult(
        added=1, unchanged=1
    )
    others = [
        Article(source="bbc", title="No link", published=day + timedelta(days=1)),
        Article(source="cnn", title="No link", published=day),
        Article(source="bbc", title="Another title", published=day),
        Article(source="bbc", title="No link", published=None),
    ]
    assert store.add_articles(others).added == 4
    assert store.add_articles([Article(source="bbc", title="No link", published=None)]).unchanged == 1
    assert store.count() == 5


# --- listing and keyset pages ----------------------------------------------------------------------


@pytest.fixture
def big(store: Store) -> Store:
    """250 dated articles in three sources, with ties (three per timestamp), and 12 undated ones."""
    articles = [
        art(
            n,
            source=("alpha", "beta", "gamma")[n % 3],
            published=BASE + timedelta(hours=n // 3),
            body=f"Body {n} about {'kaspersky' if n % 4 == 0 else 'weather'}." + " filler" * (n % 7),
        )
        for n in range(250)
    ]
    undated = [art(1000 + n, published=None, source="alpha", body="Undated kaspersky note.") for n in range(12)]
    random.Random(7).shuffle(articles)
    store.add_articles(articles[:100])
    store.add_articles(undated)
    store.add_articles(articles[100:])
    rows = store.page(limit=1000).rows
    store.set_read([r.id for r in rows[::2]])
    for r in rows[::5]:
        store.set_starred(r.id)
    return store


QUERIES = [
    Query(),
    Query(view="unread"),
    Query(view="starred"),
    Query(source="beta"),
    Query(source="alpha", view="unread"),
    Query(search="kasp"),
    Query(search="kaspersky", order="relevance"),
    Query(search="weather filler", order="relevance", view="unread"),
]


@pytest.mark.parametrize("query", QUERIES, ids=repr)
@pytest.mark.parametrize("limit", [1, 7, 50])
def test_keyset_pages_equal_one_big_query(big: Store, query: Query, limit: int) -> None:
    everything = ids(big.page(query, limit=10_000).rows)
    assert everything, "the query must list something for this test to mean anything"
    assert all_pages(big, query, limit) == everything
    assert big.count(query) == len(everything)


def test_newest_first_with_unknown_dates_last(big: Store) -> None:
    rows = big.page(limit=10_000).rows
    dated = [r for r in rows if r.published is not None]
    undated = [r for r in rows if r.published is None]
    assert len(undated) == 12
    assert rows == dated + undated
    keys = [(r.published, r.id) for r in dated]
    assert keys == sorted(keys, reverse=True)
    assert ids(undated) == sorted(ids(undated), reverse=True)
    assert all(r.published.tzinfo is not None for r in dated)  # type: ignore[union-attr]


def test_no_duplicates_or_gaps_while_rows_arrive_between_pages(big: Store) -> None:
    original = set(ids(big.page(limit=10_000).rows))
    seen: list[int] = []
    after = None
    n = 5000
    while True:
        page = big.page(Query(), after, 9)
        seen += ids(page.rows)
        if page.next_cursor is None:
            break
        after = page.next_cursor
        tie = page.rows[-1].published
        # Newer than everything, the same moment as the page's last row, and older than everything.
        big.add_articles(
            [
                art(n, published=BASE + timedelta(days=365)),
                art(n + 1, published=tie),
                art(n + 2, published=BASE - timedelta(days=365)),
                art(n + 3, published=None),
            ]
        )
        n += 4
    assert len(seen) == len(set(seen)), "an article was listed twice"
    assert original <= set(seen), "an article that was there all along was skipped"


# --- search ----------------------------------------------------------------------------------------


@pytest.fixture
def news(store: Store) -> Store:
    store.add_articles(
        [
            art(1, title="Slovak prime minister Igor Matovič resigns", body="Bratislava politics."),
            art(2, title="Twitter bans ads from Kaspersky Lab", body="Kaspersky says it is not to blame."),
            art(3, title="Café culture returns to Orléans", body="The café reopened."),
            art(4, title="Weather", body="Rain, then sun."),
        ]
    )
    return store


def titles(store: Store, text: str, order: str = "newest") -> list[str | None]:
    return [r.title for r in store.page(Query(search=text, order=order), limit=100).rows]  # type: ignore[arg-type]


@pytest.mark.parametrize("typed", ["Matovic", "matovič", "MATOVIC", "Matov"])
def test_search_folds_diacritics(news: Store, typed: str) -> None:
    assert titles(news, typed) == ["Slovak prime minister Igor Matovič resigns"]


def test_search_folds_diacritics_in_bodies_too(news: Store) -> None:
    assert titles(news, "orleans cafe") == ["Café culture returns to Orléans"]


@pytest.mark.parametrize("typed", ["kasp", "Kasp", "kaspersky", "twitter kasp", "lab kaspe"])
def test_search_as_you_type_matches_prefixes(news: Store, typed: str) -> None:
    assert titles(news, typed) == ["Twitter bans ads from Kaspersky Lab"]


@pytest.mark.parametrize("typed", ["AI", "ai", "ai "])
def test_a_last_word_of_two_letters_is_a_whole_word(store: Store, typed: str) -> None:
    store.add_articles([art(1, title="AI rules agreed"), art(2, title="Air fares rise"), art(3, title="Aid arrives")])
    assert titles(store, typed) == ["AI rules agreed"]


def test_from_three_letters_the_last_word_is_a_prefix(store: Store) -> None:
    store.add_articles([art(1, title="AI rules agreed"), art(2, title="Air fares rise"), art(3, title="Aid arrives")])
    assert titles(store, "air") == ["Air fares rise"]
    assert titles(store, "rul") == ["AI rules agreed"]
    assert fts_query("ai") == '"ai"'
    assert fts_query("a") == '"a"'
    assert fts_query("air") == '"air"*'
    assert fts_query("air ") == '"air"'


def test_every_typed_word_must_match(news: Store) -> None:
    assert titles(news, "kaspersky weather") == []


@pytest.mark.parametrize(
    "typed",
    [
        '"',
        '""',
        "'",
        "AND",
        "OR",
        "NOT",
        "kasp AND",
        "OR kasp",
        "NOT kasp",
        "NEAR(kasp twitter)",
        "title:kasp",
        "{title author}: kasp",
        "*",
        "kasp*",
        "-kasp",
        "^kasp",
        "(kasp",
        "kasp)",
        '"unterminated kasp',
        'kaspersky"',
        "\\",
        "%_",
        "kasp\x00",
        "   ",
        "",
        "a" * 2000,
    ],
)
def test_operators_and_quotes_in_typed_text_do_not_raise(news: Store, typed: str) -> None:
    for order in ("newest", "relevance"):
        query = Query(search=typed, order=order)  # type: ignore[arg-type]
        rows = news.page(query, limit=10).rows
        assert news.count(query) == len(rows)


@pytest.mark.parametrize(
    "typed", ["kasp*", "-kasp", "^kasp", "(kasp", "kasp)", '"kasp', 'kaspersky"', "kasp\x00", "kasp:"]
)
def test_punctuation_around_a_word_is_not_syntax(news: Store, typed: str) -> None:
    assert titles(news, typed) == ["Twitter bans ads from Kaspersky Lab"]


def test_operator_words_are_plain_words(news: Store) -> None:
    # "OR" is a word to find, not an operator: nothing holds both "or" and "weather".
    assert titles(news, "kaspersky OR weather") == []
    assert titles(news, "kaspersky NOT blame") == ["Twitter bans ads from Kaspersky Lab"]
    assert titles(news, "kaspersky AND weather") == []


def test_relevance_ranks_the_better_match_first(store: Store) -> None:
    store.add_articles(
        [
            art(1, title="Zebra crossing: zebra count doubles", body="Zebra zebra zebra.", published=BASE),
            art(
                2, title="City council news", body="Minutes. " * 50 + "A zebra was seen.", published=BASE + timedelta(2)
            ),
            art(3, title="Unrelated", body="Nothing here.", published=BASE + timedelta(3)),
        ]
    )
    assert titles(store, "zebra", "relevance") == ["Zebra crossing: zebra count doubles", "City council news"]
    assert titles(store, "zebra", "newest") == ["City council news", "Zebra crossing: zebra count doubles"]


# --- views, sources, read state -------------------------------------------------------------------


def test_views_and_source_filter(store: Store) -> None:
    store.add_articles([art(n, source="alpha" if n < 6 else "beta") for n in range(10)])
    rows = store.page(limit=100).rows
    by_title = {r.title: r.id for r in rows}
    store.set_read([by_title["Story number 1"], by_title["Story number 7"]])
    store.set_starred(by_title["Story number 2"])
    store.set_starred(by_title["Story number 8"])
    store.set_starred(by_title["Story number 8"], False)

    def listed(query: Query) -> set[str | None]:
        return {r.title for r in store.page(query, limit=100).rows}

    assert len(listed(Query(view="unread"))) == 8
    assert "Story number 1" not in listed(Query(view="unread"))
    assert listed(Query(view="starred")) == {"Story number 2"}
    assert listed(Query(source="beta")) == {f"Story number {n}" for n in range(6, 10)}
    assert listed(Query(source="beta", view="unread")) == {"Story number 6", "Story number 8", "Story number 9"}
    assert store.totals() == (10, 8, 1)
    assert [(s.source, s.total, s.unread) for s in store.sources()] == [("alpha", 6, 5), ("beta", 4, 3)]
    assert store.set_read([by_title["Story number 1"]], False) == 1
    assert store.totals() == (10, 9, 1)


def test_mark_all_read_respects_the_query(news: Store) -> None:
    news.add_articles([art(10, source="other", title="Kaspersky elsewhere", body="Other source.")])
    assert news.mark_all_read(Query(search="kasp", source="wire")) == 1
    unread = {r.title for r in news.page(Query(view="unread")).rows}
    assert "Twitter bans ads from Kaspersky Lab" not in unread
    assert "Kaspersky elsewhere" in unread
    assert len(unread) == 4
    assert news.mark_all_read(Query(search="kasp")) == 1
    assert news.mark_all_read(Query(search="kasp")) == 0
    assert news.totals()[1] == 3
    assert news.mark_all_read(Query(search='"')) == 0  # no words: lists nothing, marks nothing
    assert news.mark_all_read() == 3
    assert news.totals()[1] == 0


def test_get_returns_the_whole_article(store: Store) -> None:
    a = art(
        1,
        author="Sarah Gray",
        description=None,
        image_url="https://img.example/1.jpg",
        raw="['wire', '1']\r\nBy Sarah Gray\r\nText\r\n",
        origin="/seeds/1.txt",
    )
    store.add_articles([a])
    (row,) = store.page().rows
    got = store.get(row.id)
    assert got is not None
    for name in ("source", "title", "author", "description", "url", "image_url", "published", "body", "raw", "origin"):
        assert getattr(got, name) == getattr(a, name), name
    assert got.imported_at is not None and got.imported_at.tzinfo is not None
    assert store.get(row.id + 1000) is None


# --- files that are not stores ---------------------------------------------------------------------


def test_a_file_that_is_not_a_database_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    content = b"My shopping list\n- eggs\n- milk\n" * 200
    path.write_bytes(content)

    with pytest.raises(NotADatabaseError) as info:
        Store.open(path)

    assert str(path) in str(info.value)
    assert "not" in str(info.value)
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "notes.sqlite"]


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="folder"):
        Store.open(tmp_path)


@pytest.fixture(scope="module")
def corrupt_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real store of 3,000 articles with its middle third overwritten by garbage (page 1 intact)."""
    db = tmp_path_factory.mktemp("corrupt") / "store.sqlite"
    with Store.open(db) as s:
        for start in range(0, 3000, 500):
            s.add_articles(
                [
                    art(n, body=f"Kaspersky story {n}. " + "Lorem ipsum dolor sit amet. " * 40)
                    for n in range(start, start + 500)
                ]
            )
    data = bytearray(db.read_bytes())
    assert len(data) > 1_000_000
    assert not (db.parent / "store.sqlite-wal").exists() or (db.parent / "store.sqlite-wal").stat().st_size == 0
    garbage = random.Random(1).randbytes(len(data) // 3)
    start = len(data) // 3
    data[start : start + len(garbage)] = garbage
    return bytes(data)


READS = {
    "count": lambda s: s.count(),
    "page": lambda s: s.page(limit=100_000),
    "get every article": lambda s: [s.get(i) for i in range(1, 3001)],
    "search": lambda s: s.page(Query(search="kaspersky"), limit=100_000),
    "ranked search": lambda s: s.page(Query(search="lorem", order="relevance"), limit=100_000),
    "sources": lambda s: s.sources(),
}


def test_a_corrupt_store_gives_a_clear_error_and_is_not_overwritten(db: Path, corrupt_bytes: bytes) -> None:
    db.write_bytes(corrupt_bytes)
    errors: dict[str, StoreError] = {}
    for name, read in READS.items():
        try:
            with Store.open(db) as s:
                read(s)
        except StoreError as exc:  # anything else (sqlite3.Error, ValueError) fails the test
            errors[name] = exc

    assert {"count", "page", "search"} <= errors.keys()
    for exc in errors.values():
        assert isinstance(exc, CorruptStoreError), exc
        message = str(exc)
        assert message.startswith(f"{db}: the store is damaged"), message
        assert len(message) < 300
        assert "Traceback" not in message
    assert db.read_bytes() == corrupt_bytes


def test_writes_to_a_corrupt_store_raise_store_errors_and_change_nothing(db: Path, corrupt_bytes: bytes) -> None:
    db.write_bytes(corrupt_bytes)
    with Store.open(db) as s:
        with pytest.raises(CorruptStoreError, match="damaged"):
            s.add_articles([art(n) for n in range(5000, 5100)])
        with pytest.raises(CorruptStoreError, match="damaged"):
            s.mark_all_read()
    assert db.read_bytes() == corrupt_bytes


def test_untitled_or_undated_records_without_url_are_told_apart_by_their_text(store: Store) -> None:
    first = Article(source="wire", title=None, published=None, body="Storm hits the coast.")
    second = Article(source="wire", title=None, published=None, body="Markets close higher.")
    assert store.add_articles([first, second]).added == 2, "two different undated, untitled records"
    assert store.add_articles([first]).unchanged == 1, "the same one again is still the same article"


# --- packed text -----------------------------------------------------------------------------------


def test_an_older_store_is_packed_in_place_and_gives_its_free_pages_back(db: Path) -> None:
    rng = random.Random(4)
    words = [f"w{n}" for n in range(3000)]
    articles = [
        art(n, body="\n".join(" ".join(rng.choice(words) for _ in range(80)) for _ in range(8))) for n in range(400)
    ]
    with older_store(db, 3) as s:
        s.add_articles([art(n, raw=f"['wire', '{n}']\n{a.body}\n", body=a.body) for n, a in enumerate(articles)])
    before = db.stat().st_size
    with Store.open(db) as s:
        assert s.count() == 400
        kept = s.get(11)  # (ids from 1)
        assert kept is not None and kept.raw == f"['wire', '10']\n{articles[10].body}\n"
    # Packed, then vacuumed: without the VACUUM the file would keep its old pages (as free ones).
    assert db.stat().st_size < before / 2


def damage_body(db: Path, article_id: int) -> None:
    conn = sqlite3.connect(db)
    conn.execute("UPDATE articles SET body_z = x'01deadbeef' WHERE id = ?", (article_id,))
    conn.commit()
    conn.close()


def test_a_damaged_body_stops_neither_a_refresh_nor_a_removal(db: Path, caplog: pytest.LogCaptureFixture) -> None:
    with Store.open(db) as s:
        feed = s.add_feed("https://wire.example/feed")
        s.add_articles([art(n, feed_id=feed.id) for n in range(1, 4)])
    damage_body(db, 2)
    with Store.open(db) as s:
        # The same articles again, and one changed: the damaged one is not even unpacked when it
        # does not change; changed, it is stored anew.
        again = s.add_articles([art(1, feed_id=feed.id), art(3, feed_id=feed.id, title="New title")], update=True)
        assert (again.updated, again.unchanged) == (1, 1)
        fixed = s.add_articles([art(2, feed_id=feed.id, body="Written again.")], update=True)
        assert fixed.updated == 1 and "its words stay in the search index" in caplog.text
        article = s.get(2)
        assert article is not None and article.body == "Written again."
        assert [r.id for r in s.page(Query(search="written again")).rows] == [2]
        damage_body(db, 1)
        assert s.remove_feed(feed.id)
        assert s.count() == 0 and s.feeds() == []
    with Store.open(db) as s:
        s.add_articles([art(9)])
        (new_id,) = [r.id for r in s.page(Query()).rows]
        damage_body(db, new_id)
        with pytest.raises(CorruptStoreError, match=f"article {new_id}: damaged packed text"):
            s.get(new_id)  # reading a damaged article says which, and why


def test_a_sqlite_too_old_for_the_store_is_one_clear_error(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 34, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.34.1")
    with pytest.raises(StoreError, match=r"SQLite 3\.34\.1 is too old for Reader \(3\.35\.0 or newer"):
        Store.open(db)
    assert not db.exists() or user_version(db) == 0


def test_mark_all_read_ids_are_the_articles_it_changed(news: Store) -> None:
    """What an undo of Shift+A sets unread again: the articles it changed, not those read before."""
    read_before = news.page(Query()).rows[0].id
    news.set_read([read_before], True)
    unread = {r.id for r in news.iter_rows(Query(view="unread"))}
    assert set(news.mark_all_read_ids()) == unread
    assert read_before not in unread
    assert news.mark_all_read_ids() == []
    assert news.mark_all_read_ids(Query(search='"')) == []


def test_a_snippet_keeps_a_heading_apart_from_the_paragraph_after_it(store: Store) -> None:
    """A heading line has no full stop: joined with a space it ran into the next sentence."""
    from reader.records import Query, snippet_of

    assert snippet_of(None, "The quay.\nWhat happened\nCrews worked.") == "The quay. What happened — Crews worked."
    assert snippet_of(None, "Heading\n\nPara\n") == "Heading — Para", "between lines only, blank ones aside"
    assert snippet_of(None, "One: \nTwo.") == "One: Two.", "a line with an ending of its own needs none"
    store.add_articles([Article(source="s", title="t", body="The quay.\nWhat happened\nCrews worked.\nMore.")])
    (row,) = store.page(Query(), None, 10).rows
    assert row.snippet == "The quay. What happened — Crews worked."


def test_counts_in_one_pass_are_the_totals_and_the_sources(store: Store) -> None:
    """Store.counts (the window's start counts with it) agrees with totals() and sources()."""
    assert store.counts() == ((0, 0, 0), [])
    sources = ["Wire", None, "", "beta", "Ärger", "alpha", "Wire"]
    store.add_articles([art(n, source=sources[n % len(sources)]) for n in range(30)])
    feed = store.add_feed("https://feed.example/rss")
    store.add_articles([art(100 + n, source="Wire", feed_id=feed.id, key=f"feed:{feed.id}:{n}") for n in range(5)])
    rows = store.page(limit=100).rows
    store.set_read([r.id for r in rows[::3]])
    for r in rows[::4]:
        store.set_starred(r.id)
    totals, by_source = store.counts()
    assert totals == store.totals() and totals[0] == 35 and 0 < totals[1] < 35 and totals[2] > 0
    assert by_source == store.sources()
    assert [s.source for s in by_source][-1] is None  # (and in sources()' order)
    # Kept by triggers (migration 11) through every change: unread again, unstarred, an article
    # imported again with another source, a feed removed (its articles' feed_id set NULL).
    store.set_read([r.id for r in rows[::6]], False)
    store.set_starred(rows[0].id, False)
    store.add_articles([art(1, source="moved"), art(2, source=None)])
    assert store.counts() == (store.totals(), store.sources())
    counted = store._conn.execute("SELECT count(*), total(read = 0) FROM articles WHERE feed_id = ?", (feed.id,))
    assert [(f.total, f.unread) for f in store.feeds()] == [tuple(map(int, counted.fetchone()))]
    assert store.get_feed(feed.id) == store.feeds()[0] and store.feeds()[0].total == 5
    store.remove_feed(feed.id)
    assert store.counts() == (store.totals(), store.sources())
    with pytest.raises(RuntimeError), store.transaction() as conn:  # (rolled back: counted out again)
        conn.execute("UPDATE articles SET read = 1")
        assert store.counts()[0][1] == 0
        raise RuntimeError("roll back")
    assert store.counts() == (store.totals(), store.sources()) and store.counts()[0][1] > 0
    store.mark_all_read(Query(source="beta"))
    assert store.counts() == (store.totals(), store.sources())


def counted_directly(store: Store) -> tuple[tuple[int, int, int], list[tuple[Any, ...]], list[tuple[int, int, int]]]:
    """The totals (the hidden left out), the sources and the feeds' counts, counted from the articles."""
    conn = store._conn
    totals = conn.execute("SELECT count(*), total(read = 0), total(starred = 1) FROM articles WHERE hidden = 0")
    sources = conn.execute(
        "SELECT source, count(*), total(read = 0) FROM articles WHERE feed_id IS NULL "
        "GROUP BY source ORDER BY source IS NULL, lower(source)"
    )
    feeds = conn.execute(
        "SELECT f.id, count(a.id), total(a.read = 0) FROM feeds f LEFT JOIN articles a ON a.feed_id = f.id "
        "GROUP BY f.id ORDER BY f.id"
    )
    return (
        tuple(int(n) for n in totals.fetchone()),  # type: ignore[return-value]
        [(s, int(n), int(u)) for s, n, u in sources.fetchall()],
        [(int(i), int(n), int(u)) for i, n, u in feeds.fetchall()],
    )


def test_counts_read_only_the_counts_the_triggers_keep_through_cleanup_rules_full_articles_and_removals(
    store: Store,
) -> None:
    """Store.counts reads article_counts, never the articles (hidden ones included), and the
    triggers keep it equal to counting the articles through every way an article changes or goes:
    rules that hide, read, star and label, a full article kept, a cleanup (tombstones), a feed's
    and a sync account's removal (starred articles kept)."""
    read_tables: set[str] = set()

    def note(action: int, table: str | None, *_: object) -> int:
        if action == sqlite3.SQLITE_READ and table:
            read_tables.add(table)
        return sqlite3.SQLITE_OK

    def counts() -> tuple[tuple[int, int, int], list[tuple[Any, ...]], list[tuple[int, int, int]]]:
        read_tables.clear()
        store._conn.set_authorizer(note)
        try:
            totals, by_source = store.counts()
        finally:
            store._conn.set_authorizer(None)
        assert read_tables == {"article_counts"}
        assert (totals, by_source) == (store.totals(), store.sources())
        feeds = sorted((f.id, f.total, f.unread) for f in store.feeds())
        return totals, [tuple(s) for s in by_source], feeds

    old = datetime.now(UTC) - timedelta(days=400)
    feed = store.add_feed("https://feed.example/rss")
    other = store.add_feed("https://other.example/rss")
    store.add_articles(
        [art(n, source="Desk", published=old, title=f"ferry {n}" if n % 2 else f"storm {n}") for n in range(10)]
        + [art(20 + n, source=None, published=old, title=f"football {n}") for n in range(4)]
        + [
            art(40 + n, feed_id=feed.id, key=f"feed:{feed.id}:{n}", published=old, title=f"ferry f{n}")
            for n in range(6)
        ]
        + [art(60 + n, feed_id=other.id, key=f"feed:{other.id}:{n}", title=f"football o{n}") for n in range(3)]
    )
    assert counts() == counted_directly(store)
    store.add_rule("no sport", "football", "hide")
    store.add_rule("ferries", "ferry", "star")
    store.add_rule("storms", "storm", "read")
    store.add_rule("weather", "storm", "label:Weather")
    assert store.apply_rules() == {"no sport": 7, "ferries": 11, "storms": 5, "weather": 5}
    assert store.hidden_count() == 7 and store.totals()[0] == 23 - 7
    assert counts() == counted_directly(store)
    hidden = next(store.iter_rows(Query(view="hidden")))
    store.set_read([hidden.id], False)  # (a hidden article unread again: still out of the totals)
    assert counts() == counted_directly(store)
    store.add_articles([art(80, source="Desk", title="football late")])  # (a rule hides it as it is stored)
    assert store.hidden_count() == 8 and counts() == counted_directly(store)
    row = next(r for r in store.iter_rows(Query(feed_id=feed.id)))
    assert store.set_full_content(row.id, "<p>quay text</p>", "quay text", "")
    assert store.set_full_content(row.id, None, None, "timed out")
    assert counts() == counted_directly(store)
    store.set_read([r.id for r in store.iter_rows()])  # (every listed one: the hidden stay as they were)
    with store.transaction() as conn:  # (as if stored when published: cleanup dates by the later)
        conn.execute("UPDATE articles SET imported_at = coalesce(published, imported_at)")
    cleaned = store.cleanup(datetime.now(UTC) - timedelta(days=30))
    assert cleaned.removed > 0 and cleaned.starred_kept > 0
    assert counts() == counted_directly(store)
    cleaned = store.cleanup(datetime.now(UTC) + timedelta(days=1), starred_too=True, unread_too=True)
    assert counts() == counted_directly(store) == ((0, 0, 0), [], [(feed.id, 0, 0), (other.id, 0, 0)])
    # A feed's and an account's removal: their starred articles stay, as local ones.
    store.add_articles(
        [art(100 + n, feed_id=other.id, key=f"feed:{other.id}:x{n}", title=f"ferry x{n}") for n in range(4)]
    )
    account = store.add_account("alice@host", "http://127.0.0.1/api/greader.php", "alice")
    store.sync_subscriptions(account.id, [("feed/1", "Remote feed", "http://f/feed.xml", None, "News")])
    remote = store.remote_feeds(account.id)["feed/1"]
    items = [
        (
            rid,
            art(200 + int(rid), source="Remote feed", key=f"greader:alice@host:{rid}", feed_id=remote.id),
            False,
            rid == "2",
        )
        for rid in "1234"
    ]
    assert store.add_remote_articles(account.id, items) == 4
    assert counts() == counted_directly(store)
    store.remove_feed(other.id)
    assert counts() == counted_directly(store)
    assert store.remove_account(account.id)[1] == 1
    assert counts() == counted_directly(store)
    assert counts()[0] == (store.count(Query()), store.count(Query(view="unread")), store.count(Query(view="starred")))
