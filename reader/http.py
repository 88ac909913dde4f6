"""The one HTTP client for feeds, sync and OPML: ``GET`` (and, for sync, ``POST`` of a form) over
``urllib3``, bytes and headers back, never an exception. No Qt, no store.

- One :class:`Client` a process (:func:`default_client`) holds a ``urllib3.PoolManager``: a pool of
  :data:`MAX_CONNECTIONS_PER_HOST` connections per origin (scheme, host, port), ``block=True``, so
  the pool is the per-host limit (one more request to a busy origin waits for a free connection)
  and connections are kept alive between fetches.
- Redirects are followed here, not by urllib3: http and https only, :data:`MAX_REDIRECTS` at most,
  each counted; ``moved_to`` only when every hop was permanent (301/308).
- One deadline for the whole exchange (connecting, TLS, the headers, the body, every redirect):
  each blocking step waits its own ``timeout`` or what is left of the deadline, whichever is less,
  and a watchdog thread (:class:`_Watchdog`) shuts down the socket of an exchange whose deadline
  has passed, so a server that trickles its header lines (each ``recv`` within the read timeout,
  which urllib3's own ``Timeout(total=...)`` does not bound) cannot hold a fetch any longer.
- The size cap holds after decompression: gzip and deflate are inflated here, a chunk at a time,
  never past ``max_bytes + 1`` (a gzip bomb is refused after a megabyte, not inflated whole).
- ``POST`` (:meth:`Client.post`, a form body) goes through the same exchange: the same deadline,
  watchdog, size cap, TLS verification and redirect rules; after a 301, 302 or 303 the next hop is
  a ``GET`` without the body (what browsers do), after a 307 or 308 the same ``POST`` again.
- ``Retry-After`` (429, 503) and ``Cache-Control: max-age`` / ``Expires`` come back as
  :attr:`FetchResult.retry_after` and :attr:`FetchResult.fresh_for`, for the refresh schedule
  (:func:`reader.subscriptions.due_feeds`).

Brotli and zstd are not offered (``Accept-Encoding: gzip, deflate``): feed documents are text of
tens of kilobytes, where brotli saves perhaps a fifth of gzip's size, less than one round trip;
each would add a compiled dependency (``brotli``; ``zstandard`` or ``backports.zstd`` before Python
3.14) and a second decompression path that must hold the size cap, and offering them only when
some other package happens to have installed the decoder would make a fetch differ from machine
to machine.
"""

from __future__ import annotations

import contextlib
import email.utils
import heapq
import http.client
import itertools
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import urllib.request
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import urllib3
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions

from reader import __version__
from reader.localfile import size_text

__all__ = [
    "CANCELLED",
    "FETCH_TIMEOUT",
    "MAX_CONNECTIONS_PER_HOST",
    "MAX_FEED_BYTES",
    "MAX_REDIRECTS",
    "USER_AGENT",
    "Client",
    "FetchResult",
    "default_client",
]

#: Seconds to wait for a connection and for each read; twice this is the default budget of a whole
#: exchange (looking up the host, connecting, the headers, the body, every redirect on the way).
FETCH_TIMEOUT = 20.0
#: Redirects one fetch follows, at most (only to http and https addresses).
MAX_REDIRECTS = 10
#: Responses (after decompression) larger than this are refused.
MAX_FEED_BYTES = 64 * 1024 * 1024
#: Connections to one origin at once (the size of its pool).
MAX_CONNECTIONS_PER_HOST = 4
#: Origins whose pools (and idle connections) are kept; the least recently used is closed beyond.
#: Well above the number of fetches in flight at once, so a pool is not dropped while in use.
NUM_POOLS = 128
#: A Retry-After longer than this (a week) is taken as this: a wrong header must not silence a
#: feed for years.
MAX_RETRY_AFTER = 7 * 24 * 3600.0

USER_AGENT = f"Reader/{__version__} (desktop news reader; +feedparser)"
ACCEPT = "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, */*;q=0.5"
ACCEPT_ENCODING = "gzip, deflate"

#: The error of a fetch given up because the refresh or import was cancelled.
CANCELLED = "cancelled"

_REDIRECTS = frozenset((301, 302, 303, 307, 308))
#: urllib3 neither retries nor redirects (this module does both); one object for every request.
_NO_RETRIES = urllib3.Retry(total=False, redirect=False, raise_on_redirect=False, raise_on_status=False)
#: Bytes read at a time: whatever has arrived, up to this (a trickle still comes back often enough
#: to see the deadline and a cancel).
_CHUNK = 256 * 1024
#: The body of a redirect, a 304 or an error is read (and dropped) up to this much so that its
#: connection can serve the next request; a longer one closes the connection instead.
_DRAIN_BYTES = 64 * 1024


# --- the result ---------------------------------------------------------------------------------


#: Request headers that carry a login: never sent on to a redirect's other server.
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


def _origin(url: str) -> str:
    """scheme://host:port of ``url``: a redirect that changes it goes to another server (an
    https-to-http one included)."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{scheme}://{(parts.hostname or '').lower()}:{port or (443 if scheme == 'https' else 80)}"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What a fetch got. ``status`` is the HTTP status (0 when no response)."""

    url: str
    status: int
    data: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    #: The new address when every redirect on the way was permanent (301/308).
    moved_to: str | None = None
    #: Why there is nothing to parse, for a person (None for 200 and 304).
    error: str | None = None
    #: The error is the network's or the server's for now (timeout, refused, unknown host, 5xx,
    #: 408, 429): trying again later may work. Not for 404, 410, oversize bodies, refused redirects.
    transient: bool = False
    #: Seconds the server asked us to wait before asking again: ``Retry-After`` on a 429 or 503
    #: (delta-seconds, or an HTTP date counted from the response's ``Date``).
    retry_after: float | None = None
    #: Seconds the document stays fresh, on a 2xx or 304: ``Cache-Control: max-age`` less ``Age``
    #: (``s-maxage`` is for shared caches and ignored; ``no-cache`` or ``no-store``: 0), else
    #: ``Expires`` less ``Date`` (or now). None when the server said nothing.
    fresh_for: float | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def gone(self) -> bool:
        return self.status == 410

    @property
    def has_document(self) -> bool:
        """A document arrived (not an error, not a 304): something to parse."""
        return self.error is None and not self.not_modified


def _http_date(value: str | None) -> float | None:
    """An HTTP date as a POSIX timestamp (None when it is not one)."""
    if not value:
        return None
    try:
        stamp = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:
        return stamp.timestamp()  # a naive date (no zone) is taken as local time; HTTP dates are GMT
    except (OverflowError, OSError, ValueError):
        return None


def _server_now(headers: Mapping[str, str], now: float) -> float:
    """The server's clock at the response (its ``Date``), so that a skewed clock here does not
    shift dates the server gave; our own when it sent none."""
    date = _http_date(headers.get("date"))
    return date if date is not None else now


def _retry_after(headers: Mapping[str, str], now: float) -> float | None:
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value) if len(value) < 16 else MAX_RETRY_AFTER
    at = _http_date(value)
    if at is None:
        return None
    return max(0.0, at - _server_now(headers, now))


def _fresh_for(headers: Mapping[str, str], now: float) -> float | None:
    age_text = (headers.get("age") or "").strip()
    age = float(age_text) if age_text.isdigit() and len(age_text) < 16 else 0.0
    control = headers.get("cache-control")
    if control:
        directives: dict[str, str] = {}
        for part in control.split(","):
            name, _, argument = part.partition("=")
            directives.setdefault(name.strip().lower(), argument.strip().strip('"'))
        if "no-store" in directives or directives.get("no-cache") == "":
            return 0.0
        if "max-age" in directives:
            max_age = directives["max-age"]
            # An invalid max-age makes the response stale (RFC 9111, 4.2.1).
            return max(0.0, float(max_age) - age) if max_age.isdigit() and len(max_age) < 16 else 0.0
    if "expires" in headers:
        expires = _http_date(headers["expires"])
        if expires is None:  # "0", "-1" and the like: already expired
            return 0.0
        return max(0.0, expires - _server_now(headers, now) - age)
    return None


# --- the deadline and its watchdog ------------------------------------------------------------


class _DeadlineExceeded(TimeoutError):
    """The exchange's whole budget ran out."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"timed out (response not complete within {seconds:g} s)")


class _Cancelled(Exception):
    """``stop`` was set while the fetch waited for a connection."""


#: Guards every exchange's ``conn``/``finished``/``expired`` and the watchdog's heap; taken briefly.
_lock = threading.RLock()
_local = threading.local()


class _Exchange:
    """One ``Client.get``: its budget, its stop event and the connection it is using now (which
    the watchdog shuts down when the deadline passes). Lives in a thread-local while it runs: the
    pool and connection hooks below find it there (urllib3 calls them on the fetching thread)."""

    __slots__ = ("at", "budget", "cancelled", "conn", "expired", "finished", "reused", "step", "stop")

    def __init__(self, budget: float, step: float, stop: threading.Event | None) -> None:
        self.budget = budget
        self.step = step
        self.stop = stop
        #: The deadline (time.monotonic()); set when the first connection is in hand, so the wait
        #: for a free connection to a busy host is not counted (as with the old per-host slots).
        self.at = float("inf")
        self.conn: Any = None
        self.expired = False
        #: The stop event was set while a step waited: the watchdog shut the socket.
        self.cancelled = False
        self.finished = False
        #: The connection in hand was kept alive from an earlier request (it may have gone stale).
        self.reused = False

    def left(self) -> float:
        return self.at - time.monotonic()

    def limit(self) -> float:
        """The timeout of the next blocking step: its own, or what is left of the budget."""
        left = self.left()
        if left <= 0:
            raise _DeadlineExceeded(self.budget)
        return min(self.step, left)

    def attach(self, conn: Any) -> None:
        start = False
        with _lock:
            self.conn = conn
            self.reused = getattr(conn, "sock", None) is not None
            if self.at == float("inf"):
                self.at = time.monotonic() + self.budget
                start = True
            expired = self.expired
        if start:
            _watchdog.arm(self)
        if self.stop is not None and self.stop.is_set():
            raise _Cancelled
        if expired or self.left() <= 0:
            raise _DeadlineExceeded(self.budget)

    def detach(self) -> None:
        with _lock:
            self.conn = None

    def finish(self) -> bool:
        """No more watching; whether the deadline had passed (its socket may have been shut)."""
        with _lock:
            self.finished = True
            self.conn = None
            return self.expired

    def expire(self, *, cancelled: bool = False) -> None:
        """On the watchdog's thread, with :data:`_lock` held: the deadline passed, or (``cancelled``)
        the stop event was set while a step waits for a server that says nothing."""
        if self.finished:
            return
        if cancelled:
            self.cancelled = True
        else:
            self.expired = True
        sock = getattr(self.conn, "sock", None)
        if sock is not None:
            # The plain socket's shutdown, even for TLS (SSLSocket.shutdown would also drop its
            # SSL object under the reading thread): the blocked recv returns, the read fails.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _current() -> _Exchange | None:
    return getattr(_local, "exchange", None)


#: How often a running exchange's stop event is looked at by the watchdog (seconds).
STOP_POLL_S = 0.1


class _Watchdog:
    """One daemon thread for every exchange: a heap of deadlines; at each, the exchange (if still
    running) is marked expired and its socket shut down. Arming costs a heap push; the thread is
    woken only when the new deadline comes before the one it sleeps until (so, with one budget for
    every fetch, about once a budget, not once a fetch); finished exchanges leave the heap lazily."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Exchange]] = []
        #: Running exchanges with a stop event: looked at every STOP_POLL_S while there are any,
        #: so that a stop cuts a step that waits on a silent server (not only the next piece).
        self._stoppable: set[_Exchange] = set()
        self._order = itertools.count()
        self._wake = threading.Condition(_lock)
        self._thread: threading.Thread | None = None
        #: When the thread wakes up next by itself (inf: only when notified).
        self._sleeps_until = float("inf")

    def arm(self, exchange: _Exchange) -> None:
        with self._wake:
            heap = self._heap
            while heap and heap[0][2].finished:
                heapq.heappop(heap)
            heapq.heappush(heap, (exchange.at, next(self._order), exchange))
            if exchange.stop is not None:
                self._stoppable.add(exchange)
                self._sleeps_until = min(self._sleeps_until, time.monotonic() + STOP_POLL_S)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="reader-http-watchdog", daemon=True)
                self._thread.start()
            elif exchange.at < self._sleeps_until or exchange.stop is not None:
                self._sleeps_until = min(self._sleeps_until, exchange.at)  # (set again when it wakes)
                self._wake.notify()

    def _run(self) -> None:
        with self._wake:
            heap = self._heap
            while True:
                while heap and heap[0][2].finished:
                    heapq.heappop(heap)
                self._cut_stopped()
                if not heap:
                    self._sleeps_until = float("inf")
                    self._wake.wait()
                    continue
                now = time.monotonic()
                left = heap[0][0] - now
                if left > 0:
                    wait = min(left, STOP_POLL_S) if self._stoppable else left
                    self._sleeps_until = now + wait
                    self._wake.wait(wait)
                    continue
                heapq.heappop(heap)[2].expire()

    def _cut_stopped(self) -> None:
        for exchange in list(self._stoppable):
            if exchange.finished:
                self._stoppable.discard(exchange)
            elif exchange.stop is not None and exchange.stop.is_set():
                self._stoppable.discard(exchange)
                exchange.expire(cancelled=True)


_watchdog = _Watchdog()


# --- connections and pools that answer to the deadline ------------------------------------------


def _resolve(host: str, port: int, exchange: _Exchange) -> list[Any]:
    """getaddrinfo within the deadline: a name is looked up on a thread of its own (the lookup
    itself cannot be given a timeout); an address given as numbers needs no lookup."""
    try:
        return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError):
        pass  # a name
    limit = exchange.limit()
    done = threading.Event()
    answer: list[Any] = []

    def look_up() -> None:
        try:
            answer.append(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
        except Exception as exc:
            answer.append(exc)
        done.set()

    threading.Thread(target=look_up, name="reader-resolve", daemon=True).start()
    if not done.wait(limit):
        if limit < exchange.step:
            raise _DeadlineExceeded(exchange.budget)
        raise TimeoutError("timed out looking up the host")
    if isinstance(answer[0], Exception):
        raise answer[0]
    return answer[0]


class _ConnectionHooks:
    """Mixed into urllib3's connections: the host lookup and the connect (each address in turn)
    within the deadline, and a close that never races the watchdog's shutdown of the same socket."""

    _dns_host: str
    port: int
    source_address: tuple[str, int] | None
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        exchange = _current()
        if exchange is None:  # not from Client.get: urllib3's own way
            return super()._new_conn()  # type: ignore[misc]
        error: OSError | None = None
        for family, kind, proto, _, address in _resolve(self._dns_host, self.port, exchange):
            limit = exchange.limit()
            sock = socket.socket(family, kind, proto)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                sock.settimeout(limit)
                if self.source_address:
                    sock.bind(self.source_address)
                sock.connect(address)
                # What is left for sending the request and, for https, the handshake (the ssl
                # module bounds the whole handshake by the socket's timeout).
                sock.settimeout(exchange.limit())
            except TimeoutError as exc:
                sock.close()
                if limit < exchange.step or exchange.left() <= 0:
                    raise _DeadlineExceeded(exchange.budget) from None
                error = exc
                continue
            except OSError as exc:
                sock.close()
                error = exc
                continue
            except BaseException:
                sock.close()
                raise
            sys.audit("http.client.connect", self, self._dns_host, self.port)
            return sock
        raise error if error is not None else OSError("the host has no address")

    def close(self) -> None:
        with _lock:
            super().close()  # type: ignore[misc]


class _HTTPConnection(_ConnectionHooks, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_ConnectionHooks, urllib3.connection.HTTPSConnection):
    pass


class _PoolHooks:
    """Mixed into urllib3's pools: each connection taken out is the running exchange's (for the
    watchdog, and the deadline starts), and stops being its when it goes back."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        exchange = _current()
        if exchange is not None:
            try:
                exchange.attach(conn)
            except BaseException:
                # urllib3 puts None back in this connection's place (it counts the pool's slots).
                exchange.detach()
                conn.close()
                raise
        return conn

    def _put_conn(self, conn: Any) -> None:
        exchange = _current()
        if exchange is not None:
            exchange.detach()
        super()._put_conn(conn)  # type: ignore[misc]


class _HTTPPool(_PoolHooks, urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(_PoolHooks, urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS: dict[str, Any] = {"http": _HTTPPool, "https": _HTTPSPool}


def _tls_context(ca_certs: str | None) -> ssl.SSLContext:
    """One TLS context for every https connection of a client (urllib3 would make one, and load
    the CA store into it, per connection)."""
    context = ssl.create_default_context(cafile=ca_certs)
    context.set_alpn_protocols(["http/1.1"])
    if context.post_handshake_auth is not None:
        context.post_handshake_auth = True
    return context


# --- decompression within the size cap --------------------------------------------------------


class _TooLarge(Exception):
    pass


class _Inflater:
    """gzip or deflate, inflated as the body arrives, never to more than ``limit + 1`` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        self._deflate = encoding == "deflate"
        self._limit = limit
        self._size = 0
        self._head = b""
        self._zlib: Any = None

    def feed(self, data: bytes) -> bytes:
        if self._zlib is None:
            if self._deflate:
                # "deflate" is zlib-wrapped (RFC 9110) or, from some servers, raw: the first two
                # bytes tell (a zlib header is method 8 and a multiple of 31).
                self._head += data
                if len(self._head) < 2:
                    return b""
                data, self._head = self._head, b""
                wrapped = data[0] & 0x0F == 8 and ((data[0] << 8) | data[1]) % 31 == 0
                self._zlib = zlib.decompressobj(15 if wrapped else -15)
            else:
                self._zlib = zlib.decompressobj(47)  # a gzip or a zlib header
        if self._zlib.eof:
            return b""  # anything after the end of the stream is ignored
        out: bytes = self._zlib.decompress(data, self._limit + 1 - self._size)
        self._size += len(out)
        if self._size > self._limit:
            raise _TooLarge
        return out

    def finish(self) -> bytes:
        if self._zlib is None:
            return self.feed(b"\0") if self._head else b""  # one byte of deflate: let zlib judge it
        out: bytes = self._zlib.flush()
        self._size += len(out)
        if self._size > self._limit:
            raise _TooLarge
        return out


# --- errors ---------------------------------------------------------------------------------------


def _root(exc: BaseException) -> BaseException:
    """The low-level error inside urllib3's wrappers (ProtocolError, ReadTimeoutError, SSLError...)."""
    for _ in range(10):
        inner = exc.__cause__
        if inner is None and isinstance(exc, urllib3.exceptions.HTTPError):
            inner = next((a for a in exc.args if isinstance(a, BaseException)), None)
        if inner is None or inner is exc:
            break
        exc = inner
    return exc


def _network_reason(reason: BaseException, timeout: float) -> str:
    if isinstance(reason, _DeadlineExceeded):
        return str(reason)
    if isinstance(reason, TimeoutError | urllib3.exceptions.TimeoutError):
        return f"timed out (no answer within {timeout:g} s)"
    if isinstance(reason, socket.gaierror | urllib3.exceptions.NameResolutionError):
        return "unknown host"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(reason, http.client.IncompleteRead | urllib3.exceptions.IncompleteRead):
        return "the server closed the connection before the end of the response"
    if isinstance(reason, http.client.HTTPException):
        return f"bad HTTP response ({type(reason).__name__})"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason) or type(reason).__name__


#: Errors of a kept-alive connection that the server closed while it sat idle: such a request is
#: sent once more, on a new connection (what browsers do for a GET).
_STALE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, http.client.BadStatusLine, ssl.SSLEOFError)


# --- the client -------------------------------------------------------------------------------------


class Client:
    """An HTTP client for feeds: one per process is enough (:func:`default_client`); thread-safe.

    ``ssl_context`` (or a ``ca_certs`` file to trust instead of the system's store) is for https;
    ``proxies`` maps ``"http"``/``"https"`` to a proxy URL (default: the environment's
    ``http_proxy``/``https_proxy``, with ``no_proxy``). Through a proxy, plain-http requests share
    the proxy's pool (of ``proxy_connections``), so the per-host limit is the proxy's to keep.
    """

    def __init__(
        self,
        *,
        max_connections_per_host: int = MAX_CONNECTIONS_PER_HOST,
        num_pools: int = NUM_POOLS,
        ssl_context: ssl.SSLContext | None = None,
        ca_certs: str | None = None,
        proxies: Mapping[str, str] | None = None,
        proxy_connections: int = 16,
        user_agent: str = USER_AGENT,
    ) -> None:
        self._tls = ssl_context if ssl_context is not None else _tls_context(ca_certs)
        self._headers = {"User-Agent": user_agent, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING}
        self._direct = self._manager(urllib3.PoolManager, num_pools, max_connections_per_host)
        if proxies is None:
            proxies = urllib.request.getproxies()
        self._proxy_urls = {k: v for k, v in proxies.items() if k in ("http", "https") and v}
        self._proxies: dict[str, urllib3.ProxyManager] = {}
        self._proxy_connections = proxy_connections
        self._num_pools = num_pools
        self._proxies_lock = threading.Lock()

    def _manager(self, kind: Any, num_pools: int, maxsize: int, **extra: Any) -> Any:
        manager = kind(num_pools=num_pools, maxsize=maxsize, block=True, ssl_context=self._tls, **extra)
        manager.pool_classes_by_scheme = _POOLS
        return manager

    def _manager_for(self, host: str, scheme: str) -> urllib3.PoolManager:
        proxy = self._proxy_urls.get(scheme)
        if proxy is None or urllib.request.proxy_bypass(host):
            return self._direct
        with self._proxies_lock:
            manager = self._proxies.get(proxy)
            if manager is None:
                manager = self._proxies[proxy] = self._manager(
                    urllib3.ProxyManager, self._num_pools, self._proxy_connections, proxy_url=proxy
                )
            return manager

    def close(self) -> None:
        """Close every idle connection (a fetch in flight still finishes)."""
        self._direct.clear()
        with self._proxies_lock:
            for manager in self._proxies.values():
                manager.clear()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        timeout: float = FETCH_TIMEOUT,
        max_bytes: int = MAX_FEED_BYTES,
        stop: threading.Event | None = None,
        deadline: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> FetchResult:
        """GET ``url`` (http or https), conditionally when ``etag``/``last_modified`` are given;
        ``headers`` are sent too (``Authorization`` for a sync server).

        Never raises: the result's ``error`` says what went wrong. Each step (looking up the host,
        connecting, each read) waits at most ``timeout`` seconds, and the whole exchange, from the
        moment a connection to the host is free, headers, body and every redirect included, at most
        ``deadline`` seconds (default ``2 * timeout``). When ``stop`` is set the fetch gives up at
        the next piece of the response that arrives.
        """
        sent = dict(self._headers)
        if etag:
            sent["If-None-Match"] = etag
        if last_modified:
            sent["If-Modified-Since"] = last_modified
        sent.update(headers or {})
        return self._request("GET", url, None, sent, etag, last_modified, timeout, max_bytes, stop, deadline)

    def post(
        self,
        url: str,
        form: Sequence[tuple[str, str]] | Mapping[str, str],
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = FETCH_TIMEOUT,
        max_bytes: int = MAX_FEED_BYTES,
        stop: threading.Event | None = None,
        deadline: float | None = None,
    ) -> FetchResult:
        """POST ``form`` (pairs, a name may come again: ``i=1&i=2``) to ``url`` as
        ``application/x-www-form-urlencoded``, with :meth:`get`'s deadline, limits and result.

        A request on a kept-alive connection that the server had closed is sent once more, as a
        GET is: the sync calls that post (edit-tag, item contents, mark-all-as-read, quickadd)
        give the same result when repeated."""
        body = urllib.parse.urlencode(list(form.items()) if isinstance(form, Mapping) else list(form)).encode()
        sent = dict(self._headers)
        sent["Content-Type"] = "application/x-www-form-urlencoded"
        sent.update(headers or {})
        return self._request("POST", url, body, sent, None, None, timeout, max_bytes, stop, deadline)

    def _request(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str],
        etag: str | None,
        last_modified: str | None,
        timeout: float,
        max_bytes: int,
        stop: threading.Event | None,
        deadline: float | None,
    ) -> FetchResult:
        try:
            parts = urllib.parse.urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme not in ("http", "https"):
                return FetchResult(url, 0, error=f"cannot fetch {scheme or 'scheme-less'} URLs (only http, https)")
            if not parts.hostname:
                return FetchResult(url, 0, error="no host given")
            if stop is not None and stop.is_set():
                return FetchResult(url, 0, error=CANCELLED, transient=True)
        except ValueError as exc:  # a malformed address (a bad port, a bad IPv6 literal)
            return FetchResult(url, 0, error=str(exc) or type(exc).__name__)
        budget = 2 * timeout if deadline is None else deadline
        exchange = _Exchange(budget, timeout, stop)
        previous = _current()
        _local.exchange = exchange
        try:
            return self._exchange(method, url, body, headers, etag, last_modified, max_bytes, exchange)
        except Exception as exc:  # a bug here must come back as a result, never past this boundary
            return FetchResult(url, 0, error=f"internal error ({type(exc).__name__}: {exc})")
        finally:
            exchange.finish()
            _local.exchange = previous

    def _exchange(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str],
        etag: str | None,
        last_modified: str | None,
        max_bytes: int,
        exchange: _Exchange,
    ) -> FetchResult:
        current = url
        permanent = True
        hops = 0
        while True:
            try:
                response = self._open(method, current, body, headers, exchange)
            except _Cancelled:
                return FetchResult(url, 0, error=CANCELLED, transient=True)
            except Exception as exc:
                return self._failed(url, exc, exchange)
            drained = False
            try:
                if exchange.expired:
                    return FetchResult(url, 0, error=str(_DeadlineExceeded(exchange.budget)), transient=True)
                status = response.status
                location = response.headers.get("location") if status in _REDIRECTS else None
                if location:
                    target = urllib.parse.urljoin(current, location.strip())
                    refusal = _refusal(location, target, hops)
                    if refusal is not None:
                        return FetchResult(url, status, error=refusal)
                    elsewhere = _origin(target) != _origin(current)
                    if elsewhere and method == "POST" and status in (307, 308):
                        # The form (a password, a write token) goes only where it was meant to go.
                        return FetchResult(url, status, error=f"redirected a form to {_origin(target)}; not sent there")
                    drained = _drain(response, exchange)
                    hops += 1
                    permanent = permanent and status in (301, 308)
                    if elsewhere:  # credentials are the first server's: another one does not get them
                        headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
                    current = target
                    if method == "POST" and status in (301, 302, 303):
                        method, body = "GET", None
                        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
                    continue
                moved = current if current != url and permanent else None
                if status == 304 or not 200 <= status < 300:
                    drained = _drain(response, exchange)
                    return _answer(url, current, status, response, etag, last_modified, moved)
                result = self._body(current, response, moved, max_bytes, exchange)
                drained = result.error is None
                return result
            except Exception as exc:
                return self._failed(url, exc, exchange)
            finally:
                if not drained:
                    # Unread or broken: the connection cannot serve another request.
                    with contextlib.suppress(Exception):
                        response.close()
                with contextlib.suppress(Exception):
                    response.release_conn()

    def _open(self, method: str, url: str, body: bytes | None, headers: Mapping[str, str], exchange: _Exchange) -> Any:
        manager = self._direct
        if self._proxy_urls:
            parts = urllib.parse.urlsplit(url)
            manager = self._manager_for(parts.hostname or "", parts.scheme.lower())
        for attempt in (0, 1):
            left = exchange.left()
            if left <= 0:
                raise _DeadlineExceeded(exchange.budget)
            step = min(exchange.step, left)
            try:
                return manager.urlopen(
                    method,
                    url,
                    body=body,
                    headers=headers,
                    redirect=False,
                    retries=_NO_RETRIES,
                    preload_content=False,
                    decode_content=False,
                    timeout=urllib3.Timeout(connect=step, read=step),
                    # The first wait for a free connection is not counted; a redirect's is.
                    pool_timeout=None if exchange.at == float("inf") else max(left, 0.001),
                )
            except urllib3.exceptions.HTTPError as exc:
                if attempt or not exchange.reused or exchange.expired or not isinstance(_root(exc), _STALE):
                    raise
        raise AssertionError("unreachable")

    def _failed(self, url: str, exc: BaseException, exchange: _Exchange) -> FetchResult:
        root = _root(exc)
        timeout = exchange.step
        if exchange.cancelled:
            return FetchResult(url, 0, error=CANCELLED, transient=True)
        if exchange.expired or isinstance(root, urllib3.exceptions.EmptyPoolError):
            return FetchResult(url, 0, error=str(_DeadlineExceeded(exchange.budget)), transient=True)
        if isinstance(root, TimeoutError | urllib3.exceptions.TimeoutError) and exchange.left() <= 0.005:
            return FetchResult(url, 0, error=str(_DeadlineExceeded(exchange.budget)), transient=True)
        if isinstance(exc, urllib3.exceptions.LocationValueError):  # an address urllib3 cannot parse
            return FetchResult(url, 0, error=str(exc) or type(exc).__name__)
        if isinstance(root, ValueError) and not isinstance(root, OSError):
            return FetchResult(url, 0, error=_network_reason(root, timeout))  # a URL urllib3 refuses
        if not isinstance(exc, urllib3.exceptions.HTTPError | OSError | http.client.HTTPException | ssl.SSLError):
            raise exc  # a bug: get() reports it
        return FetchResult(url, 0, error=_network_reason(root, timeout), transient=True)

    def _body(self, final: str, response: Any, moved: str | None, max_bytes: int, exchange: _Exchange) -> FetchResult:
        status = response.status
        headers = {k.lower(): v for k, v in response.headers.items()}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            return FetchResult(
                final, status, error=f"response too large ({size_text(int(declared))}; limit {size_text(max_bytes)})"
            )
        encoding = headers.get("content-encoding", "").strip().lower()
        inflater = _Inflater(encoding, max_bytes) if encoding in ("gzip", "x-gzip", "deflate") else None
        chunks: list[bytes] = []
        size = 0
        stop = exchange.stop
        try:
            while True:
                chunk = response.read1(_CHUNK)
                if not chunk:
                    break
                if stop is not None and stop.is_set():
                    return FetchResult(final, 0, error=CANCELLED, transient=True)
                size += len(chunk)
                if size > max_bytes:
                    return FetchResult(final, status, error=f"response too large (over {size_text(max_bytes)})")
                if exchange.expired or exchange.left() < 0:
                    return FetchResult(final, status, error=str(_DeadlineExceeded(exchange.budget)), transient=True)
                chunks.append(inflater.feed(chunk) if inflater is not None else chunk)
            if inflater is not None:
                chunks.append(inflater.finish())
        except _TooLarge:
            return FetchResult(final, status, error=f"response too large (over {size_text(max_bytes)} decompressed)")
        except zlib.error as exc:
            return FetchResult(final, status, error=f"bad {encoding} data ({exc})")
        if exchange.finish():  # the body may have ended only because the watchdog shut the socket
            return FetchResult(final, status, error=str(_DeadlineExceeded(exchange.budget)), transient=True)
        if inflater is not None:
            headers.pop("content-encoding", None)
        etag = headers.get("etag") or None
        modified = headers.get("last-modified") or None
        fresh = _fresh_for(response.headers, time.time())
        return FetchResult(final, status, b"".join(chunks), headers, etag, modified, moved, fresh_for=fresh)


def _refusal(location: str, target: str, hops: int) -> str | None:
    """Why a redirect to ``target`` is not followed (None: it is)."""
    scheme = urllib.parse.urlsplit(target).scheme.lower()
    if scheme not in ("http", "https"):
        shown = location if len(location) <= 200 else location[:200] + "..."
        return f"redirect to {shown!r} refused: {scheme}: addresses are not followed (only http and https)"
    if hops >= MAX_REDIRECTS:
        return f"too many redirects (stopped after {MAX_REDIRECTS})"
    return None


def _drain(response: Any, exchange: _Exchange) -> bool:
    """Read the rest of a response we do not keep (up to :data:`_DRAIN_BYTES`): whether it ended,
    so that its connection can go back to the pool for the next request."""
    left = _DRAIN_BYTES
    try:
        while left > 0 and not exchange.expired:
            chunk = response.read1(left)
            if not chunk:
                return True
            left -= len(chunk)
    except Exception:
        pass
    return False


def _answer(
    url: str,
    final: str,
    status: int,
    response: Any,
    etag: str | None,
    last_modified: str | None,
    moved: str | None,
) -> FetchResult:
    """A 304, or an error status, as a result."""
    raw = response.headers
    headers = {k.lower(): v for k, v in raw.items()}
    if status == 304:
        fresh = _fresh_for(raw, time.time())
        etag = headers.get("etag") or etag
        last_modified = headers.get("last-modified") or last_modified
        return FetchResult(final, 304, b"", headers, etag, last_modified, moved, fresh_for=fresh)
    reason = "gone: the feed was removed for good" if status == 410 else (response.reason or "")
    transient = status >= 500 or status in (408, 429)
    wait = _retry_after(raw, time.time()) if status in (429, 503) else None
    return FetchResult(
        url, status, headers=headers, error=f"HTTP {status} {reason}".rstrip(), transient=transient, retry_after=wait
    )


_default: Client | None = None
_default_lock = threading.Lock()


def default_client() -> Client:
    """The process's client, made on first use."""
    global _default
    client = _default
    if client is None:
        with _default_lock:
            client = _default
            if client is None:
                client = _default = Client()
    return client
