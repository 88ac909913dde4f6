"""reader.http: the urllib3 client, against loopback servers this test starts (tests/feed_server.py)."""

from __future__ import annotations

import email.utils
import gzip
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import redirect_target, within
from feed_server import FeedServer

from reader import http as rhttp
from reader.http import Client, FetchResult
from reader.localfile import size_text

# A fetch thread dying with a traceback must fail the test, not scroll past as a warning.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

#: Trickling tests use a read timeout of TIMEOUT (each step of the server comes well within it), so
#: the exchange's whole budget is 2 x TIMEOUT.
TIMEOUT = 1.0
GAVE_UP = "timed out (response not complete within 2 s)"
HEADER_EVERY = 0.2

FEED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>T</title>'
    + b"".join(b"<item><guid>%d</guid><title>Entry %d</title><description>%s</description></item>" % (i, i, b"x" * 300)
               for i in range(100))
    + b"</channel></rss>\n"
)  # fmt: skip


@pytest.fixture
def server(feed_server: FeedServer) -> FeedServer:
    return feed_server


@pytest.fixture
def keep_alive() -> Iterator[FeedServer]:
    s = FeedServer(keep_alive=True)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def client() -> Iterator[Client]:
    with Client(proxies={}) as c:
        yield c


@pytest.fixture
def tls_server(tls: tuple[ssl.SSLContext, ssl.SSLContext, Path]) -> Iterator[FeedServer]:
    s = FeedServer(tls=tls[0])
    try:
        yield s
    finally:
        s.close()


# --- documents, validators, compression ---------------------------------------------------------------


def test_a_feed_comes_back_with_its_validators_and_our_headers(server: FeedServer, client: Client) -> None:
    stamp = "Tue, 14 Nov 2023 22:13:20 GMT"
    url = server.add("/feed.xml", FEED, etag='"v1"', last_modified=stamp)
    fetched = client.get(url)
    assert (fetched.status, fetched.error, fetched.transient) == (200, None, False)
    assert fetched.url == url and fetched.data == FEED and fetched.has_document
    assert (fetched.etag, fetched.last_modified, fetched.moved_to) == ('"v1"', stamp, None)
    assert fetched.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert fetched.retry_after is None and fetched.fresh_for is None
    (sent,) = server.hits("/feed.xml")
    assert sent.headers["user-agent"] == rhttp.USER_AGENT and sent.headers["accept"] == rhttp.ACCEPT
    assert sent.headers["accept-encoding"] == "gzip, deflate"
    assert "if-none-match" not in sent.headers and "if-modified-since" not in sent.headers


@pytest.mark.parametrize("validator", ["etag", "last_modified"])
def test_a_conditional_get_is_answered_not_modified(server: FeedServer, client: Client, validator: str) -> None:
    stamp = "Tue, 14 Nov 2023 22:13:20 GMT"
    given = {"etag": '"v1"'} if validator == "etag" else {"last_modified": stamp}
    url = server.add("/feed.xml", FEED, **given)
    first = client.get(url)
    second = client.get(url, etag=first.etag, last_modified=first.last_modified)
    assert (second.status, second.error, second.data) == (304, None, b"")
    assert second.not_modified and not second.has_document
    assert (second.etag, second.last_modified) == (first.etag, first.last_modified)
    sent = server.hits("/feed.xml")[1].headers
    if validator == "etag":
        assert sent["if-none-match"] == '"v1"'
    else:
        assert sent["if-modified-since"] == stamp


@pytest.mark.parametrize("encoding", ["gzip", "zlib-deflate", "raw-deflate"])
def test_compressed_responses_are_decoded(server: FeedServer, client: Client, encoding: str) -> None:
    if encoding == "gzip":
        url = server.add("/feed.xml", FEED, gzip=True)
    else:
        packer = zlib.compressobj(wbits=15 if encoding == "zlib-deflate" else -15)
        body = packer.compress(FEED) + packer.flush()
        url = server.add("/feed.xml", body, headers={"Content-Encoding": "deflate"})
    fetched = client.get(url)
    assert fetched.error is None and fetched.data == FEED
    assert "content-encoding" not in fetched.headers


def test_bad_gzip_data_is_an_error_not_an_exception(server: FeedServer, client: Client) -> None:
    url = server.add("/feed.xml", b"this is not gzip at all", headers={"Content-Encoding": "gzip"})
    fetched = client.get(url)
    assert fetched.status == 200 and fetched.error is not None and fetched.error.startswith("bad gzip data (")


def test_a_gzip_bomb_is_refused_after_decompression_without_inflating_it_all(
    server: FeedServer, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = b"\0" * 10_000_000  # about 10 KB gzipped
    url = server.add("/bomb.xml", bomb, gzip=True)
    inflated: list[int] = []
    real = rhttp._Inflater.feed

    def counting(self: Any, data: bytes) -> bytes:
        out = real(self, data)
        inflated.append(len(out))
        return out

    monkeypatch.setattr(rhttp._Inflater, "feed", counting)
    limit = 1024 * 1024
    fetched = client.get(url, max_bytes=limit)
    assert fetched.error == "response too large (over 1 MiB decompressed)" and not fetched.transient
    assert sum(inflated) <= limit  # the refusing call's output (limit + 1 in all) never came back


@pytest.mark.parametrize("length", [True, False], ids=["content-length", "no-length"])
def test_an_oversize_body_is_refused(server: FeedServer, client: Client, length: bool) -> None:
    url = server.add("/big.xml", FEED, length=length)
    fetched = client.get(url, max_bytes=4096)
    declared = f"response too large ({size_text(len(FEED))}; limit 4 KiB)"
    expected = declared if length else "response too large (over 4 KiB)"
    assert (fetched.error, fetched.transient, fetched.data) == (expected, False, b"")


# --- redirects ----------------------------------------------------------------------------------------


def test_a_chain_of_permanent_redirects_moves_the_feed(server: FeedServer, client: Client) -> None:
    start = server.add("/a", status=301, headers={"Location": server.url("/b")})
    server.add("/b", status=308, headers={"Location": "/c"})
    server.add("/c", status=301, headers={"Location": "/feed.xml"})
    final = server.add("/feed.xml", FEED, etag='"e"')
    fetched = client.get(start, etag='"old"')
    assert (fetched.status, fetched.error, fetched.url, fetched.moved_to) == (200, None, final, final)
    assert fetched.data == FEED
    # The conditional header went along on every hop.
    assert [server.hits(p)[0].headers["if-none-match"] for p in ("/a", "/b", "/c", "/feed.xml")] == ['"old"'] * 4


@pytest.mark.parametrize("codes", [(302,), (301, 302), (307, 301), (303,)])
def test_a_temporary_redirect_on_the_way_keeps_the_address(server: FeedServer, client: Client, codes: Any) -> None:
    paths = [f"/hop{i}" for i in range(len(codes))] + ["/feed.xml"]
    for code, here, there in zip(codes, paths, paths[1:], strict=False):
        server.add(here, status=code, headers={"Location": there})
    server.add("/feed.xml", FEED)
    fetched = client.get(server.url(paths[0]))
    assert fetched.error is None and fetched.url == server.url("/feed.xml") and fetched.moved_to is None


def test_a_relative_location_is_resolved_against_the_current_address(server: FeedServer, client: Client) -> None:
    server.add("/old/dir/feed", status=301, headers={"Location": "../new/feed.xml?x=1"})
    final = server.add("/old/new/feed.xml?x=1", FEED)
    fetched = client.get(server.url("/old/dir/feed"))
    assert (fetched.error, fetched.url, fetched.moved_to) == (None, final, final)


def test_a_redirect_loop_is_one_line_after_ten_hops(server: FeedServer, client: Client) -> None:
    url = server.add("/loop", status=302, headers={"Location": "/loop"})
    fetched = client.get(url)
    assert (fetched.status, fetched.error, fetched.transient) == (302, "too many redirects (stopped after 10)", False)
    assert fetched.url == url
    assert len(server.hits("/loop")) == 11  # the first request and ten redirects


@pytest.mark.parametrize("scheme", ["ftp", "file", "data"])
def test_a_redirect_to_another_scheme_is_refused_and_never_opened(
    server: FeedServer, client: Client, tmp_path: Path, scheme: str
) -> None:
    with redirect_target(scheme, tmp_path) as target:
        url = server.add("/moved.xml", status=302, headers={"Location": target})
        fetched = client.get(url)
    reason = f"redirect to {target!r} refused: {scheme}: addresses are not followed (only http and https)"
    assert (fetched.status, fetched.error, fetched.transient, fetched.data) == (302, reason, False, b"")
    assert len(server.hits("/moved.xml")) == 1


# --- one deadline for the whole exchange ----------------------------------------------------------------


def test_trickling_headers_are_given_up_on_at_the_deadline(server: FeedServer, client: Client) -> None:
    # A header line every 0.2 s, for ever: no read ever waits the read timeout; only the whole
    # exchange's budget (2 x TIMEOUT) ends it.
    url = server.add("/slow-headers.xml", trickle_headers=HEADER_EVERY)
    fetched = within(10, client.get, url, timeout=TIMEOUT)
    assert (fetched.error, fetched.transient, fetched.status) == (GAVE_UP, True, 0)
    assert server.header_lines > 2  # the headers kept coming, each line within the read timeout
    assert server.headers_stopped.wait(10)  # and the connection was closed: the server saw it go


def test_a_trickling_body_is_given_up_on_at_the_deadline(server: FeedServer, client: Client) -> None:
    url = server.add("/trickle.xml", trickle=True)
    fetched = within(10, client.get, url, timeout=TIMEOUT)
    assert (fetched.error, fetched.transient) == (GAVE_UP, True) and server.trickling.is_set()


def test_the_deadline_can_be_given_apart_from_the_step_timeout(server: FeedServer, client: Client) -> None:
    url = server.add("/slow-headers.xml", trickle_headers=HEADER_EVERY)
    fetched = within(10, client.get, url, timeout=5.0, deadline=1.0)
    assert fetched.error == "timed out (response not complete within 1 s)"


def test_one_budget_covers_every_redirect_on_the_way(server: FeedServer, client: Client) -> None:
    # Each hop answers well within the read timeout; the hops (0.3 s each) stop at the budget.
    url = server.add("/hop", status=302, headers={"Location": "/hop"}, delay=0.3)
    fetched = within(30, client.get, url, timeout=TIMEOUT)
    assert (fetched.error, fetched.transient) == (GAVE_UP, True)
    assert 2 <= len(server.hits("/hop")) < 10


def test_a_server_that_never_answers_times_out_at_the_read_timeout(server: FeedServer, client: Client) -> None:
    url = server.add("/stall.xml", stall=True)
    fetched = within(10, client.get, url, timeout=0.5)
    assert (fetched.error, fetched.transient) == ("timed out (no answer within 0.5 s)", True)
    assert server.stalled.is_set()


def test_https_is_fetched_with_a_given_certificate_and_meets_the_same_deadline(
    tls: tuple[ssl.SSLContext, ssl.SSLContext, Path], tls_server: FeedServer
) -> None:
    url = tls_server.add("/feed.xml", FEED)
    slow = tls_server.add("/slow-headers.xml", trickle_headers=HEADER_EVERY)
    trickle = tls_server.add("/trickle.xml", trickle=True)
    with Client(ca_certs=str(tls[2]), proxies={}) as client:
        fetched = within(30, client.get, url, timeout=5.0)
        assert (fetched.status, fetched.error, fetched.data) == (200, None, FEED)
        fetched = within(10, client.get, slow, timeout=TIMEOUT)
        assert fetched.error == GAVE_UP
        assert tls_server.header_lines > 2 and tls_server.headers_stopped.wait(10)
    with Client(ssl_context=tls[1], proxies={}) as client:
        fetched = within(10, client.get, trickle, timeout=TIMEOUT)
        assert (fetched.error, fetched.transient) == (GAVE_UP, True) and tls_server.trickling.is_set()


def test_an_untrusted_certificate_is_an_error(tls_server: FeedServer, client: Client) -> None:
    fetched = within(30, client.get, tls_server.add("/feed.xml", FEED), timeout=5.0)
    assert fetched.status == 0 and fetched.transient
    assert fetched.error is not None and "certificate verify failed" in fetched.error


# --- connections: the per-host limit, keep-alive ---------------------------------------------------------


def waits_for_a_connection(client: Client, url: str) -> threading.Event:
    """Set when a request to ``url``'s origin finds every connection of its pool taken and waits."""
    slots = client._direct.connection_from_url(url).pool
    assert slots is not None
    real_get = slots.get
    waiting = threading.Event()

    def get(*args: Any, **kwargs: Any) -> Any:
        if slots.qsize() == 0:
            waiting.set()
        return real_get(*args, **kwargs)

    slots.get = get  # type: ignore[method-assign]
    return waiting


def test_the_pool_is_the_per_host_limit(server: FeedServer) -> None:
    urls = [server.add(f"/f{i}.xml", FEED, gated=True) for i in range(5)]
    results: list[FetchResult] = []
    with Client(max_connections_per_host=4, proxies={}) as client:
        # Seen from the pool: a request that finds every connection taken and waits.
        waiting = waits_for_a_connection(client, urls[0])
        threads = [threading.Thread(target=lambda u=u: results.append(client.get(u, timeout=10.0))) for u in urls]
        for thread in threads:
            thread.start()
        try:
            with server.lock:
                assert server.active_changed.wait_for(lambda: server.active == 4, timeout=10)
            assert waiting.wait(10), "the fifth request did not wait for a connection"
            with server.lock:
                assert server.active == 4 and server.max_active == 4
        finally:
            server.gate.set()
            for thread in threads:
                thread.join()
    assert sorted((r.status, r.error) for r in results) == [(200, None)] * 5
    assert server.max_active == 4 and len(server.requests) == 5


def test_stop_while_waiting_for_a_connection_sends_nothing(server: FeedServer) -> None:
    busy = server.add("/busy.xml", FEED, gated=True)
    url = server.add("/feed.xml", FEED)
    with Client(max_connections_per_host=1, proxies={}) as client:
        waiting = waits_for_a_connection(client, url)
        first: list[FetchResult] = []
        holder = threading.Thread(target=lambda: first.append(client.get(busy, timeout=10.0)))
        holder.start()
        with server.lock:
            assert server.active_changed.wait_for(lambda: server.active == 1, timeout=10)
        stop = threading.Event()
        second: list[FetchResult] = []
        waiter = threading.Thread(target=lambda: second.append(client.get(url, timeout=10.0, stop=stop)))
        waiter.start()
        try:
            assert waiting.wait(10)
            stop.set()
        finally:
            server.gate.set()
            holder.join()
            waiter.join()
    assert first[0].error is None
    assert (second[0].error, second[0].transient) == (rhttp.CANCELLED, True) and server.hits("/feed.xml") == []


def test_keep_alive_serves_a_hundred_requests_on_one_connection(keep_alive: FeedServer, client: Client) -> None:
    url = keep_alive.add("/feed.xml", FEED, etag='"1"')
    other = keep_alive.add("/other.xml", FEED)
    fetched = [client.get(url if i % 2 else other, etag='"1"' if i % 3 == 0 else None) for i in range(100)]
    assert all(f.error is None for f in fetched) and {f.status for f in fetched} == {200, 304}
    assert keep_alive.connections == 1 and len(keep_alive.requests) == 100


def test_a_kept_alive_connection_the_server_dropped_is_replaced_once(keep_alive: FeedServer, client: Client) -> None:
    first = keep_alive.add("/first.xml", FEED)
    url = keep_alive.add("/feed.xml", FEED, drop_reused=True)
    assert client.get(first).error is None
    fetched = client.get(url)  # sent on the kept connection, which the server closes: sent again
    assert (fetched.status, fetched.error) == (200, None)
    assert len(keep_alive.hits("/feed.xml")) == 2 and keep_alive.connections == 2


def test_a_server_that_closes_without_answering(server: FeedServer, client: Client) -> None:
    url = server.add("/drop.xml", drop=True)
    fetched = client.get(url)
    assert (fetched.status, fetched.error, fetched.transient) == (0, "connection reset by the server", True)
    assert len(server.hits("/drop.xml")) == 1  # a new connection: not sent again


def test_connection_refused(client: Client) -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    fetched = client.get(f"http://127.0.0.1:{port}/feed.xml", timeout=5.0)
    assert (fetched.status, fetched.error, fetched.transient) == (0, "connection refused", True)


def test_an_unknown_host(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    # No lookup leaves this machine in a test: the resolver's answer for a name that does not
    # exist is played here (a numeric address is still looked up for real, locally).
    real = socket.getaddrinfo

    def no_such_name(host: object, *args: object, **kwargs: object) -> object:
        if host == "feed.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    fetched = within(30, client.get, "http://feed.invalid/feed.xml", timeout=5.0)
    assert (fetched.status, fetched.error, fetched.transient) == (0, "unknown host", True)


def test_a_plain_http_proxy_from_the_environment(server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # The feed server plays the proxy: it is asked for the absolute address.
    target = "http://feed.invalid/feed.xml"
    server.add(target, FEED)
    monkeypatch.setenv("http_proxy", server.url(""))
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with Client() as client:
        fetched = client.get(target, timeout=5.0)
    assert (fetched.status, fetched.error, fetched.data) == (200, None, FEED)
    assert len(server.hits(target)) == 1


# --- statuses, Retry-After, freshness -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "transient"),
    [
        (404, "HTTP 404 Not Found", False),
        (410, "HTTP 410 gone: the feed was removed for good", False),
        (500, "HTTP 500 Internal Server Error", True),
        (408, "HTTP 408 Request Timeout", True),
        (300, "HTTP 300 Multiple Choices", False),
        (302, "HTTP 302 Found", False),  # a redirect without a Location
    ],
)
def test_error_statuses(server: FeedServer, client: Client, status: int, error: str, transient: bool) -> None:
    fetched = client.get(server.add("/feed.xml", b"no", status=status, content_type="text/plain"))
    assert (fetched.status, fetched.error, fetched.transient, fetched.data) == (status, error, transient, b"")
    assert fetched.gone == (status == 410) and not fetched.has_document and fetched.retry_after is None


def test_retry_after_in_seconds_on_a_429(server: FeedServer, client: Client) -> None:
    fetched = client.get(server.add("/feed.xml", b"", status=429, headers={"Retry-After": "120"}))
    assert (fetched.status, fetched.error, fetched.transient) == (429, "HTTP 429 Too Many Requests", True)
    assert fetched.retry_after == 120.0


def test_retry_after_as_a_date_on_a_503(server: FeedServer, client: Client) -> None:
    later = email.utils.formatdate(time.time() + 300, usegmt=True)
    fetched = client.get(server.add("/feed.xml", b"", status=503, headers={"Retry-After": later}))
    assert fetched.error == "HTTP 503 Service Unavailable" and fetched.transient
    # Counted from the server's Date (whole seconds both).
    assert fetched.retry_after is not None and 290 <= fetched.retry_after <= 300


def test_retry_after_counts_only_on_429_and_503(server: FeedServer, client: Client) -> None:
    fetched = client.get(server.add("/feed.xml", b"", status=500, headers={"Retry-After": "120"}))
    assert fetched.retry_after is None


def test_cache_control_and_expires_come_back_as_freshness(keep_alive: FeedServer, client: Client) -> None:
    url = keep_alive.add("/feed.xml", FEED, etag='"1"', headers={"Cache-Control": "public, max-age=600, s-maxage=60"})
    assert client.get(url).fresh_for == 600.0
    assert client.get(url, etag='"1"').fresh_for is None  # (this server sends no headers with a 304)
    expires = email.utils.formatdate(time.time() + 3600, usegmt=True)
    other = keep_alive.add("/other.xml", FEED, headers={"Expires": expires})
    fresh = client.get(other).fresh_for
    assert fresh is not None and 3590 <= fresh <= 3600


DATE = "Wed, 01 May 2024 12:00:00 GMT"
NOW = email.utils.parsedate_to_datetime(DATE).timestamp()


@pytest.mark.parametrize(
    ("headers", "fresh"),
    [
        ({}, None),
        ({"cache-control": "max-age=600"}, 600.0),
        ({"cache-control": 'max-age="600"'}, 600.0),
        ({"cache-control": "s-maxage=60, max-age=600"}, 600.0),
        ({"cache-control": "s-maxage=60"}, None),
        ({"cache-control": "max-age=600", "age": "100"}, 500.0),
        ({"cache-control": "max-age=600", "age": "900"}, 0.0),
        ({"cache-control": "no-cache, max-age=600"}, 0.0),
        ({"cache-control": "no-store"}, 0.0),
        ({"cache-control": 'no-cache="set-cookie", max-age=60'}, 60.0),
        ({"cache-control": "max-age=soon"}, 0.0),
        ({"cache-control": "max-age=600", "expires": "Wed, 01 May 2024 13:00:00 GMT", "date": DATE}, 600.0),
        ({"expires": "Wed, 01 May 2024 13:00:00 GMT", "date": DATE}, 3600.0),
        ({"expires": "Wed, 01 May 2024 13:00:00 GMT"}, 3600.0),  # no Date: from our clock
        ({"expires": "Wed, 01 May 2024 11:00:00 GMT", "date": DATE}, 0.0),
        ({"expires": "0"}, 0.0),
        ({"cache-control": "private", "expires": "-1"}, 0.0),
    ],
)
def test_freshness_from_cache_control_or_expires(headers: dict[str, str], fresh: float | None) -> None:
    assert rhttp._fresh_for(headers, NOW) == fresh


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({}, None),
        ({"retry-after": "120"}, 120.0),
        ({"retry-after": " 0 "}, 0.0),
        ({"retry-after": "Wed, 01 May 2024 12:05:00 GMT", "date": DATE}, 300.0),
        ({"retry-after": "Wed, 01 May 2024 12:05:00 GMT"}, 300.0),
        ({"retry-after": "Wed, 01 May 2024 11:00:00 GMT", "date": DATE}, 0.0),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "-5"}, None),
    ],
)
def test_retry_after_parsing(headers: dict[str, str], wait: float | None) -> None:
    assert rhttp._retry_after(headers, NOW) == wait


def fetch_then_stop(client: Client, url: str, answering: threading.Event) -> FetchResult:
    """``client.get(url)`` on a thread of its own, with default timeouts (20 s a read, 40 s in all),
    its stop set once the server is ``answering``; what it gave back, which must come soon after."""
    stop = threading.Event()
    outcome: list[FetchResult] = []
    done = threading.Event()

    def run() -> None:
        outcome.append(client.get(url, stop=stop))
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert answering.wait(10)
    stop.set()
    assert done.wait(5), "the fetch did not give up after stop"
    return outcome[0]


def test_stop_gives_up_at_the_next_piece_of_the_response(server: FeedServer, client: Client) -> None:
    fetched = fetch_then_stop(client, server.add("/trickle.xml", trickle=True), server.trickling)
    assert (fetched.error, fetched.transient) == (rhttp.CANCELLED, True)


def test_stop_cuts_a_wait_on_a_server_that_says_nothing(server: FeedServer, client: Client) -> None:
    # Cancelling a sync (or closing the window) must not wait for the read timeout of a server
    # that stalls: the watchdog shuts the socket when the stop is set.
    fetched = fetch_then_stop(client, server.add("/silent", stall=True), server.stalled)
    assert (fetched.error, fetched.transient) == (rhttp.CANCELLED, True)


def test_stop_set_beforehand_sends_nothing(server: FeedServer, client: Client) -> None:
    stop = threading.Event()
    stop.set()
    fetched = client.get(server.add("/feed.xml", FEED), stop=stop)
    assert (fetched.error, fetched.transient) == ("cancelled", True) and server.requests == []


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("ftp://example.org/feed.xml", "cannot fetch ftp URLs (only http, https)"),
        ("file:///etc/passwd", "cannot fetch file URLs (only http, https)"),
        ("example.org/feed.xml", "cannot fetch scheme-less URLs (only http, https)"),
        ("http:///feed.xml", "no host given"),
    ],
)
def test_other_addresses_are_refused(client: Client, url: str, error: str) -> None:
    fetched = client.get(url)
    assert (fetched.status, fetched.error, fetched.transient) == (0, error, False)


def test_a_malformed_address_is_an_error(client: Client) -> None:
    for url in ("http://[x/feed.xml", "http://127.0.0.1:99999/feed.xml", "http://exa mple.org/feed"):
        fetched = client.get(url, timeout=5.0)
        assert fetched.status == 0 and fetched.error, url


def test_a_bug_comes_back_as_an_error_result(
    server: FeedServer, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(rhttp, "_fresh_for", broken)
    fetched = client.get(server.add("/feed.xml", FEED))
    assert (fetched.status, fetched.error) == (0, "internal error (RuntimeError: boom)")
    # And the connection went back: the next fetch still finds one.
    monkeypatch.undo()
    assert client.get(server.url("/feed.xml"), timeout=5.0).error is None


def test_default_client_is_one_per_process() -> None:
    found: list[Client] = []
    threads = [threading.Thread(target=lambda: found.append(rhttp.default_client())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(c) for c in found}) == 1 and found[0] is rhttp.default_client()


def test_gzip_member_of_the_server_is_what_the_client_decodes() -> None:
    """The inflater alone: fed a byte at a time, it gives the document; a truncated stream is
    taken as far as it goes (as before)."""
    packed = gzip.compress(FEED)
    inflater = rhttp._Inflater("gzip", len(FEED))
    assert b"".join(inflater.feed(packed[i : i + 1]) for i in range(len(packed))) + inflater.finish() == FEED
    inflater = rhttp._Inflater("gzip", len(FEED))
    assert FEED.startswith(inflater.feed(packed[: len(packed) // 2]) + inflater.finish())
    with pytest.raises(rhttp._TooLarge):
        rhttp._Inflater("gzip", len(FEED) - 1).feed(packed)


# --- POST (the sync server's writes and batched reads) ------------------------------------------------


def test_post_sends_a_form_with_repeated_names_and_extra_headers(server: FeedServer, client: Client) -> None:
    url = server.add("/edit-tag", b"OK", content_type="text/plain")
    fetched = client.post(url, [("i", "1"), ("i", "2"), ("a", "user/-/state/com.google/read")], headers={"X-A": "b"})
    assert (fetched.status, fetched.error, fetched.data) == (200, None, b"OK")
    (request,) = server.requests
    assert request.method == "POST"
    assert request.body == b"i=1&i=2&a=user%2F-%2Fstate%2Fcom.google%2Fread"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["x-a"] == "b"


def test_get_sends_extra_headers(server: FeedServer, client: Client) -> None:
    url = server.add("/list", b"{}")
    assert client.get(url, headers={"Authorization": "GoogleLogin auth=t"}).error is None
    assert server.requests[0].headers["authorization"] == "GoogleLogin auth=t"


def test_post_meets_the_same_deadline_and_size_cap(server: FeedServer, client: Client) -> None:
    slow = server.add("/slow", trickle_headers=HEADER_EVERY)
    fetched = within(10, client.post, slow, {"i": "1"}, timeout=TIMEOUT)
    assert (fetched.error, fetched.transient) == (GAVE_UP, True)
    big = server.add("/big", b"x" * 2000)
    assert client.post(big, {"i": "1"}, max_bytes=1000).error == (
        f"response too large ({size_text(2000)}; limit {size_text(1000)})"
    )


@pytest.mark.parametrize(("status", "method", "body"), [(303, "GET", b""), (302, "GET", b""), (307, "POST", b"i=1")])
def test_a_redirected_post_becomes_a_get_except_after_307(
    server: FeedServer, client: Client, status: int, method: str, body: bytes
) -> None:
    server.add("/target", b"done")
    url = server.add("/post", status=status, headers={"Location": "/target"})
    assert client.post(url, {"i": "1"}).data == b"done"
    target = server.requests[-1]
    assert (target.path, target.method, target.body) == ("/target", method, body)


def test_a_redirect_to_another_server_does_not_take_the_login_with_it(
    server: FeedServer, keep_alive: FeedServer, client: Client
) -> None:
    # A sync server's Authorization header (and a form with a password) are for that server only.
    login = {"Authorization": "GoogleLogin auth=secret"}
    server.add("/here", b"same server")
    same = server.add("/same", status=302, headers={"Location": "/here"})
    assert client.get(same, headers=login).data == b"same server"
    assert server.requests[-1].headers.get("authorization") == "GoogleLogin auth=secret"
    elsewhere = keep_alive.add("/there", b"other server")
    away = server.add("/away", status=302, headers={"Location": elsewhere})
    assert client.get(away, headers=login).data == b"other server"
    assert "authorization" not in keep_alive.requests[-1].headers
    form = server.add("/form", status=307, headers={"Location": elsewhere})
    seen = len(keep_alive.requests)
    result = client.post(form, {"Passwd": "hunter2"}, headers=login)
    assert result.error == f"redirected a form to http://127.0.0.1:{keep_alive.httpd.server_port}; not sent there"
    assert len(keep_alive.requests) == seen  # never opened
