"""A real FreshRSS for the sync tests, and a tiny Google Reader API client of the tests' own.

The ``freshrss`` fixture (tests/conftest.py, one server for the whole run) starts
``../shared/servers/freshrss/start_freshrss.sh`` (or ``$FRESHRSS_FIXTURE``) with its own ``WORK``
under pytest's tmp folder and free loopback ports, and stops it at the end. Without PHP the fixture
fails, never skips: CI installs it (.ci/run).

:class:`ServerApi` speaks to the server with ``urllib.request``, not with ``reader.http`` or
``reader.sync``: what the tests do on the server (add a feed, mark read, star) must not depend on
the code under test.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any

# The fixture's place, the API's stream names, free ports and env.sh: shared with the sync benchmark.
from reader.benchmark._freshrss import READ, READING_LIST, STARRED, Server, free_port, start_script
from reader.benchmark._freshrss import missing_requirements as _missing

Pairs = list[tuple[str, str]]


def missing_requirements() -> str | None:
    """Why the server cannot start here (None: it can), said for the sync tests."""
    why = _missing()
    return f"{why}; the sync tests need a real FreshRSS (.ci/run installs it)" if why else None


@dataclass
class FreshRSS(Server):
    """One running server (see :class:`reader.benchmark._freshrss.Server`) with the script's own
    loopback feed server beside it, where :meth:`write_feed` puts the tests' feeds."""

    port: int = 0
    feed_port: int = 0

    @property
    def feed_dir(self) -> Path:
        return Path(self.env["FEED_DIR"])

    @classmethod
    def start(cls, work: Path) -> FreshRSS:
        port, feed_port = free_port(), free_port()
        env = start_script(work, PORT=str(port), FEED_PORT=str(feed_port), ACTUALIZE="0")
        return cls(work, env, port, feed_port)

    def api(self) -> ServerApi:
        return ServerApi(self.url, self.env["GREADER_AUTH"])

    def write_feed(self, name: str, titles: list[str]) -> str:
        """Serve a feed ``name``.xml with one item per title (newest first); its URL."""
        now = 1_700_000_000
        items = "".join(
            f"<item><title>{title}</title><link>http://127.0.0.1:{self.feed_port}/{name}/{i}.html</link>"
            f'<guid isPermaLink="false">{name}-{i}</guid><pubDate>{formatdate(now - 60 * i, usegmt=True)}</pubDate>'
            f"<description>&lt;p&gt;Body of {title}&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;</description></item>"
            for i, title in enumerate(titles)
        )
        (self.feed_dir / f"{name}.xml").write_text(
            f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{name}</title>'
            f"<link>http://127.0.0.1:{self.feed_port}/</link><description>d</description>{items}</channel></rss>",
            encoding="utf-8",
        )
        return f"http://127.0.0.1:{self.feed_port}/{name}.xml"


class ServerApi:
    """What a test does on the server, as another client (a phone) would."""

    def __init__(self, url: str, auth: str) -> None:
        self.base = url.rstrip("/") + "/reader/api/0/"
        self.auth = auth

    def call(
        self, path: str, query: list[tuple[str, str]] | None = None, form: list[tuple[str, str]] | None = None
    ) -> bytes:
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(url, data=data, headers={"Authorization": f"GoogleLogin auth={self.auth}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return bytes(response.read())

    def json(
        self, path: str, query: list[tuple[str, str]] | None = None, form: list[tuple[str, str]] | None = None
    ) -> Any:
        return json.loads(self.call(path, [("output", "json"), *(query or [])], form))

    def token(self) -> str:
        return self.call("token").decode().strip()

    def ids(self, stream: str = READING_LIST, **params: str) -> set[str]:
        """Every item id (decimal) of ``stream``, continuation followed."""
        found: set[str] = set()
        c = ""
        while True:
            query = [("s", stream), ("n", "1000"), *params.items()] + ([("c", c)] if c else [])
            answer = self.json("stream/items/ids", query)
            found.update(ref["id"] for ref in answer.get("itemRefs", []))
            c = answer.get("continuation", "")
            if not c:
                return found

    def unread(self) -> set[str]:
        return self.ids(xt=READ)

    def starred(self) -> set[str]:
        return self.ids(STARRED)

    def items(self, ids: list[str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.json("stream/items/contents", form=[("i", i) for i in ids])["items"]
        return items

    def edit_tag(self, ids: list[str], *, add: str = "", remove: str = "") -> None:
        form = [("T", self.token()), *(("i", i) for i in ids)]
        form += [("a", add)] if add else []
        form += [("r", remove)] if remove else []
        assert self.call("edit-tag", form=form) == b"OK"

    def quickadd(self, feed_url: str) -> str:
        """Subscribe (the server fetches the feed at once); the stream id."""
        answer = self.json("subscription/quickadd", form=[("T", self.token()), ("quickadd", feed_url)])
        assert answer.get("numResults") == 1, answer
        return str(answer["streamId"])

    def subscriptions(self) -> dict[str, dict[str, Any]]:
        return {s["id"]: s for s in self.json("subscription/list")["subscriptions"]}

    def feed_ids(self, stream_id: str) -> set[str]:
        return self.ids(stream_id)


def login_answer(url: str, user: str, password: str) -> tuple[int, bytes]:
    """ClientLogin as any client does it: (status, body)."""
    form = urllib.parse.urlencode({"Email": user, "Passwd": password}).encode()
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/accounts/ClientLogin", data=form, timeout=30) as response:
            return response.status, bytes(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class LoopbackProxy:
    """A plain-HTTP forward proxy on loopback (clients find it through ``http_proxy``, or
    ``Client(proxies=...)``) that passes each request on to the server; a subclass decides in
    :meth:`handle` what to do instead."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Override: quiet."""

            def do_GET(self) -> None:
                proxy.handle(self, None)

            def do_POST(self) -> None:
                proxy.handle(self, self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def handle(self, request: Any, body: bytes | None) -> None:
        self.answer(request, *self.forward(request, body))

    @staticmethod
    def forward(request: Any, body: bytes | None) -> tuple[int, bytes, Any]:
        """The server's answer to ``request``: (status, body, headers)."""
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "proxy-connection")}
        onward = urllib.request.Request(request.path, data=body, headers=headers, method=request.command)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(onward, timeout=60) as answer:
                return answer.status, answer.read(), answer.headers
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), exc.headers

    @staticmethod
    def answer(request: Any, status: int, data: bytes, headers: Any) -> None:
        request.send_response(status)
        for name in ("Content-Type", "Date"):
            if headers.get(name):
                request.send_header(name, headers[name])
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class HoldingProxy(LoopbackProxy):
    """A :class:`LoopbackProxy` that passes requests on to the server, except that the
    ``hold_after`` + 1-th request whose path contains ``hold`` waits until :attr:`release` is set:
    a test can then act (``kill -9`` the client) with one batch stored and the next in flight,
    every time, without racing the client. With ``answered``, that request reaches the server
    first and only its answer is held back."""

    def __init__(self, hold: str, hold_after: int, *, answered: bool = False) -> None:
        import threading

        self.hold, self.hold_after, self.answered = hold, hold_after, answered
        self.held = threading.Event()
        self.release = threading.Event()
        self.seen = 0
        super().__init__()

    def handle(self, request: Any, body: bytes | None) -> None:
        holding = False
        if self.hold in request.path:
            self.seen += 1
            holding = self.seen > self.hold_after
            if holding and not self.answered:
                self.held.set()
                self.release.wait(60)
                return
        answer = self.forward(request, body)
        if holding:  # the server has done it; the client never hears
            self.held.set()
            self.release.wait(60)
            return
        self.answer(request, *answer)

    def close(self) -> None:
        self.release.set()
        super().close()


class RefusingProxy(LoopbackProxy):
    """A :class:`LoopbackProxy` in front of the real server that refuses, as some servers do, every
    ``edit-tag`` naming one of the item ids in :attr:`refuse` (FreshRSS itself answers ``OK`` to
    any edit-tag): with HTTP ``status`` (400 by default), or with 200 and ``body`` (not ``OK``).
    The other requests, and edit-tags of only other items, reach the server. :attr:`edit_tags`
    counts the edit-tags asked for."""

    def __init__(self, refuse: set[str], *, status: int = 400, body: bytes = b"Bad Request!") -> None:
        self.refuse, self.status, self.body = refuse, status, body
        self.edit_tags = 0
        super().__init__()

    def handle(self, request: Any, body: bytes | None) -> None:
        if "/edit-tag" in request.path and body is not None:
            self.edit_tags += 1
            ids = {value for name, value in urllib.parse.parse_qsl(body.decode()) if name == "i"}
            if ids & self.refuse:
                self.answer(request, self.status, self.body, {"Content-Type": "text/plain; charset=UTF-8"})
                return
        super().handle(request, body)
