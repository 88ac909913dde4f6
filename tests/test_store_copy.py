"""``reader store copy SRC DST``: a SQLite store into PostgreSQL and back (and file to file), with
everything each holds: articles and their raw records byte for byte, feeds, accounts, flags, the
sync queues, enclosures; run again after an interruption it finishes without duplicates or loss;
a destination that holds other data, or a newer schema, is refused in one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_cli import SEEDS, reader

from reader.importer import import_paths
from reader.records import Article, Enclosure, Query
from reader.store import Store, StoreError
from reader.store import copy as copy_module
from reader.store.protocol import StoreProtocol, open_store

OLD = datetime(2020, 1, 1, tzinfo=UTC)


def rich_store(path: Path) -> dict[str, Any]:
    """A store file with one of everything: the seed corpus (raw records), a feed with its HTTP
    state, folder and full-article setting, its articles with enclosures, a sync account with its
    feed and articles, read and star flags, a queued and a refused change, a cleanup tombstone, a
    rule with its label and a hidden article, a fetched full article. What it made, by name."""
    import_paths(path, [str(SEEDS)])
    made: dict[str, Any] = {}
    with Store.open(path) as store:
        feed = store.add_feed("https://news.example/feed.xml", "News")
        store.update_feed(
            feed.id, etag='"abc"', last_modified="Tue, 01 Oct 2024 10:00:00 GMT", full_content=True, dead=False
        )
        episode = Enclosure("https://cdn.example/ep1.mp3", "audio/mpeg", 1234, 61)
        store.add_articles(
            [
                Article(
                    source="News",
                    feed_id=feed.id,
                    key=f"feed:{feed.id}:{i}",
                    title=f"Volcano report {i}",
                    url=f"https://news.example/{i}",
                    published=(OLD if i == 0 else datetime(2024, 10, 1, tzinfo=UTC) + timedelta(hours=i)),
                    body=f"The volcano erupted again, report {i}.",
                    body_html=f"<p>The volcano erupted again, report {i}.</p>",
                    raw=f"<item><title>Volcano report {i}</title></item>",
                    enclosures=(episode,) if i == 1 else (),
                )
                for i in range(4)
            ]
        )
        feed_ids = [r.id for r in store.page(Query(feed_id=feed.id)).rows]
        store.set_read([feed_ids[-1]])  # (the only read article: cleaned up, a tombstone left)
        assert store.cleanup(datetime.now(UTC) + timedelta(days=1)).removed == 1
        store.set_starred(feed_ids[0])
        store.set_full_content(feed_ids[1], "<p>The whole page about lava.</p>", "The whole page about lava.", "ok")
        account = store.add_account("ann@host", "http://127.0.0.1:1/api/greader.php", "ann")
        store.update_account(account.id, since=1700000000)
        store.sync_subscriptions(account.id, [("feed/1", "Remote", "https://remote.example/rss", None, "Tech")])
        (remote_feed,) = store.remote_feeds(account.id).values()
        items = [
            (
                f"tag:{i}",
                Article(
                    source="Remote",
                    feed_id=remote_feed.id,
                    key=f"greader:ann@host:tag:{i}",
                    title=f"Remote story {i}",
                    url=f"https://remote.example/{i}",
                    body=f"Remote body {i}.",
                ),
                i == 0,
                i == 1,
            )
            for i in range(3)
        ]
        store.add_remote_articles(account.id, items)
        remote_ids = {r.title: r.id for r in store.page(Query(account_id=account.id)).rows}
        store.set_read([remote_ids["Remote story 2"]])  # queued
        store.set_starred(remote_ids["Remote story 0"])  # queued, then refused
        (_, star) = sorted(store.pending_changes(account.id))
        store.refuse_pending([star[0]], "HTTP 403")
        store.add_rule("lava", "volcano report 2", "label:Lava")
        store.add_rule("hide-kaspersky", "kaspersky", "hide")
        store.apply_rules()
        made.update(feed=feed.id, account=account.id, full=feed_ids[1], starred=feed_ids[0])
    return made


def snapshot(store: StoreProtocol) -> dict[str, Any]:
    """What both engines hold, as the store's own methods give it."""
    ids = [r.id for r in store.iter_rows(Query(view="hidden"))]
    ids += [r.id for r in store.iter_rows()]
    articles = {}
    for i in sorted(ids):
        a = store.get(i)
        assert a is not None
        articles[i] = (
            a.key,
            a.source,
            a.feed_id,
            a.title,
            a.author,
            a.description,
            a.url,
            a.image_url,
            a.published,
            a.body,
            a.body_html,
            a.raw,
            a.origin,
            a.imported_at,
            a.read,
            a.starred,
            a.enclosures,
        )
    accounts = store.accounts()
    return {
        "articles": articles,
        "feeds": store.feeds(),
        "accounts": accounts,
        "queued": [store.pending_changes(a.id) for a in accounts],
        "refused": [store.refused_changes(a.id) for a in accounts],
        "totals": store.totals(),
        "found": [r.id for r in store.page(Query(search="volcano erupted")).rows],
        "prefix": [r.id for r in store.page(Query(search="volc")).rows],
    }


def sqlite_only(store: Store) -> dict[str, Any]:
    """What only the SQLite store holds (PostgreSQL gets it from another change)."""
    accounts = store.accounts()
    return {
        "refused": [store.refused_changes(a.id) for a in accounts],
        "rules": store.rules(),
        "labels": store.labels(),
        "hidden": store.hidden_count(),
        "full": [(a.full_html, a.full_status) for a in map(store.get, range(1, 200)) if a is not None],
        "lava": [r.id for r in store.page(Query(search="lava")).rows],
        "counts": store.counts(),
    }


def test_a_sqlite_store_copied_to_postgresql_and_back_keeps_everything_both_hold(
    tmp_path: Path, postgres_url: str
) -> None:
    source = tmp_path / "source.sqlite"
    rich_store(source)
    with Store.open(source) as store:
        before = snapshot(store)
    assert len(before["articles"]) == 129 + 3 + 3
    assert before["queued"] != [[]] and before["found"] and before["prefix"]

    there = reader("store", "copy", str(source), postgres_url)
    assert (there.returncode, there.stderr) == (0, ""), there.stderr  # (refused changes too: schema 3)
    assert there.stdout.startswith("copied 1 account, 2 feeds, 135 articles, 1 queued change, 1 refused change")
    assert there.stdout.endswith(f" into {postgres_url}\n")
    with open_store(postgres_url) as shared:
        after = snapshot(shared)
    with Store.open(source) as store:
        hidden = set(before["articles"]) - {r.id for r in store.iter_rows()}
    assert hidden, "the rule hid the Kaspersky articles (in the SQLite store)"
    # Every article, byte for byte, with the same id; flags, feeds, accounts, the queue and the
    # search index agree.
    assert after["articles"] == before["articles"]
    for name in ("feeds", "accounts", "queued", "refused", "found", "prefix"):
        assert after[name] == before[name], name
    raw = reader("--db", postgres_url, "show", str(min(before["articles"])), "--raw").stdout
    assert raw == reader("--db", str(source), "show", str(min(before["articles"])), "--raw").stdout
    assert raw.startswith("['")

    back = tmp_path / "back.sqlite"
    home = reader("store", "copy", postgres_url, str(back))
    assert (home.returncode, home.stderr) == (0, ""), home.stderr
    with Store.open(back) as store:
        again = snapshot(store)
        # The rules, their labels and what they hid came through PostgreSQL and back.
        with Store.open(source) as first:
            assert [(r.name, r.query, r.action) for r in store.rules()] == [
                (r.name, r.query, r.action) for r in first.rules()
            ]
            assert (store.labels(), store.hidden_count()) == (first.labels(), first.hidden_count())
        assert store.hidden_count() > 0 and store.labels()
        assert store.counts()[0] == store.totals(), "the counts the triggers keep agree"
        # A new article after the copy gets a new id (PostgreSQL's identity was moved on too).
        assert store.add_articles([Article(source="x", title="new", body="b")]).added == 1
    assert again["articles"] == after["articles"] and again["feeds"] == after["feeds"]
    assert again["queued"] == after["queued"] and again["accounts"] == after["accounts"]
    with open_store(postgres_url) as shared:
        assert shared.add_articles([Article(source="x", title="new", body="b")]).added == 1
        assert shared.count() + shared.hidden_count() == len(before["articles"]) + 1


def test_a_file_copied_to_a_file_keeps_what_postgresql_has_not_got_yet(tmp_path: Path) -> None:
    """Both sides have every table: each entry copies (the "not copied" lines are gone)."""
    source = tmp_path / "source.sqlite"
    rich_store(source)
    done = reader("store", "copy", str(source), str(tmp_path / "copy.sqlite"))
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert "1 refused change" in done.stdout and "2 rules" in done.stdout and "1 cleanup tombstone" in done.stdout
    with Store.open(source) as a, Store.open(tmp_path / "copy.sqlite") as b:
        assert snapshot(b) == snapshot(a)
        assert sqlite_only(b) == sqlite_only(a)
        # The tombstone still keeps the cleaned-up entry from coming back with its feed.
        feed = a.feeds()[0]
        again = Article(source="News", title="again", feed_id=feed.id, key=f"feed:{feed.id}:0")
        assert b.add_articles([again]).added == 0


def test_the_read_and_star_state_copied_is_the_named_persons(tmp_path: Path, postgres_url: str) -> None:
    source = tmp_path / "source.sqlite"
    with Store.open(source) as store:
        store.add_articles([Article(source="wire", title=f"S{i}", url=f"https://w.example/{i}") for i in range(3)])
        store.set_read([1, 2])
        store.set_starred(3)
    assert reader("store", "copy", "--user", "ann", str(source), postgres_url).returncode == 0
    with open_store(postgres_url, person="ann") as ann, open_store(postgres_url, person="bob") as bob:
        assert (ann.totals(), bob.totals()) == ((3, 1, 1), (3, 3, 0))
        bob.set_starred(1)
    out = tmp_path / "bob.sqlite"
    assert reader("store", "copy", postgres_url, str(out), "--user", "bob").returncode == 0
    with Store.open(out) as store:
        assert store.totals() == (3, 3, 1) and store.get(1).starred  # type: ignore[union-attr]


def many(n: int) -> list[Article]:
    return [
        Article(source="wire", title=f"Story {i}", url=f"https://wire.example/{i}", body=f"Body {i}.", raw=f"r{i}")
        for i in range(n)
    ]


@pytest.mark.parametrize("direction", ["to postgres", "to sqlite"])
def test_a_copy_interrupted_after_some_batches_finishes_when_run_again(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch, direction: str
) -> None:
    """Stopped in its third batch (an exception, as Ctrl+C is, inside the batch's transaction):
    two batches are in; run again, the copy goes on from there, and ends equal to the source."""
    source: Any = tmp_path / "source.sqlite"
    with Store.open(source) as store:
        store.add_articles(many(50))
        store.set_read([3, 17, 44])
    if direction == "to sqlite":
        with open_store(postgres_url) as shared, Store.open(source) as store:
            copy_module.copy_store(store, shared)
        source, target = postgres_url, tmp_path / "target.sqlite"
    else:
        target = postgres_url
    monkeypatch.setattr(copy_module, "BATCH_ROWS", 10)

    def stop(batch: int) -> None:
        if batch == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(copy_module, "batch_written", stop)
    with open_store(source) as src, open_store(target) as dst:
        with pytest.raises(KeyboardInterrupt):
            copy_module.copy_store(src, dst)
        assert dst.count() == 20, "two batches committed, the third rolled back"
        monkeypatch.setattr(copy_module, "batch_written", None)
        report = copy_module.copy_store(src, dst)
        assert report.copied["article"] == 30 and report.already >= 20
        assert snapshot(dst) == snapshot(src)
        again = copy_module.copy_store(src, dst)
        assert again.copied["article"] == 0, "a third run finds it all there"
        assert snapshot(dst) == snapshot(src)


KILLED = """
import os, signal, sys
from reader import cli
from reader.store import copy
copy.BATCH_ROWS = 10
def kill(batch):
    if batch == 3:
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)
copy.batch_written = kill
sys.exit(cli.main(sys.argv[1:]))
"""


def test_a_copy_killed_in_a_batch_finishes_without_duplicates_or_loss_when_run_again(
    tmp_path: Path, postgres_url: str
) -> None:
    """SIGKILL in the middle of a batch's transaction (its rows written, not committed)."""
    source = tmp_path / "source.sqlite"
    with Store.open(source) as store:
        store.add_articles(many(45))
        store.set_starred(7)
    killed = subprocess.run(
        [sys.executable, "-c", KILLED, "store", "copy", str(source), postgres_url],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with open_store(postgres_url) as shared:
        assert shared.count() == 20
    done = reader("store", "copy", str(source), postgres_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        f"copied 25 articles (20 rows an earlier run copied were left as they were) into {postgres_url}\n"
    )
    with open_store(postgres_url) as shared, Store.open(source) as store:
        assert snapshot(shared) == snapshot(store)
        assert len({r.url for r in shared.iter_rows()}) == 45


# --- refusals, each one line -----------------------------------------------------------------------


def test_a_destination_with_other_articles_is_refused_and_left_as_it_was(tmp_path: Path, postgres_url: str) -> None:
    source = tmp_path / "source.sqlite"
    with Store.open(source) as store:
        store.add_articles(many(5))
        store.add_account("ann@host", "http://127.0.0.1:1/api/greader.php", "ann")
    with open_store(postgres_url) as shared:
        shared.add_articles([Article(source="other", title="Theirs", url="https://other.example/1")])
    done = reader("store", "copy", str(source), postgres_url)
    assert done.returncode == 2
    assert done.stderr == (
        f"reader: {postgres_url}: holds other articles (1 article, not what a copy of the source left there); "
        "copy into an empty store\n"
    )
    with open_store(postgres_url) as shared:
        assert [r.title for r in shared.page().rows] == ["Theirs"]
        assert shared.accounts() == [], "refused before anything was written"
    other = tmp_path / "other.sqlite"
    with Store.open(other) as store:
        store.add_feed("https://other.example/feed.xml")
    with Store.open(source) as store:
        store.add_feed("https://mine.example/feed.xml")
    done = reader("store", "copy", str(source), str(other))
    assert done.returncode == 2
    assert done.stderr == (
        f"reader: {other}: holds other data (feed 1, 'https://other.example/feed.xml', is not the source's); "
        "copy into an empty store\n"
    )


def test_a_destination_of_a_newer_schema_or_another_program_is_refused_in_one_line(
    tmp_path: Path, postgres_server: Any
) -> None:
    source = tmp_path / "source.sqlite"
    with Store.open(source) as store:
        store.add_articles(many(2))
    url = postgres_server.new_database()
    postgres_server.sql("UPDATE reader_schema SET version = version + 1", url.rsplit("/", 1)[1])
    done = reader("store", "copy", str(source), url)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "written by a newer Reader" in done.stderr
    foreign = tmp_path / "foreign.sqlite"
    import sqlite3

    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    done = reader("store", "copy", str(source), str(foreign))
    assert (done.returncode, done.stderr) == (
        2,
        f"reader: {foreign}: not a Reader store (an SQLite database of another program); left untouched\n",
    )
    theirs = postgres_server.new_database(empty=True)
    postgres_server.sql("CREATE TABLE notes (x text)", theirs.rsplit("/", 1)[1])
    done = reader("store", "copy", str(source), theirs)
    assert (done.returncode, done.stderr) == (
        2,
        f"reader: {theirs}: not a Reader store (a database of another program: 1 tables and no Reader schema); "
        "left untouched\n",
    )


def test_copying_a_store_onto_itself_or_from_nowhere_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "source.sqlite"
    with Store.open(source) as store:
        store.add_articles(many(1))
    done = reader("store", "copy", str(source), str(tmp_path / "." / "source.sqlite"))
    assert (done.returncode, done.stderr.count("\n")) == (2, 1) and "is the source itself" in done.stderr
    done = reader("store", "copy", str(tmp_path / "missing.sqlite"), str(tmp_path / "new.sqlite"))
    assert done.stderr == f"reader: {tmp_path / 'missing.sqlite'}: no such store\n"
    assert not (tmp_path / "new.sqlite").exists()
    done = reader("store", "copy", "--user", "ann", str(source), str(tmp_path / "new.sqlite"))
    assert done.returncode == 2 and "neither store is one" in done.stderr


def test_the_copy_says_nothing_of_progress_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    source = tmp_path / "source.sqlite"
    with Store.open(source) as store:
        store.add_articles(many(3))
    done = reader("store", "copy", str(source), str(tmp_path / "copy.sqlite"))
    assert (done.stdout, done.stderr) == (f"copied 3 articles into {tmp_path / 'copy.sqlite'}\n", "")
    assert json.loads(reader("--db", str(tmp_path / "copy.sqlite"), "list", "--json").stdout)[0]["title"] == "Story 2"


def test_on_a_terminal_the_copy_shows_a_progress_bar_of_the_rows_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from test_cli import Terminal

    from reader import cli

    source = tmp_path / "source.sqlite"
    with Store.open(source) as store:
        store.add_articles(many(30))
    drawn = threading.Event()

    class AtOnce(cli.DelayedBar):  # (no half-second wait before the bar)
        def __init__(self, description: str, stream: Any, delay: float = 0.0, unit: str = "file") -> None:
            super().__init__(description, stream, 0.0, unit)

        def _show(self) -> None:
            super()._show()
            if self._bar is not None:
                drawn.set()

    def second_batch(batch: int) -> None:
        if batch == 2:  # the first was counted: the bar is drawn before the copy goes on
            assert drawn.wait(10)

    terminal = Terminal()
    monkeypatch.setattr(cli, "DelayedBar", AtOnce)
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(copy_module, "BATCH_ROWS", 10)
    monkeypatch.setattr(copy_module, "batch_written", second_batch)
    assert cli.main(["store", "copy", str(source), str(tmp_path / "copy.sqlite")]) == 0
    assert "copying" in terminal.getvalue() and "/30 " in terminal.getvalue() and "row/s" in terminal.getvalue()


def test_an_article_whose_body_is_damaged_is_copied_as_it_is_and_named(tmp_path: Path, postgres_url: str) -> None:
    from test_store import damage_body

    source = tmp_path / "source.sqlite"
    with Store.open(source) as store:
        store.add_articles(many(3))
    damage_body(source, 2)
    for target in (postgres_url, str(tmp_path / "copy.sqlite")):
        done = reader("store", "copy", str(source), target)
        assert done.returncode == 1
        assert done.stderr == (
            f"reader: {source}: article 2: damaged packed text; copied as it is, its body left out of the "
            "search index\n"
        )
        assert done.stdout == f"copied 3 articles into {target}\n"
        with open_store(target) as copied:
            assert copied.get(1).raw == "r0"  # type: ignore[union-attr]
            assert [r.id for r in copied.page(Query(search="story 0")).rows] == [1]
            with pytest.raises(StoreError, match="article 2: damaged packed text"):
                copied.get(2)


def test_a_database_copied_to_another_keeps_the_named_persons_state_and_queue(
    postgres_url: str, postgres_server: Any
) -> None:
    from test_sync_store import remote

    with open_store(postgres_url, person="ann") as ann:
        ann.add_articles(many(4))
        account = ann.add_account("ann@host", "http://127.0.0.1:1/api/greader.php", "ann")
        ann.add_remote_articles(
            account.id, [(rid, remote("ann@host", rid, f"Remote {rid}"), False, False) for rid in "12"]
        )
        ann.set_read([1])
        ann.set_starred(2)
        ann.set_read([ann.page(Query(account_id=account.id)).rows[0].id])  # queued for the server
        before = snapshot(ann)
    with open_store(postgres_url, person="bob") as bob:
        bob.set_starred(3)
    other = postgres_server.new_database()
    done = reader("store", "copy", "--user", "ann", postgres_url, other)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    with open_store(other, person="ann") as ann, open_store(other, person="bob") as bob:
        assert snapshot(ann) == before and ann.pending_changes() != []
        assert bob.totals() == (6, 6, 0) and bob.pending_changes() == [], "only ann's state and queue"


@pytest.mark.parametrize("direction", ["to postgres", "to sqlite"])
def test_a_store_written_to_while_it_is_copied_is_copied_as_it_was_when_the_copy_began(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch, direction: str
) -> None:
    """Another program stores articles and labels them while the copy runs (after its first batch):
    the copy is of the store as it was when it began, whole, and nothing of the later writes."""
    source: Any = tmp_path / "source.sqlite"
    with Store.open(source) as store:
        store.add_articles(many(30))
    target: Any = postgres_url
    if direction == "to sqlite":
        with open_store(postgres_url) as shared, Store.open(source) as store:
            copy_module.copy_store(store, shared)
        source, target = postgres_url, tmp_path / "target.sqlite"
    monkeypatch.setattr(copy_module, "BATCH_ROWS", 10)

    def meanwhile(batch: int) -> None:
        if batch == 1:
            with open_store(source) as writer:
                writer.add_articles([Article(source="wire", title=f"late {i}", body="late") for i in range(15)])
                late = [r.id for r in writer.iter_rows() if (r.title or "").startswith("late")]
                assert writer.add_label(late, "Late") == 15

    monkeypatch.setattr(copy_module, "batch_written", meanwhile)
    with open_store(source) as src, open_store(target) as dst:
        report = copy_module.copy_store(src, dst)
        assert dst.count() == 30 and dst.labels() == [], report
    with open_store(source) as src:
        assert src.count() == 45  # (the late ones are there, for the next copy into an empty store)
