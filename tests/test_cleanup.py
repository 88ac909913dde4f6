"""Retention: ``reader cleanup`` and the window's "remove read articles older than" preference.
Old, read, unstarred articles go with their search entries; a tombstone keeps a removed feed
article from coming back with the next refresh of its feed; starred and unread ones stay unless
asked; the space is reused, or given back to the disk (VACUUM)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import OFFSCREEN_SIZE_HINTS, SQLITE_ONLY, all_titles, both_engines, import_inputs, older_store, wait_job
from test_cli import reader

from reader import subscriptions
from reader.records import Article, Query
from reader.store import SCHEMA_VERSION, Store, open_store
from reader.ui.jobs import JobKind

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=200)
RECENT = NOW - timedelta(days=10)


#: These tests run on SQLite and on PostgreSQL (tests/conftest.py).
db, store = both_engines()


def rss_file(path: Path, items: list[tuple[str, str, datetime]]) -> Path:
    """A feed file listing (guid, title, date) items."""
    entries = "".join(
        f"<item><title>{title}</title><link>https://feed.example/{guid}</link><guid>{guid}</guid>"
        f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate>"
        f"<description>About {title}.</description></item>"
        for guid, title, when in items
    )
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Harbour Gazette</title>'
        f"<link>https://feed.example/</link><description>x</description>{entries}</channel></rss>",
        encoding="utf-8",
    )
    return path


def seed(title: str, when: datetime, body: str = "") -> Article:
    return Article("Desk", title, published=when, body=body or f"{title} body text", url=f"https://x.example/{title}")


def words(n: int, salt: int) -> str:
    """Text that neither deflates nor shares terms with another article's much."""
    rng = random.Random(salt)
    return " ".join(f"w{rng.randrange(10**9)}" for _ in range(n))


def stored_when_published(store: Store) -> None:
    """As if each article had been stored when it was published (a feed followed for long): the
    cleanup dates an article by the later of the two."""
    with store.transaction() as conn:
        conn.execute("UPDATE articles SET imported_at = coalesce(published, imported_at)")


def ids_by_title(store: Store) -> dict[str, int]:
    return {row.title: row.id for row in store.iter_rows()}


def test_only_old_read_unstarred_articles_go_with_their_search_entries(store: Store) -> None:
    store.add_articles(
        [
            seed("old read", OLD, "lighthouse keeper"),
            seed("old read starred", OLD),
            seed("old unread", OLD),
            seed("recent read", RECENT),
        ]
    )
    stored_when_published(store)
    ids = ids_by_title(store)
    store.set_read([ids["old read"], ids["old read starred"], ids["recent read"]])
    store.set_starred(ids["old read starred"])
    assert store.count(Query(search="lighthouse")) == 1
    cutoff = NOW - timedelta(days=90)

    dry = store.cleanup(cutoff, dry_run=True)
    assert (dry.removed, dry.starred_kept) == (1, 1)
    assert len(ids_by_title(store)) == 4  # a dry run changes nothing

    done = store.cleanup(cutoff)
    assert (done.removed, done.starred_kept) == (1, 1)
    assert set(ids_by_title(store)) == {"old read starred", "old unread", "recent read"}
    assert store.count(Query(search="lighthouse")) == 0  # its words left the index
    assert store.get(ids["old read"]) is None

    assert store.cleanup(cutoff, unread_too=True).removed == 1  # asked: the old unread one
    assert store.cleanup(cutoff, starred_too=True).removed == 1  # asked: the starred one
    assert set(ids_by_title(store)) == {"recent read"}


def test_undated_articles_are_dated_by_when_they_were_stored(store: Store) -> None:
    store.add_articles([Article("Desk", "undated", body="no date")])
    store.set_read(list(ids_by_title(store).values()))
    assert store.cleanup(NOW - timedelta(days=1)).removed == 0  # stored today: not old
    assert store.cleanup(NOW + timedelta(days=1)).removed == 1


def test_a_removed_feed_article_does_not_come_back_with_its_feed(store: Store, tmp_path: Path) -> None:
    feed = rss_file(tmp_path / "gazette.rss", [("a", "old story", OLD), ("b", "recent story", RECENT)])
    import_inputs(store, [("feed", str(feed))])
    stored_when_published(store)
    ids = ids_by_title(store)
    store.set_read(list(ids.values()))
    assert store.cleanup(NOW - timedelta(days=90)).removed == 1

    # The feed still lists the old story (and one more, new): only the new one arrives.
    rss_file(feed, [("a", "old story", OLD), ("b", "recent story", RECENT), ("c", "new story", NOW)])
    added, problems = subscriptions.refresh(store, force=True)
    assert problems == []
    assert added.added == 1
    assert set(ids_by_title(store)) == {"recent story", "new story"}


def test_an_article_whose_change_waits_for_its_sync_server_stays(store: Store) -> None:
    account = store.add_account("alice", "https://rss.example/api/greader.php", "alice")
    store.sync_subscriptions(account.id, [("feed/1", "Remote", "https://r.example/feed", None, None)])
    feed = store.remote_feeds(account.id)["feed/1"]
    remote = Article(None, "remote old", published=OLD, key="sync:alice:1", feed_id=feed.id)
    store.add_remote_articles(account.id, [("tag:google.com,2005:reader/item/1", remote, False, False)])
    stored_when_published(store)
    store.set_read([ids_by_title(store)["remote old"]])  # queued for the server
    assert store.pending_changes(account.id)
    assert store.cleanup(NOW - timedelta(days=90)).removed == 0
    store.drop_pending([change_id for change_id, _, _ in store.pending_changes(account.id)])
    assert store.cleanup(NOW - timedelta(days=90)).removed == 1


def test_a_store_of_the_previous_schema_gains_the_tombstones(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with older_store(path, SCHEMA_VERSION - 1) as old:
        old.add_articles([seed("kept", OLD)])
    with Store.open(path) as store:
        store.set_read(list(ids_by_title(store).values()))
        assert store.cleanup(NOW).removed == 1


@SQLITE_ONLY
def test_reader_cleanup_removes_and_gives_the_space_back(db: Path) -> None:
    with open_store(db) as store:
        store.add_articles([seed(f"story {i}", OLD, words(400, i)) for i in range(300)])
        store.add_articles([seed("fresh", RECENT)])
        stored_when_published(store)
        store.set_read(list(ids_by_title(store).values()))

    dry = reader("--db", str(db), "cleanup", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("would remove 300 articles dated before ")
    wal = db.with_name(db.name + "-wal")
    size = db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)

    done = reader("--db", str(db), "cleanup", "--older-than", "12w")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("removed 300 articles dated before ")
    assert "store " in done.stdout and " MB -> " in done.stdout
    assert db.stat().st_size < size / 2
    listed = json.loads(reader("--db", str(db), "list", "--json").stdout)
    assert [a["title"] for a in listed] == ["fresh"]


@SQLITE_ONLY
def test_reader_cleanup_no_compact_leaves_the_space_inside(db: Path) -> None:
    with open_store(db) as store:
        store.add_articles([seed(f"story {i}", OLD, words(400, i)) for i in range(100)])
        stored_when_published(store)
        store.set_read(list(ids_by_title(store).values()))
    size = db.stat().st_size
    done = reader("--db", str(db), "cleanup", "--no-compact")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("removed 100 articles")
    assert "MB free inside the store, reused by new articles" in done.stdout
    assert db.stat().st_size >= size  # not written anew (no VACUUM)
    assert json.loads(reader("--db", str(db), "list", "--json").stdout) == []


@pytest.mark.parametrize("age", ["9x", "d", "-3d", "ninety"])
def test_a_malformed_age_is_one_line_and_changes_nothing(db: Path, age: str) -> None:
    with open_store(db) as store:
        store.add_articles([seed("old", OLD)])
        store.set_read(list(ids_by_title(store).values()))
    done = reader("--db", str(db), "cleanup", f"--older-than={age}")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "not a duration" in done.stderr and "Traceback" not in done.stderr
    with open_store(db) as store:
        assert len(ids_by_title(store)) == 1


def test_reader_cleanup_on_a_missing_store_says_so(tmp_path: Path) -> None:
    done = reader("--db", str(tmp_path / "none.db"), "cleanup")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "none.db").exists()


@OFFSCREEN_SIZE_HINTS
def test_the_window_removes_old_read_articles_after_a_refresh_when_asked(
    qtbot: Any, window_factory: Any, store: Store, tmp_path: Path
) -> None:
    feed = rss_file(tmp_path / "gazette.rss", [("a", "old story", OLD), ("b", "recent story", RECENT)])
    import_inputs(store, [("feed", str(feed))])
    stored_when_published(store)
    store.set_read(list(ids_by_title(store).values()))
    window = window_factory(store)

    with wait_job(qtbot, window, JobKind.REFRESH):
        window.refreshing.refresh_feeds()  # the preference is off: nothing removed
    assert not window.jobs.running(JobKind.CLEANUP)
    assert set(all_titles(window)) == {"old story", "recent story"}

    window.preferences.show_preferences()
    window.preferences.dialog.cleanup_days.setValue(90)
    window.preferences.dialog.close()
    with wait_job(qtbot, window, JobKind.CLEANUP):
        window.refreshing.refresh_feeds()
    qtbot.waitUntil(lambda: all_titles(window) == ["recent story"])
    assert "Removed 1 read article older than 90 days" in window.statusBar().currentMessage()
    assert window.settings.cleanup_days == 90


@pytest.mark.parametrize("age", ["3000y", "99999999999d"])
def test_an_age_beyond_any_date_is_one_line(db: Path, age: str) -> None:
    with open_store(db) as store:
        store.add_articles([seed("old", OLD)])
    done = reader("--db", str(db), "cleanup", f"--older-than={age}")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "not a duration" in done.stderr and "Traceback" not in done.stderr


def test_an_entry_that_arrives_with_an_old_date_is_not_removed_at_once(store: Store, tmp_path: Path) -> None:
    feed = rss_file(tmp_path / "gazette.rss", [("a", "archive story", OLD)])  # published long ago, stored now
    import_inputs(store, [("feed", str(feed))])
    store.set_read(list(ids_by_title(store).values()))
    assert store.cleanup(NOW - timedelta(days=90)).removed == 0


def test_unsubscribing_takes_the_feeds_tombstones_with_it(store: Store, tmp_path: Path) -> None:
    feed = rss_file(tmp_path / "gazette.rss", [("a", "old story", OLD), ("b", "recent story", RECENT)])
    import_inputs(store, [("feed", str(feed))])
    store.set_read(list(ids_by_title(store).values()))
    stored_when_published(store)
    assert store.cleanup(NOW - timedelta(days=90)).removed == 1
    (subscription,) = store.feeds()
    assert store.unsubscribe(subscription.id) is not None
    # Subscribed again (the same id may be given again): the feed's entries all come back.
    import_inputs(store, [("feed", str(feed))])
    assert set(ids_by_title(store)) == {"old story", "recent story"}
