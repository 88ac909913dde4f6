"""The store's behaviour on both engines: tests/test_store.py's and tests/test_sync_store.py's store
tests run here again on SQLite and on a real PostgreSQL (tests/postgres.py), then what only a shared store has: read and
star state per person, and its own refusals (a newer schema, a server that is down, a refused
login, a missing database), each one line."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from postgres import PASSWORD_ROLE, free_port

# The store tests that need nothing but a store: collected here again, over this module's store.
from test_store import (  # noqa: F401
    big,
    news,
    test_a_last_word_of_two_letters_is_a_whole_word,
    test_a_snippet_keeps_a_heading_apart_from_the_paragraph_after_it,
    test_a_source_is_seed_records_and_with_feeds_too_its_feeds_articles,
    test_every_typed_word_must_match,
    test_from_three_letters_the_last_word_is_a_prefix,
    test_get_returns_the_whole_article,
    test_keyset_pages_equal_one_big_query,
    test_mark_all_read_ids_are_the_articles_it_changed,
    test_mark_all_read_respects_the_query,
    test_newest_first_with_unknown_dates_last,
    test_no_duplicates_or_gaps_while_rows_arrive_between_pages,
    test_operator_words_are_plain_words,
    test_operators_and_quotes_in_typed_text_do_not_raise,
    test_punctuation_around_a_word_is_not_syntax,
    test_records_without_url_are_one_per_source_title_and_date,
    test_reimport_changes_nothing_and_keeps_read_and_star,
    test_relevance_ranks_the_better_match_first,
    test_same_canonical_url_is_one_article,
    test_search_as_you_type_matches_prefixes,
    test_search_folds_diacritics,
    test_search_folds_diacritics_in_bodies_too,
    test_untitled_or_undated_records_without_url_are_told_apart_by_their_text,
    test_update_changes_content_but_keeps_read_and_star,
    test_views_and_source_filter,
)
from test_sync_store import (  # noqa: F401
    synced,
    test_a_change_undone_before_a_sync_leaves_only_the_newest_in_the_queue,
    test_a_feed_gone_from_the_server_goes_with_its_unstarred_articles,
    test_a_flag_change_on_an_account_article_is_queued_and_a_local_one_is_not,
    test_an_account_feed_is_not_refreshed_by_us,
    test_an_item_stored_twice_is_one_article,
    test_folders_and_accounts_filter_lists,
    test_mark_all_read_queues_the_account_articles_it_changed,
    test_removing_an_account_keeps_only_its_starred_articles_and_the_index_agrees,
    test_the_queue_is_written_in_the_flags_transaction,
    test_the_server_state_never_overwrites_a_change_still_queued,
)
from test_ui_tray import (  # noqa: F401
    test_arrivals_are_counted_when_removed_articles_ids_are_given_again,
    test_arrivals_counts_unread_feed_articles_stored_after_an_arrival,
)

from reader.records import Article, Query
from reader.store import CorruptStoreError, NotADatabaseError, StoreError, StoreVersionError
from reader.store.postgres import SCHEMA_VERSION
from reader.store.protocol import StoreProtocol, open_store


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """An empty store of each engine: a new file, or a new database on the tests' server."""
    target = tmp_path / "reader.sqlite" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    with open_store(target) as s:
        yield s


def test_each_engine_is_a_store_of_the_protocol(store: Any) -> None:
    assert isinstance(store, StoreProtocol)


# --- what only a shared store has ------------------------------------------------------------------


def seeds(n: int) -> list[Article]:
    return [
        Article(source="wire", title=f"Story {i}", url=f"https://wire.example/{i}", body=f"Body {i}.") for i in range(n)
    ]


#: Texts SQLite's unicode61 splits otherwise than PostgreSQL's own parser did (URLs, hosts, e-mail
#: addresses, hyphens, underscores, apostrophes, letters beyond ASCII), and searches in them.
SPLIT_TEXTS = [
    ("Read it at https://news.example.org/world/state-of-the-art_report?id=42", "A URL"),
    ("Write to desk.editor@wire.example or call 555-0199", "An address"),
    ("O'Brien's snake_case_name and e-mail", "Punctuated words"),
    ("Ærøskøbing’s naïve café — «Zürich» straße ĲSSELMEER", "Letters beyond ASCII"),
]
SPLIT_SEARCHES = {
    "news": ["A URL"],
    "example": ["A URL", "An address"],
    "org world": ["A URL"],
    "state of the art": ["A URL"],
    "art_report": ["A URL"],
    "art report": ["A URL"],
    "art_rep": ["A URL"],
    "42": ["A URL"],
    "editor wire": ["An address"],
    "0199": ["An address"],
    "brien": ["Punctuated words"],
    "snake_case": ["Punctuated words"],
    "case_snake": [],
    "e mail": ["Punctuated words"],
    "mail": ["Punctuated words"],
    "aeroskobing": [],
    "rosk": [],
    "naive cafe": ["Letters beyond ASCII"],
    "zurich": ["Letters beyond ASCII"],
    "Straße": ["Letters beyond ASCII"],
    "ĳsselmeer": ["Letters beyond ASCII"],
    "the": ["A URL"],
}


@pytest.mark.parametrize("typed", list(SPLIT_SEARCHES))
def test_words_are_split_and_folded_as_sqlite_splits_them_on_both_engines(store: Any, typed: str) -> None:
    """The search index has the words SQLite's unicode61 finds: parts of URLs, addresses, hyphenated
    and underscored words are words; a word of letters beyond ASCII is folded as unicode61 folds it."""
    store.add_articles(
        [
            Article(
                source="wire",
                title=title,
                url=f"https://wire.example/{i}",
                body=text,
                published=datetime(2020, 1, 1 + i, tzinfo=UTC),
            )
            for i, (text, title) in enumerate(SPLIT_TEXTS)
        ]
    )
    found = [r.title for r in store.page(Query(search=typed), limit=100).rows]
    assert sorted(found) == SPLIT_SEARCHES[typed]


def test_the_vectors_copied_in_binary_are_the_vectors_of_their_text(postgres_url: str) -> None:
    """New articles are COPYed with their vectors in binary (article_vector_binary), updated ones
    through the staging table: the server holds exactly the vector the text form (article_vector)
    gives, at the limits too (a lexeme past 2047 bytes, a word past 256 positions, positions past
    16383, a text of words beyond ASCII, fields left empty)."""
    from reader.store.postgres import article_vector
    from reader.store.sqlite import prepare_articles

    long_body = " ".join(f"w{i % 5000} the" for i in range(9000))  # (18,000 words: past 16383)
    texts = [(t, None, None, None) for t, _ in SPLIT_TEXTS] + [
        ("Title words", "By An Author", "A description", "The body, the body again. " * 40),
        (None, "Only an author", None, None),
        (None, None, None, "x" * 2100 + " short " + "y" * 2047),
        ("the title the", None, "the " * 300, long_body),
        (None, None, None, None),
    ]
    articles = [
        Article(source="wire", title=t, author=a, description=d, body=b or "", url=f"https://wire.example/v{i}")
        for i, (t, a, d, b) in enumerate(texts)
    ]

    def differing(store: Any, articles: list[Article]) -> list[str]:
        rows = prepare_articles(articles).rows
        with store.transaction() as conn:
            return [
                row[0]
                for row in rows
                if _one_of(
                    conn.execute(
                        "SELECT tsv = %s::tsvector FROM articles WHERE key = %s", (article_vector(row[-1]), row[0])
                    )
                )
                is not True
            ]

    with open_store(postgres_url) as store:
        assert store.add_articles(articles).added == len(articles)
        assert differing(store, articles) == []
        changed = [a._replace(body=a.body + " and more", title=(a.title or "") + " again") for a in articles]
        assert store.add_articles(changed, update=True).updated == len(articles)
        assert differing(store, changed) == []
        assert store.count(Query(search="w4999")) == 1 and store.count(Query(search="again")) == len(articles)


def test_long_vectors_are_compressed_with_lz4_and_packed_bodies_are_stored_as_they_are(postgres_url: str) -> None:
    """The packed texts are deflated already: the server keeps them as they are, out of line,
    without trying its own compression on them; a long vector is compressed with lz4."""
    body = " ".join(f"word{i} body{i % 7}" for i in range(4000))
    with open_store(postgres_url) as store:
        store.add_articles([Article(source="wire", title="Long", url="https://wire.example/long", body=body)])
        with store.transaction() as conn:
            tsv, body_z = conn.execute(
                "SELECT pg_column_compression(tsv), pg_column_compression(body_z) FROM articles"
            ).fetchone()
            (external,) = conn.execute("SELECT pg_column_size(body_z) >= octet_length(body_z) FROM articles").fetchone()
    assert (tsv, body_z, external) == ("lz4", None, True)


def _pending_pages(store: Any) -> int:
    with store.transaction() as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        return int(_one_of(conn.execute("SELECT pending_pages FROM pgstatginindex('articles_search')")))


def test_a_bulk_write_has_the_search_index_merged_beside_it(postgres_url: str) -> None:
    """A write of MERGE_FROM_ROWS articles or more wakes the store's index merger: the pending
    entries go into the index on its own connection (here the list could hold them all, so no
    writer would have merged them), and the merger stops a moment after the last bulk write."""
    from reader.store import postgres

    with open_store(postgres_url) as store:
        with store.transaction() as conn:
            conn.execute("ALTER INDEX articles_search SET (gin_pending_list_limit = 1000000)")
        store.add_articles(seeds(10))
        assert _pending_pages(store) > 0  # (a small write leaves its entries pending)
        assert store._merger._thread is None
        store.add_articles(
            [
                Article(source="wire", title=f"Bulk {i}", url=f"https://bulk.example/{i}", body=f"Words {i} here.")
                for i in range(postgres.MERGE_FROM_ROWS)
            ]
        )
        merger = store._merger._thread
        assert merger is not None
        merger.join(30)
        assert not merger.is_alive() and store._merger._thread is None
        assert _pending_pages(store) == 0
        assert store.count(Query(search="bulk words here")) == postgres.MERGE_FROM_ROWS


def test_a_writer_that_may_not_merge_the_index_writes_as_before_and_says_nothing(
    postgres_server: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    """Only the index's owner may merge it: another role's bulk write is stored all the same (its
    inserts merge the list themselves), and the merger gives up without a word."""
    from reader.store import postgres

    url = postgres_server.new_database()
    with open_store(url) as store:
        store.add_articles(seeds(1))
    database = url.rsplit("/", 1)[1]
    postgres_server.sql("DO $$BEGIN CREATE ROLE writer LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$")
    postgres_server.sql("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO writer", database)
    postgres_server.sql("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO writer", database)
    with open_store(postgres_server.url(database, "writer")) as store:
        articles = [
            Article(source="wire", title=f"Bulk {i}", url=f"https://bulk.example/{i}")
            for i in range(postgres.MERGE_FROM_ROWS)
        ]
        assert store.add_articles(articles).added == postgres.MERGE_FROM_ROWS
        merger = store._merger._thread
        if merger is not None:
            merger.join(30)
        assert store._merger._refused
        assert store.count(Query(search="bulk")) == postgres.MERGE_FROM_ROWS
    assert capfd.readouterr().err == ""


def _one_of(cursor: Any) -> Any:
    row = cursor.fetchone()
    return None if row is None else row[0]


def test_by_relevance_the_newest_matches_are_ranked_then_the_older_follow_newest_first(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ranking every match of a common word reads every match's vector on PostgreSQL (seconds at
    30,000 articles), and took 10 s on SQLite at 1,000,000: on both, the newest RANKED_MATCHES
    are ranked, every older match still follows."""
    monkeypatch.setattr(type(store), "RANKED_MATCHES", 3)
    day = datetime(2020, 1, 1, tzinfo=UTC)
    bodies = ["zebra", "zebra zebra zebra", "zebra zebra", "none", "zebra zebra zebra zebra", "zebra", "zebra zebra"]
    store.add_articles(
        [
            Article(
                source="wire",
                title=f"day {i}",
                url=f"https://wire.example/{i}",
                body=b,
                published=day.replace(day=1 + i),
            )
            for i, b in enumerate(bodies)
        ]
    )
    query = Query(search="zebra", order="relevance")
    whole = [r.title for r in store.page(query, limit=100).rows]
    # The three newest matches (days 6, 5, 4) best first, then days 2, 1, 0 newest first.
    assert whole == ["day 4", "day 6", "day 5", "day 2", "day 1", "day 0"]
    paged, after = [], None
    while True:
        page = store.page(query, after, 2)
        paged += [r.title for r in page.rows]
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert paged == whole
    assert store.count(Query(search="zebra")) == 6


def test_read_and_star_state_belong_to_the_person(postgres_url: str) -> None:
    """Ann's Shift+A marks her articles read, not Bob's; her star is hers."""
    with open_store(postgres_url, person="ann") as ann, open_store(postgres_url, person="bob") as bob:
        ann.add_articles(seeds(5))
        assert bob.totals() == (5, 5, 0), "the articles are shared"
        first = ann.page().rows[0].id
        ann.set_starred(first)
        assert ann.mark_all_read() == 5
        assert ann.totals() == (5, 0, 1)
        assert bob.totals() == (5, 5, 0)
        assert bob.count(Query(view="unread")) == 5 and bob.count(Query(view="starred")) == 0
        assert [r.read for r in bob.page().rows] == [False] * 5
        assert [(s.source, s.unread) for s in bob.sources()] == [("wire", 5)]
        assert bob.set_read([first]) == 1
        assert ann.set_read([first], False) == 1
        assert (ann.get(first).read, bob.get(first).read) == (False, True)  # type: ignore[union-attr]


def test_the_default_person_is_the_database_role(postgres_url: str) -> None:
    with open_store(postgres_url) as mine, open_store(postgres_url, person="postgres") as named:
        mine.add_articles(seeds(2))
        mine.set_read([mine.page().rows[0].id])
        assert named.totals() == (2, 1, 0)


def test_a_schema_newer_than_the_program_is_refused_and_left_alone(postgres_server: Any) -> None:
    url = postgres_server.new_database()
    with open_store(url) as store:
        store.add_articles(seeds(3))
    database = url.rsplit("/", 1)[1]
    postgres_server.sql("UPDATE reader_schema SET version = version + 1", database)
    newer = rf"written by a newer Reader \(schema {SCHEMA_VERSION + 1}, this one knows {SCHEMA_VERSION}\)"
    with pytest.raises(StoreVersionError, match=newer) as err:
        open_store(url)
    assert "\n" not in str(err.value)
    postgres_server.sql("UPDATE reader_schema SET version = version - 1", database)
    with open_store(url) as store:
        assert store.count() == 3


def test_a_new_database_gets_the_schema_once_from_two_openers_at_once(postgres_server: Any) -> None:
    url = postgres_server.new_database(empty=True)
    errors: list[BaseException] = []
    opened: list[Any] = []
    start = threading.Barrier(2)

    def opener() -> None:
        start.wait()
        try:
            opened.append(open_store(url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in opened:
        s.close()
    assert errors == []
    with open_store(url) as store:
        assert store.add_articles(seeds(1)).added == 1


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("down", r"the database server is not running or not reachable \(Connection refused\)"),
        ("login", r"the database server refused the login \(password authentication failed"),
        ("database", r'no such database on the server \(database "nowhere" does not exist\)'),
    ],
)
def test_a_store_that_cannot_be_reached_is_one_line_naming_it(postgres_server: Any, kind: str, message: str) -> None:
    url = {
        "down": f"postgresql://postgres:hidden@127.0.0.1:{free_port()}/reader",
        "login": postgres_server.url("postgres", PASSWORD_ROLE, "hidden"),
        "database": postgres_server.url("nowhere"),
    }[kind]
    with pytest.raises(StoreError, match=message) as err:
        open_store(url)
    text = str(err.value)
    assert "\n" not in text
    assert "hidden" not in text, "the password is never shown"
    assert text.startswith(url.replace(":hidden", "") + ": ")


def test_a_person_is_named_only_for_a_shared_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="a store file is one person's"):
        open_store(tmp_path / "reader.sqlite", person="ann")
    assert not (tmp_path / "reader.sqlite").exists()


# --- the command line on a shared store ------------------------------------------------------------


def test_the_commands_import_list_search_and_show_a_postgresql_store(postgres_url: str) -> None:
    from test_cli import KASPERSKY_URL, SEEDS, reader

    done = reader("--db", postgres_url, "import", str(SEEDS))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("129 new")
    with open_store(postgres_url) as store:
        assert store.count() == 129, "imported into the database (not into a file named like the URL)"
    listed = json.loads(reader("--db", postgres_url, "list", "--json").stdout)
    assert len(listed) == 129
    dates = [a["published"] for a in listed]
    assert dates == sorted(dates, reverse=True), "newest first"
    found = json.loads(reader("--db", postgres_url, "list", "--search", "kasp", "--json").stdout)
    assert KASPERSKY_URL in [a["url"] for a in found]
    kaspersky = next(a for a in found if a["url"] == KASPERSKY_URL)
    raw = reader("--db", postgres_url, "show", str(kaspersky["id"]), "--raw").stdout
    assert raw == (SEEDS / "000_3fd0e19bd5f7f8e2.txt").read_text(encoding="utf-8")
    # READER_DB names it as --db does.
    env = {"READER_DB": postgres_url}
    assert len(json.loads(reader("list", "--json", "--search", "kaspersky", env=env).stdout)) == len(
        json.loads(reader("--db", postgres_url, "list", "--json", "--search", "kaspersky").stdout)
    )


def test_user_names_whose_read_state_the_commands_use(postgres_url: str) -> None:
    from test_cli import SEEDS, reader

    assert reader("--db", postgres_url, "import", str(SEEDS / "000_3fd0e19bd5f7f8e2.txt")).returncode == 0
    (article,) = json.loads(reader("--db", postgres_url, "list", "--json").stdout)
    marked = reader("--db", postgres_url, "--user", "ann", "mark", str(article["id"]), "--read")
    assert marked.returncode == 0, marked.stderr

    def unread(*who: str) -> int:
        return len(json.loads(reader("--db", postgres_url, *who, "list", "--unread", "--json").stdout))

    assert (unread("--user", "ann"), unread("--user", "bob"), unread()) == (0, 1, 1)


def test_user_names_a_person_only_in_a_shared_store(tmp_path: Path) -> None:
    from test_cli import reader

    done = reader("--db", str(tmp_path / "reader.sqlite"), "--user", "ann", "list")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "one person's" in done.stderr


# --- feeds -------------------------------------------------------------------------------------------


def test_feeds_are_added_updated_listed_and_removed(store: Any) -> None:
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    b = store.add_feed("https://b.example/feed.xml", "Beta")
    a = store.add_feed("https://a.example/feed.xml", "alpha")
    assert store.add_feed("https://b.example/feed.xml", "other title").id == b.id, "idempotent"
    store.update_feed(b.id, etag='"v1"', dead=True, updated_at=when, last_error="HTTP 500")
    got = store.get_feed(b.id)
    assert (got.etag, got.dead, got.updated_at, got.last_error, got.title) == ('"v1"', True, when, "HTTP 500", "Beta")
    assert store.get_feed("https://b.example/feed.xml") == got
    with pytest.raises(TypeError, match="unknown feed fields"):
        store.update_feed(b.id, id=5)
    store.add_articles(
        [Article(source="Beta", title=f"B{i}", body="x", key=f"feed:{b.id}:{i}", feed_id=b.id) for i in range(3)]
    )
    store.set_read([store.page(Query(feed_id=b.id)).rows[0].id])
    assert [(f.name, f.total, f.unread) for f in store.feeds()] == [("alpha", 0, 0), ("Beta", 3, 2)]
    store.set_starred(store.page(Query(feed_id=b.id)).rows[1].id)
    assert store.unsubscribe(b.id) == (2, 1)
    assert store.remove_feed(a.url) is True and store.remove_feed(a.url) is False
    assert store.feeds() == [] and store.count() == 1


def test_one_persons_unsubscribe_keeps_what_another_starred(postgres_url: str) -> None:
    with open_store(postgres_url, person="ann") as ann, open_store(postgres_url, person="bob") as bob:
        feed = ann.add_feed("https://wire.example/feed.xml", "Wire")
        ann.add_articles(
            [Article(source="Wire", title=f"W{i}", key=f"feed:{feed.id}:{i}", feed_id=feed.id) for i in range(3)]
        )
        kept = bob.page().rows[0].id
        bob.set_starred(kept)
        assert ann.unsubscribe(feed.id) == (2, 1)
        assert [r.id for r in bob.page(Query(view="starred")).rows] == [kept]


def test_the_server_state_of_a_sync_is_the_syncing_persons(postgres_url: str) -> None:
    from test_sync_store import remote

    with open_store(postgres_url, person="ann") as ann, open_store(postgres_url, person="bob") as bob:
        account = ann.add_account("ann@host", "http://127.0.0.1/api/greader.php", "ann")
        items = [(rid, remote("ann@host", rid, f"Remote {rid}"), rid == "1", rid == "2") for rid in "123"]
        assert ann.add_remote_articles(account.id, items) == 3
        assert (ann.totals(), bob.totals()) == ((3, 2, 1), (3, 3, 0))
        assert ann.reconcile_flags(account.id, unread=set(), starred={"1", "2", "3"}) == (2, 2)
        assert (ann.totals(), bob.totals()) == ((3, 0, 3), (3, 3, 0))
        bob.set_read([bob.page().rows[0].id])
        assert bob.pending_changes(account.id) != [] and ann.pending_changes(account.id) == []


FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>Test feed</title><link>http://example.org/</link>
<item><title>Café one</title><link>http://example.org/1</link><pubDate>Tue, 10 Jun 2003 04:00:00 GMT</pubDate></item>
<item><title>Second</title><link>http://example.org/2</link><pubDate>Wed, 11 Jun 2003 04:00:00 GMT</pubDate></item>
</channel></rss>"""


def test_the_feed_commands_subscribe_refresh_and_unsubscribe_on_a_postgresql_store(
    postgres_url: str, tmp_path: Path
) -> None:
    from test_cli import reader

    feed = tmp_path / "feed.xml"
    feed.write_text(FEED, encoding="utf-8")
    added = reader("--db", postgres_url, "feeds", "add", str(feed))
    assert (added.returncode, added.stdout) == (0, "2 new, 0 updated, 0 unchanged articles from 1 input\n")
    listed = json.loads(reader("--db", postgres_url, "list", "--search", "cafe", "--json").stdout)
    assert [a["title"] for a in listed] == ["Café one"]
    assert reader("--db", postgres_url, "refresh", "--force").stdout.startswith(
        "0 new, 0 updated articles from 1 feeds"
    )
    assert reader("--db", postgres_url, "feeds", "remove", feed.as_uri()).returncode == 0
    with open_store(postgres_url) as store:
        assert (store.feeds(), store.count()) == ([], 0)


def test_a_server_that_goes_away_is_a_one_line_store_error() -> None:
    """The server stops while a store is open: the next call says so in one line (a store error
    the window and the commands report), it does not raise psycopg's own exception."""
    from postgres import PostgresServer

    server = PostgresServer.start()
    try:
        store = open_store(server.new_database())
        store.add_articles(seeds(2))
        server.halt()
        with pytest.raises(StoreError) as err:
            store.count()
        assert str(err.value).startswith(server.url("test_0") + ": lost the connection to the database server (")
        assert "\n" not in str(err.value)
        store.close()
    finally:
        server.stop()


def test_enclosures_come_back_and_an_update_that_changes_only_them_is_an_update(store: Any) -> None:
    from reader.records import Enclosure

    episode = Enclosure("https://cdn.example/ep1.mp3", "audio/mpeg", 1234, 61)
    first = Article(source="pod", title="Episode 1", url="https://pod.example/1", body="Notes.")
    store.add_articles([first])
    with_file = Article(
        **{**{f: getattr(first, f) for f in ("source", "title", "url", "body")}, "enclosures": (episode,)}
    )
    assert store.add_articles([with_file], update=True).updated == 1
    (row,) = store.page().rows
    assert store.get(row.id).enclosures == (episode,)


# --- the daily features on a shared store: what is everyone's and what is a person's -----------------


def test_a_rules_read_and_star_are_the_persons_its_labels_and_hiding_everyones(postgres_url: str) -> None:
    """The rules are the corpus's: stored by Ann, new articles meet them as her state (read, star);
    the label and the hiding are everyone's; Bob applying them gets the read and star as his."""
    with open_store(postgres_url, person="ann") as ann, open_store(postgres_url, person="bob") as bob:
        ann.add_rule("quiet harbour", "harbour", "read")
        ann.add_rule("ferries", "ferry", "star")
        bob.add_rule("no sport", "football", "hide")
        bob.add_rule("weather", "storm", "label:Weather")
        ann.add_articles(
            [Article("Desk", t, body=f"{t} text") for t in ("harbour news", "ferry times", "football", "storm")]
        )
        assert [r.name for r in bob.rules()] == ["ferries", "no sport", "quiet harbour", "weather"]

        def state(store: Any) -> dict[str | None, tuple[bool, bool]]:
            return {r.title: (r.read, r.starred) for r in store.iter_rows()}

        assert state(ann) == {"harbour news": (True, False), "ferry times": (False, True), "storm": (False, False)}
        assert state(bob) == {"harbour news": (False, False), "ferry times": (False, False), "storm": (False, False)}
        assert [r.title for r in bob.iter_rows(Query(view="hidden"))] == ["football"]
        assert bob.totals() == (3, 3, 0) and ann.totals() == (3, 2, 1)  # the hidden one is out of both
        assert bob.count(Query(search="football")) == 0
        storm = next(r.id for r in ann.iter_rows(Query(label="Weather")))
        ann.set_read([storm])
        assert [(c.source, c.total, c.unread) for c in ann.labels()] == [("Weather", 1, 0)]
        assert [(c.source, c.total, c.unread) for c in bob.labels()] == [("Weather", 1, 1)]
        assert bob.apply_rules() == {"ferries": 1, "no sport": 0, "quiet harbour": 1, "weather": 0}
        assert state(bob)["harbour news"] == (True, False) and state(bob)["ferry times"] == (False, True)
        assert bob.counts() == (bob.totals(), bob.sources())


def test_one_persons_cleanup_removes_only_what_everyone_has_read(postgres_url: str) -> None:
    from test_cleanup import NOW, OLD, seed, stored_when_published

    with open_store(postgres_url, person="ann") as ann, open_store(postgres_url, person="bob") as bob:
        ann.add_articles([seed(t, OLD) for t in ("both read", "ann read", "both read, bob starred")])
        stored_when_published(ann)
        ids = {r.title: r.id for r in ann.iter_rows()}
        ann.set_read(list(ids.values()))
        bob.set_read([ids["both read"], ids["both read, bob starred"]])
        bob.set_starred(ids["both read, bob starred"])
        cutoff = NOW - timedelta(days=90)
        assert ann.cleanup(cutoff, dry_run=True)[:2] == (1, 1)
        assert ann.cleanup(cutoff)[:2] == (1, 1)
        assert sorted(r.title for r in bob.iter_rows()) == ["ann read", "both read, bob starred"]
        assert ann.cleanup(cutoff, unread_too=True).removed == 1  # asked: what Bob has not read too
        assert [r.title for r in bob.iter_rows()] == ["both read, bob starred"]


def test_arrivals_are_the_persons_unread_ones(postgres_url: str) -> None:
    with open_store(postgres_url, person="ann") as ann, open_store(postgres_url, person="bob") as bob:
        feed = ann.add_feed("https://feed.example/a.xml", "A")
        newest, *_ = ann.arrivals(None)
        ann.add_articles([Article(None, f"a{i}", key=f"feed:{feed.id}:{i}", feed_id=feed.id) for i in range(3)])
        ann.set_read([r.id for r in ann.iter_rows()][:2])
        assert ann.arrivals(newest) == (newest + 1, 1, 1, feed.id)  # (one arrival: one storing)
        assert bob.arrivals(newest) == (newest + 1, 3, 1, feed.id)


def test_reader_cleanup_on_a_postgresql_store_vacuums_and_says_what_that_does(postgres_url: str) -> None:
    from test_cleanup import OLD, seed, stored_when_published
    from test_cli import reader

    with open_store(postgres_url) as store:
        store.add_articles([seed(f"story {i}", OLD) for i in range(30)])
        stored_when_published(store)
        store.set_read([r.id for r in store.iter_rows()][:20])
    kept = reader("--db", postgres_url, "cleanup", "--no-compact", "--older-than", "90d")
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.startswith("removed 20 articles dated before ")
    assert "reused by new articles once PostgreSQL's autovacuum has passed" in kept.stdout
    with open_store(postgres_url) as store:
        store.set_read([r.id for r in store.iter_rows()])
    done = reader("--db", postgres_url, "cleanup")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("removed 10 articles") and "database " in done.stdout and " MB -> " in done.stdout
    assert "VACUUM FULL would give the space back to the disk" in done.stderr
    assert json.loads(reader("--db", postgres_url, "list", "--json").stdout) == []


def test_the_sidebars_counts_of_a_shared_store_are_the_persons(postgres_url: str) -> None:
    """What the window's start counts (reader.ui.counts.count_store, EarlyCounts) opens a URL too."""
    from reader.store import StoreAddress
    from reader.ui.counts import count_store

    with open_store(postgres_url) as store:
        store.add_rule("no sport", "football", "hide")
        store.add_rule("weather", "storm", "label:Weather")
        store.add_articles([Article("Desk", t, body=t) for t in ("football", "storm", "calm")])
    counts = count_store(StoreAddress(postgres_url))
    assert counts.totals == (2, 2, 0) and counts.hidden == 1
    assert [(c.source, c.total, c.unread) for c in counts.labels] == [("Weather", 1, 1)]
    assert [(c.source, c.total, c.unread) for c in counts.sources] == [("Desk", 3, 2)]


def test_a_shared_store_of_the_first_schema_gains_the_daily_features(
    postgres_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    from reader.store import postgres

    url = postgres_server.new_database(empty=True)
    with monkeypatch.context() as patched:
        patched.setattr(postgres, "SCHEMA_VERSION", 1)
        open_store(url).close()  # as the first release made it
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO articles (key, title, sort_ts, imported_at, tsv) "
            "VALUES ('k', 'harbour before', 1, 1, to_tsvector('simple', 'harbour before'))"
        )
    with open_store(url) as store:
        (row,) = store.page().rows
        store.add_rule("r", "harbour", "label:Harbour")
        assert store.apply_rules() == {"r": 1}
        assert [r.title for r in store.iter_rows(Query(label="Harbour"))] == ["harbour before"]
        assert store.set_full_content(row.id, "<p>quay text</p>", "quay text", "")
        assert [r.id for r in store.page(Query(search="quay harbour")).rows] == [row.id]


# --- test_store.py's and test_store_safety.py's tests of the store file, for a database -------------
# (The others there are about a file and SQLite themselves: WAL, page checks, VACUUM, a file of
# another kind, a read-only folder, a full disk. Their counterparts for a database are here.)


def fetch(url: str, sql: str) -> list[Any]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql.encode()).fetchall()


def test_a_database_of_another_program_is_refused_and_left_untouched(postgres_server: Any) -> None:
    url = postgres_server.new_database(empty=True)
    database = url.rsplit("/", 1)[1]
    postgres_server.sql("CREATE TABLE notes (x text); INSERT INTO notes VALUES ('theirs')", database)
    with pytest.raises(NotADatabaseError) as err:
        open_store(url)
    assert str(err.value) == (
        f"{url}: not a Reader store (a database of another program: 1 tables and no Reader schema); left untouched"
    )
    tables = fetch(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    assert tables == [("notes",)], "nothing of Reader's was made there"


def test_a_failing_migration_step_changes_nothing_in_the_database(
    postgres_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reader.store import postgres as pg

    url = postgres_server.new_database()
    with open_store(url) as store:
        store.add_articles(seeds(1))
    monkeypatch.setattr(pg, "MIGRATIONS", [*pg.MIGRATIONS, ["ALTER TABLE articles ADD COLUMN lang text", "NOT SQL"]])
    monkeypatch.setattr(pg, "SCHEMA_VERSION", pg.SCHEMA_VERSION + 1)
    with pytest.raises(StoreError) as err:
        open_store(url)
    assert str(err.value).startswith(url + ": ") and "\n" not in str(err.value)
    # One transaction a step: its first statement was rolled back with the second.
    assert fetch(url, "SELECT version FROM reader_schema") == [(pg.SCHEMA_VERSION - 1,)]
    assert fetch(url, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'lang'") == [(0,)]
    monkeypatch.undo()
    with open_store(url) as store:
        assert store.count() == 1


def test_a_later_version_migrates_the_database_and_keeps_its_data(
    postgres_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reader.store import postgres as pg

    url = postgres_server.new_database()
    with open_store(url) as store:
        store.add_articles(seeds(3))
        store.set_read([store.page().rows[0].id])
    step = ["ALTER TABLE articles ADD COLUMN lang text", "UPDATE articles SET lang = 'en'"]
    monkeypatch.setattr(pg, "MIGRATIONS", [*pg.MIGRATIONS, step])
    monkeypatch.setattr(pg, "SCHEMA_VERSION", pg.SCHEMA_VERSION + 1)
    with open_store(url) as store:
        assert store.totals() == (3, 2, 0)
    assert fetch(url, "SELECT version FROM reader_schema") == [(pg.SCHEMA_VERSION,)]
    assert fetch(url, "SELECT DISTINCT lang FROM articles") == [("en",)]


def test_a_damaged_body_in_the_database_stops_neither_a_refresh_nor_a_removal(postgres_url: str) -> None:
    from test_store import art

    def damage(article_id: int) -> None:
        fetch(postgres_url, f"UPDATE articles SET body_z = '\\x01deadbeef' WHERE id = {article_id} RETURNING id")

    with open_store(postgres_url) as s:
        feed = s.add_feed("https://wire.example/feed")
        s.add_articles([art(n, feed_id=feed.id) for n in range(1, 4)])
        damage(2)
        again = s.add_articles([art(1, feed_id=feed.id), art(3, feed_id=feed.id, title="New title")], update=True)
        assert (again.updated, again.unchanged) == (1, 1)
        assert s.add_articles([art(2, feed_id=feed.id, body="Written again.")], update=True).updated == 1
        article = s.get(2)
        assert article is not None and article.body == "Written again."
        assert [r.id for r in s.page(Query(search="written again")).rows] == [2]
        damage(1)
        assert s.remove_feed(feed.id)
        assert s.count() == 0 and s.feeds() == []
        s.add_articles([art(9)])
        (new_id,) = [r.id for r in s.page(Query()).rows]
        damage(new_id)
        with pytest.raises(CorruptStoreError, match=f"article {new_id}: damaged packed text"):
            s.get(new_id)  # reading a damaged article says which, and why


READ_ONLY_ROLE = "reader_reads"


def test_a_role_that_may_only_read_reads_and_its_writes_are_refused_in_one_line(postgres_server: Any) -> None:
    """The database's counterpart of a read-only store file: every reading command works, a
    write is one line (permission denied) and changes nothing."""
    from test_cli import SEEDS, reader
    from test_store_safety import READS

    url = postgres_server.new_database()
    with open_store(url) as store:
        store.add_articles(seeds(5))
        store.add_feed("https://example.org/feed.xml")
    database = url.rsplit("/", 1)[1]
    postgres_server.sql(
        f"DO $$BEGIN CREATE ROLE {READ_ONLY_ROLE} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$"
    )
    postgres_server.sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READ_ONLY_ROLE}", database)
    reading = postgres_server.url(database, READ_ONLY_ROLE)
    for argv in READS:
        done = reader("--db", reading, *argv)
        assert (done.returncode, done.stderr) == (0, ""), argv
        assert done.stdout, argv
    for argv in (["import", str(SEEDS)], ["mark", "1", "--read"], ["feeds", "remove", "https://example.org/feed.xml"]):
        done = reader("--db", reading, *argv)
        assert done.returncode == 2, argv
        assert done.stderr.startswith(f"reader: {reading}: permission denied (") and done.stderr.count("\n") == 1
    with open_store(url) as store:
        assert (store.count(), store.totals(), len(store.feeds())) == (5, (5, 5, 0), 1)


def test_many_processes_creating_one_new_database_store_at_once_all_get_it(postgres_server: Any) -> None:
    from test_store_safety import python_with_pipes

    url = postgres_server.new_database(empty=True)
    code = (
        "import sys; from reader.store.protocol import open_store; sys.stdin.readline(); "
        "s = open_store(sys.argv[1]); print(s.add_articles([]).added); s.close()"
    )
    starters = [python_with_pipes(code, url) for _ in range(6)]
    for process in starters:  # all are waiting on their stdin: let them go together
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    results = [process.communicate(timeout=60) for process in starters]
    assert [p.returncode for p in starters] == [0] * 6, [err for _, err in results]
    assert fetch(url, "SELECT version FROM reader_schema") == [(SCHEMA_VERSION,)]
