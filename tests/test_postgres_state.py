"""A shared store's per-person state on a real PostgreSQL (issue 11): the sidebar's counts kept
by the triggers agree with a recount of the articles after every kind of change, for each person;
arrivals and rules on new articles go by what this transaction stored, in commit order, with two
real connections writing at once; mark all read is one statement that queues the account's
changes and gives back exactly what it changed; schema 4 fills the counts of an existing store."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from unittest import mock

import psycopg
import pytest
from test_cleanup import NOW, OLD, seed, stored_when_published
from test_sync_store import synced as synced  # (the fixture, over this module's store)

from reader.records import Article, Query, SourceCount
from reader.store import postgres as pg_module
from reader.store.postgres import PostgresStore
from reader.store.protocol import open_store


@pytest.fixture
def store(postgres_url: str) -> Iterator[Any]:
    with open_store(postgres_url) as s:
        yield s


@pytest.fixture
def ann(postgres_url: str) -> Iterator[Any]:
    with open_store(postgres_url, person="ann") as s:
        yield s


@pytest.fixture
def bob(postgres_url: str) -> Iterator[Any]:
    with open_store(postgres_url, person="bob") as s:
        yield s


def recount(url: str, person: str) -> tuple[tuple[int, int, int], list[SourceCount], dict[int, tuple[int, int]]]:
    """The person's totals, sources and feeds' (total, unread) counted from the articles, as the
    store counted them before schema 4."""
    state = "articles a LEFT JOIN article_state s ON s.article_id = a.id AND s.person = %s"
    with psycopg.connect(url) as conn:
        total, unread, starred = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE NOT coalesce(s.read, false)), "
            f"count(*) FILTER (WHERE coalesce(s.starred, false)) FROM {state} WHERE NOT a.hidden",
            (person,),
        ).fetchone()  # type: ignore[misc]
        sources = [
            SourceCount(r[0], r[1], r[2])
            for r in conn.execute(
                "SELECT a.source, count(*), count(*) FILTER (WHERE NOT coalesce(s.read, false)) "
                f"FROM {state} WHERE a.feed_id IS NULL GROUP BY a.source "
                "ORDER BY a.source IS NULL, lower(a.source), a.source",
                (person,),
            )
        ]
        feeds = {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                "SELECT f.id, count(a.id), count(a.id) FILTER (WHERE NOT coalesce(s.read, false)) FROM feeds f "
                "LEFT JOIN articles a ON a.feed_id = f.id "
                "LEFT JOIN article_state s ON s.article_id = a.id AND s.person = %s GROUP BY f.id",
                (person,),
            )
        }
    return (total, unread, starred), sources, feeds


def wait_for_a_lock_wait(url: str) -> None:
    """Until a backend of the tests' server waits for a lock (another store's statement blocked
    behind the test's transaction), or fail after a generous while."""
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(600):
            waiting = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()
            if waiting and waiting[0]:
                return
            conn.execute("SELECT pg_sleep(0.05)")  # (the server waits, on a condition: no timed assertion)
    raise AssertionError("no statement came to wait for the lock")


def agrees(url: str, *stores: Any) -> None:
    """Each store's counts (the sidebar's, the feeds', and count() of the views) are the recount."""
    for store in stores:
        totals, sources, feeds = recount(url, store.person)
        assert store.counts() == (totals, sources), store.person
        assert {f.id: (f.total, f.unread) for f in store.feeds()} == feeds, store.person
        views = [store.count(Query(view=v)) for v in ("all", "unread", "starred")]
        assert tuple(views) == totals, store.person
        for query in [Query(view="unread", source=s.source) for s in sources] + [
            Query(view="unread", feed_id=f) for f in feeds
        ]:
            with mock.patch.object(store, "_counted", return_value=None):
                counted = store.count(query)  # (from the articles)
            assert store.count(query) == counted, (store.person, query)


def test_the_counts_agree_with_a_recount_after_every_kind_of_change(postgres_url: str, ann: Any, bob: Any) -> None:
    agrees(postgres_url, ann, bob)
    feed = ann.add_feed("https://feed.example/a.xml", "A")
    other = ann.add_feed("https://feed.example/b.xml", "B")
    ann.add_articles([seed(f"desk {i}", OLD) for i in range(6)])
    ann.add_articles([Article("Wire", f"wire {i}", key=f"w:{i}") for i in range(4)])
    ann.add_articles([Article(None, f"a{i}", key=f"feed:{feed.id}:{i}", feed_id=feed.id) for i in range(5)])
    ann.add_articles([Article(None, f"b{i}", key=f"feed:{other.id}:{i}", feed_id=other.id) for i in range(3)])
    stored_when_published(ann)
    agrees(postgres_url, ann, bob)
    ids = {r.title: r.id for r in ann.iter_rows()}

    ann.set_read([ids["desk 0"], ids["desk 1"], ids["a0"], ids["wire 0"]])
    bob.set_read([ids["desk 0"], ids["b0"]])
    bob.set_starred(ids["a1"])
    ann.set_starred(ids["desk 2"])
    ann.set_read([ids["desk 1"]], False)
    agrees(postgres_url, ann, bob)

    assert ann.mark_all_read(Query(source="Wire")) == 3
    assert bob.mark_all_read(Query(feed_id=feed.id)) == 5
    agrees(postgres_url, ann, bob)

    ann.set_hidden([ids["desk 3"], ids["a2"], ids["a1"]])  # (bob starred a1)
    agrees(postgres_url, ann, bob)
    ann.add_rule("hide b", "b2", "hide")
    ann.apply_rules()
    agrees(postgres_url, ann, bob)
    ann.set_hidden([ids["a2"]], False)
    agrees(postgres_url, ann, bob)

    # A source changed by an update moves the article (and everyone's state of it) to another group.
    ann.add_articles([Article("Elsewhere", "wire 1", key="w:1")], update=True)
    agrees(postgres_url, ann, bob)

    # Cleanup (read by everyone, starred by nobody), then a feed removed with a starred article kept.
    bob.set_read([ids[f"desk {i}"] for i in range(6)])
    ann.set_read([ids[f"desk {i}"] for i in range(6)])
    assert ann.cleanup(NOW).removed >= 4
    agrees(postgres_url, ann, bob)
    assert ann.unsubscribe(feed.id) == (4, 1)
    agrees(postgres_url, ann, bob)
    with ann.transaction() as conn:
        conn.execute("DELETE FROM articles WHERE feed_id = %s", (other.id,))
    agrees(postgres_url, ann, bob)

    # Folding the deltas together changes no count.
    with ann.transaction() as conn:
        deltas = conn.execute("SELECT count(*) FROM state_counts").fetchone()[0]
    ann._fold_counts()
    with ann.transaction() as conn:
        assert conn.execute("SELECT count(*) FROM state_counts").fetchone()[0] < deltas
    agrees(postgres_url, ann, bob)


def test_a_read_mark_and_a_hide_at_once_count_the_article_where_it_ends_up(
    postgres_url: str, ann: Any, bob: Any
) -> None:
    ann.add_articles([Article("Desk", f"desk {i}", key=f"d:{i}") for i in range(3)])
    ids = [r.id for r in ann.iter_rows()]
    with ann.transaction():  # ann's read marks, not committed yet, hold their articles
        ann.set_read(ids)
        hiding = threading.Thread(target=bob.set_hidden, args=(ids[:2],))
        hiding.start()
        wait_for_a_lock_wait(postgres_url)  # (the hide waits: it would move ann's state before seeing it)
    hiding.join()
    agrees(postgres_url, ann, bob)
    assert ann.counts()[0] == (1, 0, 0) and ann.count(Query(view="hidden")) == 2


def test_state_for_an_article_removed_meanwhile_is_refused(postgres_url: str, ann: Any, bob: Any) -> None:
    ann.add_articles([Article("Desk", "gone", key="d:1"), Article("Desk", "kept", key="d:2")])
    ids = {r.title: r.id for r in ann.iter_rows()}
    refused: list[Exception] = []

    def mark() -> None:
        try:
            bob.set_read(list(ids.values()))
        except pg_module.StoreError as exc:
            refused.append(exc)

    with psycopg.connect(postgres_url) as conn:
        conn.execute("DELETE FROM articles WHERE id = %s", (ids["gone"],))
        marking = threading.Thread(target=mark)
        marking.start()
        wait_for_a_lock_wait(postgres_url)  # (bob's marks wait for the removal to end)
        conn.commit()
    marking.join()
    assert len(refused) == 1 and "read or star state for an article that is not in the store" in str(refused[0])
    assert "\n" not in str(refused[0])
    assert not ann.get(ids["kept"]).read  # (nothing of bob's marks stayed)
    agrees(postgres_url, ann, bob)


def test_an_arrival_that_commits_after_a_newer_one_is_still_announced(ann: Any, bob: Any) -> None:
    feed = ann.add_feed("https://feed.example/a.xml", "A")
    seen, *_ = ann.arrivals(None)
    with ann.transaction():  # ann's refresh stores first (the smaller ids) and commits last
        ann.add_articles([Article(None, f"ann {i}", key=f"feed:{feed.id}:a{i}", feed_id=feed.id) for i in range(2)])
        bob.add_articles([Article(None, "bob", key=f"feed:{feed.id}:b", feed_id=feed.id)])
        newest, articles, _, _ = bob.arrivals(seen)  # the tray looks now
        assert articles == 1
    ann_ids = sorted(r.id for r in ann.iter_rows() if r.title.startswith("ann"))
    bob_id = next(r.id for r in ann.iter_rows() if r.title == "bob")
    assert ann_ids[-1] < bob_id  # (by id, ann's were "before" what the tray had seen)
    last, articles, feeds, one = bob.arrivals(newest)
    assert last > newest and (articles, feeds, one) == (2, 1, feed.id)
    assert bob.arrivals(last) == (last, 0, 0, None)


def test_arrival_numbers_follow_the_commits(postgres_url: str, ann: Any, bob: Any) -> None:
    """The counter's row is locked until the commit: a second storing waits for it to take the
    next number, so no number is seen before a smaller one is visible."""
    with psycopg.connect(postgres_url) as conn:
        conn.execute("INSERT INTO arrival_counter VALUES (true, 41)")
        conn.commit()
        conn.execute("SELECT seq FROM arrival_counter FOR UPDATE")  # (as a storing about to commit holds it)
        storing = threading.Thread(target=bob.add_articles, args=([Article("Desk", "x", key="d:x")],))
        storing.start()
        wait_for_a_lock_wait(postgres_url)
        assert ann.count() == 0  # (its articles are not committed before it has its number)
        conn.execute("UPDATE arrival_counter SET seq = 42")
        conn.commit()
    storing.join()
    assert ann.arrivals(None)[0] == 43 and ann.count() == 1


def test_rules_act_on_the_articles_this_import_stored_not_on_anothers(ann: Any, bob: Any) -> None:
    ann.add_rule("read alpha", "alpha", "read")
    insert = PostgresStore._insert

    def meanwhile(self: PostgresStore, *args: Any) -> Any:
        stored = insert(self, *args)
        if self is ann:  # bob's import commits while ann's is storing: bob's ids are above ann's
            bob.add_articles([Article("Desk", "alpha by bob", key="d:bob")], rules=False)
        return stored

    with mock.patch.object(PostgresStore, "_insert", meanwhile):
        ann.add_articles([Article("Desk", "alpha by ann", key="d:ann")])
    rows = {r.title: r for r in ann.iter_rows()}
    assert rows["alpha by ann"].read and rows["alpha by ann"].id < rows["alpha by bob"].id
    assert not rows["alpha by bob"].read  # (ann's rule did not mark bob's new article read as ann)


def test_mark_all_read_is_one_statement_that_queues_and_gives_back_what_it_changed(synced: tuple) -> None:
    store, account, ids = synced
    store.set_read([ids["Remote 2"]])
    store.set_read([ids["Remote 2"]], False)  # queued: unread
    (change,) = [c for c, rid, _ in store.pending_changes(account) if rid == "2"]
    store.refuse_pending([change], "HTTP 400 Bad Request")
    store.set_read([ids["Local one"]])
    statements: list[str] = []
    execute = psycopg.Connection.execute

    def counted(self: psycopg.Connection[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        statements.append(str(query))
        return execute(self, query, *args, **kwargs)

    with mock.patch.object(psycopg.Connection, "execute", counted):
        changed = store.mark_all_read_ids()
    assert len([q for q in statements if "article_state" in q]) == 1  # (no ids to Python and back)
    assert sorted(changed) == sorted([ids["Remote 2"], ids["Remote 3"]])
    assert sorted((rid, kind) for _, rid, kind in store.pending_changes(account)) == [("2", "read"), ("3", "read")]
    assert store.refused_changes(account) == []  # (superseded, as by set_read)
    assert store.mark_all_read_ids() == []
    store.set_read(changed, False)  # the undo: exactly those unread again
    assert {r.id for r in store.iter_rows(Query(view="unread"))} == {ids["Remote 2"], ids["Remote 3"]}


def test_schema_4_counts_an_existing_store(postgres_server: Any) -> None:
    # A store as the Reader of schema 3 left it, written in SQL (that Reader's code is gone): four
    # seed articles of a source and three of a feed, undated (listed after them), ann's read
    # marks, bob's star, a hidden article.
    url = postgres_server.new_database(empty=True)
    old = int(OLD.timestamp())
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in (s for step in pg_module.MIGRATIONS[:3] for s in step):
            conn.execute(statement)
        conn.execute("CREATE TABLE reader_schema (version integer NOT NULL)")
        conn.execute("INSERT INTO reader_schema (version) VALUES (3)")
        feed = conn.execute(
            "INSERT INTO feeds (url, title, added_at) VALUES ('https://feed.example/a.xml', 'A', %s) RETURNING id",
            (old,),
        ).fetchone()[0]  # type: ignore[index]
        rows = [(f"seed:desk {i}", "Desk", None, f"desk {i}", old, old) for i in range(4)]
        rows += [(f"feed:{feed}:{i}", None, feed, f"a{i}", None, 0) for i in range(3)]
        ids = [
            conn.execute(
                "INSERT INTO articles (key, source, feed_id, title, published, sort_ts, imported_at, tsv) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, to_tsvector('simple', %s)) RETURNING id",
                (*row, old, row[3]),
            ).fetchone()[0]  # type: ignore[index]
            for row in rows
        ]
        desk, feed_ids = ids[:4], ids[4:]
        conn.execute(
            "INSERT INTO article_state (person, article_id, read) SELECT 'ann', unnest(%s::bigint[]), true",
            (desk[1:],),
        )
        conn.execute("INSERT INTO article_state (person, article_id, starred) VALUES ('bob', %s, true)", (feed_ids[2],))
        conn.execute("UPDATE articles SET hidden = true WHERE id = %s", (desk[2],))
    with open_store(url, person="ann") as ann, open_store(url, person="bob") as bob:
        agrees(url, ann, bob)
        assert ann.counts()[0] == (6, 4, 0) and bob.counts()[0] == (6, 6, 1)
        ann.add_articles([seed("desk new", OLD)])
        assert ann.unsubscribe(feed) == (2, 1)
        agrees(url, ann, bob)


def test_the_unread_list_stops_at_the_last_unread_article_the_counts_know_of(ann: Any, bob: Any) -> None:
    ann.add_articles([Article("Desk", f"desk {i}", key=f"d:{i}") for i in range(8)])
    ids = [r.id for r in ann.iter_rows()]  # newest first
    ann.mark_all_read_ids()
    assert ann.page(Query(view="unread")) == ([], None)
    ann.set_read([ids[1], ids[6], ids[7]], False)
    first = ann.page(Query(view="unread"), None, 2)
    assert [r.id for r in first.rows] == [ids[1], ids[6]] and first.next_cursor is not None
    rest = ann.page(Query(view="unread"), first.next_cursor, 2)
    assert [r.id for r in rest.rows] == [ids[7]] and rest.next_cursor is None
    assert [r.id for r in ann.page(Query(view="unread", source="Desk"), None, 5).rows] == [ids[1], ids[6], ids[7]]
    assert len(bob.page(Query(view="unread")).rows) == 8  # (bob read nothing)
