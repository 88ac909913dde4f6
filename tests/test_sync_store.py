"""The store's side of sync (schemas 5 and 10): accounts, their feeds and articles, the queue of changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reader import subscriptions
from reader.records import Article, Query
from reader.store import Store


def remote(account: str, rid: str, title: str, feed_id: int | None = None) -> Article:
    return Article(
        source="Remote feed",
        title=title,
        body=f"remote body {title}",
        url=f"http://example.org/{rid}",
        published=datetime(2024, 1, 1, tzinfo=UTC),
        key=f"greader:{account}:{rid}",
        feed_id=feed_id,
    )


@pytest.fixture
def synced(store: Store) -> tuple[Store, int, dict[str, int]]:
    """A store with one local article and three of an account (r1 read, r2 starred)."""
    store.add_articles([Article(source="local", title="Local one", body="local body")])
    account = store.add_account("alice@host", "http://127.0.0.1/api/greader.php", "alice")
    store.sync_subscriptions(account.id, [("feed/1", "Remote feed", "http://f/feed.xml", None, "News")])
    feed = store.remote_feeds(account.id)["feed/1"]
    items = [(rid, remote("alice@host", rid, f"Remote {rid}", feed.id), rid == "1", rid == "2") for rid in "123"]
    assert store.add_remote_articles(account.id, items) == 3
    ids = {row.title or "": row.id for row in store.iter_rows()}
    return store, account.id, ids


def test_a_flag_change_on_an_account_article_is_queued_and_a_local_one_is_not(synced: tuple) -> None:
    store, account, ids = synced
    store.set_read([ids["Local one"], ids["Remote 3"]])
    store.set_starred(ids["Remote 1"])
    assert [(rid, kind) for _, rid, kind in store.pending_changes(account)] == [("3", "read"), ("1", "star")]
    assert store.pending_changes() == store.pending_changes(account)  # the local article queued nothing


def test_the_queue_is_written_in_the_flags_transaction(synced: tuple) -> None:
    store, account, ids = synced
    with pytest.raises(RuntimeError), store.transaction():
        store.set_read([ids["Remote 3"]])
        raise RuntimeError("crash before commit")
    assert store.get(ids["Remote 3"]).read is False  # type: ignore[union-attr]
    assert store.pending_changes(account) == []


def test_a_change_undone_before_a_sync_leaves_only_the_newest_in_the_queue(synced: tuple) -> None:
    store, account, ids = synced
    store.set_read([ids["Remote 3"]])
    store.set_read([ids["Remote 3"]], False)
    store.set_starred(ids["Remote 3"])
    assert [(rid, kind) for _, rid, kind in store.pending_changes(account)] == [("3", "unread"), ("3", "star")]


def test_mark_all_read_queues_the_account_articles_it_changed(synced: tuple) -> None:
    store, account, ids = synced
    changed = store.mark_all_read_ids(Query(account_id=account))
    assert sorted(changed) == sorted([ids["Remote 2"], ids["Remote 3"]])
    assert sorted(rid for _, rid, _ in store.pending_changes(account)) == ["2", "3"]
    assert store.get(ids["Local one"]).read is False  # type: ignore[union-attr]


def test_the_server_state_never_overwrites_a_change_still_queued(synced: tuple) -> None:
    store, account, ids = synced
    store.set_read([ids["Remote 3"]])  # queued, not pushed yet
    # The server (older state): 3 unread, 1 unread now, nothing starred.
    assert store.reconcile_flags(account, unread={"1", "3"}, starred=set()) == (2, 1)
    flags = {t: (r.read, r.starred) for t, r in ((r.title, r) for r in store.iter_rows())}
    assert flags["Remote 1"] == (False, False) and flags["Remote 2"] == (True, False)
    assert flags["Remote 3"] == (True, False)  # the local change stands
    store.drop_pending([c for c, _, _ in store.pending_changes(account)])
    store.reconcile_flags(account, unread={"1", "3"}, starred=set())
    assert store.get(ids["Remote 3"]).read is False  # type: ignore[union-attr]


def test_a_refused_change_leaves_the_queue_with_its_reason_and_keeps_the_local_flag(synced: tuple) -> None:
    store, account, ids = synced
    store.set_read([ids["Remote 3"]])
    store.set_starred(ids["Remote 3"])
    read, star = store.pending_changes(account)
    store.refuse_pending([read[0]], "HTTP 400 Bad Request")
    assert store.pending_changes(account) == [star]  # only the refused one left the queue
    assert store.refused_changes(account) == [("3", "read", "HTTP 400 Bad Request")]
    # The server (which never took it) says unread: the person's flag stays.
    store.drop_pending([star[0]])
    store.reconcile_flags(account, unread={"2", "3"}, starred={"2", "3"})
    assert store.get(ids["Remote 3"]).read is True  # type: ignore[union-attr]
    assert store.refused_changes(account) == [("3", "read", "HTTP 400 Bad Request")]
    # A newer change of the same flag supersedes it (and is queued as any other).
    store.set_read([ids["Remote 3"]], False)
    assert store.refused_changes(account) == []
    assert [(rid, kind) for _, rid, kind in store.pending_changes(account)] == [("3", "unread")]


def test_a_refused_change_the_server_comes_to_agree_with_is_settled(synced: tuple) -> None:
    store, account, ids = synced
    store.set_starred(ids["Remote 3"])
    store.refuse_pending([c for c, _, _ in store.pending_changes(account)], "HTTP 403 Forbidden")
    store.reconcile_flags(account, unread={"2", "3"}, starred={"3"})  # starred there, some other way
    assert store.refused_changes() == []
    store.reconcile_flags(account, unread={"2", "3"}, starred=set())  # and from now on followed again
    assert store.get(ids["Remote 3"]).starred is False  # type: ignore[union-attr]


def test_removing_an_account_forgets_its_refused_changes(synced: tuple) -> None:
    store, account, ids = synced
    store.set_starred(ids["Remote 3"])
    store.refuse_pending([c for c, _, _ in store.pending_changes(account)], "HTTP 410 Gone")
    store.remove_account(account)
    assert store.refused_changes() == []
    assert store._conn.execute("SELECT count(*) FROM refused_changes").fetchone()[0] == 0


def test_folders_and_accounts_filter_lists(synced: tuple) -> None:
    store, account, _ = synced
    assert store.count(Query(account_id=account)) == 3
    assert store.count(Query(folder="News")) == 3 and store.count(Query(folder="Other")) == 0
    assert store.count() == 4


def test_an_account_feed_is_not_refreshed_by_us(synced: tuple) -> None:
    store, _, _ = synced
    assert subscriptions.due_feeds(store, force=True) == []
    assert b"http://f/feed.xml" in subscriptions.export_opml(store)


def test_removing_an_account_keeps_only_its_starred_articles_and_the_index_agrees(synced: tuple) -> None:
    store, account, ids = synced
    store.set_read([ids["Remote 2"]])
    assert store.remove_account(account) == (2, 1, 1)
    assert sorted(r.title or "" for r in store.iter_rows()) == ["Local one", "Remote 2"]
    assert store.count(Query(search="remote")) == 1  # the removed ones left the search index
    assert store.pending_changes() == [] and store.accounts() == [] and store.feeds() == []
    kept = store.get(ids["Remote 2"])
    assert kept is not None and kept.starred


def test_an_item_stored_twice_is_one_article(synced: tuple) -> None:
    store, account, _ = synced
    again = [("3", remote("alice@host", "3", "Remote 3"), True, True)]
    assert store.add_remote_articles(account, again) == 0
    assert store.count(Query(account_id=account)) == 3
    assert store.unknown_remote_ids(account, ["1", "9", "3", "8"]) == ["9", "8"]


def test_a_feed_gone_from_the_server_goes_with_its_unstarred_articles(synced: tuple) -> None:
    store, account, _ = synced
    assert store.sync_subscriptions(account, []) == (0, 1)
    assert [r.title for r in store.iter_rows(Query(search="remote"))] == ["Remote 2"]


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        (1_700_000_000, datetime.fromtimestamp(1_700_000_000, UTC)),
        (1_700_000_000_000, None),  # milliseconds: beyond a date; the item stays, without one
        (10**20, None),
        (-5, None),
        ("1700000000", None),
        (True, None),
    ],
)
def test_an_items_date_beyond_a_date_keeps_the_item_without_one(published: object, expected: object) -> None:
    from reader.records import Account
    from reader.sync.engine import item_article

    account = Account(1, "acct", "https://rss.example/api/greader.php", "alice")
    item = {
        "id": "tag:google.com,2005:reader/item/000000000000002a",
        "title": "A title",
        "published": published,
        "summary": {"content": "<p>Body</p>"},
        "origin": {"streamId": "feed/1", "title": "Feed"},
    }
    remote_id, article = item_article(item, account, {})
    assert remote_id == "42" and article.title == "A title" and article.published == expected
