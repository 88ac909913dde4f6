"""A loopback HTTP server for feed tests (tests/test_feeds.py, and the window's refresh tests).

Use the ``feed_server`` fixture (tests/conftest.py): ``url = feed_server.add("/feed.xml", body, etag='"1"')``
serves ``body`` at ``url``; ``feed_server.hits("/feed.xml")`` lists the requests it got.
"""

from __future__ import annotations

import gzip
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    #: Send a Content-Length header (HTTP/1.0 without one: the body ends when the connection closes).
    length: bool = True
    #: Never answer: the handler waits until the test ends.
    stall: bool = False
    #: Hold the answer until FeedServer.gate is set.
    gated: bool = False
    #: Answer 200 with a large Content-Length, then send one byte at a time until teardown.
    trickle: bool = False
    #: When not 0: send the status line, then one header line every this many seconds (to come
    #: within a read timeout) and never the blank line that ends them: until the client hangs up,
    #: teardown, or 2,000 lines.
    trickle_headers: float = 0.0
    #: Answer this many seconds late (paced by the teardown event).
    delay: float = 0.0
    #: Close the connection without answering.
    drop: bool = False
    #: Close the connection without answering when the request is not the first on its connection
    #: (a kept-alive connection the server has given up on).
    drop_reused: bool = False


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    status: int = 0
    method: str = "GET"
    body: bytes = b""


class FeedServer:
    """HTTP on 127.0.0.1 (a free port) serving :class:`Route` s the test sets; records every request.
    With ``tls`` (a server-side context), HTTPS. With ``keep_alive``, HTTP/1.1: a connection
    serves one request after another (HTTP/1.0 otherwise: one request a connection)."""

    def __init__(self, tls: ssl.SSLContext | None = None, keep_alive: bool = False) -> None:
        self.scheme = "https" if tls is not None else "http"
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        #: Set at teardown: stalled handlers return.
        self.release = threading.Event()
        self.stalled = threading.Event()
        #: Set once a trickling handler has sent its first byte.
        self.trickling = threading.Event()
        #: Header lines sent by trickle_headers handlers; set when such a handler stops sending.
        self.header_lines = 0
        self.headers_stopped = threading.Event()
        #: Gated handlers answer once this is set.
        self.gate = threading.Event()
        self.active = 0
        self.max_active = 0
        self.active_changed = threading.Condition(self.lock)
        #: Connections accepted (each handled by one Handler).
        self.connections = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"
            # The headers and the body are two writes: on a kept connection Nagle's algorithm
            # would hold the body back until the client's delayed ACK (40 ms a response).
            disable_nagle_algorithm = keep_alive
            #: Requests served on this connection before the current one.
            served = 0

            def log_message(self, format: str, *args: Any) -> None:
                """Override: quiet."""

            def handle(self) -> None:
                with server.lock:
                    server.connections += 1
                super().handle()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.do_GET(method="POST", body=self.rfile.read(length))

            def do_GET(self, method: str = "GET", body: bytes = b"") -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = Request(self.path, headers, method=method, body=body)
                earlier, self.served = self.served, self.served + 1
                route = server.routes.get(self.path)
                if route is not None and (route.drop or (route.drop_reused and earlier)):
                    with server.lock:
                        server.requests.append(request)
                    self.close_connection = True
                    return
                with server.lock:
                    server.requests.append(request)
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                    server.active_changed.notify_all()
                try:
                    self._answer(request)
                finally:
                    with server.lock:
                        server.active -= 1
                        server.active_changed.notify_all()

            def _status(self, request: Request, status: int) -> None:
                # Recorded before the client can see it: the test reads it as soon as the fetch returns.
                request.status = status
                self.send_response(status)

            def _answer(self, request: Request) -> None:
                route = server.routes.get(self.path)
                if route is None:
                    request.status = 404
                    self.send_error(404)
                    return
                if route.stall or route.trickle or route.trickle_headers or not route.length:
                    self.close_connection = True  # (HTTP/1.1: the body, if any, ends with the connection)
                if route.stall:
                    server.stalled.set()
                    server.release.wait()
                    return
                if route.gated:
                    server.gate.wait()
                if route.delay and server.release.wait(route.delay):
                    return
                if route.trickle_headers:
                    request.status = 200
                    try:
                        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                        for n in range(2000):
                            if server.release.wait(route.trickle_headers):
                                return
                            self.wfile.write(b"X-Trickle-%d: %d\r\n" % (n, n))
                            with server.lock:
                                server.header_lines += 1
                    except OSError:  # the client hung up
                        return
                    finally:
                        server.headers_stopped.set()
                    return
                if route.trickle:
                    self._status(request, 200)
                    self.send_header("Content-Type", route.content_type)
                    self.send_header("Content-Length", str(1 << 25))  # under the size cap
                    self.end_headers()
                    try:
                        while True:
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            server.trickling.set()
                            # Paced by the teardown event: one byte per 20 ms until it is set.
                            if server.release.wait(0.02):
                                return
                    except OSError:  # the client hung up
                        return
                wanted_etag = request.headers.get("if-none-match")
                wanted_date = request.headers.get("if-modified-since")
                if (route.etag and wanted_etag == route.etag) or (
                    route.last_modified and not route.etag and wanted_date == route.last_modified
                ):
                    self._status(request, 304)
                    self.end_headers()
                    return
                body = gzip.compress(route.body) if route.gzip else route.body
                self._status(request, route.status)
                if route.status < 300 or route.body:
                    self.send_header("Content-Type", route.content_type)
                if route.gzip:
                    self.send_header("Content-Encoding", "gzip")
                if route.etag:
                    self.send_header("ETag", route.etag)
                if route.last_modified:
                    self.send_header("Last-Modified", route.last_modified)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.length:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            # The handshake happens on the handler's thread (at its first read), not in accept().
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="test-feed-server", daemon=True
        )
        self.thread.start()

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.httpd.server_port}{path}"

    def add(self, path: str, body: bytes = b"", **options: Any) -> str:
        self.routes[path] = Route(body, **options)
        return self.url(path)

    def hits(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self.release.set()
        self.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()
