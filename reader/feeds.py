"""RSS/Atom feeds: fetch (stdlib HTTP), parse (:mod:`reader.feedparse`) into :class:`Article`,
store; OPML in and out. No Qt.

Fetching is separate from parsing (lemon24/reader's rule): :func:`fetch` returns bytes and headers,
:func:`parse` turns bytes and headers into articles. :func:`import_inputs` and :func:`refresh` run
both for many feeds at once:

- fetching in a thread pool, at most :data:`MAX_CONNECTIONS_PER_HOST` connections to one host;
- parsing in :data:`PARSE_PROCESSES` worker processes (feedparser is pure Python, so threads would
  queue on the GIL), started from a clean "forkserver" process, never forked from the caller (a Qt
  application has threads); a document larger than :data:`SPLIT_BYTES` is cut into runs of whole
  entries parsed side by side; a few small feeds, and the first documents while the workers start,
  are parsed in this process;
- storing on the calling thread (the caller's :class:`Store`), a few hundred articles a
  transaction: the full-text index makes storing the slowest single step, so it starts as early
  as it can.

Budgets (issue 5, measured by ``python -m reader.benchmark feeds`` beside Newsboat): 100 feeds x 50
items from one OPML file no slower than Newsboat's first reload; one 5,000-item file within 1.5x.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import http.client
import io
import multiprocessing
import os
import queue
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reader import __version__, localfile
from reader.feedparse import NO_ENTRIES, ParsedFeed, exit_with_parent, parse, ready, split_document
from reader.importer import feed_address
from reader.opml import OpmlError, OpmlFeed, read_opml, write_opml
from reader.records import AddResult, Article, Feed, Problem
from reader.store import Store

__all__ = [
    "AddResult",
    "FetchResult",
    "OpmlError",
    "OpmlFeed",
    "ParsedFeed",
    "export_opml",
    "feed_url",
    "fetch",
    "import_inputs",
    "opml_address",
    "parse",
    "read_opml",
    "refresh",
]

#: Seconds to wait for a connection and for each read; twice this is the budget of a whole fetch
#: (looking up the host, connecting, the headers, the body, every redirect on the way).
FETCH_TIMEOUT = 20.0
#: Redirects one fetch follows, at most (only to http and https addresses).
MAX_REDIRECTS = 10
#: Responses (after decompression) and local feed files larger than this are refused.
MAX_FEED_BYTES = 64 * 1024 * 1024
#: Feeds fetched at once, and at most this many of them from one host.
FETCH_THREADS = 16
MAX_CONNECTIONS_PER_HOST = 4


def _cores() -> int:
    """CPUs this process may run on (its affinity, which containers and taskset narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 2


def parse_processes(cores: int) -> int:
    """Worker processes that parse: one per core but the one that stores, and at least two (on
    two cores the storing process leaves room: it keeps a core busy about half the time). At most 8."""
    return max(2, min(8, cores - 1))


PARSE_PROCESSES = parse_processes(_cores())
#: With fewer feeds than this to fetch, worker processes start only for a document larger than
#: WORKERS_FOR_BYTES (smaller ones parse here faster than the workers start, about 0.2 s).
POOL_MIN_FEEDS = 8
WORKERS_FOR_BYTES = 2 * 1024 * 1024
#: Documents larger than this are split into runs of whole entries (about this size each, smaller
#: when that gives fewer than two pieces a worker), parsed in parallel and stored a batch at a
#: time (small pieces: the first are stored early, the last soon after the others).
SPLIT_BYTES = 512 * 1024
#: Parsed feeds are stored together, in one transaction, until about this many articles are
#: waiting (or :data:`BATCH_WAIT` seconds have passed since the first): each transaction writes
#: its own index segment and commit, so storing 5,000 entries 50 at a time took 20% longer than
#: 200 or more at a time.
BATCH_ARTICLES = 256
BATCH_WAIT = 0.05
#: At most this many parsed documents (or pieces), and about this many articles, go into one
#: transaction: the window's own writes (marking an article read) wait for it, so it stays short
#: (1,000 feed articles: about 0.1 s) even when the store has fallen behind the parsers. (One
#: document is never cut in two: a small one with thousands of entries is one transaction.)
MAX_BATCH_OUTCOMES = 256
MAX_BATCH_ARTICLES = 1024
#: How worker processes start. "forkserver": each worker is forked from a clean server process
#: that has feedparser and nh3 imported, never from the caller (which may be a Qt application
#: with threads running: fork there is unsafe). The server starts once per process.
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"

USER_AGENT = f"Reader/{__version__} (desktop news reader; +feedparser)"
_ACCEPT = "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, */*;q=0.5"

#: The error of a fetch given up because the refresh or import was cancelled.
CANCELLED = "cancelled"

Progress = Callable[[int], None]
"""progress(n): n more feeds (or inputs) finished."""


# --- records ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What a fetch got. ``status`` is the HTTP status (200 for a local file, 0 when no response)."""

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
    #: 408, 429): trying again later may work. Not for 404, 410, local files, oversize bodies.
    transient: bool = False

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


# --- fetching ---------------------------------------------------------------------------------


def feed_url(text: str) -> str:
    """The address a feed is stored under: URLs as given (``feed://``, ``example.com/rss`` and the
    like mapped by :func:`reader.importer.feed_address`), local paths as absolute ``file:`` URLs."""
    address = feed_address(text)
    if address is not None:
        return address
    text = text.strip()
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text):
        return text  # another scheme: fetch() says it cannot fetch it
    return Path(text).expanduser().resolve().as_uri()


class _DeadlineExceeded(TimeoutError):
    """The fetch's whole budget (:class:`_Deadline`) ran out."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"timed out (response not complete within {seconds:g} s)")


class _Deadline:
    """The one wall-clock budget of a fetch: looking up the host, connecting, sending, the headers,
    the body, every redirect. Each blocking step waits its own timeout or what is left of this,
    whichever is less, so a server that trickles its headers (or its body) cannot hold a fetch
    longer than this, one line at a time."""

    __slots__ = ("at", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def timeout(self, per_step: float | None) -> float | None:
        """The timeout for the next blocking step; raises :class:`_DeadlineExceeded` once it has passed."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise _DeadlineExceeded(self.seconds)
        if per_step is not None and per_step <= left:
            return per_step
        return left if left != float("inf") else None

    def timed_out(self, exc: TimeoutError, limit: float | None, per_step: float | None) -> TimeoutError:
        """What a step that timed out after ``limit`` seconds raises: the deadline's error when
        ``limit`` was what was left of it, else the step's own ``exc``."""
        return exc if limit == per_step else _DeadlineExceeded(self.seconds)


#: For requests that do not come from fetch() (none do today): only the per-step timeouts.
_NO_DEADLINE = _Deadline(float("inf"))


def _deadline_of(request: Any) -> _Deadline:
    deadline = getattr(request, "reader_deadline", None)
    return deadline if isinstance(deadline, _Deadline) else _NO_DEADLINE


def _resolve(host: str, port: int, deadline: _Deadline, per_step: float | None) -> list[Any]:
    """getaddrinfo, within the deadline: a name is looked up on a thread of its own (the lookup
    itself cannot be given a timeout); an address given as numbers needs no lookup."""
    try:
        return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError):
        pass  # a name
    limit = deadline.timeout(per_step)
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
        raise deadline.timed_out(TimeoutError("timed out looking up the host"), limit, per_step)
    if isinstance(answer[0], Exception):
        raise answer[0]
    return answer[0]


class _DeadlineReader(io.RawIOBase):
    """A response's socket, read with each ``recv`` under the fetch's deadline (for the status
    line and headers as for the body). Works for TLS sockets alike: ``SSLSocket.recv_into``
    honours the timeout of each call."""

    def __init__(self, sock: socket.socket, per_step: float | None, deadline: _Deadline) -> None:
        super().__init__()
        self._sock = sock
        # Unbuffered SocketIO: it keeps the socket open (http.client closes its own reference
        # early) until this reader is closed.
        self._raw = sock.makefile("rb", buffering=0)
        self._per_step = per_step
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        limit = self._deadline.timeout(self._per_step)
        self._sock.settimeout(limit)
        try:
            return self._raw.readinto(buffer)
        except TimeoutError as exc:
            raise self._deadline.timed_out(exc, limit, self._per_step) from None

    def fileno(self) -> int:
        return self._raw.fileno()

    def close(self) -> None:
        if not self.closed:
            try:
                self._raw.close()
            finally:
                super().close()


class _DeadlineSocket:
    """Hands http.client's response a reader under the deadline in place of ``sock.makefile``."""

    def __init__(self, sock: socket.socket, per_step: float | None, deadline: _Deadline) -> None:
        self._args = (sock, per_step, deadline)

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(*self._args))


class _DeadlineConnection(http.client.HTTPConnection):
    """An HTTP connection whose every blocking step is bounded by the fetch's deadline: the host
    lookup and the connect (each address tried), sending, the TLS handshake, each read."""

    def __init__(self, *args: Any, deadline: _Deadline, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline = deadline
        timeout = self.timeout  # (socket._GLOBAL_DEFAULT_TIMEOUT when none was given)
        self._per_step = float(timeout) if isinstance(timeout, int | float) else socket.getdefaulttimeout()
        self._create_connection = self._connect  # http.client's hook for socket.create_connection
        self.response_class = self._response  # type: ignore[assignment]

    def connect(self) -> None:
        try:
            super().connect()  # for https, the TLS handshake too (bounded as a whole by the socket timeout)
        except _DeadlineExceeded:
            raise
        except TimeoutError:
            if time.monotonic() < self._deadline.at:
                raise  # the step's own timeout
            raise _DeadlineExceeded(self._deadline.seconds) from None

    def _connect(self, address: tuple[str, int], timeout: object = None, source_address: Any = None) -> socket.socket:
        host, port = address
        deadline, per_step = self._deadline, self._per_step
        error: OSError | None = None
        for family, kind, proto, _, sockaddr in _resolve(host, port, deadline, per_step):
            limit = deadline.timeout(per_step)
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(limit)
                if source_address:
                    sock.bind(source_address)
                sock.connect(sockaddr)
                # What is left for sending the request (and, for https, the handshake: the ssl
                # module bounds the whole handshake by the socket's timeout).
                sock.settimeout(deadline.timeout(per_step))
                return sock
            except TimeoutError as exc:
                sock.close()
                error = deadline.timed_out(exc, limit, per_step)
                if isinstance(error, _DeadlineExceeded):
                    raise error from None
            except OSError as exc:
                sock.close()
                error = exc
        raise error if error is not None else OSError("the host has no address")

    def _response(self, sock: socket.socket, *args: Any, **kwargs: Any) -> http.client.HTTPResponse:
        reads = _DeadlineSocket(sock, self._per_step, self._deadline)
        return http.client.HTTPResponse(reads, *args, **kwargs)  # type: ignore[arg-type]


class _DeadlineHTTPSConnection(_DeadlineConnection, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: Any) -> Any:
        return self.do_open(functools.partial(_DeadlineConnection, deadline=_deadline_of(req)), req)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every https fetch (urllib made, and loaded the CA store into, one per
    connection), set up as http.client sets up its own."""
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    if context.post_handshake_auth is not None:
        context.post_handshake_auth = True
    return context


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: Any) -> Any:
        connection = functools.partial(_DeadlineHTTPSConnection, deadline=_deadline_of(req))
        return self.do_open(connection, req, context=_tls_context())


class _Refused(Exception):
    """A redirect fetch() does not follow: to another scheme, or one too many."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects (http/https only, :data:`MAX_REDIRECTS` at most) and remembers whether
    every hop was permanent."""

    # The hops are counted here, with a one-line error; urllib's own limits (whose error runs to
    # three lines) are never reached first.
    max_repeats = max_redirections = MAX_REDIRECTS + 1

    def http_error_302(self, req: Any, fp: Any, code: int, msg: str, headers: Any) -> Any:
        location = headers.get("location") or headers.get("uri")
        if location:
            # urllib itself follows ftp: too, and refuses file: and data: with an obscure error.
            scheme = urllib.parse.urlsplit(urllib.parse.urljoin(req.full_url, location)).scheme.lower()
            origin = getattr(req, "reader_origin", req)
            hops = getattr(origin, "reader_hops", 0)
            refusal = None
            if scheme not in ("http", "https"):
                target = location if len(location) <= 200 else location[:200] + "..."
                refusal = f"redirect to {target!r} refused: {scheme}: addresses are not followed (only http and https)"
            elif hops >= MAX_REDIRECTS:
                refusal = f"too many redirects (stopped after {MAX_REDIRECTS})"
            if refusal is not None:
                with contextlib.suppress(Exception):
                    fp.close()
                raise _Refused(code, refusal)
            origin.reader_hops = hops + 1
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            # The flag lives on the request fetch() made, the only object it can see afterwards.
            origin = getattr(req, "reader_origin", req)
            new.reader_origin = origin  # type: ignore[attr-defined]
            # One budget for the whole chain.
            new.reader_deadline = _deadline_of(req)  # type: ignore[attr-defined]
            origin.reader_permanent = getattr(origin, "reader_permanent", True) and code in (301, 308)
        return new


class _NoProcessing(urllib.request.HTTPErrorProcessor):
    """Override: hand 304 back as a response, not an exception (the body is empty anyway)."""

    def http_response(self, request: Any, response: Any) -> Any:
        if response.status == 304:
            return response
        return super().http_response(request, response)

    https_response = http_response


def _build_opener() -> urllib.request.OpenerDirector:
    """An opener with only what fetch() needs: not build_opener's, which also opens ftp:, file:
    and data: URLs (so a redirect could lead there)."""
    opener = urllib.request.OpenerDirector()
    # Proxies from the environment, for http and https only.
    proxies = {k: v for k, v in urllib.request.getproxies().items() if k in ("http", "https")}
    handlers: list[urllib.request.BaseHandler] = [
        urllib.request.ProxyHandler(proxies),
        urllib.request.UnknownHandler(),
        _HTTPHandler(),
        _HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        _Redirects(),
        _NoProcessing(),
    ]
    for handler in handlers:
        opener.add_handler(handler)
    return opener


_opener = _build_opener()
_hosts_lock = threading.Lock()
_hosts: dict[str, threading.BoundedSemaphore] = {}


def _host_slot(url: str) -> threading.BoundedSemaphore:
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    with _hosts_lock:
        slot = _hosts.get(host)
        if slot is None:
            slot = _hosts[host] = threading.BoundedSemaphore(MAX_CONNECTIONS_PER_HOST)
        return slot


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MiB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KiB"


def fetch(
    url: str,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = FETCH_TIMEOUT,
    max_bytes: int = MAX_FEED_BYTES,
    stop: threading.Event | None = None,
) -> FetchResult:
    """GET ``url`` (http, https or file), conditionally when ``etag``/``last_modified`` are given.

    Never raises for network or server trouble: the result's ``error`` says what went wrong.
    Each step (looking up the host, connecting, each read) waits at most ``timeout`` seconds, and
    the whole fetch, headers, body and redirects included, at most twice that. Redirects are
    followed to http and https addresses only, :data:`MAX_REDIRECTS` at most.
    When ``stop`` is set the fetch gives up at the next piece of the response that arrives (a
    server trickling bytes cannot hold it for the whole read deadline).
    """
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme == "file":
        return _fetch_file(url, last_modified, max_bytes)
    if scheme not in ("http", "https"):
        return FetchResult(url, 0, error=f"cannot fetch {scheme or 'scheme-less'} URLs (only http, https, file)")
    with _host_slot(url):
        if stop is not None and stop.is_set():
            return FetchResult(url, 0, error=CANCELLED, transient=True)
        try:
            return _fetch_http(url, etag, last_modified, timeout, max_bytes, stop)
        except urllib.error.HTTPError as exc:
            status = exc.code
            with contextlib.suppress(Exception):
                exc.close()
            reason = "gone: the feed was removed for good" if status == 410 else (exc.reason or "")
            transient = status >= 500 or status in (408, 429)
            return FetchResult(url, status, error=f"HTTP {status} {reason}".rstrip(), transient=transient)
        except _Refused as exc:  # a redirect elsewhere than http/https, or a loop: no use trying again soon
            return FetchResult(url, exc.status, error=exc.reason)
        except urllib.error.URLError as exc:
            return FetchResult(url, 0, error=_network_reason(exc.reason, timeout), transient=True)
        except TimeoutError as exc:
            return FetchResult(url, 0, error=_network_reason(exc, timeout), transient=True)
        except (OSError, http.client.HTTPException) as exc:
            return FetchResult(url, 0, error=_network_reason(exc, timeout), transient=True)
        except ValueError as exc:  # a URL the HTTP library refuses: no use trying again
            return FetchResult(url, 0, error=_network_reason(exc, timeout))


def _network_reason(reason: object, timeout: float) -> str:
    if isinstance(reason, _DeadlineExceeded):
        return str(reason)
    if isinstance(reason, TimeoutError):
        return f"timed out (no answer within {timeout:g} s)"
    if isinstance(reason, socket.gaierror):
        return "unknown host"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(reason, http.client.IncompleteRead):
        return "the server closed the connection before the end of the response"
    if isinstance(reason, http.client.HTTPException):
        return f"bad HTTP response ({type(reason).__name__})"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason) or type(reason).__name__


def _fetch_http(
    url: str, etag: str | None, last_modified: str | None, timeout: float, max_bytes: int, stop: threading.Event | None
) -> FetchResult:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": _ACCEPT})
    request.add_header("Accept-Encoding", "gzip, deflate")
    if etag:
        request.add_header("If-None-Match", etag)
    if last_modified:
        request.add_header("If-Modified-Since", last_modified)
    # One budget for the whole fetch, redirects included (each step also waits at most ``timeout``).
    deadline = _Deadline(2 * timeout)
    request.reader_deadline = deadline  # type: ignore[attr-defined]
    with _opener.open(request, timeout=timeout) as response:
        final = response.geturl()
        moved = final if final != url and getattr(request, "reader_permanent", False) else None
        headers = {k.lower(): v for k, v in response.headers.items()}
        status = response.status
        new_etag = headers.get("etag") or None
        new_modified = headers.get("last-modified") or None
        if status == 304:
            return FetchResult(final, 304, b"", headers, etag, last_modified, moved)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            return FetchResult(
                final, status, error=f"response too large ({_size(int(declared))}; limit {_size(max_bytes)})"
            )
        chunks: list[bytes] = []
        size = 0
        while True:
            # read1: whatever has arrived (up to 256 KiB), so a trickle still comes back here often
            # enough to see the deadline and a cancel.
            chunk = response.read1(256 * 1024)
            if not chunk:
                break
            if stop is not None and stop.is_set():
                return FetchResult(final, 0, error=CANCELLED, transient=True)
            size += len(chunk)
            if size > max_bytes:
                return FetchResult(final, status, error=f"response too large (over {_size(max_bytes)})")
            if time.monotonic() > deadline.at:
                return FetchResult(final, status, error=str(_DeadlineExceeded(deadline.seconds)), transient=True)
            chunks.append(chunk)
    data = b"".join(chunks)
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        try:
            data = _decompress(data, encoding, max_bytes)
        except _TooLarge:
            return FetchResult(final, status, error=f"response too large (over {_size(max_bytes)} decompressed)")
        except zlib.error as exc:
            return FetchResult(final, status, error=f"bad {encoding} data ({exc})")
        headers.pop("content-encoding", None)
    return FetchResult(final, status, data, headers, new_etag, new_modified, moved)


class _TooLarge(Exception):
    pass


def _decompress(data: bytes, encoding: str, max_bytes: int) -> bytes:
    # wbits 47: gzip or zlib header; "deflate" in the wild is sometimes raw deflate (wbits -15).
    attempts = (47,) if encoding != "deflate" else (15, -15)
    error: zlib.error | None = None
    for wbits in attempts:
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(data, max_bytes + 1)
        except zlib.error as exc:
            error = exc
            continue
        if len(out) > max_bytes or inflater.unconsumed_tail:
            raise _TooLarge
        return out
    assert error is not None
    raise error


def _fetch_file(url: str, last_modified: str | None, max_bytes: int) -> FetchResult:
    parts = urllib.parse.urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        return FetchResult(url, 0, error=f"cannot read files on another host ({parts.netloc})")
    path = urllib.request.url2pathname(parts.path)
    try:
        # Regular files only (a FIFO, a device, a socket are refused unopened), read at most max_bytes.
        with localfile.RegularFile(path) as fh:
            info = fh.stat
            # The file's modification time (to the nanosecond) and size play the part of
            # Last-Modified: an unchanged file is not read again.
            modified = f"mtime_ns={info.st_mtime_ns} size={info.st_size}"
            if last_modified and last_modified == modified:
                return FetchResult(url, 304, last_modified=modified)
            if info.st_size > max_bytes:
                return FetchResult(url, 0, error=f"file too large ({_size(info.st_size)}; limit {_size(max_bytes)})")
            data = fh.read(max_bytes)
    except localfile.FileTooLargeError:  # it grew while it was read (or says it is empty, as /proc files do)
        return FetchResult(url, 0, error=f"file too large (over {_size(max_bytes)})")
    except IsADirectoryError:
        return FetchResult(url, 0, error="is a folder, not a feed file")
    except localfile.NotRegularFileError as exc:
        return FetchResult(url, 0, error=exc.reason)
    except FileNotFoundError:
        return FetchResult(url, 0, error="no such file")
    except OSError as exc:
        return FetchResult(url, 0, error=f"cannot read ({(exc.strerror or str(exc)).lower()})")
    # application/xml: the document's own XML declaration names its encoding (RFC 7303).
    return FetchResult(url, 200, data, {"content-location": url, "content-type": "application/xml"}, None, modified)


# --- many feeds at once -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Job:
    feed: Feed
    #: What a problem names: the input as the person gave it, or the feed's URL.
    label: str
    #: On import, a feed without entries is a problem; on refresh it is just a quiet feed.
    empty_is_problem: bool
    #: Subscribed by this import: if its first fetch shows it is not a feed, it is unsubscribed.
    new: bool = False


@dataclass(frozen=True, slots=True)
class _Outcome:
    job: _Job
    fetched: FetchResult
    parsed: ParsedFeed | None = None
    #: False for the pieces of a split document before the last one: store their articles only.
    final: bool = True


Delivery = Callable[[ParsedFeed, bool], None]
"""delivery(parsed, final): a parsed piece of a document; ``final`` for the last one."""


def _start_worker_server() -> None:
    if START_METHOD == "forkserver":
        from multiprocessing import forkserver

        # The workers need only the parsing module (a smaller import than this one's, sooner ready)
        # and the pool's worker loop, which each of them would otherwise import on its own.
        multiprocessing.get_context("forkserver").set_forkserver_preload(
            ["reader.feedparse", "concurrent.futures.process"]
        )
        # Starts once per process (then a no-op): it imports feedparser and nh3 while we fetch.
        forkserver.ensure_running()


class _Task:
    """One fetched document, perhaps in pieces; each parsed piece is delivered (from whichever
    thread parsed it) with ``final`` on the last one."""

    def __init__(self, headers: dict[str, str], url: str, feed_id: int, deliver: Delivery, pieces: int) -> None:
        self.headers = headers
        self.url = url
        self.feed_id = feed_id
        self._deliver = deliver
        self._left = pieces
        self._articles = 0
        self._lock = threading.Lock()

    def parse_here(self, document: bytes) -> None:
        self.done(parse(document, self.headers, self.url, self.feed_id))

    def done(self, piece: ParsedFeed) -> None:
        # Delivered under the lock: pieces finish on several threads (pool callbacks, fetch
        # threads), and the final one must never overtake another, or the caller, counting
        # finished feeds, would stop before storing it. (Delivery only puts on a queue.)
        with self._lock:
            self._left -= 1
            self._articles += len(piece.articles)
            final = self._left == 0
            if final and self._articles > 0 and piece.problem is not None:
                # Earlier pieces had entries: the feed as a whole is fine.
                piece = ParsedFeed(piece.title, piece.link, piece.articles, None)
            self._deliver(piece, final)


class _Parsing:
    """Where fetched documents are parsed: worker processes, or this process when that is sooner.

    Starting the workers takes about 0.2 s the first time (a fresh interpreter imports feedparser),
    so a starter thread starts them in the background: at once for :data:`POOL_MIN_FEEDS` feeds or
    more, else only when a document is big enough to split. Until they are up, documents (or pieces)
    are parsed right here on a fetch thread, one at a time (several would only slow each other on
    the GIL), and the rest wait for the workers while the fetch threads go on fetching. A document
    larger than :data:`SPLIT_BYTES` is split into runs of entries; each piece is delivered as soon
    as it is parsed, so storing the first pieces overlaps with parsing the rest.
    """

    def __init__(self, expected_feeds: int) -> None:
        self._lock = threading.Lock()
        self._pool: cf.ProcessPoolExecutor | None = None
        self._closed = False
        self._eager = expected_feeds >= POOL_MIN_FEEDS
        self._ready = False
        self._pending: list[tuple[_Task, list[bytes]]] = []
        self._inline = threading.Lock()
        self._starter: threading.Thread | None = None
        _start_worker_server()  # returns at once; the server imports feedparser meanwhile
        if self._eager:
            self._start_workers()

    def _start_workers(self) -> None:
        with self._lock:
            if self._starter is None and not self._closed:
                self._starter = threading.Thread(target=self._start, name="reader-parse-workers", daemon=True)
                self._starter.start()

    def _start(self) -> None:
        with self._lock:
            if not self._closed:
                # exit_with_parent: killed (kill -9), this process would otherwise leave its
                # workers, and so the fork server, waiting for work for good.
                self._pool = cf.ProcessPoolExecutor(
                    PARSE_PROCESSES, mp_context=multiprocessing.get_context(START_METHOD), initializer=exit_with_parent
                )
            pool = self._pool
        if pool is not None:
            try:
                # Spawning waits for the worker server (its imports); then wait for every worker.
                cf.wait([pool.submit(ready) for _ in range(PARSE_PROCESSES)])
            except (RuntimeError, cf.BrokenExecutor):  # closed meanwhile (cancelled), or broken
                pass
        with self._lock:
            self._ready = True
            pending, self._pending = self._pending, []
        for task, documents in pending:
            self._submit(pool, task, documents)

    def parse(self, fetched: FetchResult, feed_id: int, deliver: Delivery) -> None:
        """Parse ``fetched`` and hand each parsed piece to ``deliver``."""
        data = fetched.data
        # With the workers not wanted yet, only a document worth their start-up is split.
        threshold = SPLIT_BYTES if self._eager else WORKERS_FOR_BYTES
        parts = min(64, max(2 * PARSE_PROCESSES, len(data) // SPLIT_BYTES))
        documents = [data]
        if len(data) > threshold:
            self._start_workers()  # they start while it is split (about 0.05 s for 18 MB)
            documents = split_document(data, parts) or documents
        task = _Task(dict(fetched.headers), fetched.url, feed_id, deliver, len(documents))
        if len(documents) == 1 and not self._eager:
            task.parse_here(documents[0])
            return
        self._start_workers()
        while documents:
            with self._lock:
                if self._ready:
                    pool = self._pool
                    break
                if not self._inline.acquire(blocking=False):
                    self._pending.append((task, documents))
                    return
            try:
                task.parse_here(documents.pop(0))
            finally:
                self._inline.release()
        else:
            return
        self._submit(pool, task, documents)

    @staticmethod
    def _submit(pool: cf.ProcessPoolExecutor | None, task: _Task, documents: list[bytes]) -> None:
        futures: list[cf.Future[ParsedFeed]] = []
        if pool is not None:
            try:
                for document in documents:
                    futures.append(pool.submit(parse, document, task.headers, task.url, task.feed_id))
            except (RuntimeError, cf.BrokenExecutor):  # closed (cancelled), or a worker died: the rest here
                documents = documents[len(futures) :]
            else:
                documents = []
        for document in documents:
            task.parse_here(document)

        def finished(future: cf.Future[ParsedFeed]) -> None:
            try:
                piece = future.result()
            except cf.CancelledError:
                piece = ParsedFeed(None, None, [], "cancelled")
            except Exception as exc:  # a worker process died (BrokenProcessPool)
                piece = ParsedFeed(None, None, [], f"the parser failed ({type(exc).__name__}: {exc})")
            task.done(piece)

        for future in futures:
            future.add_done_callback(finished)

    def close(self, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
            starter = self._starter
        if starter is not None and wait:
            starter.join()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)


def _run(
    store: Store,
    jobs: Sequence[_Job],
    progress: Progress | None,
    cancel: threading.Event | None,
    timeout: float,
    max_bytes: int,
) -> tuple[AddResult, list[Problem]]:
    """Fetch, parse and store ``jobs``; store writes happen on this thread, batched."""
    result = AddResult()
    problems: list[Problem] = []
    if not jobs or (cancel is not None and cancel.is_set()):
        return result, problems
    outcomes: queue.SimpleQueue[_Outcome] = queue.SimpleQueue()
    stop = threading.Event()
    parsing = _Parsing(len(jobs))

    def work(job: _Job) -> None:
        feed = job.feed
        try:
            if stop.is_set():
                return
            fetched = fetch(feed.url, feed.etag, feed.last_modified, timeout=timeout, max_bytes=max_bytes, stop=stop)
            if not fetched.has_document or stop.is_set():
                outcomes.put(_Outcome(job, fetched))
                return
            parsing.parse(fetched, feed.id, lambda parsed, final: outcomes.put(_Outcome(job, fetched, parsed, final)))
        except Exception as exc:  # a bug here must not leave the loop below waiting for ever
            outcomes.put(_Outcome(job, FetchResult(feed.url, 0, error=f"internal error ({type(exc).__name__}: {exc})")))

    # Daemon threads, not a ThreadPoolExecutor: the executor's threads are joined when the
    # interpreter exits, so after a cancel (or the window closing) fetches still in flight kept the
    # process alive until their socket timeouts (20 s a read, 40 s against a trickling server).
    # These stop at their next chunk once ``stop`` is set, and never hold the process.
    waiting: queue.SimpleQueue[_Job] = queue.SimpleQueue()
    for job in jobs:
        waiting.put(job)

    def fetcher() -> None:
        while not stop.is_set():
            try:
                job = waiting.get_nowait()
            except queue.Empty:
                return
            work(job)

    fetchers = [
        threading.Thread(target=fetcher, name=f"reader-fetch-{i}", daemon=True)
        for i in range(min(FETCH_THREADS, len(jobs)))
    ]
    cancelled = False
    try:
        for thread in fetchers:
            thread.start()
        remaining = len(jobs)
        while remaining:
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            try:
                batch = [outcomes.get(timeout=0.1)]
            except queue.Empty:
                continue
            _gather(batch, outcomes, remaining, time.monotonic() + BATCH_WAIT)
            finished = sum(1 for outcome in batch if outcome.final)
            remaining -= finished
            result = result + _store(store, batch, problems)
            if progress is not None:
                for _ in range(finished):
                    progress(1)
    finally:
        stop.set()
        # On cancel, fetches in flight give up at their next chunk (daemon threads, not waited
        # for); nothing they do after this reaches the store.
        if not cancelled:
            for thread in fetchers:
                if thread.is_alive():
                    thread.join()
        parsing.close(wait=not cancelled)
    return result, problems


def _gather(batch: list[_Outcome], outcomes: queue.SimpleQueue[_Outcome], remaining: int, deadline: float) -> None:
    """Add to ``batch`` what else has arrived, and wait for more (until ``deadline``) while it holds
    fewer than :data:`BATCH_ARTICLES` articles and more feeds are still to come; up to
    :data:`MAX_BATCH_OUTCOMES` outcomes and :data:`MAX_BATCH_ARTICLES` articles."""
    articles = sum(len(o.parsed.articles) for o in batch if o.parsed is not None)
    finals = sum(1 for o in batch if o.final)
    while len(batch) < MAX_BATCH_OUTCOMES and articles < MAX_BATCH_ARTICLES and finals < remaining:
        wait = deadline - time.monotonic() if articles < BATCH_ARTICLES else 0.0
        try:
            outcome = outcomes.get(timeout=wait) if wait > 0 else outcomes.get_nowait()
        except queue.Empty:
            return
        batch.append(outcome)
        articles += len(outcome.parsed.articles) if outcome.parsed is not None else 0
        finals += outcome.final


def _store(store: Store, batch: Sequence[_Outcome], problems: list[Problem]) -> AddResult:
    now = datetime.now(UTC)
    articles: list[Article] = []
    updates: list[tuple[int, dict[str, Any]]] = []
    removals: list[int] = []
    claimed: set[str] = set()
    for outcome in batch:
        job, fetched, parsed = outcome.job, outcome.fetched, outcome.parsed
        if not outcome.final:
            articles.extend(parsed.articles if parsed is not None else ())
            continue
        feed = job.feed
        fields: dict[str, Any] = {}
        if fetched.moved_to and fetched.moved_to != feed.url and fetched.moved_to not in claimed:
            # Moved for good: follow it, unless that address is already another subscription.
            other = store.get_feed(fetched.moved_to)
            if other is None or other.id == feed.id:
                fields["url"] = fetched.moved_to
                claimed.add(fetched.moved_to)
        problem: str | None = None
        if fetched.gone:
            fields.update(dead=True, last_error=fetched.error)
            problem = f"{fetched.error}; it will not be refreshed again"
        elif fetched.error is not None:
            fields["last_error"] = problem = fetched.error
        elif fetched.not_modified or parsed is None:
            fields.update(updated_at=now, last_error=None)
        elif parsed.readable:
            fields.update(
                updated_at=now, last_error=None, etag=fetched.etag, last_modified=fetched.last_modified, dead=False
            )
            if parsed.title and parsed.title != feed.title:
                fields["title"] = parsed.title
            if parsed.link and parsed.link != feed.site_url:
                fields["site_url"] = parsed.link
            articles.extend(parsed.articles)
            if parsed.problem is not None and job.empty_is_problem:
                problem = parsed.problem
        else:
            fields["last_error"] = problem = parsed.problem or NO_ENTRIES
        if job.new and _not_a_feed(fetched, parsed):
            # A new subscription whose first fetch shows it is no feed (404, 410, an HTML page,
            # malformed XML without entries): it does not stay. A network failure keeps it.
            reason = fetched.error or (parsed.problem if parsed is not None else None) or NO_ENTRIES
            problems.append(Problem(job.label, f"{reason} (not subscribed)"))
            removals.append(feed.id)
            continue
        if problem is not None:
            problems.append(Problem(job.label, problem))
        updates.append((feed.id, fields))
    added = store.add_articles(articles, update=True) if articles else AddResult()
    for feed_id, fields in updates:
        store.update_feed(feed_id, **fields)
    for feed_id in removals:
        store.remove_feed(feed_id)
    return added


def _not_a_feed(fetched: FetchResult, parsed: ParsedFeed | None) -> bool:
    """The fetch shows for good that this address is not a feed (a temporary failure does not)."""
    if fetched.error is not None:
        return not fetched.transient
    return fetched.has_document and parsed is not None and not parsed.readable


def import_inputs(
    store: Store,
    items: list[tuple[str, str]],
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    *,
    timeout: float = FETCH_TIMEOUT,
    max_bytes: int = MAX_FEED_BYTES,
    grow: Callable[[int], None] | None = None,
) -> tuple[AddResult, list[Problem]]:
    """Subscribe to and fetch ``items``: ``("feed", url_or_path)`` or ``("opml", path)``.

    A new address stays subscribed when its first fetch reads as a feed (even an empty one) or
    fails for now (timeout, refused, 5xx: ``last_error`` says so); when it shows the address is no
    feed (404, 410, an HTML page, malformed XML without entries) the problem is reported and the
    subscription removed. An OPML file subscribes to every feed it lists (addresses checked by :func:`opml_address`:
    http/https, or a relative path inside the OPML file's own folder); all of them are fetched at
    once. Every input
    that cannot be read is a :class:`Problem` (so is a feed without entries); nothing raises for
    bad input. ``progress(1)`` follows each feed input, each feed of an OPML file (duplicates
    included), each bad input: exactly once for each. An OPML file listing n feeds counts as n
    inputs, not one: ``grow(n - 1)`` says so as soon as it has been read, before its feeds report.
    """
    _start_worker_server()  # it imports feedparser while we read OPML files and subscribe
    problems: list[Problem] = []
    jobs: list[_Job] = []
    seen: set[int] = set()

    def subscribe(url: str, label: str, title: str | None = None) -> None:
        # Subscribed now so the fetch has a feed id; unsubscribed again (in _store) when the
        # first fetch shows it is not a feed.
        new = store.get_feed(url) is None
        feed = store.add_feed(url, title)
        if feed.id not in seen:
            seen.add(feed.id)
            jobs.append(_Job(feed, label, empty_is_problem=True, new=new))
        elif progress is not None:
            progress(1)  # listed twice: fetched once, done as far as this input goes

    def reject(label: str, reason: str) -> None:
        problems.append(Problem(label, reason))
        if progress is not None:
            progress(1)

    for kind, target in items:
        if kind == "feed":
            url = feed_url(target)
            if url.startswith("file:") and not _local_path(url).is_file():
                reject(target, "no such file" if not _local_path(url).exists() else "not a regular file")
                continue
            subscribe(url, target)
        elif kind == "opml":
            try:
                listed = read_opml(_read_limited(target, max_bytes))
            except OSError as exc:
                reject(target, f"cannot read ({(exc.strerror or str(exc)).lower()})")
                continue
            except OpmlError as exc:
                reject(target, str(exc))
                continue
            if not listed:
                reject(target, "an OPML file that lists no feeds")
                continue
            if grow is not None and len(listed) > 1:
                grow(len(listed) - 1)
            for entry in listed:
                address, why = opml_address(entry.xml_url, target)
                if address is not None and address.startswith("file:") and not _local_path(address).is_file():
                    why = f"names no file in the OPML file's folder ({_local_path(address)})"
                    address = None
                if address is None:
                    name = f"outline {entry.title!r}" if entry.title else "an outline"
                    reject(target, f"{name}: xmlUrl {entry.xml_url!r} {why}; not subscribed")
                    continue
                subscribe(address, entry.xml_url, entry.title)
        else:
            reject(target, f"unknown input kind {kind!r}")
    result, more = _run(store, jobs, progress, cancel, timeout, max_bytes)
    return result, problems + more


def refresh(
    store: Store,
    feed_ids: list[int] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    *,
    timeout: float = FETCH_TIMEOUT,
    max_bytes: int = MAX_FEED_BYTES,
) -> tuple[AddResult, list[Problem]]:
    """Fetch every feed (or those in ``feed_ids``) at once, conditionally; dead feeds are skipped."""
    wanted = None if feed_ids is None else set(feed_ids)
    jobs = [
        _Job(feed, feed.url, empty_is_problem=False)
        for feed in store.feeds()
        if not feed.dead and (wanted is None or feed.id in wanted)
    ]
    return _run(store, jobs, progress, cancel, timeout, max_bytes)


def export_opml(store: Store) -> bytes:
    """Every subscription as OPML 2.0 (dead feeds too: they are still subscriptions)."""
    return write_opml(OpmlFeed(feed.title, feed.url, feed.site_url) for feed in store.feeds())


def opml_address(xml_url: str, opml_path: str) -> tuple[str | None, str | None]:
    """The feed address an OPML outline's ``xmlUrl`` stands for, or ``(None, why not)``.

    OPML files come from elsewhere, so their addresses are not trusted as local paths: only
    ``http``/``https`` URLs are accepted, and local files inside the folder of the OPML file itself
    (never the current directory): relative paths (``feeds/news.xml``) and ``file:`` URLs, which
    is how ``reader opml export`` writes local subscriptions (so an export saved above the feed
    files imports again). Absolute paths, ``file:`` URLs elsewhere, ``javascript:``, ``ftp:`` and
    every other scheme are refused.
    """
    text = xml_url.strip()
    try:
        parts = urllib.parse.urlsplit(text)
    except ValueError:
        return None, "is not a valid address"
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if not parts.hostname:
            return None, "has no host"
        return text, None
    folder = Path(opml_path).resolve().parent
    if scheme == "file" and parts.netloc in ("", "localhost") and parts.path.startswith("/"):
        target = Path(urllib.request.url2pathname(parts.path))
        outside = "is a local file outside the OPML file's folder"
    elif scheme or text.startswith(("/", "\\", "~")) or parts.netloc:
        return None, "is not an http or https address"
    else:
        relative = Path(urllib.request.url2pathname(parts.path))
        if not parts.path or ".." in relative.parts:
            return None, "is not an http or https address, nor a path inside the OPML file's folder"
        target = folder / relative
        outside = "leads outside the OPML file's folder (through a link)"
    try:
        # Links resolved, for paths and file: URLs alike: the file itself must be in the folder.
        target = target.resolve()
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a link loop
        return None, "is not a usable local path"
    if not target.is_relative_to(folder):
        return None, outside
    return target.as_uri(), None


def _local_path(url: str) -> Path:
    return Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))


def _read_limited(path: str, max_bytes: int) -> bytes:
    """An OPML file's bytes: a regular file only (a FIFO, a device, a socket are refused unopened),
    at most ``max_bytes`` of it (:class:`reader.localfile.FileTooLargeError` beyond)."""
    return localfile.read_regular(path, max_bytes)
