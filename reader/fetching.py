"""A feed document from its address: ``http``/``https`` over the network, ``file:`` from this
machine (a regular file, read within a size limit). Returns bytes and headers; never raises for
network or server trouble, never writes anything. No Qt, no store.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import io
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reader import __version__, localfile

#: Seconds to wait for a connection and for each read; twice this is the budget of a whole fetch
#: (looking up the host, connecting, the headers, the body, every redirect on the way).
FETCH_TIMEOUT = 20.0
#: Redirects one fetch follows, at most (only to http and https addresses).
MAX_REDIRECTS = 10
#: Responses (after decompression) and local feed files larger than this are refused.
MAX_FEED_BYTES = 64 * 1024 * 1024
#: At most this many feeds are fetched from one host at once.
MAX_CONNECTIONS_PER_HOST = 4

USER_AGENT = f"Reader/{__version__} (desktop news reader; +feedparser)"
_ACCEPT = "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, */*;q=0.5"

#: The error of a fetch given up because the refresh or import was cancelled.
CANCELLED = "cancelled"


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
