"""Sync on a shared PostgreSQL store (tests/postgres.py), against the real FreshRSS of the
``freshrss`` fixture: ``reader accounts`` and ``reader sync`` on a URL, and the window's sync.

Whose queue is pushed: the queue tables are per person, and a sync pushes the queue of the person
running it (``--user``, else the database role); the server's read and star state becomes that
person's. Another person's queued changes wait for their own sync.

What the tests do on the server goes through tests/freshrss.py's own client, never reader.sync."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import OFFSCREEN_SIZE_HINTS, flags_stored
from freshrss import STARRED, FreshRSS, RefusingProxy
from test_sync import new_feed

from reader.http import Client
from reader.store import StoreProtocol, open_store
from reader.sync import credentials, engine
from reader.sync.greader import GReaderClient

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reader", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
        cwd=REPO,
    )


@pytest.fixture
def account(freshrss: FreshRSS, postgres_url: str) -> str:
    """A sync account in the shared store for the fixture's server user, added by the CLI."""
    name = f"acct-{uuid.uuid4().hex[:8]}"
    done = cli(
        "--db", postgres_url, "accounts", "add", freshrss.url, "--user", freshrss.user, "--name", name,
        "--password-stdin", stdin=freshrss.password + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return name


def feed_articles(url: str, account: str, stream: str) -> dict[str, int]:
    """Article id by remote id, of the feed ``stream`` of ``account``."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT a.remote_id, a.id FROM articles a JOIN feeds f ON f.id = a.feed_id "
            "JOIN accounts c ON c.id = f.account_id WHERE c.name = %s AND f.remote_id = %s",
            (account, stream),
        ).fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def sync_now(store: StoreProtocol, name: str, http: Client | None = None) -> engine.SyncReport:
    acc = store.get_account(name)
    assert acc is not None
    client = GReaderClient(acc.url, account=name, auth=credentials.load_token(name), http=http)
    return engine.sync(store, acc, client)


def test_reader_sync_on_a_url_pushes_the_queue_of_the_person_running_it(
    freshrss: FreshRSS, postgres_url: str, account: str
) -> None:
    _, stream, ids = new_feed(freshrss, 3)
    api = freshrss.api()
    done = cli("--db", postgres_url, "--user", "ann", "sync")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{account}: ") and "new article" in done.stdout
    by_remote = feed_articles(postgres_url, account, stream)
    assert set(by_remote) == ids
    first, second, _ = sorted(ids)
    assert cli("--db", postgres_url, "--user", "ann", "mark", str(by_remote[first]), "--read").returncode == 0
    assert cli("--db", postgres_url, "--user", "bob", "mark", str(by_remote[second]), "--star").returncode == 0
    assert {first, second} <= api.unread() and not api.starred() & ids

    done = cli("--db", postgres_url, "--user", "ann", "sync")
    assert done.returncode == 0, done.stderr
    assert first not in api.unread(), "ann's change was pushed by her sync"
    assert not api.starred() & ids, "bob's waits for his own"
    with open_store(postgres_url, person="ann") as ann, open_store(postgres_url, person="bob") as bob:
        acc = ann.get_account(account)
        assert acc is not None
        assert ann.pending_changes(acc.id) == []
        assert [(rid, kind) for _, rid, kind in bob.pending_changes(acc.id)] == [(second, "star")]

    assert cli("--db", postgres_url, "--user", "bob", "sync").returncode == 0
    assert api.starred() & ids == {second}
    with open_store(postgres_url, person="bob") as bob:
        got = bob.get(by_remote[first])
        assert got is not None and got.read, "the server's state (ann's read) became bob's at his sync"
        assert bob.pending_changes() == []
    listed = json.loads(cli("--db", postgres_url, "accounts", "list", "--json").stdout)
    assert [(a["name"], a["articles"] >= 3) for a in listed] == [(account, True)]
    done = cli("--db", postgres_url, "accounts", "remove", account)
    assert done.returncode == 0, done.stderr
    with open_store(postgres_url) as store:
        assert store.accounts() == []


def test_a_change_the_server_refuses_is_set_aside_for_its_person_on_postgresql(
    freshrss: FreshRSS, postgres_url: str, account: str
) -> None:
    _, stream, ids = new_feed(freshrss, 4)
    with open_store(postgres_url, person="ann") as ann:
        sync_now(ann, account)
        by_remote = feed_articles(postgres_url, account, stream)
        for rid in sorted(ids):
            ann.set_starred(by_remote[rid])
        refused = sorted(ids)[1]
        proxy = RefusingProxy({refused})
        try:
            report = sync_now(ann, account, Client(proxies={"http": proxy.url}))
        finally:
            proxy.close()
        api = freshrss.api()
        assert (report.pushed, report.refused) == (3, 1)
        assert api.starred() & ids == ids - {refused}
        acc = ann.get_account(account)
        assert acc is not None
        assert ann.pending_changes(acc.id) == []
        assert ann.refused_changes(acc.id) == [(refused, "star", "HTTP 400 Bad Request")]
        again = sync_now(ann, account)
        assert (again.pushed, again.refused) == (0, 0), "not sent again"
        got = ann.get(by_remote[refused])
        assert got is not None and got.starred, "the flag stays as ann set it"
        api.edit_tag([refused], add=STARRED)  # starred on the server some other way: settled
        sync_now(ann, account)
        assert ann.refused_changes() == []
    with open_store(postgres_url, person="bob") as bob:
        assert bob.refused_changes() == [], "ann's refusals are hers"


@OFFSCREEN_SIZE_HINTS
def test_the_window_on_a_url_syncs_and_its_marks_reach_the_server(
    qtbot: Any, freshrss: FreshRSS, postgres_url: str, account: str, window_factory: Any
) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from test_ui_sync import SYNC_MS, sync_in_window

    from reader.records import Query

    _, stream, ids = new_feed(freshrss, 2)
    store = open_store(postgres_url, person="ann")
    try:
        window = window_factory(store)
        with qtbot.waitSignal(window.syncing.synced, timeout=SYNC_MS):
            window.syncing.sync_accounts()
        by_remote = feed_articles(postgres_url, account, stream)
        assert set(by_remote) == ids
        feed_id = store.remote_feeds(store.get_account(account).id)[stream].id  # type: ignore[union-attr]
        window.listing.set_query(Query(feed_id=feed_id))
        qtbot.waitUntil(lambda: window.model.rowCount() == 2)
        window.list.setFocus()
        window.list.select_row(0)
        QTest.keyClick(window.list, Qt.Key.Key_J)  # the second, opened: read
        assert window.model.is_read(1)
        marked = next(rid for rid, i in by_remote.items() if i == window.model.article_id(1))
        flags_stored(qtbot, window)
        assert marked in freshrss.api().unread(), "not sent before the sync"
        sync_in_window(qtbot, window)
        assert marked not in freshrss.api().unread()
    finally:
        store.close()


def test_a_database_of_the_schema_before_gets_the_refused_changes_table(postgres_server: Any) -> None:
    from reader.store.postgres import SCHEMA_VERSION

    url = postgres_server.new_database()
    database = url.rsplit("/", 1)[1]
    postgres_server.sql(
        "DROP TABLE refused_changes; UPDATE reader_schema SET version = 2", database
    )  # (the schema before step 3, which made the table)
    with open_store(url) as store:
        assert store.refused_changes() == []
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version FROM reader_schema").fetchone() == (SCHEMA_VERSION,)
