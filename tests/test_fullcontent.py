"""Full articles: a feed set to full articles has each article's page fetched (from a loopback
server here) and its main text kept beside the feed's, searchable; a page that cannot be had
leaves a one-line reason and the feed's text; ``g`` in the window does it for the shown article,
and a feed's context menu in the sidebar turns it on."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import OFFSCREEN_SIZE_HINTS, both_engines, wait_job
from feed_server import FeedServer
from test_cli import reader

from reader import fullcontent, subscriptions
from reader.fullcontent import Extracted, ExtractError, extract
from reader.records import Article, Query
from reader.store import Store, open_store
from reader.ui.jobs import JobKind

PAGES = Path(__file__).parent / "data" / "pages"
QUAY = (PAGES / "harbour-quay.html").read_bytes()
SIGN_IN = (PAGES / "sign-in.html").read_bytes()


#: These tests run on SQLite and on PostgreSQL (tests/conftest.py).
db, store = both_engines()


def rss(server: FeedServer, items: list[tuple[str, str, str]]) -> str:
    """A feed on ``server`` of (guid, title, page path) items, each with only a one-line summary."""
    entries = "".join(
        f"<item><title>{title}</title><link>{server.url(path)}</link><guid>{guid}</guid>"
        f"<description>{title}: a summary.</description></item>"
        for guid, title, path in items
    )
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Harbour Gazette</title>'
        f"<link>{server.url('/')}</link><description>x</description>{entries}</channel></rss>"
    )
    return server.add("/feed.xml", body.encode())


def index_is_whole(store: Any) -> None:
    """FTS5's own check that the index says what the articles say (body: the feed's, then the page's);
    on PostgreSQL, that each stored vector is the feed's text's and then the page's, made again."""
    if isinstance(store, Store):
        store._conn.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)")
        return
    from reader import textpack
    from reader.store.postgres import article_vector, index_vector

    with store.transaction() as conn:
        for article_id, title, author, description, body_z, full_body_z in conn.execute(
            "SELECT id, title, author, description, body_z, full_body_z FROM articles"
        ).fetchall():
            own = article_vector([title, author, description, textpack.unpack(bytes(body_z))])
            page = "" if full_body_z is None else index_vector([textpack.unpack(bytes(full_body_z))])
            (same,) = conn.execute(
                "SELECT tsv = %s::tsvector || %s::tsvector AND full_tsv IS NOT DISTINCT FROM %s::tsvector "
                "FROM articles WHERE id = %s",
                (own, page, None if full_body_z is None else page, article_id),
            ).fetchone()
            assert same, f"article {article_id}: its vector is not its text's"


def test_the_main_text_is_kept_and_the_page_around_it_left() -> None:
    html, text = extract(QUAY, "text/html; charset=utf-8", "https://gazette.example/quay")
    assert "divers found the timber piles" in text and "cast-iron bollards" in text
    for chrome in ("Most read", "Subscribe", "Advertisement", "All rights reserved", "tracker", "loadComments"):
        assert chrome not in html
    assert "<script" not in html and "<style" not in html
    assert 'src="https://gazette.example/images/quay.jpg"' in html  # resolved against the page


@pytest.mark.parametrize(
    ("data", "kind", "reason"),
    [
        (b"%PDF-1.7 ...", "application/pdf", "not an HTML page (application/pdf)"),
        (b"\x89PNG\r\n\x1a\n....", None, "not an HTML page"),
        (SIGN_IN, "text/html", "found no article text on the page"),
        (b"<html><body>" + b"\xff\xfe" * 50 + b"</body></html>", "text/html", "found no article text on the page"),
    ],
)
def test_what_is_not_an_article_says_why(data: bytes, kind: str | None, reason: str) -> None:
    with pytest.raises(ExtractError, match=f"^{re.escape(reason)}$"):
        extract(data, kind, "https://gazette.example/x")


@pytest.fixture
def gazette(feed_server: FeedServer, store: Store) -> tuple[FeedServer, str]:
    feed_server.add("/quay", QUAY, content_type="text/html; charset=utf-8")
    feed_server.add("/sign-in", SIGN_IN, content_type="text/html")
    feed_server.add("/report.pdf", b"%PDF-1.7", content_type="application/pdf")
    url = rss(
        feed_server,
        [("q", "Grain quay to close", "/quay"), ("s", "Members only", "/sign-in"),
         ("p", "The report", "/report.pdf"), ("g", "Gone", "/gone")],
    )  # fmt: skip
    return feed_server, url


def test_reader_fetches_full_articles_for_the_feeds_set_to_them(gazette: tuple[FeedServer, str], db: Path) -> None:
    server, url = gazette
    assert reader("--db", str(db), "feeds", "add", url).returncode == 0
    assert reader("--db", str(db), "refresh").stdout.count("full article") == 0  # off: no page fetched
    assert server.hits("/quay") == []

    done = reader("--db", str(db), "feeds", "set", url, "--full-content", "on")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Harbour Gazette: full articles on\n"
    fetched = reader("--db", str(db), "fetch-full")
    assert fetched.returncode == 1  # some pages could not be had: named on stderr, one line each
    assert fetched.stdout == "1 full article fetched, 3 could not be had\n"
    lines = fetched.stderr.splitlines()
    assert len(lines) == 3 and all("(the feed's text stays)" in line for line in lines)
    assert any("found no article text" in line for line in lines)
    assert any("not an HTML page (application/pdf)" in line for line in lines)
    assert any("404" in line for line in lines)

    with open_store(db) as store:
        by_title = {row.title: row.id for row in store.iter_rows()}
        quay = store.get(by_title["Grain quay to close"])
        assert quay.full_html is not None and "shipworm" in quay.full_html and quay.full_status == ""
        assert quay.body == "Grain quay to close: a summary." or "summary" in quay.body  # the feed's own text stays
        members = store.get(by_title["Members only"])
        assert members.full_html is None and members.full_status == "found no article text on the page"
        # Searchable by the page's words, which the feed never had:
        assert [r.title for r in store.page(Query(search="shipworm")).rows] == ["Grain quay to close"]
        index_is_whole(store)
    # Tried once: a later run fetches nothing again.
    again = reader("--db", str(db), "fetch-full")
    assert again.stdout == "0 full articles fetched\n"
    assert len(server.hits("/quay")) == 1


def test_a_changed_entry_and_a_cleanup_keep_the_index_whole(gazette: tuple[FeedServer, str], store: Store) -> None:
    from datetime import UTC, datetime, timedelta

    from conftest import import_inputs

    server, url = gazette
    import_inputs(store, [("feed", url)])
    store.update_feed(store.feeds()[0].id, full_content=True)
    kept, failed = fullcontent.fetch_pending(store)
    assert kept == 1 and len(failed) == 3

    rss(server, [("q", "Grain quay to close next spring", "/quay")])  # the entry's title changed
    subscriptions.refresh(store, force=True)
    index_is_whole(store)
    assert [r.title for r in store.page(Query(search="shipworm")).rows] == ["Grain quay to close next spring"]
    assert [r.title for r in store.page(Query(search="spring shipworm")).rows] == ["Grain quay to close next spring"]

    store.set_read([row.id for row in store.iter_rows()])
    assert store.cleanup(datetime.now(UTC) + timedelta(days=1)).removed == 4
    index_is_whole(store)
    assert store.page(Query(search="shipworm")).rows == []


def test_a_store_of_the_previous_schema_gains_full_articles(tmp_path: Path) -> None:
    from conftest import older_store

    from reader.records import Article
    from reader.store import SCHEMA_VERSION

    path = tmp_path / "old.db"
    with older_store(path, SCHEMA_VERSION - 1) as old:
        old.add_articles([Article("Desk", "before", body="harbour words")])
    with Store.open(path) as store:
        (row,) = list(store.iter_rows())
        assert store.set_full_content(row.id, "<p>quay text</p>", "quay text", "")
        assert store.get(row.id).full_html == "<p>quay text</p>"
        assert [r.id for r in store.page(Query(search="quay harbour")).rows] == [row.id]
        index_is_whole(store)


def test_at_most_two_pages_of_one_host_at_once() -> None:
    active: dict[str, int] = {}
    crowded: list[str] = []
    lock = threading.Condition()
    release = threading.Event()

    def fetch(article_id: int, url: str, stop: threading.Event | None) -> Extracted:
        host = url.split("/")[2]
        with lock:
            if active.get(host, 0) >= fullcontent.PER_HOST:
                crowded.append(url)
            active[host] = active.get(host, 0) + 1
            lock.notify_all()
        release.wait(30)
        with lock:
            active[host] -= 1
        return Extracted(article_id, None, None, "x")

    targets = [(i, f"https://a.example/{i}") for i in range(6)] + [(10 + i, f"https://b.example/{i}") for i in range(6)]
    results: list[Extracted] = []
    runner = threading.Thread(target=lambda: results.extend(fullcontent.fetch_many(targets, fetch=fetch)))
    runner.start()
    with lock:
        assert lock.wait_for(lambda: active.get("a.example", 0) >= 2 and active.get("b.example", 0) >= 2, 30)
    release.set()
    runner.join(30)
    assert sorted(r.article_id for r in results) == sorted(i for i, _ in targets)
    assert crowded == []


@OFFSCREEN_SIZE_HINTS
def test_g_shows_the_full_article_and_the_feed_menu_turns_it_on(
    qtbot: Any, window_factory: Any, gazette: tuple[FeedServer, str], store: Store
) -> None:
    from conftest import import_inputs

    server, url = gazette
    import_inputs(store, [("feed", url)])
    window = window_factory(store)
    row = next(i for i in range(window.model.rowCount()) if "Grain quay" in window.model.index(i).data())
    window.list.select_row(row)
    qtbot.waitUntil(lambda: window.reading.wanted is None)  # (shown: on PostgreSQL it comes from the reader)
    assert "shipworm" not in window.pane.toPlainText()

    window.list.setFocus()
    with wait_job(qtbot, window, JobKind.FULL_CONTENT):
        qtbot.keyClick(window.list, "g")
    text = window.pane.toPlainText()
    assert "shipworm" in text and "Full article from 127.0.0.1" in text
    assert "Full article from 127.0.0.1" in window.statusBar().currentMessage()

    members = next(i for i in range(window.model.rowCount()) if "Members" in window.model.index(i).data())
    window.list.select_row(members)
    qtbot.waitUntil(lambda: window.reading.wanted is None)
    with wait_job(qtbot, window, JobKind.FULL_CONTENT):
        qtbot.keyClick(window.list, "g")
    assert "The full article could not be had (found no article text on the page)" in window.pane.toPlainText()
    assert window.statusBar().currentMessage().startswith("Could not get the full article from 127.0.0.1")

    # The feed's context menu: full articles on, and the feed's other articles are fetched.
    with wait_job(qtbot, window, JobKind.COUNTS):
        window.counting.refresh()
    feed = store.feeds()[0]
    from reader.ui.sidebar import SidebarKey

    assert window.full_articles.feed_menu(SidebarKey()) is None  # All articles has no such menu
    menu = window.full_articles.feed_menu(SidebarKey("all", feed_id=feed.id))
    (action,) = menu.actions()
    assert action.text() == "Fetch full articles" and not action.isChecked()
    with wait_job(qtbot, window, JobKind.FULL_CONTENT):
        action.setChecked(True)  # (its job, then the fetch it starts)
    qtbot.waitUntil(lambda: not window.jobs.running(JobKind.FULL_CONTENT), timeout=30000)
    assert store.get_feed(feed.id).full_content is True
    assert server.hits("/report.pdf")  # tried: it was not before


def test_a_page_that_fails_for_now_is_tried_again_next_time(feed_server: FeedServer, store: Store) -> None:
    from conftest import import_inputs

    feed_server.add("/busy", b"", status=503)
    url = rss(feed_server, [("b", "Busy page", "/busy")])
    import_inputs(store, [("feed", url)])
    store.update_feed(store.feeds()[0].id, full_content=True)
    kept, failed = fullcontent.fetch_pending(store)
    assert kept == 0 and len(failed) == 1 and "503" in failed[0][1]
    assert len(store.wanting_full_content()) == 1  # not kept as a failure: wanted again
    feed_server.add("/busy", QUAY, content_type="text/html")
    assert fullcontent.fetch_pending(store)[0] == 1
    assert store.wanting_full_content() == []


@pytest.fixture
def two_quays(feed_server: FeedServer) -> tuple[FeedServer, str]:
    """A feed of two articles whose pages both have a main text (and one that has none)."""
    for path in ("/quay", "/quay-too"):
        feed_server.add(path, QUAY, content_type="text/html; charset=utf-8")
    feed_server.add("/sign-in", SIGN_IN, content_type="text/html")
    url = rss(
        feed_server,
        [
            ("q", "Grain quay to close", "/quay"),
            ("t", "Quay asked for", "/quay-too"),
            ("s", "Members only", "/sign-in"),
        ],
    )
    return feed_server, url


def test_a_page_fetched_for_a_feed_turned_off_meanwhile_is_not_kept(store: Any) -> None:
    """A refresh's fetch of a feed's pages runs while the person turns full articles off: the
    pages it brings after that are not kept (they would stay shown and indexed); one asked for is."""
    feed = store.add_feed("https://gazette.example/feed.xml", "Gazette")
    store.add_articles([Article(None, t, key=f"feed:{feed.id}:{t}", feed_id=feed.id, body="summary") for t in "ab"])
    first, second = (r.id for r in store.iter_rows())
    store.update_feed(feed.id, full_content=True)
    assert store.set_full_content(first, "<p>whole page</p>", "whole page shipworm", "")
    store.update_feed(feed.id, full_content=False)
    assert store.drop_full_content(feed.id) == 1
    assert store.set_full_content(second, "<p>late page</p>", "late page shipworm", "")  # (the fetch goes on)
    assert store.get(second).full_html is None and store.count(Query(search="shipworm")) == 0
    assert store.set_full_content(second, "<p>asked</p>", "asked shipworm", "", asked=True)  # `g`
    assert store.get(second).full_html == "<p>asked</p>" and store.count(Query(search="shipworm")) == 1
    index_is_whole(store)


def test_a_feed_turned_off_shows_its_own_text_again_but_keeps_the_pages_asked_for(
    two_quays: tuple[FeedServer, str], db: Path
) -> None:
    server, url = two_quays
    assert reader("--db", str(db), "feeds", "add", url).returncode == 0
    with open_store(db) as store:
        ids = {row.title: row.id for row in store.iter_rows()}
    asked = reader("--db", str(db), "fetch-full", str(ids["Quay asked for"]))  # `g`, from the command line
    assert asked.stdout == "1 full article fetched\n", asked.stderr
    reader("--db", str(db), "feeds", "set", url, "--full-content", "on")
    assert reader("--db", str(db), "fetch-full").stdout == "1 full article fetched, 1 could not be had\n"

    off = reader("--db", str(db), "feeds", "set", url, "--full-content", "off")
    assert off.returncode == 0, off.stderr
    assert off.stdout == "Harbour Gazette: full articles off (1 page dropped: the feed's text is shown again)\n"
    with open_store(db) as store:
        dropped = store.get(ids["Grain quay to close"])
        assert dropped.full_html is None and dropped.full_status is None  # the pane shows the summary
        assert store.get(ids["Members only"]).full_status is None  # (turned on again: tried again)
        kept = store.get(ids["Quay asked for"])
        assert kept.full_html is not None and "shipworm" in kept.full_html and kept.full_status == ""
        # The index says what is shown: the dropped page's words no longer find its article.
        assert [r.title for r in store.page(Query(search="shipworm")).rows] == ["Quay asked for"]
        index_is_whole(store)
    assert reader("--db", str(db), "feeds", "set", url, "--full-content", "off").stdout == (
        "Harbour Gazette: full articles off\n"
    )
    reader("--db", str(db), "feeds", "set", url, "--full-content", "on")
    assert reader("--db", str(db), "fetch-full").stdout == "1 full article fetched, 1 could not be had\n"
    assert len(server.hits("/quay")) == 2 and len(server.hits("/quay-too")) == 1


@OFFSCREEN_SIZE_HINTS
def test_the_feed_menu_turning_full_articles_off_shows_the_feeds_text_in_the_pane(
    qtbot: Any, window_factory: Any, two_quays: tuple[FeedServer, str], store: Store
) -> None:
    from conftest import import_inputs

    from reader.ui.sidebar import SidebarKey

    _server, url = two_quays
    import_inputs(store, [("feed", url)])
    feed = store.feeds()[0]
    store.update_feed(feed.id, full_content=True)
    assert fullcontent.fetch_pending(store)[0] == 2
    window = window_factory(store)
    row = next(i for i in range(window.model.rowCount()) if window.model.index(i).data() == "Grain quay to close")
    window.list.select_row(row)
    qtbot.waitUntil(lambda: window.reading.wanted is None)  # (shown: on PostgreSQL it comes from the reader)
    assert "shipworm" in window.pane.toPlainText()
    with wait_job(qtbot, window, JobKind.COUNTS):
        window.counting.refresh()
    (action,) = window.full_articles.feed_menu(SidebarKey("all", feed_id=feed.id)).actions()
    assert action.isChecked()
    with wait_job(qtbot, window, JobKind.FULL_CONTENT):
        action.setChecked(False)
    text = window.pane.toPlainText()
    assert "shipworm" not in text and "Grain quay to close: a summary." in text
    assert "full articles off" in window.statusBar().currentMessage()
    assert store.get_feed(feed.id).full_content is False
