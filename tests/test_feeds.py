"""Feeds (reader.subscriptions, reader.feed_pipeline, reader.fetching): fetched from a loopback HTTP
server this test starts, parsed, stored; OPML."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import FEEDPARSER_CORPUS, FEEDPARSER_SAMPLE, import_inputs, redirect_target, within
from feed_server import FeedServer
from hypothesis import given, settings
from hypothesis import strategies as st

from reader import addresses, feed_pipeline, feedparse, fetching, opml, sanitize, subscriptions, textpack
from reader import http as rhttp
from reader.importer import import_paths
from reader.opml import OpmlFeed, read_opml, write_opml
from reader.records import Problem
from reader.store import AddResult, Feed, PreparedArticles, Query, Store, prepare_articles

# A fetch or writer thread dying with a traceback must fail the test, not scroll past as a warning.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")


@pytest.fixture
def server(feed_server: FeedServer) -> FeedServer:
    return feed_server


# --- feed documents -------------------------------------------------------------------------------

RSS_NS = (
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:media="http://search.yahoo.com/mrss/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"'
)


def item(
    guid: str | None,
    title: str = "A title",
    *,
    link: str | None = None,
    date: str = "Tue, 14 Nov 2023 22:13:20 GMT",
    description: str | None = None,
    content: str | None = None,
    extra: str = "",
) -> str:
    parts = [f"<title>{title}</title>"]
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    if link is not None:
        parts.append(f"<link>{link}</link>")
    if date:
        parts.append(f"<pubDate>{date}</pubDate>")
    if description is not None:
        parts.append(f"<description><![CDATA[{description}]]></description>")
    if content is not None:
        parts.append(f"<content:encoded><![CDATA[{content}]]></content:encoded>")
    parts.append(extra)
    return "<item>" + "".join(parts) + "</item>"


def rss(*items: str, title: str = "Test feed", link: str = "https://site.example/") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" {RSS_NS}><channel>'
        f"<title>{title}</title><link>{link}</link><description>d</description>" + "".join(items) + "</channel></rss>\n"
    ).encode()


def items(n: int, prefix: str = "e") -> list[str]:
    return [
        item(f"{prefix}{i}", f"Entry {i}", link=f"https://site.example/{prefix}{i}", content=f"<p>Body {i}</p>")
        for i in range(n)
    ]


def list_of(urls: list[str]) -> list[tuple[str, str]]:
    return [("feed", u) for u in urls]


def only_feed(store: Store) -> Feed:
    (feed,) = store.feeds()
    return feed


def articles(store: Store) -> list[Any]:
    return [store.get(row.id) for row in store.iter_rows()]


@pytest.fixture
def parse_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """URLs parsed in this process (a single small feed is parsed here, not in a worker)."""
    calls: list[str] = []
    real = feedparse.parse

    def counting(data: bytes, headers: Any, feed_url: str, feed_id: int) -> feedparse.ParsedFeed:
        calls.append(feed_url)
        return real(data, headers, feed_url, feed_id)

    monkeypatch.setattr(feed_pipeline, "parse", counting)
    return calls


# --- fetching and storing -------------------------------------------------------------------------


def test_a_feed_url_is_subscribed_and_its_entries_become_articles(server: FeedServer, store: Store) -> None:
    url = server.add(
        "/feed.xml",
        rss(
            item(
                "id-1",
                "First &amp; best",
                link="https://site.example/1",
                date="Tue, 14 Nov 2023 22:13:20 +0100",
                description="<p>The <b>summary</b>.</p>",
                content="<p>Para one.</p><p>Para <i>two</i> &amp; more.</p>",
                extra="<dc:creator>Ada Lovelace</dc:creator>",
            ),
            title="The Test Feed",
        ),
        etag='"v1"',
    )
    result, problems = import_inputs(store, [("feed", url)])
    assert problems == []
    assert result == AddResult(added=1)
    feed = only_feed(store)
    assert (feed.url, feed.title, feed.site_url, feed.etag, feed.last_error) == (
        url,
        "The Test Feed",
        "https://site.example/",
        '"v1"',
        None,
    )
    assert feed.updated_at is not None and feed.total == 1
    (article,) = articles(store)
    assert article.key == f"feed:{feed.id}:id-1"
    assert article.feed_id == feed.id
    assert article.source == "The Test Feed"
    assert article.title == "First & best"
    assert article.author == "Ada Lovelace"
    assert article.url == "https://site.example/1"
    assert article.published == datetime(2023, 11, 14, 21, 13, 20, tzinfo=UTC)
    assert article.body == "Para one.\nPara two & more."
    assert article.body_html == "<p>Para one.</p><p>Para <i>two</i> &amp; more.</p>"
    assert article.description == "The summary."
    assert article.origin == url
    # Found by full-text search like any other article.
    assert store.count(Query(search="para two")) == 1


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("desk@news.example (Desk Editor)", "Desk Editor"),  # RSS 2.0's own form, a 7-letter domain
        ("Jo Writer <jo@news.agency>", "Jo Writer"),
        ("jo@x.com (Jo Writer)", "Jo Writer"),
        ("jo@news.example", "jo@news.example"),  # nothing but the address: it is all there is
        ("Ada Lovelace", "Ada Lovelace"),
    ],
)
def test_an_author_line_with_an_address_gives_the_whole_name(line: str, name: str) -> None:
    """feedparser cuts top-level domains after four letters: "desk@news.example (Desk Editor)"
    gave the author "ple (Desk Editor"."""
    escaped = line.replace("<", "&lt;").replace(">", "&gt;")
    data = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>a</title>'
        f"<link>https://x.example/1</link><author>{escaped}</author></item></channel></rss>"
    ).encode()
    (article,) = feedparse.parse(data, {}, "https://x.example/feed", 1).articles
    assert article.author == name


def test_entry_identity_falls_back_to_link_then_to_a_hash_of_title_and_date(server: FeedServer, store: Store) -> None:
    url = server.add(
        "/f.xml",
        rss(
            item(None, "Linked", link="https://site.example/linked"),
            item(None, "Bare one", date="Tue, 14 Nov 2023 22:13:20 GMT"),
            item(None, "Bare two", date="Tue, 14 Nov 2023 22:13:20 GMT"),
        ),
    )
    import_inputs(store, [("feed", url)])
    feed_id = only_feed(store).id
    keys = sorted(a.key for a in articles(store))
    assert f"feed:{feed_id}:https://site.example/linked" in keys
    hashed = [k for k in keys if k.startswith(f"feed:{feed_id}:sha1:")]
    assert len(hashed) == 2 and hashed[0] != hashed[1]


def test_second_refresh_is_a_conditional_get_that_parses_nothing(
    server: FeedServer, store: Store, parse_calls: list[str]
) -> None:
    url = server.add("/feed.xml", rss(*items(3)), etag='"v1"')
    import_inputs(store, [("feed", url)])
    assert parse_calls == [url]
    result, problems = subscriptions.refresh(store)
    assert problems == []
    first, second = server.hits("/feed.xml")
    assert "if-none-match" not in first.headers
    assert second.headers["if-none-match"] == '"v1"'
    assert second.status == 304
    # Nothing parsed, nothing even offered to the store.
    assert parse_calls == [url]
    assert result == AddResult()
    feed = only_feed(store)
    assert feed.last_error is None and feed.etag == '"v1"' and feed.total == 3


def test_last_modified_is_sent_back_as_if_modified_since(
    server: FeedServer, store: Store, parse_calls: list[str]
) -> None:
    stamp = "Tue, 14 Nov 2023 22:13:20 GMT"
    url = server.add("/feed.xml", rss(*items(2)), last_modified=stamp)
    import_inputs(store, [("feed", url)])
    assert only_feed(store).last_modified == stamp
    subscriptions.refresh(store)
    second = server.hits("/feed.xml")[1]
    assert second.headers["if-modified-since"] == stamp and second.status == 304
    assert parse_calls == [url]


def test_a_permanent_redirect_updates_the_stored_url(server: FeedServer, store: Store) -> None:
    old = server.add("/old.xml", status=301, headers={"Location": "/new.xml"})
    new = server.add("/new.xml", rss(*items(2)))
    result, problems = import_inputs(store, [("feed", old)])
    assert problems == [] and result.added == 2
    assert only_feed(store).url == new
    subscriptions.refresh(store)
    assert len(server.hits("/old.xml")) == 1  # the refresh went straight to the new address
    assert len(server.hits("/new.xml")) == 2


def test_a_temporary_redirect_keeps_the_stored_url(server: FeedServer, store: Store) -> None:
    old = server.add("/old.xml", status=302, headers={"Location": "/new.xml"})
    server.add("/new.xml", rss(*items(2)))
    import_inputs(store, [("feed", old)])
    assert only_feed(store).url == old
    assert only_feed(store).total == 2


def test_gone_marks_the_feed_dead_and_refresh_skips_it(server: FeedServer, store: Store) -> None:
    url = server.add("/feed.xml", rss(*items(2)))
    import_inputs(store, [("feed", url)])
    server.add("/feed.xml", b"gone", status=410, content_type="text/plain")
    _, problems = subscriptions.refresh(store)
    assert [p.input for p in problems] == [url] and "410" in problems[0].reason
    feed = only_feed(store)
    assert feed.dead and "410" in (feed.last_error or "")
    assert feed.total == 2  # what it had is kept
    subscriptions.refresh(store)
    assert len(server.hits("/feed.xml")) == 2  # not asked a third time


def test_a_server_that_never_answers_times_out(server: FeedServer, store: Store) -> None:
    url = server.add("/slow.xml", stall=True)
    good = server.add("/good.xml", rss(*items(1)))
    result, problems = import_inputs(store, [("feed", url), ("feed", good)], timeout=0.5)
    assert server.stalled.is_set()
    assert problems == [Problem(url, "timed out (no answer within 0.5 s)")]
    assert result.added == 1  # the other feed is not held up
    assert store.get_feed(url).last_error == "timed out (no answer within 0.5 s)"  # type: ignore[union-attr]


# --- one deadline for a whole fetch; redirects to http and https only ----------------------------------

#: Trickling tests use a read timeout of TIMEOUT (each step of the server comes well within it), so
#: the fetch's whole budget is 2 x TIMEOUT.
TIMEOUT = 1.0
GAVE_UP = "timed out (response not complete within 2 s)"
#: Seconds between header lines: http.client gives up after 100 header lines, so before the
#: deadline this kept a fetch waiting 20 s (and one line every few seconds, for minutes).
HEADER_EVERY = 0.2


def fetch_by(how: str, url: str, db: Path, timeout: float) -> str | None:
    """The error a fetch of ``url`` ends with: fetch() itself, or the feed's problem from a
    refresh or an import (which share fetch's path), each in a store of its own thread."""
    if how == "fetch":
        return fetching.fetch(url, timeout=timeout).error
    with Store.open(db) as own:
        if how == "refresh":
            own.add_feed(url)
            _, problems = subscriptions.refresh(own, timeout=timeout)
        else:
            _, problems = import_inputs(own, [("feed", url)], timeout=timeout)
        assert [p.input for p in problems] == [url]
        feed = own.get_feed(url)
        assert feed is not None and feed.last_error == problems[0].reason  # kept: it may work later
        return problems[0].reason


@pytest.mark.parametrize("how", ["fetch", "refresh", "import"])
def test_a_server_that_trickles_its_headers_is_given_up_on_at_the_deadline(
    server: FeedServer, tmp_path: Path, how: str
) -> None:
    # A header line every 0.2 s, for ever: no read ever waits the read timeout; only the whole
    # fetch's budget (connect, headers and body: 2 x TIMEOUT) ends it.
    url = server.add("/slow-headers.xml", trickle_headers=HEADER_EVERY)
    error = within(10, fetch_by, how, url, tmp_path / "reader.sqlite", TIMEOUT)
    assert error == GAVE_UP
    assert server.header_lines > 2  # the headers kept coming, each line within the read timeout
    assert server.headers_stopped.wait(10)  # and the connection was closed: the server saw it go


def test_one_budget_covers_every_redirect_on_the_way(server: FeedServer) -> None:
    # Each hop answers well within the read timeout: none times out, and the hops (0.3 s each) stop
    # at the budget (2 x TIMEOUT), before the redirect limit (10).
    url = server.add("/hop", status=302, headers={"Location": "/hop"}, delay=0.3)
    fetched = within(30, fetching.fetch, url, timeout=TIMEOUT)
    assert fetched.error == GAVE_UP and fetched.transient
    assert 2 <= len(server.hits("/hop")) < 10


def test_the_deadline_covers_a_trickling_body_too(server: FeedServer) -> None:
    url = server.add("/trickle.xml", trickle=True)
    fetched = within(10, fetching.fetch, url, timeout=TIMEOUT)
    assert fetched.error == GAVE_UP and fetched.transient and server.trickling.is_set()


def test_https_is_fetched_and_trickling_headers_over_tls_meet_the_same_deadline(
    tls: tuple[Any, Any, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from reader.http import Client

    server_side, client_side, _ = tls
    client = Client(ssl_context=client_side)
    monkeypatch.setattr(fetching, "default_client", lambda: client)
    tls_server = FeedServer(tls=server_side)
    try:
        url = tls_server.add("/feed.xml", rss(*items(3)))
        fetched = within(30, fetching.fetch, url, timeout=5.0)
        assert fetched.error is None and fetched.status == 200
        assert feedparse.parse(fetched.data, fetched.headers, url, 1).articles[2].title == "Entry 2"
        slow = tls_server.add("/slow-headers.xml", trickle_headers=HEADER_EVERY)
        fetched = within(10, fetching.fetch, slow, timeout=TIMEOUT)
        assert fetched.error == GAVE_UP
        assert tls_server.header_lines > 2 and tls_server.headers_stopped.wait(10)
    finally:
        client.close()
        tls_server.close()


@pytest.mark.parametrize("scheme", ["ftp", "file", "data"])
def test_a_redirect_to_another_scheme_is_refused_and_never_opened(
    server: FeedServer, store: Store, tmp_path: Path, scheme: str
) -> None:
    with redirect_target(scheme, tmp_path) as target:
        url = server.add("/moved.xml", status=302, headers={"Location": target})
        _, problems = within(30, import_inputs, store, [("feed", url)], timeout=1.0)
    reason = f"redirect to {target!r} refused: {scheme}: addresses are not followed (only http and https)"
    assert problems == [Problem(url, f"{reason} (not subscribed)")]
    assert str(problems[0]).startswith(f"{url}: ") and "\n" not in str(problems[0])
    assert store.feeds() == [] and store.count() == 0
    assert len(server.hits("/moved.xml")) == 1


def test_a_redirect_loop_is_one_line_on_the_command_line(server: FeedServer, tmp_path: Path) -> None:
    url = server.add("/loop", status=302, headers={"Location": "/loop"})
    done = subprocess.run(
        [sys.executable, "-m", "reader", "--db", str(tmp_path / "cli.sqlite"), "feeds", "add", url],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"reader: {url}: too many redirects (stopped after 10) (not subscribed)"]
    assert len(server.hits("/loop")) == 11  # the first request and ten redirects


@pytest.mark.parametrize("length", [True, False], ids=["content-length", "no-length"])
def test_an_oversize_response_is_refused(server: FeedServer, store: Store, length: bool) -> None:
    url = server.add("/big.xml", rss(*items(200)), length=length)
    result, problems = import_inputs(store, [("feed", url)], max_bytes=4096)
    assert result == AddResult()
    assert len(problems) == 1 and problems[0].reason.startswith("response too large")
    assert store.count() == 0


def test_a_gzip_bomb_is_refused_by_its_decompressed_size(server: FeedServer, store: Store) -> None:
    bomb = rss(item("x", content="<p>" + "A" * 2_000_000 + "</p>"))
    url = server.add("/bomb.xml", bomb, gzip=True)
    _, problems = import_inputs(store, [("feed", url)], max_bytes=100_000)
    assert len(problems) == 1 and "decompressed" in problems[0].reason


def test_gzip_responses_are_decoded(server: FeedServer, store: Store) -> None:
    url = server.add("/feed.xml", rss(*items(3)), gzip=True)
    result, problems = import_inputs(store, [("feed", url)])
    assert problems == [] and result.added == 3
    assert "gzip" in server.hits("/feed.xml")[0].headers["accept-encoding"]


def test_malformed_xml_is_one_clear_problem_and_other_feeds_still_import(server: FeedServer, store: Store) -> None:
    broken = server.add("/broken.xml", b'<?xml version="1.0"?>\n<rss version="2.0"><channel><<>>&&\x00</rss')
    good = server.add("/good.xml", rss(*items(2)))
    result, problems = import_inputs(store, [("feed", broken), ("feed", good)])
    assert result.added == 2
    assert [p.input for p in problems] == [broken]
    assert problems[0].reason.startswith(("malformed XML", "not a feed")) and "\n" not in problems[0].reason
    # Its first fetch showed it is no feed: reported, and not left behind as a subscription.
    assert problems[0].reason.endswith("(not subscribed)")
    assert store.get_feed(broken) is None and [f.url for f in store.feeds()] == [good]


def test_an_html_page_is_not_a_feed_and_the_problem_names_the_feed_it_links_to(
    server: FeedServer, store: Store
) -> None:
    page = (
        b"<!DOCTYPE html><html><head><title>Blog</title>"
        b'<link rel="alternate" type="application/rss+xml" title="RSS" href="/rss.xml"></head>'
        b"<body><p>Hello</p></body></html>"
    )
    url = server.add("/", page, content_type="text/html; charset=utf-8")
    result, problems = import_inputs(store, [("feed", url)])
    assert result == AddResult()
    assert problems == [
        Problem(url, f"an HTML page, not a feed (it names a feed: {server.url('/rss.xml')}) (not subscribed)")
    ]
    assert store.feeds() == []


def test_a_feed_without_entries_is_a_problem_on_import_but_not_on_refresh(server: FeedServer, store: Store) -> None:
    url = server.add("/empty.xml", rss(title="Quiet"))
    _, problems = import_inputs(store, [("feed", url)])
    assert problems == [Problem(url, "no entries")]
    assert only_feed(store).title == "Quiet"  # a feed all the same
    server.add("/empty.xml", rss(title="Quiet"))
    assert subscriptions.refresh(store) == (AddResult(), [])


def test_import_paths_reports_an_empty_feed_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.rss"
    path.write_bytes(rss(title="Nothing here"))
    report = import_paths(tmp_path / "reader.sqlite", [str(path)])
    assert report.problems == [Problem(str(path), "no entries")]


def test_changed_entries_update_their_articles_and_keep_read_and_star(server: FeedServer, store: Store) -> None:
    server.add(
        "/feed.xml",
        rss(item("a", "Old title", content="<p>Old body</p>"), item("b", "Bee", content="<p>B</p>")),
        etag='"1"',
    )
    import_inputs(store, [("feed", server.url("/feed.xml"))])
    a = next(x for x in articles(store) if x.title == "Old title")
    store.set_read([a.id])
    store.set_starred(a.id)
    server.add(
        "/feed.xml",
        rss(item("a", "New title", content="<p>New body</p>"), item("c", "Sea", content="<p>C</p>")),
        etag='"2"',
    )
    result, problems = subscriptions.refresh(store)
    assert problems == []
    assert result == AddResult(added=1, updated=1, unchanged=0)
    updated = store.get(a.id)
    assert updated is not None
    assert (updated.title, updated.body, updated.read, updated.starred) == ("New title", "New body", True, True)
    assert sorted(x.title for x in articles(store)) == ["Bee", "New title", "Sea"]  # "b" left the feed, not the store
    assert store.count(Query(search="new body")) == 1 and store.count(Query(search="old body")) == 0
    assert only_feed(store).etag == '"2"'


def test_html_is_sanitised_and_the_text_has_no_script(server: FeedServer, store: Store) -> None:
    dirty = (
        '<p onclick="steal()">Hello <a href="javascript:alert(1)">there</a>'
        '<script>alert("script text")</script><style>p { color: red }</style>'
        '<img src="pic.png" onerror="steal()"> <a href="https://ok.example/" onmouseover="x()">ok</a></p>'
        '<iframe src="https://evil.example/"></iframe><form action="/x"><input name="q"></form>'
        '<blockquote cite="javascript:alert(3)">quoted</blockquote>'
    )
    url = server.add("/feed.xml", rss(item("x", "Dirty", content=dirty)))
    import_inputs(store, [("feed", url)])
    (article,) = articles(store)
    html = article.body_html
    for bad in (
        "script",
        "onclick",
        "onerror",
        "onmouseover",
        "javascript:",
        "<style",
        "color: red",
        "<iframe",
        "<form",
    ):
        assert bad not in html, bad
    assert '<a href="https://ok.example/"' in html
    assert f'src="{server.url("/pic.png")}"' in html  # the relative image, resolved against the feed
    assert article.body == "Hello there ok\nquoted"
    assert "alert" not in article.body and "steal" not in article.body


IMAGE_FEED = rss(
    item(
        "thumb",
        "1",
        content='<p>x<img src="https://img.example/in-content-1.jpg"></p>',
        extra='<media:thumbnail url="https://img.example/thumb.jpg"/>'
        '<media:content url="https://img.example/media.jpg" medium="image"/>'
        '<enclosure url="https://img.example/enclosure.jpg" type="image/jpeg" length="1"/>',
    ),
    item(
        "media",
        "2",
        content='<p>x<img src="https://img.example/in-content-2.jpg"></p>',
        extra='<media:content url="https://img.example/video.mp4" type="video/mp4"/>'
        '<media:content url="https://img.example/media2.png" type="image/png"/>'
        '<enclosure url="https://img.example/enclosure2.jpg" type="image/jpeg" length="1"/>',
    ),
    item(
        "enclosure",
        "3",
        content='<p>x<img src="https://img.example/in-content-3.jpg"></p>',
        extra='<media:content url="https://img.example/video.mp4" type="video/mp4"/>'
        '<enclosure url="https://img.example/enclosure3.jpg" type="image/jpeg" length="1"/>',
    ),
    item(
        "content",
        "4",
        content='<p>x<img src="/relative/in-content-4.jpg"></p>',
        extra='<enclosure url="https://audio.example/show.mp3" type="audio/mpeg" length="1"/>',
    ),
    item("none", "5", content="<p>No picture</p>"),
    item("bad", "6", content='<p>x<img src="javascript:alert(1)"></p>'),
)


def test_image_order_thumbnail_then_media_content_then_enclosure_then_first_img(
    server: FeedServer, store: Store
) -> None:
    url = server.add("/images.xml", IMAGE_FEED)
    import_inputs(store, [("feed", url)])
    images = {a.title: a.image_url for a in articles(store)}
    assert images == {
        "1": "https://img.example/thumb.jpg",
        "2": "https://img.example/media2.png",
        "3": "https://img.example/enclosure3.jpg",
        "4": server.url("/relative/in-content-4.jpg"),
        "5": None,
        "6": None,
    }


def test_relative_urls_resolve_against_xml_base_or_the_feed_address(server: FeedServer, store: Store) -> None:
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example/root/">
  <title type="html">Atom &lt;b&gt;blog&lt;/b&gt;</title>
  <id>urn:feed</id><updated>2024-01-02T03:04:05Z</updated>
  <entry xml:base="https://blog.example/2024/">
    <id>urn:1</id><title>With base</title><updated>2024-01-02T03:04:05+02:00</updated>
    <link rel="alternate" href="post.html"/>
    <content type="html">&lt;p&gt;&lt;a href="more.html"&gt;more&lt;/a&gt;
      &lt;img src="/img/a.png"&gt;&lt;/p&gt;</content>
  </entry>
  <entry>
    <id>urn:2</id><title>Inherits the feed's base</title><updated>2024-01-01T00:00:00Z</updated>
    <link rel="alternate" href="other.html"/>
    <summary>Plain &amp; simple</summary>
  </entry>
</feed>"""
    url = server.add("/atom.xml", atom, content_type="application/atom+xml")
    import_inputs(store, [("feed", url)])
    by_title = {a.title: a for a in articles(store)}
    first = by_title["With base"]
    assert first.url == "https://blog.example/2024/post.html"
    assert 'href="https://blog.example/2024/more.html"' in first.body_html
    assert first.image_url == "https://blog.example/img/a.png"
    assert first.published == datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC)
    second = by_title["Inherits the feed's base"]
    assert second.url == "https://blog.example/root/other.html"
    assert second.body == "Plain & simple"
    assert only_feed(store).title == "Atom blog"  # an HTML title, as text


def test_relative_links_in_rss_resolve_against_the_feed_address(server: FeedServer, store: Store) -> None:
    url = server.add("/news/feed.xml", rss(item("r", "Rel", link="story.html", content='<a href="../up.html">u</a>')))
    import_inputs(store, [("feed", url)])
    (article,) = articles(store)
    assert article.url == server.url("/news/story.html")
    assert article.description is None  # no summary of its own: none is made up
    assert f'href="{server.url("/up.html")}"' in article.body_html


def test_fetches_run_at_once_but_at_most_a_few_per_host(
    server: FeedServer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    cap = rhttp.MAX_CONNECTIONS_PER_HOST
    over = threading.Event()
    reached = threading.Event()
    urls = [server.add(f"/f{i}.xml", rss(*items(1, prefix=f"f{i}-")), gated=True) for i in range(2 * cap + 2)]

    def watch() -> None:
        with server.lock:
            while not server.gate.is_set():
                if server.active >= cap:
                    reached.set()
                if server.active > cap:
                    over.set()
                server.active_changed.wait()

    watcher = threading.Thread(target=watch)
    watcher.start()
    done: list[Any] = []

    def run() -> None:
        with Store.open(store.path) as own:  # a store connection per thread
            done.append(import_inputs(own, list_of(urls)))

    worker = threading.Thread(target=run)
    try:
        worker.start()
        assert reached.wait(10), "feeds were not fetched concurrently"
        # With the cap missing, the other requests would be in flight within microseconds.
        assert not over.wait(0.5)
    finally:
        with server.lock:
            server.gate.set()
            server.active_changed.notify_all()
        watcher.join()
        worker.join()
    assert server.max_active == cap
    result, problems = done[0]
    assert problems == [] and result.added == len(urls)


def test_progress_counts_each_feed_and_cancel_stops_early(server: FeedServer, store: Store) -> None:
    urls = [server.add(f"/p{i}.xml", rss(*items(2, prefix=f"p{i}-"))) for i in range(3)]
    ticks: list[tuple[int, int]] = []
    result, problems = import_inputs(store, list_of(urls), progress=lambda done, total: ticks.append((done, total)))
    assert ticks == [(1, 3), (2, 3), (3, 3)] and problems == [] and result.added == 6

    cancel = threading.Event()
    cancel.set()
    other = Store.open(store.path.with_name("other.sqlite"))
    try:
        result, problems = import_inputs(other, list_of(urls), cancel=cancel)
        assert result == AddResult() and problems == []
        assert other.count() == 0
    finally:
        other.close()


def test_remove_feed_keeps_starred_articles(server: FeedServer, store: Store) -> None:
    url = server.add("/feed.xml", rss(*items(3)))
    import_inputs(store, [("feed", url)])
    keep = articles(store)[1]
    store.set_starred(keep.id)
    assert store.remove_feed(url)
    assert store.feeds() == []
    remaining = articles(store)
    assert [a.id for a in remaining] == [keep.id] and remaining[0].starred
    # The removed articles left the full-text index too (it keeps no text of its own to look at):
    # FTS5's check compares it with the stored articles, and a search finds only the kept one.
    store._conn.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)")
    assert [r.id for r in store.page(Query(search="body")).rows] == [keep.id]


# --- local files ----------------------------------------------------------------------------------


def test_local_files_and_file_urls_are_feeds_and_unchanged_files_are_not_reread(
    tmp_path: Path, store: Store, parse_calls: list[str]
) -> None:
    path = tmp_path / "local.xml"
    path.write_bytes(rss(*items(2)))
    result, problems = import_inputs(store, [("feed", str(path))])
    assert problems == [] and result.added == 2
    assert only_feed(store).url == path.resolve().as_uri()
    assert subscriptions.refresh(store) == (AddResult(), [])
    assert len(parse_calls) == 1  # same modification time: not read again
    path.write_bytes(rss(*items(3)))  # within the same second, as scripts do
    result, _ = subscriptions.refresh(store)
    assert result.added == 1 and len(parse_calls) == 2

    _, problems = import_inputs(store, [("feed", path.resolve().as_uri())])
    assert problems == [] and len(store.feeds()) == 1  # a file: URL is the same subscription


def test_a_missing_local_file_is_a_problem_and_not_a_subscription(tmp_path: Path, store: Store) -> None:
    missing = str(tmp_path / "nope.xml")
    _, problems = import_inputs(store, [("feed", missing)])
    assert problems == [Problem(missing, "no such file")] and store.feeds() == []


def test_fetch_refuses_other_schemes() -> None:
    fetched = fetching.fetch("ftp://example.org/feed.xml")
    assert fetched.status == 0 and fetched.error is not None and "ftp" in fetched.error


# --- big documents are split and parsed in parallel -----------------------------------------------


def test_a_big_document_is_parsed_in_pieces_with_the_same_result(
    server: FeedServer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = rss(*items(40))
    pieces = feedparse.split_document(document, 4)
    assert pieces is not None and len(pieces) == 4
    whole = feedparse.parse(document, {}, "https://x.example/f.xml", 7)
    split = [a for p in pieces for a in feedparse.parse(p, {}, "https://x.example/f.xml", 7).articles]
    assert [a.key for a in split] == [a.key for a in whole.articles]
    assert [a.body for a in split] == [a.body for a in whole.articles]

    # Through import: pieces of ~1 KB, some parsed here while the workers start, the rest by them.
    monkeypatch.setattr(feed_pipeline, "SPLIT_BYTES", 1000)
    monkeypatch.setattr(feed_pipeline, "WORKERS_FOR_BYTES", 1000)
    cuts: list[int] = []
    real_split = feedparse.split_document

    def recording_split(data: bytes, parts: int) -> list[bytes] | None:
        result = real_split(data, parts)
        cuts.append(len(result or ()))
        return result

    monkeypatch.setattr(feed_pipeline, "split_document", recording_split)
    url = server.add("/big.xml", document)
    ticks: list[tuple[int, int]] = []
    result, problems = import_inputs(store, [("feed", url)], progress=lambda done, total: ticks.append((done, total)))
    assert cuts and cuts[0] > 4
    assert problems == [] and result.added == 40 and ticks == [(1, 1)]
    assert only_feed(store).title == "Test feed"
    assert sorted(a.key for a in articles(store)) == sorted(f"feed:{only_feed(store).id}:e{i}" for i in range(40))


def test_the_parse_workers_pack_the_text_and_the_store_keeps_it_as_they_packed_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Relative links: the sanitised HTML differs from the raw entry, so all three texts differ.
    entries = [
        item(
            f"e{i}",
            f"Entry {i}",
            link=f"https://site.example/e{i}",
            content=f'<p>Body {i} <a href="/m/{i}">more</a></p>',
        )
        for i in range(40)
    ]
    document = rss(*entries)
    url = "https://site.example/feed.xml"
    monkeypatch.setattr(feed_pipeline, "SPLIT_BYTES", 1000)
    parsing = feed_pipeline._Parsing(expected_feeds=feed_pipeline.POOL_MIN_FEEDS)  # workers start at once
    pieces: list[feedparse.ParsedFeed] = []
    done = threading.Event()

    def deliver(piece: feedparse.ParsedFeed, final: bool) -> None:
        pieces.append(piece)
        if final:
            done.set()

    try:
        assert parsing._starter is not None
        parsing._starter.join(60)  # ready: every piece goes to a worker
        parsing.parse(fetching.FetchResult(url, 200, document, {"content-type": "application/xml"}), 7, deliver)
        assert done.wait(60)
    finally:
        parsing.close()
    assert len(pieces) > 4
    parsed = [a for p in pieces for a in p.articles]
    packed = [texts for p in pieces for texts in p.packed or ()]
    assert len(packed) == len(parsed) == 40
    assert packed == [textpack.pack_article(a.body, a.body_html, a.raw) for a in parsed]

    # The storing process packs nothing the workers packed, and stores the same text.
    def no_packing_here(*args: object) -> None:
        raise AssertionError("packed again in the storing process")

    monkeypatch.setattr(textpack, "pack_article", no_packing_here)
    feed = store.add_feed(url)
    keyed = [a._replace(feed_id=feed.id, key=a.key.replace(":7:", f":{feed.id}:")) for a in parsed]
    assert store.add_articles(prepare_articles(keyed, packed)).added == 40
    whole = feedparse.parse(document, {}, url, feed.id).articles
    stored = {a.key: a for a in articles(store)}
    assert [(stored[a.key].body, stored[a.key].body_html, stored[a.key].raw) for a in whole] == [
        (a.body, a.body_html, a.raw) for a in whole
    ]
    assert all("https://site.example/m/" in a.body_html for a in whole)


def test_an_article_pickles_as_its_constructor_arguments_and_comes_back_the_same() -> None:
    # The parse workers send back thousands of articles a feed: as constructor arguments, not
    # per-field state (a dataclass's state functions were twice as slow each way).
    (article,) = feedparse.parse(rss(*items(1)), {}, "https://x.example/f.xml", 7).articles
    arguments = tuple(getattr(article, f) for f in article._fields)
    assert article.__reduce__() == (type(article), arguments)
    assert pickle.loads(pickle.dumps(article, pickle.HIGHEST_PROTOCOL)) == article


def test_the_last_piece_of_a_split_feed_is_always_handed_over_last() -> None:
    # Pieces finish on different threads. If the last one overtook an earlier one on its way to
    # the store loop, the loop (counting finished feeds) would stop before storing the earlier one.
    handed: list[bool] = []
    first_inside, first_may_go = threading.Event(), threading.Event()

    def deliver(piece: feedparse.ParsedFeed, final: bool) -> None:
        if not final:
            first_inside.set()
            first_may_go.wait(10)  # a slow hand-over of the first piece
        handed.append(final)

    task = feed_pipeline._Task({}, "https://x.example/f.xml", 1, deliver, pieces=2)
    piece = feedparse.ParsedFeed("T", None, [])
    first = threading.Thread(target=task.done, args=(piece,))
    first.start()
    assert first_inside.wait(10)
    last = threading.Thread(target=task.done, args=(piece,))
    last.start()
    last.join(0.2)  # room to overtake, had it been able to
    first_may_go.set()
    first.join(10)
    last.join(10)
    assert handed == [False, True]


def test_the_parse_workers_load_the_parsing_module_and_not_the_rest() -> None:
    parsing = feed_pipeline._Parsing(expected_feeds=feed_pipeline.POOL_MIN_FEEDS)  # enough feeds: workers start at once
    try:
        assert parsing._starter is not None
        parsing._starter.join(60)
        assert parsing._pool is not None
        loaded = set(parsing._pool.submit(eval, "sorted(__import__('sys').modules)").result(60))
    finally:
        parsing.close()
    assert "reader.feedparse" in loaded and "feedparser" in loaded
    assert not loaded & {"reader.feeds", "reader.store", "reader.cli", "reader.importer", "sqlite3"}


# --- the parse workers die with the import that started them ---------------------------------------


def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of a process from /proc, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1]), int(fields[19])


def _descendants(pids: set[int]) -> set[int]:
    """Every live process below ``pids`` (children, theirs, ...), from /proc."""
    parents: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (stat := _proc_stat(int(name))) is not None:
            parents.setdefault(stat[1], []).append(int(name))
    found: set[int] = set()
    todo = list(pids)
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(processes: dict[int, int]) -> dict[int, int]:
    """Those of ``processes`` (pid: start time) still running (a zombie has exited: no parent reaps it)."""
    alive = {}
    for pid, started in processes.items():
        stat = _proc_stat(pid)
        if stat is not None and stat[2] == started and stat[0] not in "ZX":
            alive[pid] = started
    return alive


def _wait_until_gone(processes: dict[int, int], seconds: float) -> dict[int, int]:
    """Wait (pidfds: woken by each exit) until ``processes`` and everything they start have
    exited, or ``seconds`` have passed; returns those still running."""
    end = time.monotonic() + seconds
    while True:
        for pid in _descendants(set(processes)):  # a worker started at the last moment counts too
            if pid not in processes and (stat := _proc_stat(pid)) is not None:
                processes[pid] = stat[2]
        alive = _alive(processes)
        left = end - time.monotonic()
        if not alive or left <= 0:
            return alive
        fds = []
        try:
            for pid in alive:
                with contextlib.suppress(ProcessLookupError):
                    fds.append(os.pidfd_open(pid))
            if fds:
                select.select(fds, [], [], min(left, 0.5))  # (0.5 s: to look again for new ones)
        finally:
            for fd in fds:
                os.close(fd)


@pytest.mark.skipif(not hasattr(os, "pidfd_open") or not os.path.isdir("/proc/self"), reason="Linux: /proc, pidfd")
def test_the_parse_workers_die_with_an_import_killed_with_sigkill(server: FeedServer, tmp_path: Path) -> None:
    # Enough feeds that the workers start at once; one of them never answers, so the import is
    # still at work when it is killed.
    urls = [server.add(f"/f{i}.xml", rss(*items(2, prefix=f"f{i}-"))) for i in range(feed_pipeline.POOL_MIN_FEEDS)]
    urls.append(server.add("/held.xml", stall=True))
    log = tmp_path / "import.log"
    with open(log, "wb") as out:
        importing = subprocess.Popen(
            [sys.executable, "-m", "reader", "--db", str(tmp_path / "db.sqlite"), "import", *urls],
            cwd=Path(__file__).resolve().parent.parent,
            stdout=out,
            stderr=out,
        )
    processes: dict[int, int] = {}
    try:
        end = time.monotonic() + 60
        workers: set[int] = set()
        while not (workers and server.stalled.is_set()):
            assert importing.poll() is None, log.read_text()
            assert time.monotonic() < end, f"no parse workers came up: {log.read_text()}"
            children = _descendants({importing.pid})
            workers = _descendants(children)  # the fork server's children
            threading.Event().wait(0.05)
        for pid in _descendants({importing.pid}):  # fork server, resource tracker, workers
            if (stat := _proc_stat(pid)) is not None:
                processes[pid] = stat[2]
        assert len(processes) >= 3
        importing.kill()
        assert importing.wait(30) == -signal.SIGKILL
        left = _wait_until_gone(processes, 20)
        assert not left, f"still running 20 s after the import was killed: {sorted(left)}"
    finally:
        if importing.poll() is None:
            importing.kill()
            importing.wait(30)
        for pid in _alive(processes):  # what this test started and left behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_parsing_uses_the_cores_there_are() -> None:
    # One worker per core but the storing one's, at least two, at most eight.
    assert [feed_pipeline.parse_processes(n) for n in (1, 2, 3, 4, 8, 16, 64)] == [2, 2, 2, 3, 7, 8, 8]


#: Prints the parse pool's size on a machine that says it has 64 CPUs, in a process that may run
#: on the CPUs ``argv[1]`` lists only (what taskset and a container's CPU limit do), or on all 64.
AFFINITY_CHILD = """
import os, sys
if sys.argv[1] == "all":
    os.sched_getaffinity = lambda pid: set(range(64))
    os.process_cpu_count = lambda: 64  # (Python 3.13: the CPUs this process may use)
else:
    os.sched_setaffinity(0, {int(c) for c in sys.argv[1].split(",")})
os.cpu_count = lambda: 64  # the machine's count, not the CPUs this process may use
from reader import feed_pipeline
print(feed_pipeline.PARSE_PROCESSES)
"""


def parse_pool_size(cpus: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", AFFINITY_CHILD, cpus],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux's")
def test_the_parse_pool_is_sized_to_the_cpus_the_process_may_use() -> None:
    assert parse_pool_size("all") == 8
    available = sorted(os.sched_getaffinity(0))
    for cores, expected in {1: 2, 4: 3, 9: 8}.items():  # cores allowed -> parsing processes
        if cores <= len(available):
            assert parse_pool_size(",".join(map(str, available[:cores]))) == expected, f"{cores} of 64 CPUs allowed"


def test_split_document_declines_what_it_cannot_cut_safely() -> None:
    assert feedparse.split_document(rss(*items(40)).decode().encode("utf-16"), 4) is None
    assert feedparse.split_document(rss(*items(40))[:-20], 4) is None  # ill-formed
    assert feedparse.split_document(rss(*items(3)), 4) is None  # too few entries to be worth it
    # Asked for more pieces than it has pairs of entries: as many as it can (many cores, few entries).
    pieces = feedparse.split_document(rss(*items(20)), 16)
    assert pieces is not None and len(pieces) == 10


class RecordingQueue:
    """Stands in for the outcomes queue: hands out what it holds, and records each wait asked for."""

    def __init__(self, *outcomes: Any) -> None:
        self.items = list(outcomes)
        self.waits: list[float] = []

    def get(self, timeout: float) -> Any:
        self.waits.append(timeout)
        return self.get_nowait()

    def get_nowait(self) -> Any:
        if not self.items:
            raise feed_pipeline.queue.Empty
        return self.items.pop(0)


def outcome(articles: int, final: bool = True) -> Any:
    return SimpleNamespace(parsed=SimpleNamespace(articles=[None] * articles), final=final)


def test_parsed_feeds_are_stored_together_until_a_batch_is_worth_a_transaction() -> None:
    few, arrived = outcome(50), [outcome(50) for _ in range(3)]
    waiting = RecordingQueue(*arrived)
    batch = [few]
    feed_pipeline._gather(batch, waiting, remaining=10, deadline=feed_pipeline.time.monotonic() + 60)  # type: ignore[arg-type]
    # Below BATCH_ARTICLES it waits for what comes next (up to the deadline), and takes it.
    assert batch == [few, *arrived] and len(waiting.waits) == 4 and 0 < waiting.waits[0] <= 60


def test_an_import_of_several_small_feeds_is_one_write_transaction(
    server: FeedServer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = [server.add(f"/t{i}.xml", rss(*items(3, prefix=f"t{i}-"))) for i in range(4)]
    writes: list[int] = []
    real = Store.add_articles

    def counting(self: Store, articles: Any, **kwargs: Any) -> AddResult:
        articles = articles if isinstance(articles, PreparedArticles) else prepare_articles(articles)
        writes.append(len(articles.rows))
        return real(self, articles, **kwargs)

    monkeypatch.setattr(Store, "add_articles", counting)
    monkeypatch.setattr(feed_pipeline, "BATCH_WAIT", 60.0)  # never reached: the batch is done when the last feed is in
    result, problems = import_inputs(store, [("feed", u) for u in urls])
    assert problems == [] and result.added == 12
    assert writes == [12]  # the four feeds arrive one by one (parsed here), stored together


def test_a_batch_that_is_big_enough_or_completes_the_work_does_not_wait() -> None:
    big, more = outcome(feed_pipeline.BATCH_ARTICLES), outcome(5)
    waiting = RecordingQueue(more)
    batch = [big]
    feed_pipeline._gather(batch, waiting, remaining=10, deadline=feed_pipeline.time.monotonic() + 60)  # type: ignore[arg-type]
    assert batch == [big, more] and waiting.waits == []  # what had arrived is taken, nothing waited for

    last = outcome(3)
    waiting = RecordingQueue()
    batch = [outcome(2, final=False), last]
    feed_pipeline._gather(batch, waiting, remaining=1, deadline=feed_pipeline.time.monotonic() + 60)  # type: ignore[arg-type]
    assert waiting.waits == []  # the last feed is in: store it now

    waiting = RecordingQueue()
    batch = [outcome(3)]
    feed_pipeline._gather(batch, waiting, remaining=5, deadline=feed_pipeline.time.monotonic() - 1)  # type: ignore[arg-type]
    assert waiting.waits == []  # past the deadline: store what there is

    # Fallen behind, with many waiting: a transaction still holds about MAX_BATCH_ARTICLES, no more.
    backlog = [outcome(300) for _ in range(10)]
    waiting = RecordingQueue(*backlog[1:])
    batch = [backlog[0]]
    feed_pipeline._gather(batch, waiting, remaining=10, deadline=feed_pipeline.time.monotonic() + 60)  # type: ignore[arg-type]
    assert len(batch) == 4 and len(waiting.items) == 6  # 1,200 articles: the one that crossed 1,024 is in


# --- OPML -----------------------------------------------------------------------------------------


def test_opml_round_trip_gives_an_empty_store_the_same_subscriptions(
    server: FeedServer, store: Store, tmp_path: Path
) -> None:
    urls = [server.add(f"/o{i}.xml", rss(*items(2, prefix=f"o{i}-"), title=f"Feed & {i}")) for i in range(3)]
    import_inputs(store, list_of(urls))
    data = subscriptions.export_opml(store)
    assert b'<opml version="2.0">' in data
    assert {(f.xml_url, f.title) for f in read_opml(data)} == {(u, f"Feed & {i}") for i, u in enumerate(urls)}

    path = tmp_path / "subscriptions.opml"
    path.write_bytes(data)
    fresh = Store.open(tmp_path / "fresh.sqlite")
    try:
        ticks: list[tuple[int, int]] = []
        result, problems = import_inputs(fresh, [("opml", str(path))], progress=lambda d, t: ticks.append((d, t)))
        assert problems == [] and result.added == 6 and ticks == [(1, 3), (2, 3), (3, 3)]

        def subscribed(s: Store) -> set[tuple[str, str | None, str | None]]:
            return {(f.url, f.title, f.site_url) for f in s.feeds()}

        assert subscribed(fresh) == subscribed(store)
    finally:
        fresh.close()


def test_importing_an_opml_file_through_the_importer(server: FeedServer, tmp_path: Path) -> None:
    urls = [server.add(f"/i{i}.xml", rss(*items(2, prefix=f"i{i}-"))) for i in range(2)]
    opml = tmp_path / "list.opml"
    opml.write_bytes(write_opml([OpmlFeed(f"Feed {i}", u) for i, u in enumerate(urls)]))
    report = import_paths(tmp_path / "reader.sqlite", [str(opml)])
    assert report.problems == [] and report.result.added == 4


def test_read_opml_handles_nested_categories_case_and_duplicates() -> None:
    data = b"""<?xml version="1.0"?>
<opml version="1.0"><head><title>x</title></head><body>
  <outline text="News">
    <outline text="Science" title="Science">
      <outline type="rss" text="Nature" xmlUrl="https://nature.example/rss" htmlUrl="https://nature.example/"/>
    </outline>
    <outline type="rss" text="Daily" xmlurl="https://daily.example/feed"/>
  </outline>
  <outline type="rss" title="Nature again" xmlUrl="https://nature.example/rss"/>
  <outline text="Not a feed"/>
</body></opml>"""
    assert read_opml(data) == [
        OpmlFeed("Nature", "https://nature.example/rss", "https://nature.example/", ("News", "Science")),
        OpmlFeed("Daily", "https://daily.example/feed", None, ("News",)),
    ]


def test_read_opml_salvages_outlines_from_ill_formed_xml_and_rejects_other_xml() -> None:
    sloppy = b'<opml><body><outline text="A & B" xmlUrl="https://ab.example/feed?a=1&amp;b=2"/></body></opml>'
    assert read_opml(sloppy) == [OpmlFeed("A & B", "https://ab.example/feed?a=1&b=2")]
    with pytest.raises(opml.OpmlError, match="not an OPML file"):
        read_opml(rss(*items(1)))
    with pytest.raises(opml.OpmlError, match="not well-formed"):
        read_opml(b"<opml><body>")


def test_an_opml_problem_is_reported_and_the_other_inputs_still_import(
    server: FeedServer, store: Store, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.opml"
    bad.write_bytes(b"not xml at all")
    empty = tmp_path / "empty.opml"
    empty.write_bytes(b'<opml version="2.0"><body><outline text="folder"/></body></opml>')
    url = server.add("/ok.xml", rss(*items(1)))
    result, problems = import_inputs(
        store, [("opml", str(bad)), ("opml", str(empty)), ("opml", str(tmp_path / "missing.opml")), ("feed", url)]
    )
    assert result.added == 1
    reasons = {p.input: p.reason for p in problems}
    assert reasons[str(bad)].startswith("not well-formed XML")
    assert reasons[str(empty)] == "an OPML file that lists no feeds"
    assert reasons[str(tmp_path / "missing.opml")].startswith("cannot read")


# --- parse() on its own --------------------------------------------------------------------------


def test_parse_is_separate_from_fetching_and_uses_the_response_headers() -> None:
    latin = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Caf\xe9</title>'
        "<item><guid>1</guid><title>Cr\xe8me</title></item></channel></rss>"
    ).encode("latin-1")
    parsed = feedparse.parse(latin, {"Content-Type": "application/xml; charset=iso-8859-1"}, "https://x.example/f", 3)
    assert parsed.title == "Café" and parsed.problem is None
    (article,) = parsed.articles
    assert (article.title, article.key, article.feed_id, article.source) == ("Crème", "feed:3:1", 3, "Café")


def test_an_untitled_feed_is_named_after_its_host() -> None:
    parsed = feedparse.parse(rss(item("1", "T"), title=""), {}, "https://www.news.example/feed", 1)
    assert parsed.articles[0].source == "news.example"


def test_feed_url_makes_local_paths_absolute_file_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert addresses.feed_url("feed.xml") == (tmp_path / "feed.xml").resolve().as_uri()
    assert addresses.feed_url(" https://x.example/rss ") == "https://x.example/rss"


def test_the_feedparser_speed_ups_change_nothing_it_returns() -> None:
    # In a fresh interpreter: the adjustments are process-wide once made. The copied sample of
    # feedparser's corpus, and the whole corpus when it is there (2,100 files, under a second).
    sample, full = FEEDPARSER_SAMPLE, FEEDPARSER_CORPUS
    code = f"""
import io, pathlib, sys
import feedparser
from reader import feedparse
feedparse._keep_entry_ids()
files = sorted(pathlib.Path({str(sample)!r}).rglob("*.xml")) + sorted(pathlib.Path({str(full)!r}).rglob("*.xml"))
documents = [f.read_bytes() for f in files] + [{rss(*items(5))!r}]
def run():
    out = []
    # Bases as a server may give them: a usual one, and one urljoin cannot read.
    for base in ("https://x.example/a/f.xml", "http://[x/f.xml"):
        for data in documents:
            d = feedparser.parse(io.BytesIO(data), response_headers={{"content-location": base}},
                                 sanitize_html=False, resolve_relative_uris=False)
            out.append(repr((d.get("bozo"), repr(d.get("bozo_exception")), d.get("encoding"), d.get("version"),
                             d.get("namespaces"), d.get("feed"), d.get("entries"))))
    return out
before = run()
feedparse._speed_up_feedparser()
after = run()
sys.exit(0 if before == after and len(before) > 40 else 1)
"""
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@settings(max_examples=2000, deadline=None)
@given(
    st.sampled_from(["http://", "https://", "HTTP://", "http:///", "https:"]),
    # Mostly URL characters (repeated: drawn more often), some that urljoin changes or drops.
    st.text(alphabet=list("aZ09.-_~%!$&'()*+,=:@/?#é" * 6 + ";[]\\ \t\n\x00\x7f"), max_size=30),
    st.sampled_from(["", "http://base.example/a/b.xml", "https://base.example/", "file:///tmp/feed.xml", "http://[x/"]),
)
def test_links_taken_as_they_are_are_what_urljoin_gives(scheme: str, rest: str, base: str) -> None:
    # The fast path for links must never give another result than feedparser's own resolution.
    from feedparser.urls import _urljoin

    url = scheme + rest
    if feedparse._PLAIN_ABSOLUTE_URL.match(url) and feedparse._parses(base):
        assert _urljoin(base, url) == url
    if not feedparse._parses(base):
        assert _urljoin(base, url) == ""  # why such a base never takes the fast path


def test_parsing_does_not_look_for_a_parser_that_is_not_there(monkeypatch: pytest.MonkeyPatch) -> None:
    looked_for: list[str] = []

    class Recorder:
        @staticmethod
        def find_spec(name: str, path: Any = None, target: Any = None) -> None:
            looked_for.append(name)

    monkeypatch.setattr(sys, "meta_path", [Recorder(), *sys.meta_path])
    assert feedparse.parse(rss(*items(2)), {}, "https://x.example/f.xml", 1).articles
    assert feedparse.parse(rss(*items(2)), {}, "https://x.example/f.xml", 1).articles
    assert "drv_libxml2" not in looked_for


def test_the_adjustments_are_in_place_and_text_comes_in_one_piece() -> None:
    # In a fresh interpreter: what parse() installs, and expat's buffered text at work.
    code = """
import sys
import feedparser
from feedparser import api, mixin
from feedparser.parsers import strict
from reader import feedparse
calls = []
real = strict._StrictFeedParser.characters
strict._StrictFeedParser.characters = lambda self, text: (calls.append(text), real(self, text))[1]
lines = "\\n".join(f"line {n} of the text" for n in range(200))
item = f"<item><title>A</title><description>{lines}</description></item>"
doc = f"<rss version='2.0'><channel><title>T</title>{item}</channel></rss>"
parsed = feedparse.parse(doc.encode(), {}, "https://x.example/f.xml", 1)
assert "line 0 of the text" in parsed.articles[0].body and "line 199 of the text" in parsed.articles[0].body
assert api.PREFERRED_XML_PARSERS == ["reader.feedparse"], api.PREFERRED_XML_PARSERS
assert isinstance(mixin._cp1252, list)
assert mixin._FeedParserMixin.resolve_uri.__name__ == "resolve_plain_absolute_as_is"
assert len(calls) < 10, len(calls)  # one piece per run of text, not one per line
"""
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_windows_1252_table_as_a_list_maps_every_character_the_same() -> None:
    # In a fresh interpreter, where feedparser's own table (a dict) is still in place.
    code = """
import sys
from feedparser import mixin
from reader import feedparse
original = mixin._cp1252
assert isinstance(original, dict) and len(original) > 20
every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
sys.exit(0 if every.translate(feedparse.cp1252_as_list(original)) == every.translate(original) else 1)
"""
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- the commands that use these functions ---------------------------------------------------------


def test_feed_commands_add_list_refresh_export_and_remove(
    server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reader.cli import main

    db = str(tmp_path / "cli.sqlite")
    url = server.add("/feed.xml", rss(*items(2), title="CLI feed"), etag='"e"')
    local = tmp_path / "local.rss"
    local.write_bytes(rss(*items(1, prefix="l")))
    empty = tmp_path / "empty.rss"
    empty.write_bytes(rss(title="Empty"))

    assert main(["--db", db, "feeds", "add", url, str(local)]) == 0
    assert main(["--db", db, "import", str(empty)]) == 1  # subscribed, but it holds no entries
    assert f"{empty}: no entries" in capsys.readouterr().err
    assert main(["--db", db, "feeds", "list"]) == 0
    listing = capsys.readouterr().out
    assert "CLI feed" in listing and url in listing and "2 articles" in listing
    assert main(["--db", db, "list", "--json", "--source", "CLI feed"]) == 0  # a feed's title is its source
    assert len(json.loads(capsys.readouterr().out)) == 2
    assert main(["--db", db, "refresh"]) == 0
    assert server.hits("/feed.xml")[-1].status == 304
    capsys.readouterr()
    assert main(["--db", db, "opml", "export"]) == 0
    exported = {f.xml_url for f in read_opml(capsys.readouterr().out.encode())}
    assert exported == {url, local.resolve().as_uri(), empty.resolve().as_uri()}
    assert main(["--db", db, "feeds", "remove", str(local), url]) == 0  # a path names its file: URL
    with Store.open(db) as store:
        assert [f.url for f in store.feeds()] == [empty.resolve().as_uri()]


def test_first_image_reads_attributes_not_text_that_looks_like_them() -> None:
    from reader import sanitize

    tricky = sanitize.clean_html('<p>x</p><img alt=" src=" src="http://good/a.png?x=1&amp;y=2"><img src="http://b/">')
    assert sanitize.first_image(tricky) == "http://good/a.png?x=1&y=2"
    assert sanitize.first_image(
        sanitize.clean_html('<img alt="no src"><img title="a>b" src="/c.png">', "https://s.example/")
    ) == ("https://s.example/c.png")
    assert sanitize.first_image(sanitize.clean_html("<p>no image</p>")) is None
    # Through parse(): the image of an entry whose only picture has such an alt text.
    parsed = feedparse.parse(
        rss(item("1", content='<img alt=" src=" src="http://good/a.png">')), {}, "https://x.example/f", 1
    )
    assert parsed.articles[0].image_url == "http://good/a.png"


def test_feedparser_is_pinned_to_the_series_the_patches_fit() -> None:
    import tomllib

    import feedparser
    from feedparser import mixin, util

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    (pin,) = [d for d in pyproject["project"]["dependencies"] if d.startswith("feedparser")]
    assert pin.replace(" ", "") == "feedparser>=6.0.11,<6.1"
    assert feedparser.__version__.startswith("6.0.")
    # What feedparse._speed_up_feedparser and feedparse._keep_entry_ids reach into.
    for name in ("_urljoin", "make_safe_absolute_uri", "copy", "_FeedParserMixin"):
        assert hasattr(mixin, name), name
    assert isinstance(util.FeedParserDict.keymap, dict) and "can_be_relative_uri" in vars(mixin._FeedParserMixin)
    assert not hasattr(feedparse, "_get")  # one bypass (the patched FeedParserDict.get), not two


def test_a_deeply_nested_opml_file_is_read_without_recursion(tmp_path: Path, store: Store) -> None:
    depth = 3000
    data = (
        b'<opml version="2.0"><body>'
        + b'<outline text="f">' * depth
        + b'<outline text="Deep" xmlUrl="https://deep.example/feed"/>'
        + b"</outline>" * depth
        + b'<outline text="Shallow" xmlUrl="https://shallow.example/feed"/></body></opml>'
    )
    listed = read_opml(data)
    assert [f.xml_url for f in listed] == ["https://deep.example/feed", "https://shallow.example/feed"]
    assert len(listed[0].categories) == depth and listed[1].categories == ()


def test_a_deeply_nested_opml_file_imports_its_feeds(server: FeedServer, tmp_path: Path) -> None:
    url = server.add("/deep.xml", rss(*items(2)))
    depth = 3000
    path = tmp_path / "deep.opml"
    path.write_bytes(
        b'<opml version="2.0"><body>'
        + b'<outline text="f">' * depth
        + f'<outline text="Deep" xmlUrl="{url}"/>'.encode()
        + b"</outline>" * depth
        + b"</body></opml>"
    )
    report = import_paths(tmp_path / "reader.sqlite", [str(path)])
    assert report.problems == [] and report.result.added == 2


def test_opml_round_trip_keeps_local_feeds_when_the_list_is_saved_above_them(
    server: FeedServer, store: Store, tmp_path: Path
) -> None:
    web = server.add("/w.xml", rss(*items(1, prefix="w"), title="Web"))
    (tmp_path / "feeds").mkdir()
    local = tmp_path / "feeds" / "local.xml"
    local.write_bytes(rss(*items(2, prefix="l"), title="Local"))
    import_inputs(store, [("feed", web), ("feed", str(local))])
    subscribed = {(f.url, f.title) for f in store.feeds()}
    assert local.as_uri() in {url for url, _ in subscribed}

    saved = tmp_path / "subscriptions.opml"
    saved.write_bytes(subscriptions.export_opml(store))
    with Store.open(tmp_path / "fresh.sqlite") as fresh:
        result, problems = import_inputs(fresh, [("opml", str(saved))])
        assert problems == [] and result.added == 3
        assert {(f.url, f.title) for f in fresh.feeds()} == subscribed

    # Saved somewhere else, the local feed is refused (a list is not trusted with the whole disk).
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "subscriptions.opml").write_bytes(saved.read_bytes())
    with Store.open(tmp_path / "other.sqlite") as other:
        _, problems = import_inputs(other, [("opml", str(elsewhere / "subscriptions.opml"))])
        assert [f.url for f in other.feeds()] == [web]
        assert len(problems) == 1 and "a local file outside the OPML file's folder" in problems[0].reason


def test_opml_addresses_are_http_https_or_paths_inside_the_opml_folder(
    server: FeedServer, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = server.add("/good.xml", rss(*items(1, prefix="g")))
    folder = tmp_path / "lists"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "local.xml").write_bytes(rss(*items(1, prefix="l")))
    # A feed file in the current directory (and one above the list's folder) must not be reachable.
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    (elsewhere / "feed.xml").write_bytes(rss(*items(1, prefix="c")))
    (tmp_path / "up.xml").write_bytes(rss(*items(1, prefix="u")))
    monkeypatch.chdir(elsewhere)
    path = folder / "list.opml"
    path.write_bytes(
        write_opml(
            [
                OpmlFeed("Good", good),
                OpmlFeed("Local", "sub/local.xml"),
                OpmlFeed("Cwd", "feed.xml"),
                OpmlFeed("Script", "javascript:alert(1)"),
                OpmlFeed("Disk", "/etc/hostname"),
                OpmlFeed("Ftp", "ftp://ftp.example/feed.xml"),
                OpmlFeed("File", (tmp_path / "up.xml").as_uri()),
                OpmlFeed("Up", "../up.xml"),
            ]
        )
    )
    result, problems = import_inputs(store, [("opml", str(path))])
    assert {f.url for f in store.feeds()} == {good, (folder / "sub" / "local.xml").as_uri()}
    assert result.added == 2  # Good and Local, nothing from the current directory or elsewhere on disk
    assert [p.input for p in problems] == [str(path)] * 6
    rejected = " ".join(p.reason for p in problems)
    for title in ("Cwd", "Script", "Disk", "Ftp", "File", "Up"):
        assert f"outline '{title}'" in rejected
    assert all(p.reason.endswith("not subscribed") for p in problems)


def test_opml_address_checks_each_form() -> None:
    opml_path = "/lists/a.opml"
    assert addresses.opml_address("https://x.example/f", opml_path) == ("https://x.example/f", None)
    assert addresses.opml_address(" HTTP://x.example/f ", opml_path)[0] == "HTTP://x.example/f"
    assert addresses.opml_address("feeds/b.xml", opml_path)[0] == Path("/lists/feeds/b.xml").as_uri()
    assert addresses.opml_address("file:///lists/feeds/b.xml", opml_path)[0] == Path("/lists/feeds/b.xml").as_uri()
    assert addresses.opml_address("file:///lists/../etc/b.xml", opml_path)[0] is None
    for bad in ("javascript:alert(1)", "/etc/hostname", "ftp://x/f", "file:///etc/hostname", "../b.xml", "http:///x"):
        url, why = addresses.opml_address(bad, opml_path)
        assert url is None and why, bad
    # A relative file: URL would depend on the current directory; a NUL byte is no path.
    for bad in ("file:feeds/b.xml", "file:///lists/b%00.xml", "feeds/b%00.xml"):
        url, why = addresses.opml_address(bad, opml_path)
        assert url is None and why, bad


def test_an_opml_path_may_not_lead_out_of_its_folder_through_a_link(tmp_path: Path) -> None:
    folder = tmp_path / "lists"
    folder.mkdir()
    (tmp_path / "secret.xml").write_bytes(rss(*items(1)))
    (folder / "link.xml").symlink_to(tmp_path / "secret.xml")
    (folder / "loop.xml").symlink_to(folder / "loop.xml")
    opml = str(folder / "list.opml")
    for text in ("link.xml", (folder / "link.xml").as_uri(), "loop.xml", (folder / "loop.xml").as_uri()):
        url, why = addresses.opml_address(text, opml)
        assert url is None and why, text


def test_feed_address_maps_common_forms_and_leaves_paths_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reader.addresses import classify, feed_address, is_url

    monkeypatch.chdir(tmp_path)
    (tmp_path / "example.org").mkdir()  # an existing folder that looks like a host stays a folder
    assert feed_address("example.com/rss") == "https://example.com/rss"
    assert feed_address(" news.example.org:8080/feed ") == "https://news.example.org:8080/feed"
    assert feed_address("127.0.0.1:8000/f.xml") == "https://127.0.0.1:8000/f.xml"
    assert feed_address("feed://example.com/rss") == "http://example.com/rss"
    assert feed_address("FEED:https://example.com/rss") == "https://example.com/rss"
    assert feed_address("feed:http://example.com/rss") == "http://example.com/rss"
    assert feed_address("https://example.com/rss") == "https://example.com/rss"
    for path in ("example.org", "feed.xml", "missing.opml", "notes.txt", "seeds/x.txt", "./a.b/c", "a b.com/x"):
        assert feed_address(path) is None, path
        assert not is_url(path)
    # The importer and addresses.feed_url agree: both take the address, neither a file of that name.
    problems: list[Problem] = []
    found = classify(["example.com/rss", "feed://example.com/atom", "feed.xml"], problems)
    assert [(i.kind.value, i.target) for i in found] == [
        ("feed", "https://example.com/rss"),
        ("feed", "http://example.com/atom"),
    ]
    assert problems == [Problem("feed.xml", "no such file or folder")]
    assert addresses.feed_url("feed://example.com/rss") == "http://example.com/rss"
    assert addresses.feed_url("example.com/rss") == "https://example.com/rss"


def test_a_feed_scheme_address_is_imported_over_http(server: FeedServer, tmp_path: Path) -> None:
    url = server.add("/feed.xml", rss(*items(2)))
    report = import_paths(tmp_path / "reader.sqlite", ["feed://" + url.removeprefix("http://")])
    assert report.problems == [] and report.result.added == 2
    with Store.open(tmp_path / "reader.sqlite") as s:
        assert [f.url for f in s.feeds()] == [url]


@pytest.mark.parametrize(
    ("path", "body", "options"),
    [
        ("/sitemap.xml", b'<?xml version="1.0"?><urlset><url><loc>https://x/</loc></urlset>', {}),
        ("/page.html", b"<!DOCTYPE html><html><body>hi</body></html>", {"content_type": "text/html"}),
        ("/missing.xml", None, {}),
        ("/gone.xml", b"gone", {"status": 410, "content_type": "text/plain"}),
        ("/broken.xml", b"<rss><channel><<&&", {}),
    ],
    ids=["sitemap", "html", "404", "410", "malformed"],
)
def test_an_address_that_is_no_feed_on_its_first_fetch_is_not_subscribed(
    server: FeedServer, tmp_path: Path, path: str, body: bytes | None, options: dict[str, Any]
) -> None:
    url = server.add(path, body, **options) if body is not None else server.url(path)
    report = import_paths(tmp_path / "reader.sqlite", [url])
    assert [p.input for p in report.problems] == [url]
    assert report.problems[0].reason.endswith("(not subscribed)")
    with Store.open(tmp_path / "reader.sqlite") as s:
        assert s.feeds() == []  # not in the sidebar, not refreshed every 30 minutes


def test_a_sitemap_in_an_imported_folder_is_reported_not_subscribed(tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    (folder / "sitemap.xml").write_bytes(b'<?xml version="1.0"?><urlset><url><loc>https://x/</loc></url></urlset>')
    (folder / "news.rss").write_bytes(rss(*items(2)))
    report = import_paths(tmp_path / "reader.sqlite", [str(folder)])
    assert [p.input for p in report.problems] == [str(folder / "sitemap.xml")] and report.result.added == 2
    with Store.open(tmp_path / "reader.sqlite") as s:
        assert [f.url for f in s.feeds()] == [(folder / "news.rss").resolve().as_uri()]


def test_a_feed_that_is_down_on_its_first_fetch_stays_subscribed(server: FeedServer, store: Store) -> None:
    url = server.add("/down.xml", b"busy", status=503, content_type="text/plain")
    _, problems = import_inputs(store, [("feed", url)])
    assert [p.input for p in problems] == [url] and "503" in problems[0].reason
    feed = only_feed(store)
    assert feed.url == url and "503" in (feed.last_error or "")
    # Known subscriptions are never removed by an import that finds them broken.
    server.add("/down.xml", b"gone", status=404, content_type="text/plain")
    import_inputs(store, [("feed", url)])
    assert only_feed(store).url == url


def test_import_progress_total_grows_with_an_opml_file_and_done_never_passes_it(
    server: FeedServer, tmp_path: Path
) -> None:
    urls = [server.add(f"/g{i}.xml", rss(*items(1, prefix=f"g{i}-"))) for i in range(3)]
    opml = tmp_path / "three.opml"
    opml.write_bytes(write_opml([OpmlFeed(f"Feed {i}", u) for i, u in enumerate(urls)]))
    seed = tmp_path / "seed.txt"
    seed.write_text(
        "['src', '1', 'NOVALUE', 'A seed', '', 'https://seed.example/1', '', '2018-04-20T22:49:08Z']\nA seed body.\n"
    )
    calls: list[tuple[int, int]] = []
    # The OPML file (3 feeds), a seed file, and one of the OPML's feeds again as its own input.
    report = import_paths(
        tmp_path / "reader.sqlite", [str(opml), str(seed), urls[0]], progress=lambda d, t: calls.append((d, t))
    )
    assert report.problems == []
    assert calls[0] == (0, 3)
    assert all(done <= total for done, total in calls), calls
    assert [t for _, t in calls] == sorted(t for _, t in calls)  # the total only grows
    assert calls[-1] == (5, 5)  # 3 feeds of the OPML file + the seed + the repeated feed


def test_a_cancelled_refresh_returns_promptly_and_leaves_no_thread_holding_the_process(
    server: FeedServer, tmp_path: Path
) -> None:
    url = server.add("/trickle.xml", trickle=True)
    with Store.open(tmp_path / "reader.sqlite") as s:
        s.add_feed(url)
    before = set(threading.enumerate())
    cancel = threading.Event()
    returned = threading.Event()
    outcome: list[tuple[AddResult, list[Problem]]] = []

    def run() -> None:
        with Store.open(tmp_path / "reader.sqlite") as own:
            outcome.append(subscriptions.refresh(own, cancel=cancel))  # default timeouts: 20 s a read
        returned.set()

    runner = threading.Thread(target=run, name="test-refresh", daemon=True)
    runner.start()
    assert server.trickling.wait(10)  # the fetch is in the middle of a response that never ends
    cancel.set()
    assert returned.wait(5), "refresh did not return after cancel"
    assert outcome == [(AddResult(), [])]
    ours = [t for t in threading.enumerate() if t not in before and t is not runner]
    # Nothing of ours may keep the interpreter alive at exit (a non-daemon thread is joined then).
    assert [t.name for t in ours if not t.daemon] == []
    # And the fetch itself gives up at the next byte, not at its 40 s deadline.
    for thread in ours:
        thread.join(5)
    assert [t.name for t in ours if t.is_alive() and t.name.startswith("reader-fetch")] == []


# --- the refresh schedule: the server's Retry-After and Cache-Control --------------------------------


def backdate_last_fetch(store: Store, seconds: float) -> None:
    feed = only_feed(store)
    store.update_feed(feed.id, updated_at=datetime.now(UTC) - timedelta(seconds=seconds))


def test_a_fresh_feed_waits_for_its_max_age_but_never_longer_than_the_interval(
    server: FeedServer, store: Store
) -> None:
    url = server.add("/fresh.xml", rss(*items(2)), headers={"Cache-Control": "max-age=86400"})
    import_inputs(store, list_of([url]))
    feed = only_feed(store)
    assert feed.fresh_until is not None and feed.retry_at is None
    assert 86000 < (feed.fresh_until - datetime.now(UTC)).total_seconds() <= 86400

    assert subscriptions.refresh(store, interval_s=1800) == (AddResult(), [])
    assert len(server.hits("/fresh.xml")) == 1, "fresh for a day: not fetched again half an hour on"
    backdate_last_fetch(store, 1900)  # the last fetch was more than an interval ago
    subscriptions.refresh(store, interval_s=1800)
    assert len(server.hits("/fresh.xml")) == 2, "a day of max-age holds it back one interval at most"
    subscriptions.refresh(store, interval_s=1800, force=True)
    assert len(server.hits("/fresh.xml")) == 3, "force fetches it all the same"


def test_retry_after_holds_a_feed_back_longer_than_the_interval(server: FeedServer, store: Store) -> None:
    url = server.add("/busy.xml", rss(*items(1)))
    import_inputs(store, list_of([url]))
    server.add("/busy.xml", b"busy", status=503, headers={"Retry-After": "7200"})

    _, problems = subscriptions.refresh(store, interval_s=600)
    assert [p.reason for p in problems] == ["HTTP 503 Service Unavailable"]
    retry_at = only_feed(store).retry_at
    assert retry_at is not None and 7100 < (retry_at - datetime.now(UTC)).total_seconds() <= 7200
    backdate_last_fetch(store, 86400)
    subscriptions.refresh(store, interval_s=600)
    assert len(server.hits("/busy.xml")) == 2, "the import and the first refresh only: the server's two hours"


def test_the_command_line_says_which_feeds_are_not_due(server: FeedServer, tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    url = server.add("/fresh.xml", rss(*items(2)), headers={"Cache-Control": "max-age=86400"})

    def reader(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "reader", "--db", str(db), *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=Path(__file__).resolve().parent.parent,
        )

    assert reader("feeds", "add", url).returncode == 0
    done = reader("refresh")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "0 new, 0 updated articles from 0 feeds; 1 not due yet (their servers asked for time; --force fetches them)"
    )
    forced = reader("refresh", "--force")
    assert forced.returncode == 0 and forced.stdout.strip() == "0 new, 0 updated articles from 1 feeds"
    assert len(server.hits("/fresh.xml")) == 2


@pytest.mark.parametrize(
    "fragment",
    [
        '<p><a href="https://example.org/a">a</a><img src="http://example.org/i.png"></p>',
        '<a href="/relative">r</a>',
        "<a href='relative.html'>r</a>",
        "<a href=relative.html>r</a>",
        '<a HREF = "  page">r</a>',
        '<a href="//cdn.example.org/x">protocol-relative</a>',
        '<a href="&#47;entity">entity</a>',
        '<a href="mailto:desk@example.org">mail</a><a href="javascript:alert(1)">js</a>',
        '<img srcset="a.png 1x, b.png 2x" src="https://example.org/c.png">',
        '<video poster="still.jpg" src="https://example.org/v.mp4"></video>',
        "<p>no links at all</p>",
    ],
)
def test_cleaning_without_a_base_where_nothing_is_relative_gives_the_same_html(fragment: str) -> None:
    base = "https://news.example/2026/story.html"
    assert sanitize.clean_html(fragment, base) == sanitize._cleaner(base).clean(fragment)


def test_items_with_only_absolute_links_do_not_build_a_cleaner_each() -> None:
    # Synced items each bring their own link as the base: a cleaner per item was an eighth of a sync.
    sanitize._cleaner.cache_clear()
    for n in range(200):
        sanitize.clean_html('<p><a href="https://example.org/x">x</a></p>', f"https://news.example/{n}")
    assert sanitize._cleaner.cache_info().misses == 1
    sanitize.clean_html('<p><a href="x">x</a></p>', "https://news.example/relative")
    assert sanitize._cleaner.cache_info().misses == 2


def test_has_relative_url_finds_what_the_pattern_finds() -> None:
    # has_relative_url is RELATIVE_URL.search made fast (it was 200 us a kilobyte of body): the
    # same answer on the cases that tell them apart, on thousands of random fragments made of
    # the characters that matter, and on every file under tests/data.
    import random

    from reader.sanitize import RELATIVE_URL, has_relative_url

    cases = [
        '<a href="x">', '<a HREF = "http://x">', "<a \u017frc=y>", "xhref=1", "data-x=1", '<img src=\u00a0"a">',
        'href\u2003=\u2003"/a"', "formaction=/x", "a_href=z", '<a href=" javascript:x">', "<a href='mailto:x'>",
        "poster=&#104;ttp:", "=", "href=", " href", "src =", "\uff28\uff32\uff25\uff26=x", "href\u00e9=a",
        "\u00e9href=a", "1href=a", "ACTION\t=\n'//x'", "<p>no attributes at all</p>",
    ]  # fmt: skip
    rng = random.Random(7)
    alphabet = list("hrefsacitonpldHREFSRC= \t\n\"':/x_-\u00e9\u00a01\u017f")
    cases += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(20000)]
    data = Path(__file__).resolve().parent / "data"
    cases += [p.read_text(encoding="utf-8", errors="replace") for p in data.rglob("*") if p.is_file()]
    assert [has_relative_url(c) for c in cases] == [RELATIVE_URL.search(c) is not None for c in cases]
    assert has_relative_url('<a href="/x">') and not has_relative_url('<a href="https://x/">')
