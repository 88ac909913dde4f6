"""reader.sync.greader: what the client makes of a server's failures (a loopback fake server for the
failures FreshRSS does not produce on demand), and its write token against the real FreshRSS."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from feed_server import FeedServer

from reader.http import Client
from reader.store import Store
from reader.sync import engine
from reader.sync.greader import (
    READ,
    GReaderClient,
    SyncError,
    decimal_id,
    folder_of,
)

API = "/g/reader/api/0/"
SUBSCRIPTIONS = API + "subscription/list?output=json"


@pytest.fixture
def server(feed_server: FeedServer) -> FeedServer:
    return feed_server


@pytest.fixture
def http() -> Iterator[Client]:
    with Client(proxies={}) as c:
        yield c


def client_of(server: FeedServer, http: Client, **kwargs: Any) -> GReaderClient:
    return GReaderClient(server.url("/g"), account="acc", auth="alice/secret-token", http=http, **kwargs)


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ({"status": 401}, "acc: subscription list: the server refused the login (HTTP 401)"),
        ({"status": 500}, "acc: subscription list: the server answered HTTP 500 Internal Server Error"),
        ({"status": 502}, "acc: subscription list: the server answered HTTP 502 Bad Gateway"),
        ({"body": b"<html>oops"}, "acc: subscription list: the server's answer is not JSON (Expecting value: line 1 "
                                  "column 1 (char 0))"),
        ({"body": b"[1, 2]"}, "acc: subscription list: the server's answer is not a JSON object"),
        ({"status": 429, "headers": {"Retry-After": "120"}},
         "acc: subscription list: the server is busy (HTTP 429, and asked to wait 120 s)"),
        ({"status": 503}, "acc: subscription list: the server is busy (HTTP 503)"),
    ],
)  # fmt: skip
def test_each_failure_is_one_line_naming_the_account_never_the_token(
    server: FeedServer, http: Client, route: dict[str, Any], message: str
) -> None:
    server.add(SUBSCRIPTIONS, route.pop("body", b""), **route)
    with pytest.raises(SyncError) as failed:
        client_of(server, http).subscriptions()
    assert str(failed.value) == message
    assert "secret-token" not in str(failed.value)
    assert server.requests[0].headers["authorization"] == "GoogleLogin auth=alice/secret-token"


def test_a_server_that_stalls_is_given_up_on(server: FeedServer, http: Client) -> None:
    server.add(SUBSCRIPTIONS, stall=True)
    with pytest.raises(SyncError) as failed:
        client_of(server, http, timeout=0.5).subscriptions()
    assert str(failed.value) == "acc: subscription list: no answer from the server (timed out (no answer within 0.5 s))"


def test_retry_after_is_honoured_by_the_next_sync(server: FeedServer, http: Client, store: Store) -> None:
    server.add(API + "subscription/list?output=json", status=503, headers={"Retry-After": "600"})
    account = store.add_account("acc", server.url("/g"), "alice")
    clock = [datetime(2030, 1, 1, tzinfo=UTC).timestamp()]
    with pytest.raises(SyncError, match="asked to wait 600 s"):
        engine.sync(store, account, client_of(server, http), now=lambda: clock[0])
    account = store.get_account("acc")
    assert account is not None and account.retry_at is not None
    asked = len(server.requests)
    clock[0] += 300
    with pytest.raises(SyncError, match=r"the server asked us to wait until .*; not asked again before"):
        engine.sync(store, account, client_of(server, http), now=lambda: clock[0])
    assert len(server.requests) == asked  # the server was left alone
    clock[0] += 301
    with pytest.raises(SyncError, match="HTTP 503"):
        engine.sync(store, account, client_of(server, http), now=lambda: clock[0])
    assert len(server.requests) == asked + 1


def test_a_looping_continuation_ends_the_listing(server: FeedServer, http: Client) -> None:
    page = b'{"itemRefs": [{"id": "5"}], "continuation": "5"}'
    server.add(API + "stream/items/ids?output=json&s=user%2F-%2Fstate%2Fcom.google%2Freading-list&n=10000", page)
    server.add(API + "stream/items/ids?output=json&s=user%2F-%2Fstate%2Fcom.google%2Freading-list&n=10000&c=5", page)
    with pytest.raises(SyncError, match="the same continuation twice"):
        list(client_of(server, http).item_id_pages())


def test_item_ids_in_both_forms_and_folders() -> None:
    assert decimal_id("tag:google.com,2005:reader/item/000661b91f608df3") == str(0x000661B91F608DF3)
    assert decimal_id("1796297583529459") == "1796297583529459"
    with pytest.raises(ValueError):
        decimal_id("tag:google.com,2005:reader/item/zz")
    assert folder_of([{"id": "user/-/label/Uncategorized"}, {"id": "user/-/label/Tech"}]) == "Tech"
    assert folder_of(["user/-/state/com.google/reading-list"]) is None


def test_a_refused_write_token_is_fetched_again_once(freshrss: Any) -> None:
    client = GReaderClient(freshrss.url, account="acc")
    client.login(freshrss.user, freshrss.password)
    ids = sorted(freshrss.api().ids())[:1]
    good = client.write_token()
    assert len(good) == 57
    client._token = "Z" * 57  # an expired token: FreshRSS answers edit-tag with 401
    client.edit_tag(ids, add=READ)
    assert client._token == good and ids[0] not in freshrss.api().unread()
    client.edit_tag(ids, remove=READ)
    bad_login = GReaderClient(freshrss.url, account="acc", auth="alice/not-a-real-token")
    with pytest.raises(SyncError) as failed:
        bad_login.edit_tag(ids, add=READ)
    assert str(failed.value) == "acc: write token: the server refused the login (HTTP 401)" and failed.value.login


def test_a_stopped_sync_says_so_in_one_line(freshrss: Any, store: Store) -> None:
    account = store.add_account("stopped", freshrss.url, freshrss.user)
    stop = threading.Event()
    stop.set()
    client = GReaderClient(freshrss.url, account="stopped", stop=stop)
    with pytest.raises(SyncError, match="stopped: "):
        engine.sync(store, account, client)


class FakeKeyring:
    """The ``keyring`` module with a working backend (priority above 0)."""

    def __init__(self, priority: float = 5) -> None:
        self.saved: dict[tuple[str, str], str] = {}
        self.priority = priority

    def get_keyring(self) -> Any:
        return self

    def set_password(self, service: str, name: str, value: str) -> None:
        self.saved[(service, name)] = value

    def get_password(self, service: str, name: str) -> str | None:
        return self.saved.get((service, name))

    def delete_password(self, service: str, name: str) -> None:
        self.saved.pop((service, name), None)


def test_tokens_go_to_a_working_keyring_else_to_a_private_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from reader.sync import credentials

    ring = FakeKeyring()
    monkeypatch.setitem(sys.modules, "keyring", ring)
    credentials.save_token("acc", "alice/t1")
    assert ring.saved == {(credentials.SERVICE, "acc"): "alice/t1"} and not credentials.token_file().exists()
    assert credentials.load_token("acc") == "alice/t1" and credentials.where() == "the system keyring"
    credentials.delete_token("acc")
    assert ring.saved == {}

    monkeypatch.setitem(sys.modules, "keyring", FakeKeyring(priority=0))  # keyring's "fail" backend
    credentials.save_token("acc", "alice/t2")
    assert credentials.token_file().stat().st_mode & 0o777 == 0o600
    assert credentials.load_token("acc") == "alice/t2" and credentials.where() == str(credentials.token_file())
    monkeypatch.setenv("READER_KEYRING", "0")
    monkeypatch.setitem(sys.modules, "keyring", ring)
    assert credentials.load_token("acc") == "alice/t2" and ring.saved == {}
    credentials.delete_token("acc")
    assert credentials.load_token("acc") is None


def test_mark_all_as_read_of_one_feed(freshrss: Any) -> None:
    import uuid

    name = f"all{uuid.uuid4().hex[:8]}"
    api = freshrss.api()
    stream = api.quickadd(freshrss.write_feed(name, ["a", "b", "c"]))
    ids = api.feed_ids(stream)
    client = GReaderClient(freshrss.url, account="acc")
    client.login(freshrss.user, freshrss.password)
    assert ids <= client.unread_ids()
    # Up to the newest item seen (ts: microseconds, compared with FreshRSS's ids), not "now", which
    # FreshRSS takes to the second: items of this very second would stay unread.
    client.mark_all_as_read(stream, older_than_usec=max(int(i) for i in ids))
    assert not ids & api.unread()
    with pytest.raises(SyncError, match=r"^acc: marking all read: the server answered HTTP 400"):
        client.mark_all_as_read("feed/not-a-number")


def _blocked_on_flock(path: Any) -> bool:
    """Someone waits for an flock on ``path`` (Linux lists waiters in /proc/locks with ``->``)."""
    inode = os.stat(path).st_ino
    with open("/proc/locks", encoding="ascii") as locks:
        return any("->" in line and " FLOCK " in line and line.split()[-3].endswith(f":{inode}") for line in locks)


@pytest.mark.parametrize("other", ["add", "remove"])
def test_two_accounts_changed_at_once_both_keep_their_tokens(
    monkeypatch: pytest.MonkeyPatch, qtbot: Any, other: str
) -> None:
    # The race made certain: the first change has read tokens.json and is about to write it when
    # a second one (another thread: its own opens, as another process has) starts; the first
    # writes only once the second has finished, or is seen waiting for the lock.
    from reader.sync import credentials

    monkeypatch.setenv("READER_KEYRING", "0")
    credentials.save_token("carol", "carol/t0")
    write = credentials._write
    second_done = threading.Event()
    failures: list[BaseException] = []

    def second() -> None:
        try:
            if other == "add":
                credentials.save_token("bob", "bob/t")
            else:
                credentials.delete_token("carol")
        except BaseException as exc:  # (reported by the test)
            failures.append(exc)
        finally:
            second_done.set()

    started: list[threading.Thread] = []

    def first_write(tokens: dict[str, Any]) -> None:
        if not started:
            thread = threading.Thread(target=second)
            started.append(thread)
            thread.start()
            lock = credentials.token_file().with_name("tokens.json.lock")
            qtbot.waitUntil(lambda: second_done.is_set() or (lock.exists() and _blocked_on_flock(lock)), timeout=10000)
        write(tokens)

    monkeypatch.setattr(credentials, "_write", first_write)
    credentials.save_token("alice", "alice/t")
    started[0].join(10)
    assert not failures and second_done.is_set()
    expected = {"alice": "alice/t", "bob": "bob/t", "carol": "carol/t0"}
    if other == "remove":
        expected = {"alice": "alice/t"}
    assert json.loads(credentials.token_file().read_text(encoding="utf-8")) == expected
    assert credentials.token_file().stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"<html>oops", "acc: item contents: the server's answer is not JSON (Expecting value: line 1 column 1 "
                        "(char 0))"),
        (b"[1, 2]", "acc: item contents: the server's answer is not a JSON object"),
        (b'{"items": [{"id": "tag:google.com,2005:reader/item/0000000000000001", "title": "<b>One</b>",'
         b' "summary": {"content": "<p>Body<script>x()</script></p>"}}]}', None),
    ],
)  # fmt: skip
def test_answers_made_ready_in_worker_processes_are_stored_or_one_line(
    server: FeedServer, http: Client, store: Store, monkeypatch: pytest.MonkeyPatch, answer: bytes, message: str | None
) -> None:
    monkeypatch.setattr(engine, "ITEMS_PER_REQUEST", 1)  # three batches: the worker processes' path
    server.add(API + "stream/items/contents?output=json", answer)
    account = store.add_account("acc", server.url("/g"), "alice")
    with engine.Workers() as workers:
        fetched = engine._fetch_unknown(store, account, client_of(server, http), {}, ["1", "2", "3"], None, workers)
        if message is not None:
            with pytest.raises(SyncError) as failed:
                list(fetched)
            assert str(failed.value) == message
            return
        assert [n for n, _ in fetched] == [1, 0, 0]  # (the server gave the same item thrice)
    (row,) = store.iter_rows()
    article = store.get(row.id)
    assert article is not None and article.title == "One" and article.body == "Body"
