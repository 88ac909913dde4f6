"""Sync with a Google Reader API server, against a real FreshRSS (the ``freshrss`` fixture: one for
the whole run, so each test makes its own feeds and compares sets, whatever other tests left).

What the tests do on the server goes through tests/freshrss.py's own client, never reader.sync."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from freshrss import READ, STARRED, FreshRSS, HoldingProxy, RefusingProxy, login_answer

from reader import cli
from reader import http as http_module
from reader.http import Client
from reader.records import Query
from reader.store import Store
from reader.sync import credentials, engine
from reader.sync.greader import GReaderClient, SyncError

REPO = Path(__file__).resolve().parent.parent


# --- helpers ---------------------------------------------------------------------------------------


def run(db: Path, *args: str, stdin: str = "", capsys: Any, monkeypatch: Any) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli.main(["--db", str(db), *args])
    out, err = capsys.readouterr()
    return code, out, err


def local_state(db: Path, account: str) -> list[tuple[str, int, int]]:
    """(remote id, read, starred) of every article of ``account``, read straight from the file."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT a.remote_id, a.read, a.starred FROM articles a JOIN accounts c ON c.id = a.account_id "
            "WHERE c.name = ? ORDER BY a.remote_id",
            (account,),
        ).fetchall()
    finally:
        conn.close()


def assert_in_step(db: Path, account: str, server: Any) -> None:
    """Reader has exactly the server's items, each once, with the server's read and star state."""
    state = local_state(db, account)
    ids = [rid for rid, _, _ in state]
    assert len(ids) == len(set(ids))  # nothing twice
    assert set(ids) == server.ids()
    assert {rid for rid, read, _ in state if not read} == server.unread()
    assert {rid for rid, _, starred in state if starred} == server.starred()


class Recording(Client):
    """The product's HTTP client, noting each request's path (what a sync transferred)."""

    def __init__(self) -> None:
        super().__init__(proxies={})
        self.calls: list[tuple[str, Any]] = []
        self.urls: list[str] = []

    def get(self, url: str, **kwargs: Any) -> Any:
        self.calls.append((url.split("/reader/api/0/")[-1].split("?")[0], None))
        self.urls.append(url)
        return super().get(url, **kwargs)

    def post(self, url: str, form: Any, **kwargs: Any) -> Any:
        self.calls.append((url.split("/reader/api/0/")[-1].split("?")[0], list(form)))
        return super().post(url, form, **kwargs)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "reader.sqlite"


@pytest.fixture
def account(freshrss: FreshRSS, db: Path, capsys: Any, monkeypatch: Any) -> str:
    """A sync account for the fixture's user, added through the CLI; its name."""
    name = f"acct-{uuid.uuid4().hex[:8]}"
    code, _, err = run(
        db, "accounts", "add", freshrss.url, "--user", freshrss.user, "--name", name, "--password-stdin",
        stdin=freshrss.password + "\n", capsys=capsys, monkeypatch=monkeypatch,
    )  # fmt: skip
    assert code == 0, err
    return name


def sync_now(db: Path, name: str, http: Client | None = None) -> engine.SyncReport:
    with Store.open(db) as store:
        acc = store.get_account(name)
        assert acc is not None
        client = GReaderClient(acc.url, account=name, auth=credentials.load_token(name), http=http)
        return engine.sync(store, acc, client)


def new_feed(freshrss: FreshRSS, count: int) -> tuple[str, str, set[str]]:
    """A new feed of ``count`` items subscribed on the server: (its URL, stream id, item ids)."""
    name = f"f{uuid.uuid4().hex[:10]}"
    url = freshrss.write_feed(name, [f"{name} item {i}" for i in range(count)])
    api = freshrss.api()
    stream = api.quickadd(url)
    ids = api.feed_ids(stream)
    assert len(ids) == count
    return url, stream, ids


# --- the fixture ------------------------------------------------------------------------------------


def test_the_fixture_server_answers_clientlogin(freshrss: FreshRSS) -> None:
    status, body = login_answer(freshrss.url, freshrss.user, freshrss.password)
    assert status == 200 and b"Auth=" in body
    assert login_answer(freshrss.url, freshrss.user, "wrong")[0] == 401
    assert freshrss.api().ids()  # the script's feed, fetched by the server


def test_without_php_the_fixture_says_why(monkeypatch: Any, tmp_path: Any) -> None:
    from freshrss import missing_requirements

    monkeypatch.setenv("PATH", str(tmp_path))  # no php, no curl
    why = missing_requirements()
    assert why is not None and "php is not installed" in why and "apt-get install" in why


# --- adding an account -------------------------------------------------------------------------------


def test_adding_an_account_logs_in_and_says_what_it_found(
    freshrss: FreshRSS, db: Path, capsys: Any, monkeypatch: Any
) -> None:
    code, out, err = run(
        db, "accounts", "add", freshrss.url, "--user", freshrss.user, "--password-stdin",
        stdin=freshrss.password + "\n", capsys=capsys, monkeypatch=monkeypatch,
    )  # fmt: skip
    subscriptions = freshrss.api().subscriptions().values()
    feeds = len(subscriptions)
    # FreshRSS's default category is no folder (so the fixture's one feed is "1 feed in 0 folders")
    folders = len({c["label"] for s in subscriptions for c in s["categories"]} - {"Uncategorized"})
    assert code == 0, err
    assert out.startswith(
        f"alice at 127.0.0.1: {feeds} feed{'s' if feeds != 1 else ''} in {folders} folder{'s' if folders != 1 else ''}"
    )
    name = f"alice@127.0.0.1:{freshrss.port}"
    token = credentials.load_token(name)
    assert token and freshrss.password not in token
    tokens = credentials.token_file()
    assert tokens.stat().st_mode & 0o777 == 0o600
    assert freshrss.password.encode() not in db.read_bytes()
    assert token.encode() not in db.read_bytes()  # the token is not in the store either
    code, out, _ = run(db, "accounts", "list", capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0 and name in out and str(tokens) in out
    code, out, _ = run(db, "accounts", "list", "--json", capsys=capsys, monkeypatch=monkeypatch)
    listed = json.loads(out)
    assert code == 0 and [a["name"] for a in listed] == [name]
    assert listed[0]["last_sync"] is None and listed[0]["articles"] == 0  # nothing is stored before a sync
    assert token not in out


def test_a_wrong_password_is_one_line_exit_2_and_nothing_saved(
    freshrss: FreshRSS, db: Path, capsys: Any, monkeypatch: Any
) -> None:
    code, _, err = run(
        db, "accounts", "add", freshrss.url, "--user", freshrss.user, "--name", "w", "--password-stdin",
        stdin="not-the-password\n", capsys=capsys, monkeypatch=monkeypatch,
    )  # fmt: skip
    assert code == 2
    assert err == "reader: w: wrong user name or password (the server answered 401)\n"
    assert not credentials.token_file().exists()
    with Store.open(db) as store:
        assert store.accounts() == []


def test_a_host_that_does_not_answer_and_a_server_that_is_not_one(
    db: Path, capsys: Any, monkeypatch: Any, feed_server: Any
) -> None:
    code, _, err = run(db, "accounts", "add", "http://127.0.0.1:1/api/greader.php", "--user", "a", "--name", "n",
                       "--password-stdin", stdin="p\n", capsys=capsys, monkeypatch=monkeypatch)  # fmt: skip
    assert code == 2 and err == "reader: n: login: no answer from the server (connection refused)\n"
    page = feed_server.add("/api/accounts/ClientLogin", b"<html>hello</html>", content_type="text/html")
    code, _, err = run(db, "accounts", "add", page.rsplit("/accounts/", 1)[0], "--user", "a", "--name", "h",
                       "--password-stdin", stdin="p\n", capsys=capsys, monkeypatch=monkeypatch)  # fmt: skip
    assert code == 2 and err == "reader: h: not a Google Reader API server (its login answer has no Auth= line)\n"
    with Store.open(db) as store:
        assert store.accounts() == []


def test_plain_http_is_refused_off_this_machine_unless_allowed(db: Path, capsys: Any, monkeypatch: Any) -> None:
    code, _, err = run(db, "accounts", "add", "http://rss.example.org/api/greader.php", "--user", "a",
                       "--password-stdin", stdin="p\n", capsys=capsys, monkeypatch=monkeypatch)  # fmt: skip
    assert code == 2 and "refused, plain http" in err and err.count("\n") == 1
    # --allow-http goes on to the login (which fails here: no such host is asked for long)
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: (_ for _ in ()).throw(OSError("no network")))
    code, _, err = run(db, "accounts", "add", "http://rss.example.org/api/greader.php", "--user", "a", "--allow-http",
                       "--password-stdin", stdin="p\n", capsys=capsys, monkeypatch=monkeypatch)  # fmt: skip
    assert code == 2 and "refused" not in err and "a@rss.example.org: login:" in err


# --- syncing -------------------------------------------------------------------------------------------


def test_first_sync_brings_every_item_sanitised_with_its_state(
    freshrss: FreshRSS, db: Path, account: str, capsys: Any, monkeypatch: Any
) -> None:
    _, stream, ids = new_feed(freshrss, 3)
    api = freshrss.api()
    first, second, _ = sorted(ids)
    api.edit_tag([first], add=READ)
    api.edit_tag([second], add=STARRED)
    code, out, err = run(db, "sync", capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0, err
    assert out.startswith(f"{account}: ") and "new article" in out
    assert_in_step(db, account, api)
    with Store.open(db) as store:
        acc = store.get_account(account)
        assert acc is not None and acc.since is not None and acc.last_error is None
        feed = store.remote_feeds(acc.id)[stream]
        rows = list(store.iter_rows(Query(feed_id=feed.id)))
        assert len(rows) == 3 and {r.source for r in rows} == {feed.title}
        article = store.get(rows[0].id)
        assert article is not None and "<script" not in (article.body_html or "") and "alert" not in article.body
        assert article.body.startswith("Body of")
    code, out, _ = run(db, "list", "--json", "--account", account, capsys=capsys, monkeypatch=monkeypatch)
    listed = {a["title"]: a for a in json.loads(out)}
    assert any(a["read"] for a in listed.values()) and any(a["starred"] for a in listed.values())


def test_an_incremental_sync_transfers_ids_and_only_the_new_items(freshrss: FreshRSS, db: Path, account: str) -> None:
    sync_now(db, account)
    quiet = Recording()
    report = sync_now(db, account, quiet)
    assert report.new_items == 0
    assert "stream/items/contents" not in [path for path, _ in quiet.calls]
    assert all(path != "edit-tag" for path, _ in quiet.calls)
    # ot= since the last sync: the reading list's ids come since then, not all of them
    _, _, fresh = new_feed(freshrss, 2)
    busy = Recording()
    assert sync_now(db, account, busy).new_items == 2
    reading_list = [u for u in busy.urls if "items/ids" in u and "reading-list" in u and "xt=" not in u]
    assert reading_list and all("&ot=" in u for u in reading_list)  # only the ids since the last sync
    forms = [form for path, form in busy.calls if path == "stream/items/contents"]
    assert {value for form in forms for name, value in form if name == "i"} == fresh
    assert_in_step(db, account, freshrss.api())


def test_the_next_batch_is_asked_for_while_this_one_is_stored(
    freshrss: FreshRSS, db: Path, account: str, monkeypatch: Any
) -> None:
    # The server's answer time and our own work overlap: storing a batch waits here until the
    # next batch's request has gone out, which a fetch-then-store loop would never do.
    _, _, ids = new_feed(freshrss, 5)
    monkeypatch.setattr(engine, "ITEMS_PER_REQUEST", 2)  # three batches: 2, 2, 1
    asked = threading.Condition()
    requests = [0]

    class Asking(Client):
        def __init__(self) -> None:
            super().__init__(proxies={})

        def post(self, url: str, form: Any, **kwargs: Any) -> Any:
            if "stream/items/contents" in url:
                with asked:
                    requests[0] += 1
                    asked.notify_all()
            return super().post(url, form, **kwargs)

    overlapped: list[bool] = []
    store_batch = Store.add_remote_articles

    def add_remote_articles(self: Store, *args: Any, **kwargs: Any) -> int:
        batch = len(overlapped)
        if batch < 2:  # the last batch has no next one
            with asked:
                overlapped.append(asked.wait_for(lambda: requests[0] >= batch + 2, timeout=30))
        return store_batch(self, *args, **kwargs)

    monkeypatch.setattr(Store, "add_remote_articles", add_remote_articles)
    with Store.open(db) as store:
        acc = store.get_account(account)
        assert acc is not None
        client = GReaderClient(acc.url, account=account, auth=credentials.load_token(account), http=Asking())
        stored = sum(n for n, _ in engine._fetch_unknown(store, acc, client, {}, sorted(ids), None))
        assert store.unknown_remote_ids(acc.id, sorted(ids)) == []
    assert stored == 5 and overlapped == [True, True] and requests[0] == 3


def test_read_and_star_made_on_the_server_reach_reader(freshrss: FreshRSS, db: Path, account: str) -> None:
    _, _, ids = new_feed(freshrss, 2)
    sync_now(db, account)
    api = freshrss.api()
    a, b = sorted(ids)
    api.edit_tag([a], add=READ)
    api.edit_tag([b], add=STARRED)
    report = sync_now(db, account)
    assert (report.read_changed, report.star_changed) >= (1, 1)
    state = {rid: (read, starred) for rid, read, starred in local_state(db, account)}
    assert state[a] == (1, 0) and state[b] == (0, 1)
    api.edit_tag([a], remove=READ)
    api.edit_tag([b], remove=STARRED)
    sync_now(db, account)
    state = {rid: (read, starred) for rid, read, starred in local_state(db, account)}
    assert state[a] == (0, 0) and state[b] == (0, 0)
    assert_in_step(db, account, api)


def test_read_and_star_made_in_reader_reach_the_server(
    freshrss: FreshRSS, db: Path, account: str, capsys: Any, monkeypatch: Any
) -> None:
    _, stream, ids = new_feed(freshrss, 2)
    sync_now(db, account)
    with Store.open(db) as store:
        acc = store.get_account(account)
        assert acc is not None
        feed = store.remote_feeds(acc.id)[stream]
        first, second = sorted(r.id for r in store.iter_rows(Query(feed_id=feed.id)))
    code, out, _ = run(db, "mark", str(first), "--read", capsys=capsys, monkeypatch=monkeypatch)
    assert (code, out) == (0, "1 article marked read\n")
    code, _, _ = run(db, "mark", str(second), "--star", capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0
    report = sync_now(db, account)
    assert report.pushed == 2
    api = freshrss.api()
    state = {rid: (read, starred) for rid, read, starred in local_state(db, account)}
    assert {rid for rid in ids if state[rid][0]} <= ids - api.unread()
    assert {rid for rid in ids if state[rid][1]} <= api.starred()
    run(db, "mark", str(first), "--unread", capsys=capsys, monkeypatch=monkeypatch)
    run(db, "mark", str(second), "--unstar", capsys=capsys, monkeypatch=monkeypatch)
    assert sync_now(db, account).pushed == 2
    assert ids <= api.unread() and not ids & api.starred()
    with Store.open(db) as store:
        assert store.pending_changes() == []


def test_labels_given_in_reader_reach_the_server_as_user_labels(
    freshrss: FreshRSS, db: Path, account: str, capsys: Any, monkeypatch: Any
) -> None:
    url, stream, _ = new_feed(freshrss, 3)
    name = url.rsplit("/", 1)[-1].removesuffix(".xml")
    label = f"Label {uuid.uuid4().hex[:6]}"
    code, _, err = run(
        db, "rules", "add", "first", "--match", f"{name} item 0", "--action", f"label:{label}",
        capsys=capsys, monkeypatch=monkeypatch,
    )  # fmt: skip
    assert code == 0, err
    sync_now(db, account)  # the rule labels item 0 as it is stored: queued for the server
    with Store.open(db) as store:
        acc = store.get_account(account)
        assert acc is not None
        feed = store.remote_feeds(acc.id)[stream]
        by_title = {r.title: r.id for r in store.iter_rows(Query(feed_id=feed.id))}
        remote = dict(
            store._conn.execute("SELECT id, remote_id FROM articles WHERE feed_id = ?", (feed.id,)).fetchall()
        )
    first, second = by_title[f"{name} item 0"], by_title[f"{name} item 1"]
    code, out, _ = run(db, "mark", str(second), "--label", label, capsys=capsys, monkeypatch=monkeypatch)
    assert (code, out) == (0, f"1 article marked with label {label}\n")
    api = freshrss.api()
    on_server = "user/-/label/" + label
    assert sync_now(db, account).pushed == 2
    assert api.ids(on_server) == {remote[first], remote[second]}
    run(db, "mark", str(first), "--unlabel", label, capsys=capsys, monkeypatch=monkeypatch)
    assert sync_now(db, account).pushed == 1
    assert api.ids(on_server) == {remote[second]}
    with Store.open(db) as store:
        assert store.pending_changes() == []
        assert [r.id for r in store.iter_rows(Query(label=label))] == [second]


def test_mark_all_read_in_reader_is_pushed(freshrss: FreshRSS, db: Path, account: str) -> None:
    new_feed(freshrss, 3)
    sync_now(db, account)
    with Store.open(db) as store:
        acc = store.get_account(account)
        assert acc is not None
        changed = store.mark_all_read_ids(Query(account_id=acc.id))  # what Shift+A does in the window
    assert changed
    assert sync_now(db, account).pushed == len(changed)
    api = freshrss.api()
    assert not {rid for rid, _, _ in local_state(db, account)} & api.unread()
    assert_in_step(db, account, api)


def test_a_change_made_offline_is_queued_then_pushed(freshrss: FreshRSS, db: Path, account: str) -> None:
    _, stream, ids = new_feed(freshrss, 1)
    sync_now(db, account)
    (rid,) = ids
    with Store.open(db) as store:
        acc = store.get_account(account)
        assert acc is not None
        (row,) = store.iter_rows(Query(feed_id=store.remote_feeds(acc.id)[stream].id))
        store.set_starred(row.id)
        offline = Client(proxies={"http": "http://127.0.0.1:1"})  # every request: connection refused
        client = GReaderClient(acc.url, account=account, auth=credentials.load_token(account), http=offline)
        with pytest.raises(SyncError) as failed:
            engine.sync(store, acc, client)
        assert str(failed.value).startswith(f"{account}: ") and "\n" not in str(failed.value)
        assert [(r, k) for _, r, k in store.pending_changes(acc.id)] == [(rid, "star")]
        assert store.get_account(account).last_error == str(failed.value)  # type: ignore[union-attr]
    assert rid not in freshrss.api().starred()
    assert sync_now(db, account).pushed == 1
    assert rid in freshrss.api().starred()
    with Store.open(db) as store:
        assert store.pending_changes() == []


def test_a_local_change_is_not_overwritten_by_the_servers_older_state(
    freshrss: FreshRSS, db: Path, account: str
) -> None:
    _, stream, ids = new_feed(freshrss, 1)
    sync_now(db, account)
    (rid,) = ids
    with Store.open(db) as store:
        acc = store.get_account(account)
        assert acc is not None
        (row,) = store.iter_rows(Query(feed_id=store.remote_feeds(acc.id)[stream].id))
        store.set_read([row.id])  # queued; the server still says unread
        # A sync that could not push (the edit-tag call fails) must still leave the flag alone.
        client = GReaderClient(acc.url, account=account, auth=credentials.load_token(account))
        client.edit_tag = lambda *a, **k: (_ for _ in ()).throw(SyncError(account, "marking items: refused"))  # type: ignore[method-assign]
        with pytest.raises(SyncError):
            engine.sync(store, acc, client)
        unread = freshrss.api().unread()
        assert rid in unread
        store.reconcile_flags(acc.id, unread, freshrss.api().starred())  # the server's (older) state
        assert store.get(row.id).read is True  # type: ignore[union-attr]
    sync_now(db, account)
    assert rid not in freshrss.api().unread()


def star_in_reader(db: Path, account: str, stream: str) -> dict[str, int]:
    """Star every article of the feed ``stream`` in Reader (queued): article id by remote id."""
    with Store.open(db) as store:
        acc = store.get_account(account)
        assert acc is not None
        rows = store.iter_rows(Query(feed_id=store.remote_feeds(acc.id)[stream].id))
        by_remote = dict(sorted((remote_id_of(store, r.id), r.id) for r in rows))
        for article_id in by_remote.values():  # queued in the order of their remote ids
            store.set_starred(article_id)
    return by_remote


def remote_id_of(store: Store, article_id: int) -> str:
    row = store._conn.execute("SELECT remote_id FROM articles WHERE id = ?", (article_id,)).fetchone()
    return str(row[0])


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [(400, b"Bad Request!", "HTTP 400 Bad Request"), (200, b"Error", "answered 'Error', not OK")],
)
def test_changes_the_server_refuses_are_set_aside_and_the_others_land(
    freshrss: FreshRSS, db: Path, account: str, status: int, body: bytes, reason: str
) -> None:
    _, stream, ids = new_feed(freshrss, 8)
    sync_now(db, account)
    by_remote = star_in_reader(db, account, stream)
    refused = set(sorted(ids)[2:4])  # two of eight: the batch, then its halves, are refused
    proxy = RefusingProxy(refused, status=status, body=body)
    try:
        report = sync_now(db, account, Client(proxies={"http": proxy.url}))
    finally:
        proxy.close()
    api = freshrss.api()
    assert (report.pushed, report.refused, report.refused_reason) == (6, 2, reason)
    assert api.starred() & ids == ids - refused  # the good changes landed
    # Found by halving (8 refused; 0-3 refused, 4-7 sent; 0-1 sent, 2-3 refused; 2, 3 refused),
    # not one request per change.
    assert proxy.edit_tags == 7
    with Store.open(db) as store:
        acc = store.get_account(account)
        assert acc is not None and acc.last_error is None and acc.since is not None  # the sync went on
        assert store.pending_changes(acc.id) == []  # the queue no longer stalls on them...
        assert sorted(store.refused_changes(acc.id)) == [(rid, "star", reason) for rid in sorted(refused)]
        # ...and the local flag stays as the person set it, though the server says unstarred
        assert all(store.get(by_remote[rid]).starred for rid in ids)  # type: ignore[union-attr]
    again = sync_now(db, account)  # not sent again, still kept, still starred here
    assert (again.pushed, again.refused) == (0, 0)
    with Store.open(db) as store:
        assert len(store.refused_changes()) == 2
        assert all(store.get(by_remote[rid]).starred for rid in refused)  # type: ignore[union-attr]
    # Starred on the server some other way (a phone): settled, the record goes.
    api.edit_tag(sorted(refused), add=STARRED)
    sync_now(db, account)
    with Store.open(db) as store:
        assert store.refused_changes() == []
    assert_in_step(db, account, api)


def test_reader_sync_says_how_many_changes_were_refused_in_one_line(
    freshrss: FreshRSS, db: Path, account: str, capsys: Any, monkeypatch: Any
) -> None:
    _, stream, ids = new_feed(freshrss, 3)
    sync_now(db, account)
    star_in_reader(db, account, stream)
    proxy = RefusingProxy(set(sorted(ids)[:2]))
    try:
        monkeypatch.setattr(http_module, "_default", Client(proxies={"http": proxy.url}))
        code, out, err = run(db, "sync", "--account", account, capsys=capsys, monkeypatch=monkeypatch)
    finally:
        proxy.close()
    assert code == 0, err
    refused = "2 changes refused by the server (first: HTTP 400 Bad Request)"
    assert out == f"{account}: {refused}, 0 new articles, 1 change sent\n"
    # ...and they stay to be seen: accounts list says so too
    code, out, _ = run(db, "accounts", "list", capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0 and f"\n  {refused}\n" in out
    code, out, _ = run(db, "accounts", "list", "--json", capsys=capsys, monkeypatch=monkeypatch)
    (listed,) = [a for a in json.loads(out) if a["name"] == account]
    assert listed["refused_changes"] == [
        {"remote_id": rid, "change": "star", "reason": "HTTP 400 Bad Request"} for rid in sorted(ids)[:2]
    ]


@pytest.mark.parametrize("status", [401, 429, 500, 503])
def test_a_refusal_for_now_keeps_the_whole_queue_and_ends_the_sync(
    freshrss: FreshRSS, db: Path, account: str, status: int
) -> None:
    _, stream, ids = new_feed(freshrss, 4)
    sync_now(db, account)
    star_in_reader(db, account, stream)
    proxy = RefusingProxy(set(sorted(ids)[:1]), status=status, body=b"later")
    try:
        with pytest.raises(SyncError) as failed:
            sync_now(db, account, Client(proxies={"http": proxy.url}))
    finally:
        proxy.close()
    assert str(failed.value).startswith(f"{account}: marking items: ") and f"HTTP {status}" in str(failed.value)
    with Store.open(db) as store:
        acc = store.get_account(account)
        assert acc is not None
        assert sorted(rid for _, rid, _ in store.pending_changes(acc.id)) == sorted(ids)  # all still queued
        assert store.refused_changes() == []
    assert not ids & freshrss.api().starred()
    assert sync_now(db, account).pushed == 4  # the next sync resumes
    assert ids <= freshrss.api().starred()


KILL_AFTER_FIRST_BATCH = """
import os, signal, sys
from reader.store import Store
from reader.sync import credentials, engine
from reader.sync.greader import GReaderClient
db, name = sys.argv[1], sys.argv[2]
with Store.open(db) as store:
    account = store.get_account(name)
    client = GReaderClient(account.url, account=name, auth=credentials.load_token(name))
    def progress(done, total):
        if done >= 250:  # the first batch is committed: die, mid-sync, as kill -9 does
            os.kill(os.getpid(), signal.SIGKILL)
    engine.sync(store, account, client, progress=progress)
"""


def test_kill_9_during_a_sync_loses_nothing_and_duplicates_nothing(
    freshrss: FreshRSS, db: Path, account: str, capsys: Any, monkeypatch: Any
) -> None:
    _, _, ids = new_feed(freshrss, 600)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", KILL_AFTER_FIRST_BATCH, str(db), account], env=env, timeout=120)
    assert done.returncode == -signal.SIGKILL
    partial = local_state(db, account)
    assert 0 < len({rid for rid, _, _ in partial} & ids) < len(ids)  # killed in the middle
    with Store.open(db) as store:
        acc = store.get_account(account)
        assert acc is not None and acc.since is None  # not a complete sync: the next one starts over
    code, _, err = run(db, "sync", "--account", account, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0, err
    assert_in_step(db, account, freshrss.api())
    with Store.open(db) as store:
        assert store.count(Query(search="item")) >= 600  # and the search index has each once
        assert store.count(Query(account_id=store.get_account(account).id)) == len(local_state(db, account))  # type: ignore[union-attr]


def kill_9_reader_sync(db: Path, account: str, proxy: HoldingProxy, ready: Callable[[], None]) -> int | None:
    """Run a real ``reader sync`` through ``proxy``, ``kill -9`` it once ``ready()`` returns, and
    close the proxy: the sync's exit status."""
    try:
        env = {**os.environ, "PYTHONPATH": str(REPO), "http_proxy": proxy.url, "no_proxy": ""}
        command = [sys.executable, "-m", "reader", "--db", str(db), "sync", "--account", account]
        with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as process:
            try:
                ready()
                process.send_signal(signal.SIGKILL)
                process.wait(30)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(30)
        return process.returncode
    finally:
        proxy.close()


def test_kill_9_of_reader_sync_with_a_batch_in_flight_then_sync_again(
    freshrss: FreshRSS, db: Path, account: str, capsys: Any, monkeypatch: Any, qtbot: Any
) -> None:
    sync_now(db, account)  # (what the other tests left: stored now, so that only this feed is new below)
    _, _, ids = new_feed(freshrss, 600)
    proxy = HoldingProxy("stream/items/contents", hold_after=1)

    def first_batch_stored() -> None:
        assert proxy.held.wait(60), "the sync never asked for a second batch"
        # The second batch is asked for while the first is stored: once that is committed, the
        # sync waits for the held answer, and is killed there.
        qtbot.waitUntil(lambda: len({rid for rid, _, _ in local_state(db, account)} & ids) == 250, timeout=60000)

    assert kill_9_reader_sync(db, account, proxy, first_batch_stored) == -signal.SIGKILL
    stored = {rid for rid, _, _ in local_state(db, account)} & ids
    assert len(stored) == 250  # exactly the first batch: committed; the one in flight: not
    code, _, err = run(db, "sync", "--account", account, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0, err
    assert_in_step(db, account, freshrss.api())


def test_kill_9_after_the_server_took_a_change_but_before_reader_heard(
    freshrss: FreshRSS, db: Path, account: str
) -> None:
    _, stream, ids = new_feed(freshrss, 1)
    sync_now(db, account)
    (rid,) = ids
    with Store.open(db) as store:
        acc = store.get_account(account)
        assert acc is not None
        (row,) = store.iter_rows(Query(feed_id=store.remote_feeds(acc.id)[stream].id))
        store.set_starred(row.id)
    proxy = HoldingProxy("edit-tag", hold_after=0, answered=True)

    def change_sent() -> None:
        assert proxy.held.wait(60), "the sync never sent its change"

    kill_9_reader_sync(db, account, proxy, change_sent)
    assert rid in freshrss.api().starred()  # the server has it...
    with Store.open(db) as store:
        assert [(r, k) for _, r, k in store.pending_changes(acc.id)] == [(rid, "star")]  # ...we kept it queued
    assert sync_now(db, account).pushed == 1  # sent again (the same answer), then dropped
    with Store.open(db) as store:
        assert store.pending_changes() == [] and store.get(row.id).starred  # type: ignore[union-attr]
    assert_in_step(db, account, freshrss.api())


def test_folders_are_listed_and_filter_lists(
    freshrss: FreshRSS, db: Path, account: str, capsys: Any, monkeypatch: Any
) -> None:
    _, stream, _ = new_feed(freshrss, 2)
    api = freshrss.api()
    folder = f"Folder{uuid.uuid4().hex[:6]}"
    form = [("T", api.token()), ("ac", "edit"), ("s", stream), ("a", f"user/-/label/{folder}")]
    assert api.call("subscription/edit", form=form) == b"OK"
    sync_now(db, account)
    code, out, _ = run(db, "list", "--json", "--folder", folder, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0 and len(json.loads(out)) == 2
    code, out, err = run(db, "list", "--folder", "Nothing-here", capsys=capsys, monkeypatch=monkeypatch)
    assert (code, out) == (0, "") and err == "reader: no articles match --folder 'Nothing-here'\n"
    with Store.open(db) as store:
        acc = store.get_account(account)
        assert acc is not None and store.remote_feeds(acc.id)[stream].folder == folder
    code, out, err = run(db, "accounts", "add", freshrss.url, "--user", freshrss.user, "--name", "again",
                         "--password-stdin", stdin=freshrss.password + "\n", capsys=capsys,
                         monkeypatch=monkeypatch)  # fmt: skip
    assert code == 0, err
    labels = {c["label"] for s in api.subscriptions().values() for c in s["categories"]} - {"Uncategorized"}
    assert f" in {len(labels)} folder" in out and folder in labels


def test_the_server_stopped_in_the_middle_of_a_sync(tmp_path: Path, db: Path, capsys: Any, monkeypatch: Any) -> None:
    # Six batches: the sync asks for two ahead of the one it stores, so the server stops while
    # some are still to be asked for.
    monkeypatch.setattr(engine, "ITEMS_PER_REQUEST", 100)
    own = FreshRSS.start(tmp_path / "own-server")  # stopped by this test: not the shared one
    try:
        code, _, err = run(db, "accounts", "add", own.url, "--user", own.user, "--name", "own", "--password-stdin",
                           stdin=own.password + "\n", capsys=capsys, monkeypatch=monkeypatch)  # fmt: skip
        assert code == 0, err
        new_feed(own, 600)
        with Store.open(db) as store:
            acc = store.get_account("own")
            assert acc is not None
            client = GReaderClient(acc.url, account="own", auth=credentials.load_token("own"), timeout=5)

            def progress(done: int, total: int) -> None:
                if done >= 250 and own.work.joinpath("php.pid").exists():
                    own.stop()

            with pytest.raises(SyncError) as failed:
                engine.sync(store, acc, client, progress=progress)
            message = str(failed.value)
            assert message.startswith("own: item contents: no answer from the server (") and "\n" not in message
            stored = store.count(Query(account_id=acc.id))
            assert 250 <= stored < 605  # what came before the stop stays
            acc = store.get_account("own")
            assert acc is not None and acc.since is None and acc.last_error == message
        code, _, err = run(db, "sync", capsys=capsys, monkeypatch=monkeypatch)
        assert code == 1 and err.startswith("reader: own: ") and err.count("\n") == 1
    finally:
        own.stop()


def test_one_failing_account_does_not_stop_the_others(
    freshrss: FreshRSS, db: Path, account: str, capsys: Any, monkeypatch: Any
) -> None:
    with Store.open(db) as store:
        store.add_account("broken", "http://127.0.0.1:1/api/greader.php", "x")
    credentials.save_token("broken", "x/y")
    code, out, err = run(db, "sync", capsys=capsys, monkeypatch=monkeypatch)
    assert code == 1
    assert err == "reader: broken: subscription list: no answer from the server (connection refused)\n"
    assert out.startswith(f"{account}: ")
    assert_in_step(db, account, freshrss.api())


def test_refresh_syncs_accounts_too(freshrss: FreshRSS, db: Path, account: str, capsys: Any, monkeypatch: Any) -> None:
    code, out, err = run(db, "refresh", capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0, err
    assert f"\n{account}: " in out
    assert_in_step(db, account, freshrss.api())


def test_subscribe_and_unsubscribe_from_reader(
    freshrss: FreshRSS, db: Path, account: str, capsys: Any, monkeypatch: Any
) -> None:
    name = f"sub{uuid.uuid4().hex[:8]}"
    url = freshrss.write_feed(name, ["one", "two"])
    code, out, err = run(db, "feeds", "add", url, "--account", account, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0, err
    assert out.startswith(f"subscribed to {url} on {account} (feed/") and out.endswith(": 2 articles\n")
    api = freshrss.api()
    streams = [sid for sid, s in api.subscriptions().items() if s["url"] == url]
    assert len(streams) == 1
    with Store.open(db) as store:
        acc = store.get_account(account)
        assert acc is not None
        feed = store.remote_feeds(acc.id)[streams[0]]
        assert feed.remote_url == url and store.count(Query(feed_id=feed.id)) == 2
        (starred, _) = store.iter_rows(Query(feed_id=feed.id))
        store.set_starred(starred.id)
    code, out, err = run(db, "feeds", "remove", url, "--account", account, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0, err
    assert out == f"unsubscribed from {url} on {account}; removed 1 article (1 starred kept)\n"
    assert url not in [s["url"] for s in api.subscriptions().values()]
    with Store.open(db) as store:
        assert streams[0] not in store.remote_feeds(acc.id)
        assert store.get(starred.id) is not None


def test_removing_an_account_keeps_starred_articles_only(
    freshrss: FreshRSS, db: Path, account: str, capsys: Any, monkeypatch: Any
) -> None:
    new_feed(freshrss, 2)
    sync_now(db, account)
    with Store.open(db) as store:
        acc = store.get_account(account)
        assert acc is not None
        total = store.count(Query(account_id=acc.id))
        first = next(iter(store.iter_rows(Query(account_id=acc.id))))
        store.set_starred(first.id)
        kept = store.count(Query(view="starred", account_id=acc.id))  # (other tests starred some too)
        feeds = len(store.remote_feeds(acc.id))
    code, out, _ = run(db, "accounts", "remove", account, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0
    assert out == (
        f"removed account {account}: {feeds} feed{'s' if feeds != 1 else ''} and {total - kept} "
        f"article{'s' if total - kept != 1 else ''} ({kept} starred kept)\n"
    )
    assert credentials.load_token(account) is None
    with Store.open(db) as store:
        assert store.count() == store.count(Query(view="starred")) == kept
        assert store.get(first.id) is not None and store.accounts() == []
