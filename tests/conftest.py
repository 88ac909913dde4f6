"""Shared test setup: Qt off screen, and no test ever touches the real user's folders."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import sys
import threading
from pathlib import Path
from unittest import mock

import pytest

# Before anything imports Qt: GUI tests run without a display (one Xvfb test opts back in).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes tens of seconds (builds and installs a wheel); runs in CI")


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HOME and the XDG data/config/cache folders point into the test's tmp_path."""
    home = tmp_path / "home"
    for name, folder in (
        ("HOME", home),
        ("XDG_DATA_HOME", home / ".local" / "share"),
        ("XDG_CONFIG_HOME", home / ".config"),
        ("XDG_CACHE_HOME", home / ".cache"),
    ):
        folder.mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(name, str(folder))
    # A developer's own store override must not leak into tests either.
    monkeypatch.delenv("READER_DB", raising=False)


# --- The window's tests (tests/test_ui_*.py): a store of known articles and a window over it ---------

from collections.abc import Callable, Iterable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

from reader.records import Article  # noqa: E402
from reader.store import Query, Store  # noqa: E402

if TYPE_CHECKING:
    from reader.ui.jobs import JobKind

#: Article ``i`` of :func:`known_articles` is published ``i`` hours before this, so row ``i`` of the
#: newest-first list is article ``i``.
BASE_DATE = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
KNOWN_COUNT = 40
#: Every article mentions one topic word in its body: searching for one lists every fourth article.
TOPICS = ("volcano", "election", "harvest", "comet")
LONG_ROW = 0  # a body many screens long (Space scrolls it)
SCRIPT_ROW = 1  # title "<script>alert(1)</script>"
JS_ROW = 2  # url "javascript:alert(1)"
NO_URL_ROW = 3  # no url at all
SCRIPT_TITLE = "<script>alert(1)</script>"
JS_URL = "javascript:alert(1)"

#: feedparser's own test corpus: a copied sample in the suite, and the whole corpus beside the
#: project (``../shared``), which the feed tests also use when it is there (issue 5 asks for that).
FEEDPARSER_SAMPLE = Path(__file__).parent / "data" / "feedparser-corpus"
FEEDPARSER_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "feedparser"

#: Qt's offscreen platform cannot pass a top-level window's size limits on, and says so with a warning
#: whenever the main window's minimum size changes (e.g. the status bar text grows). That is the
#: platform, not the window; window tests ignore exactly this message (``pytestmark = OFFSCREEN_SIZE_HINTS``).
OFFSCREEN_SIZE_HINTS = pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$")


def known_url(i: int) -> str | None:
    if i == JS_ROW:
        return JS_URL
    if i == NO_URL_ROW:
        return None
    return f"https://example.com/news/{i}"


def known_title(i: int) -> str:
    return SCRIPT_TITLE if i == SCRIPT_ROW else f"Article {i:02d} about the {TOPICS[i % len(TOPICS)]}"


def known_articles(count: int = KNOWN_COUNT) -> list[Article]:
    articles = []
    for i in range(count):
        topic = TOPICS[i % len(TOPICS)]
        paragraphs = [f"Paragraph one of article {i} on the {topic}.", f"More about the {topic} in article {i}."]
        if i == LONG_ROW:
            paragraphs += [f"Long paragraph {n}: " + "words that fill the page " * 12 for n in range(150)]
        articles.append(
            Article(
                source=("alpha", "beta")[i % 2],
                title=known_title(i),
                author=f"Author {i}",
                url=known_url(i),
                published=BASE_DATE - timedelta(hours=i),
                body="\n".join(paragraphs),
                raw=f"record {i}",
            )
        )
    return articles


def all_pages(store: Store, query: Query, limit: int) -> list[int]:
    """The ids of every page of ``query``, page by page (each at most ``limit`` rows)."""
    seen: list[int] = []
    after = None
    while True:
        page = store.page(query, after, limit)
        assert len(page.rows) <= limit
        seen += [r.id for r in page.rows]
        if page.next_cursor is None:
            return seen
        after = page.next_cursor


class OlderStore:
    """A store of an older schema, written as the release that made it wrote it: straight SQL into
    the schema of the time (whose triggers keep its full-text index), not today's Store code."""

    def __init__(self, conn: sqlite3.Connection, version: int = 1) -> None:
        self.conn = conn
        self.version = version

    def add_articles(self, articles: Iterable[Article]) -> None:
        from reader import textpack
        from reader.store import sqlite as store_module

        for a in articles:
            published = None if a.published is None else int(a.published.timestamp())
            if self.version >= store_module.PACKED_SINCE:  # packed text; the index is told by the writer
                (rowid,) = self.conn.execute(
                    "INSERT INTO articles (key, source, feed_id, title, author, description, url, image_url, "
                    "published, sort_ts, body_z, body_html_z, raw_z, origin, imported_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0) RETURNING id",
                    (
                        a.identity(),
                        a.source,
                        a.feed_id,
                        a.title,
                        a.author,
                        a.description,
                        a.url,
                        a.image_url,
                        published,
                        store_module.UNKNOWN_TS if published is None else published,
                        textpack.pack(a.body),
                        None if a.body_html is None else textpack.pack(a.body_html),
                        textpack.pack_raw(a.raw, a.body),
                        a.origin,
                    ),
                ).fetchone()
                self.conn.execute(
                    "INSERT INTO articles_fts (rowid, title, author, description, body) VALUES (?, ?, ?, ?, ?)",
                    (rowid, a.title, a.author, a.description, a.body),
                )
                continue
            self.conn.execute(
                "INSERT INTO articles (key, source, feed_id, title, author, description, url, image_url, "
                "published, sort_ts, snippet, body, body_html, raw, origin, imported_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT(key) DO NOTHING",
                (
                    a.identity(),
                    a.source,
                    a.feed_id,
                    a.title,
                    a.author,
                    a.description,
                    a.url,
                    a.image_url,
                    published,
                    store_module.UNKNOWN_TS if published is None else published,
                    a.snippet(),
                    a.body,
                    a.body_html,
                    a.raw,
                    a.origin,
                ),
            )

    def set_starred(self, article_id: int) -> None:
        self.conn.execute("UPDATE articles SET starred = 1 WHERE id = ?", (article_id,))


@contextmanager
def older_store(path: Path, version: int = 1) -> Iterator[OlderStore]:
    """``path`` made as the release of schema ``version`` made stores (1: the first release, with
    prefix indexes of 2 and 3 letters), to fill before the current code opens, and upgrades, it."""
    from reader.store import sqlite as store_module

    with (
        mock.patch.object(store_module, "MIGRATIONS", store_module.MIGRATIONS[:version]),
        mock.patch.object(store_module, "SCHEMA_VERSION", version),
    ):
        Store.open(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        yield OlderStore(conn, version)
        conn.execute("COMMIT")
    finally:
        conn.close()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """The store file of :func:`store` and :func:`known_store` (not created until one opens it)."""
    return tmp_path / "reader.sqlite"


@pytest.fixture
def db(store_path: Path) -> Path:
    """:func:`store_path`, by the name the store's and the command line's tests give it."""
    return store_path


@pytest.fixture
def store(store_path: Path) -> Iterator[Store]:
    """A new, empty store at :func:`store_path`, closed at the end (a module that overrides
    ``store_path`` gets a store over its own file)."""
    with Store.open(store_path) as s:
        yield s


@pytest.fixture
def known_store(store_path: Path) -> Iterator[Store]:
    """A store holding :func:`known_articles` (all unread, none starred)."""
    store = Store.open(store_path)
    store.add_articles(known_articles())
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def opened_urls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """URLs handed to QDesktopServices.openUrl, recorded instead of opened: nothing is ever launched."""
    from PySide6.QtCore import QUrl

    from reader.ui import desktop

    opened: list[str] = []

    def fake_open_url(url: QUrl) -> bool:
        opened.append(url.toString())
        return True

    monkeypatch.setattr(desktop.QDesktopServices, "openUrl", fake_open_url)
    return opened


def drain_jobs(qtbot: Any, window: Any) -> None:
    """Stop the window's background jobs and let their results arrive (before the store closes)."""
    import shiboken6

    if not shiboken6.isValid(window):
        return
    window.jobs.wait_for_jobs()
    qtbot.waitUntil(lambda: not window.jobs.jobs, timeout=30000)


@pytest.fixture
def window_factory(qtbot: Any, tmp_path: Path, opened_urls: list[str]) -> Iterator[Callable[..., Any]]:
    """make(store, settings_path=None): a shown, started MainWindow over ``store`` (settings in tmp_path),
    with its second stage built (which follows the first paint)."""
    from PySide6.QtWidgets import QApplication

    from reader.ui.main_window import MainWindow
    from reader.ui.settings import Settings

    made: list[Any] = []

    def make(store: Store, settings_path: Path | None = None) -> Any:
        window = MainWindow(store, Settings(settings_path or tmp_path / "settings.ini"))
        qtbot.addWidget(window, before_close_func=lambda w: drain_jobs(qtbot, w))
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
        window.start()
        made.append(window)
        qtbot.waitUntil(lambda: window.built)
        # (On a shared store the first page, and the pane's article, arrive from the reader's thread.)
        qtbot.waitUntil(lambda: window.model.listed and window.reading.wanted is None, timeout=15000)
        return window

    yield make
    for window in made:
        drain_jobs(qtbot, window)


@pytest.fixture
def window(window_factory: Callable[..., Any], known_store: Store) -> Any:
    """The main window over :func:`known_store`, started: row 0 selected, list focused."""
    return window_factory(known_store)


def wait_job(qtbot: Any, window: Any, kind: JobKind, timeout: int = 60000) -> Any:
    """``with wait_job(qtbot, window, JobKind.IMPORT): ...``: the block, then until the window's
    background job of that kind has finished (at most ``timeout`` ms)."""
    return qtbot.waitSignal(window.jobs.job_finished, timeout=timeout, check_params_cb=lambda k: k is kind)


def all_titles(window: Any) -> list[str]:
    """The titles of every row the window's list can show, fetched to its end."""
    model = window.model
    while model.canFetchMore(model.index(-1)):
        model.fetchMore(model.index(-1))
        wait_for(lambda: not model.fetching)  # (a shared store's page arrives from the reader's thread)
    titles = []
    for r in range(model.rowCount()):
        wait_for(lambda r=r: model.row(r) is not None)  # (and its block)
        titles.append(model.row(r).title)
    return titles


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Run Qt's event loop until ``condition()`` (what a shared store's reader sends arrives), for
    helpers without a qtbot; fails after ``timeout`` seconds. At once when it holds already."""
    import time

    from PySide6.QtCore import QCoreApplication, QEventLoop

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "waited too long for the store's answer"
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


def write_seed(path: Path, title: str, url: str, published: str = "2024-03-02T08:00:00Z") -> Path:
    """A seed file at ``path`` holding one record (source "gazette", by Jo Writer, two paragraphs)."""
    header = repr(["gazette", "1", "Jo Writer", title, "", url, "", published])
    path.write_text(f"{header}\nFirst paragraph of {title}.\nSecond paragraph.\n", encoding="utf-8")
    return path


# --- a stand-in system browser -----------------------------------------------------------------


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[tuple[Path, socket.socket]]:
    """A folder holding a stand-in xdg-open, and the socket it reports each URL to."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sock_path = tmp_path / "browser.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(sock_path))
    server.listen(8)
    server.settimeout(30)
    script = bin_dir / "xdg-open"
    script.write_text(
        f"#!{sys.executable}\n"
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        f"s.connect({str(sock_path)!r})\n"
        "s.sendall(' '.join(sys.argv[1:]).encode() + b'\\n')\n"
        "s.close()\n"
    )
    script.chmod(0o755)
    try:
        yield bin_dir, server
    finally:
        server.close()


def next_url(server: socket.socket) -> str:
    conn, _ = server.accept()  # blocks until xdg-open runs (30 s at most)
    with conn:
        conn.settimeout(10)
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.decode().strip()


# --- Feeds (tests/test_feeds*.py, and the window's refresh): a loopback HTTP server ---------------


@pytest.fixture
def feed_server() -> Iterator[Any]:
    """A :class:`feed_server.FeedServer` on 127.0.0.1 (a free port); closed, stalled answers released, at the end."""
    from feed_server import FeedServer

    server = FeedServer()
    try:
        yield server
    finally:
        server.close()


def import_inputs(store: Store, items: list[tuple[str, str]], **options: Any) -> Any:
    """``subscriptions.subscribe`` for ``("feed", path or URL)`` and ``("opml", path)`` items, each
    resolved the way :func:`reader.addresses.classify` resolves what a person names."""
    from reader import subscriptions
    from reader.addresses import Input, InputKind, feed_url

    inputs = [Input(InputKind(kind), feed_url(target) if kind == "feed" else target, target) for kind, target in items]
    return subscriptions.subscribe(store, inputs, **options)


def flags_stored(qtbot: Any, window: Any) -> None:
    """Wait until the read and star flags set so far are in the store (the window stores them on
    a thread of its own, so that another writer's lock never holds up the keys)."""
    qtbot.waitUntil(lambda: not window.flags.any_pending(), timeout=15000)


# --- network tests: a bounded wait, and TLS on loopback ------------------------------------------


def within(seconds: float, function: Any, *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)`` on a thread of its own: its result, or a failure when it has
    not returned within ``seconds`` (a fetch that never gives up fails here, not at pytest's timeout)."""
    outcome: list[Any] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append(function(*args, **kwargs))
        except BaseException as exc:
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name="test-within", daemon=True).start()
    assert done.wait(seconds), f"still waiting after {seconds:g} s: it never gives up"
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


@pytest.fixture
def tls(tmp_path: Path) -> tuple[Any, Any, Path]:
    """A server context with a self-signed certificate for 127.0.0.1, a client context trusting
    it, and the certificate file."""
    import shutil
    import ssl
    import subprocess

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    request = ["-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"]
    request += ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)]
    made = subprocess.run([openssl, "req", *request], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"openssl could not make a certificate: {made.stderr.decode(errors='replace')[-200:]}")
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    return server_side, ssl.create_default_context(cafile=str(cert)), cert


@contextlib.contextmanager
def redirect_target(scheme: str, folder: Path) -> Iterator[str]:
    """An address of another scheme (ftp:, file:, data:) a redirect could lead to, where something
    would notice being reached: on leaving, it asserts that nothing connected to the ftp: one."""
    listener = socket.create_server(("127.0.0.1", 0))  # where an ftp: redirect would connect
    listener.setblocking(False)
    local = folder / "local.xml"
    local.write_bytes(b'<rss version="2.0"><channel><title>t</title><item><title>i</title></item></channel></rss>')
    try:
        yield {
            "ftp": f"ftp://127.0.0.1:{listener.getsockname()[1]}/feed.xml",
            "file": local.as_uri(),  # a feed a file: redirect would read
            "data": "data:application/rss+xml;base64,PHJzcy8+",
        }[scheme]
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever connected
    finally:
        listener.close()


# --- The sync tests (tests/test_sync*.py): one real FreshRSS for the whole run ------------------------


@pytest.fixture(scope="session")
def freshrss(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A FreshRSS on loopback (tests/freshrss.py): ``url``, ``user``, ``password``, ``api()``.
    Fails, never skips, when PHP is missing: CI installs it and the sync tests must run there."""
    from freshrss import FreshRSS, missing_requirements

    why = missing_requirements()
    if why is not None:
        pytest.fail(f"cannot start FreshRSS for the sync tests: {why}", pytrace=False)
    server = FreshRSS.start(tmp_path_factory.mktemp("freshrss") / "run")
    try:
        yield server
    finally:
        server.stop()


# --- The PostgreSQL store's tests: one real server for the whole run, a database per test ---------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """A PostgreSQL server on loopback (tests/postgres.py). Fails, never skips, when Debian's
    postgresql package is missing: CI installs it and these tests must run there."""
    from postgres import PostgresServer, missing_requirements

    why = missing_requirements()
    if why is not None:
        pytest.fail(f"cannot start PostgreSQL for the store tests: {why}", pytrace=False)
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: Any) -> str:
    """An empty store on :func:`postgres_server` (the current schema, no rows, ids from 1)."""
    return str(postgres_server.emptied_database())


@pytest.fixture(params=["sqlite", "postgres"])
def either_db(request: pytest.FixtureRequest, store_path: Path) -> Path | str:
    """A new store of each engine, by what names it: :func:`store_path` or an emptied database's
    URL on :func:`postgres_server`. A module whose tests run on both makes its ``db`` this one
    (and its ``store`` a store over it); :data:`SQLITE_ONLY` keeps one test on SQLite."""
    return store_path if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))


#: For a test of a module whose ``db`` is :func:`either_db` that only a store file can run (the
#: window, SQLite's own index or file).
SQLITE_ONLY = pytest.mark.parametrize("either_db", ["sqlite"], indirect=True)


def both_engines() -> tuple[Any, Any]:
    """The ``db`` and ``store`` fixtures of a module whose tests run on SQLite and on PostgreSQL
    (``db, store = both_engines()`` at its top): :func:`either_db`, and a store open over it."""

    @pytest.fixture
    def db(either_db: Path | str) -> Path | str:
        return either_db

    @pytest.fixture
    def store(db: Path | str) -> Iterator[Any]:
        from reader.store import open_store

        with open_store(db) as s:
            yield s

    return db, store
