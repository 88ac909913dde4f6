"""The fast path (reader.fastfeed) gives exactly feedparser's articles, and leaves to feedparser what
it must not handle.

Each document is parsed both ways (``feedparse.parse(..., fast=False)`` is feedparser alone) and the
two results compared field by field: every feed file under tests/data, feedparser's whole corpus
when it is there, the benchmark's generated full-text shapes, and hand-made documents with the
corners feedparser has rules for.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import FEEDPARSER_CORPUS

from reader import fastfeed, feedparse
from reader.benchmark.feeds import SHAPES, feed_xml

#: feedparser warns when ``updated_parsed`` falls back to ``published_parsed`` (reader.feedparse asks
#: for it when an entry has no date it can read); this suite makes warnings errors.
pytestmark = pytest.mark.filterwarnings("ignore:To avoid breaking existing software:DeprecationWarning")

DATA = Path(__file__).parent / "data"
URL = "https://news.example.org/feeds/main.xml"
HEADERS = {"content-type": "application/rss+xml"}


def both_ways(data: bytes, headers: dict[str, str], url: str) -> tuple[feedparse.ParsedFeed, feedparse.ParsedFeed]:
    return feedparse.parse(data, headers, url, 7), feedparse.parse(data, headers, url, 7, fast=False)


def assert_same(fast: feedparse.ParsedFeed, slow: feedparse.ParsedFeed, name: str) -> None:
    assert (fast.title, fast.link, fast.problem, len(fast.articles)) == (
        slow.title,
        slow.link,
        slow.problem,
        len(slow.articles),
    ), name
    for number, (a, b) in enumerate(zip(fast.articles, slow.articles, strict=True)):
        for field in a._fields:
            assert getattr(a, field) == getattr(b, field), f"{name}: entry {number}, {field}"


def takes_fast_path(data: bytes, headers: dict[str, str], url: str) -> bool:
    feedparse._adjust_feedparser()
    lowered = {k.lower(): v for k, v in headers.items()}
    lowered.setdefault("content-location", url)
    return fastfeed.parse(data, lowered) is not None


def local(path: Path) -> tuple[bytes, dict[str, str], str]:
    url = path.resolve().as_uri()
    return path.read_bytes(), {"content-location": url, "content-type": "application/xml"}, url


DATA_FILES = sorted(DATA.rglob("*.xml"))


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: str(p.relative_to(DATA)))
def test_every_feed_file_in_tests_data_parses_the_same_both_ways(path: Path) -> None:
    assert_same(*both_ways(*local(path)), str(path))


def test_some_files_in_tests_data_do_take_the_fast_path() -> None:
    # Else the comparison above would compare feedparser with itself.
    assert sum(takes_fast_path(*local(path)) for path in DATA_FILES) >= 5


@pytest.mark.skipif(not FEEDPARSER_CORPUS.is_dir(), reason=f"the full corpus is not at {FEEDPARSER_CORPUS}")
@pytest.mark.timeout(120)
def test_feedparsers_whole_corpus_parses_the_same_both_ways() -> None:
    fast = 0
    for path in sorted(FEEDPARSER_CORPUS.rglob("*.xml")):
        document = local(path)
        fast += takes_fast_path(*document)
        assert_same(*both_ways(*document), str(path))
    assert fast > 400


@pytest.mark.parametrize("shape", SHAPES)
def test_generated_full_text_feeds_take_the_fast_path_and_parse_the_same(shape: str) -> None:
    data = feed_xml(3, 40, shape=shape)
    assert takes_fast_path(data, HEADERS, URL)
    fast, slow = both_ways(data, HEADERS, URL)
    assert len(fast.articles) == 40 and fast.articles[0].body
    assert_same(fast, slow, shape)


def rss(
    items: str, channel: str = "<title>Corners</title><link>https://news.example.org/</link>", ns: str = ""
) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/"'
        f' xmlns:atom="http://www.w3.org/2005/Atom"{ns}><channel>{channel}{items}</channel></rss>'
    ).encode()


def atom(entries: str, head: str = '<title type="html">A &amp;lt;b&amp;gt; feed</title>') -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/"'
        f' xml:base="https://blog.example.net/en/">{head}{entries}</feed>'
    ).encode()


#: Documents the fast path takes, each with a corner of feedparser's rules in it.
CORNERS = {
    "guid as link, relative link": rss(
        "<item><title>One</title><guid>https://news.example.org/1</guid></item>"
        '<item><title>Two</title><guid isPermaLink="false">2</guid><link>/two?a=1&amp;amp;b=2</link></item>'
        "<item><title>Three</title><link>three.html</link><guid>https://news.example.org/3</guid></item>"
        "<item><title>Four</title><link></link><guid>4</guid></item>"
    ),
    "authors and e-mail addresses": rss(
        "<item><title>a</title><author>desk@news.example (Desk Editor)</author></item>"
        "<item><title>b</title><author>Jo Writer &lt;jo@news.example.org&gt;</author></item>"
        "<item><title>c</title><dc:creator>Plain Name</dc:creator></item>"
        "<item><title>d</title><author>only@news.example.com</author></item>"
    ),
    "dates": rss(
        "<item><title>a</title><pubDate>Tue, 10 Jun 2003 04:00:00 GMT</pubDate></item>"
        "<item><title>b</title><pubDate>Tue, 10 Jun 03 04:00:00 +0200</pubDate></item>"
        "<item><title>c</title><dc:date>2003-06-10T04:00:00+02:00</dc:date></item>"
        "<item><title>d</title><pubDate>not a date</pubDate></item>"
        "<item><title>e</title><pubDate>Sun, 31 Feb 2003 04:00:00 EST</pubDate></item>"
    ),
    "titles and text": rss(
        "<item><title>Fish &amp;amp; chips &lt;/b&gt;</title>"
        "<description>&lt;p&gt;Hi &lt;a href='/x'&gt;x&lt;/a&gt;</description></item>"
        "<item><title>  spaced\n  out  </title><description>plain &amp; simple</description></item>"
        "<item><title>Ãœber mojibake â€” dash</title><description>caf\u00c3\u00a9</description></item>"
        "<item><title>cp1252 &#150; &#147;quoted&#148;</title></item>"
        "<item><title>CDATA</title><description><![CDATA[<p>in <b>CDATA</b> &amp; all</p>]]></description>"
        "<content:encoded><![CDATA[<p>The <i>full</i> text <img src='/i/1.jpg'></p>]]></content:encoded></item>"
        "<item><title>content first</title><content:encoded>&lt;p&gt;body&lt;/p&gt;</content:encoded>"
        "<description>the summary</description></item>"
    ),
    "images": rss(
        '<item><title>a</title><media:thumbnail url="/t/1.jpg" width="1"/></item>'
        '<item><title>b</title><media:content url="https://img.example.org/2.png" medium="image"/></item>'
        '<item><title>c</title><enclosure url="https://img.example.org/3.jpg" type="image/jpeg" length="1"/></item>'
        '<item><title>d</title><enclosure url="https://cdn.example.org/3.mp3" type="audio/mpeg"/>'
        '<media:content url="https://img.example.org/4.JPG?x=1"/></item>'
    ),
    "xml:base and atom links in RSS": rss(
        '<item xml:base="https://other.example.com/dir/"><title>a</title><link>page.html</link>'
        "<description>&lt;a href='rel.html'&gt;r&lt;/a&gt;</description></item>"
        '<item><title>b</title><atom:link rel="alternate" href="/b.html"/></item>',
        channel='<title>Base</title><atom:link rel="self" href="https://news.example.org/feeds/main.xml"/>'
        "<link>/home</link><image><url>/logo.png</url><title>Logo</title><link>/</link></image>",
    ),
    "unknown namespaces and elements": rss(
        "<item><title>a</title><foo:title>not the title</foo:title><foo:links>x</foo:links>"
        "<comments>/c</comments><category>news</category><sparkle>yes</sparkle></item>",
        ns=' xmlns:foo="https://unknown.example/ns"',
    ),
    "declared Windows-1252 (converted by feedparser's own function)": b'<?xml version="1.0" encoding="windows-1252"?>'
    + rss("<item><title>caf\xe9 \x93quoted\x94</title></item>").split(b"?>", 1)[1].replace(b"\xc3\xa9", b"\xe9"),
    "podcast and media extras": rss(
        "<item><title>Episode</title><itunes:explicit>no</itunes:explicit><itunes:duration>1:02</itunes:duration>"
        '<itunes:image href="https://img.example.org/ep.jpg"/><media:category>talk</media:category>'
        "<media:credit role='host'>Host</media:credit><media:keywords>a, b</media:keywords>"
        '<enclosure url="https://cdn.example.org/ep.mp3" type="audio/mpeg" length="9"/></item>',
        ns=' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"',
    ),
    # Not UTF-8 after all: feedparser's own detection reads it (as Windows-1252), and both parse that.
    "invalid UTF-8": rss("<item><title>One</title></item>").replace(b"One", b"On\xe9"),
    "UTF-16": rss("<item><title>Zw\u00f6lf</title></item>").decode().replace("utf-8", "utf-16").encode("utf-16"),
    "an item with nothing to read": rss("<item><category>only</category></item><item><title>kept</title></item>"),
    "atom": atom(
        '<entry><title>One</title><link href="one.html"/><id>tag:example,1</id>'
        "<updated>2005-07-31T12:29:29Z</updated><published>2005-07-30T10:00:00-05:00</published>"
        "<author><name>Ann</name><email>ann@blog.example.net</email><uri>/ann</uri></author>"
        '<summary>Short</summary><content type="html">&lt;p&gt;Long &lt;img src="i.png"&gt;&lt;/p&gt;</content></entry>'
        '<entry xml:base="/other/"><title type="text">Two &amp; more</title><id>https://blog.example.net/2</id>'
        '<link rel="enclosure" type="image/png" href="two.png"/><content>plain text\nbody</content></entry>'
        '<entry><id>urn:3</id><link rel="alternate" type="text/html" href="https://blog.example.net/3"/>'
        '<title type="html">&lt;em&gt;Three&lt;/em&gt;</title><author><name>Only Name</name></author>'
        '<content type="text/html">&lt;p&gt;three&lt;/p&gt;</content>'
        '<summary type="html">&lt;b&gt;s&lt;/b&gt;</summary></entry>'
    ),
}


@pytest.mark.parametrize("name", sorted(CORNERS))
def test_corner_cases_take_the_fast_path_and_parse_the_same(name: str) -> None:
    data = CORNERS[name]
    assert takes_fast_path(data, HEADERS, URL), name
    assert_same(*both_ways(data, HEADERS, URL), name)


def test_response_headers_the_fast_path_reads_the_same_way() -> None:
    data = CORNERS["xml:base and atom links in RSS"]
    for headers in (
        {"Content-Type": "text/xml; charset=utf-8", "Content-Location": "https://mirror.example.com/f/rss.xml"},
        {"content-type": "application/xml; charset=iso-8859-1"},
        {"content-type": "text/plain"},
        {},  # feedparser complains (no Content-Type) but parses it all the same: so do we
    ):
        assert takes_fast_path(data, headers, URL), headers
        assert_same(*both_ways(data, headers, URL), str(headers))


#: Shapes the fast path must leave to feedparser (each still parses, feedparser's way).
FALLBACKS = {
    "RSS 1.0 (RDF)": b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
    b' xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://e.example/"><title>R</title></channel>'
    b'<item rdf:about="https://e.example/1"><title>One</title><link>https://e.example/1</link></item></rdf:RDF>',
    "RSS 0.91": b'<rss version="0.91"><channel><title>Old</title><item><title>One</title></item></channel></rss>',
    "DTD entities": b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY who "Someone">]><rss version="2.0"><channel>'
    b"<item><title>By &who;</title></item></channel></rss>",
    "malformed XML": rss("<item><title>One</title><description>a & b</description></item>"),
    "undefined entity": rss("<item><title>caf&eacute;</title></item>"),
    "markup inside a description": rss(
        "<item><title>t</title><description><p>raw <b>html</b></p></description></item>"
    ),
    "Atom xhtml content": atom(
        '<entry><title>x</title><id>1</id><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
        "<p>Hi</p></div></content></entry>"
    ),
    "base64 content": atom('<entry><title>x</title><id>1</id><content type="image/png">aGk=</content></entry>'),
    "iTunes summary (a field feedparser maps)": rss(
        "<item><title>t</title><itunes:summary>the summary</itunes:summary></item>",
        ns=' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"',
    ),
    "a second title": rss("<item><title>one</title><title>two</title></item>"),
    "an unknown element named like a field": rss("<item><title>t</title><links>x</links></item>"),
    "media:group": rss(
        "<item><title>t</title><media:group><media:content url='https://x.example/1.jpg'/></media:group></item>"
    ),
    "RSS source": rss("<item><title>t</title><source url='https://s.example/'>Src</source></item>"),
    "no entries": rss(""),
}


@pytest.mark.parametrize("name", sorted(FALLBACKS))
def test_shapes_it_must_not_handle_fall_back_to_feedparser(name: str) -> None:
    data = FALLBACKS[name]
    headers = {"content-type": "application/xml"}
    assert not takes_fast_path(data, headers, URL), name
    assert_same(*both_ways(data, headers, URL), name)


#: Pieces of entries, combined at random below: the corners above in orders and mixes no hand-made
#: document has.
SNIPPETS = (
    "<title>T &amp;amp; x</title>",
    "<title type='html'>&lt;b&gt;B&lt;/b&gt;</title>",
    "<title></title>",
    "<link>rel/x?a=1&amp;b=2</link>",
    "<link></link>",
    "<link href='h.html'/>",
    "<link rel='alternate' type='text/plain' href='p.txt'/>",
    "<guid>g1</guid>",
    "<guid isPermaLink='false'>g2</guid>",
    "<id>https://i.example/1</id>",
    "<description>d &lt;i&gt;x&lt;/i&gt;</description>",
    "<summary>s</summary>",
    "<content:encoded><![CDATA[<p>c <a href='/z'>z</a></p>]]></content:encoded>",
    "<content type='html'>&lt;p&gt;h&lt;/p&gt;</content>",
    "<content type='text'>tx</content>",
    "<pubDate>Mon, 01 Jan 2024 10:00:00 +0100</pubDate>",
    "<published>2024-01-02T03:04:05Z</published>",
    "<updated>2024-01-03</updated>",
    "<dc:date>2024-02-30T00:00:00Z</dc:date>",
    "<created>2020-01-01T00:00:00Z</created>",
    "<author>a@b.example (A B)</author>",
    "<author><name>N</name><email>n@x.example</email></author>",
    "<author><uri>/u</uri><name> Spaced </name></author>",
    "<dc:creator>C\u00c3\u00a9</dc:creator>",
    "<enclosure url='e.jpg' type='image/jpeg'/>",
    "<media:thumbnail url='t.png'/>",
    "<media:content url='m.gif'/>",
    "<media:content url='v.mp4' type='video/mp4'/>",
    "<category>c</category>",
    "<comments>/c</comments>",
    "<foo:bar xmlns:foo='urn:x'>q</foo:bar>",
    " text ",
    "&#150;",
    "<!-- c -->",
    "<?pi x?>",
)


def test_random_mixes_of_corners_parse_the_same_both_ways() -> None:
    rng = random.Random(17)
    taken = 0
    for _ in range(400):
        body = "".join(rng.sample(SNIPPETS, rng.randint(1, 6)))
        base = rng.choice(["", " xml:base='https://b.example/d/'", " xml:base='sub/'"])
        if rng.random() < 0.5:
            data = rss(f"<item{base}>{body}</item><item><title>x</title></item>")
        else:
            data = atom(f"<entry{base}>{body}</entry><entry><title>x</title></entry>")
        headers = rng.choice([{"content-type": "application/xml"}, {}, {"content-location": "http://loc.example/a/"}])
        if takes_fast_path(data, headers, URL):
            taken += 1
            assert_same(*both_ways(data, headers, URL), data.decode())
    assert taken > 250
