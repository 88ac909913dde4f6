"""Feed documents -> articles: :mod:`reader.fastfeed` for well-formed RSS 2.0 and Atom 1.0, else
feedparser (made faster), sanitised HTML, and the cutting of big documents into pieces parsed side
by side. No Qt, no network, no store.

:mod:`reader.feeds` fetches and stores; of Reader, the parse worker processes import only this
module (their server preloads it, with the pool's worker loop), which keeps them quick to start.

feedparser's own sanitiser and relative-URI resolver are off: they are slow (an sgmllib pass per
HTML field) and nh3 does both, faster, in :mod:`reader.sanitize`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import itertools
import multiprocessing
import os
import pyexpat
import re
import threading
import urllib.parse
import urllib.request
import xml.sax
import xml.sax.xmlreader
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax import expatreader

import feedparser

from reader import fastfeed, sanitize, textpack
from reader.records import Article, Enclosure

#: The problem of a feed that is fine but has nothing in it (on import, ``reader import`` exits 1).
NO_ENTRIES = "no entries"
#: A plain-text description (summary) is cut to this many characters.
DESCRIPTION_CHARS = 600


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    link: str | None
    articles: list[Article]
    #: Why no entries could be read (malformed XML, an HTML page, no entries), else None.
    problem: str | None = None
    #: The articles' text packed as the store keeps it, one per article in order, when the parser
    #: packed it (:func:`parse_and_pack`, in the parse workers); None: the store packs it.
    packed: tuple[textpack.PackedText, ...] | None = None

    @property
    def readable(self) -> bool:
        """A feed document, even if it has no entries (its title and validators are worth keeping)."""
        return self.problem is None or self.problem.startswith(NO_ENTRIES)


# --- feedparser, adjusted ------------------------------------------------------------------------


def _keep_entry_ids() -> None:
    """Workaround: feedparser resolves entry ids against the base URI as if they were links, so a
    relative-looking guid ("1234") would change with the feed's address (after a permanent
    redirect) and every entry would come back as a new article. Ids are names: keep them as written.
    """
    from feedparser import mixin

    mixin._FeedParserMixin.can_be_relative_uri = set(mixin._FeedParserMixin.can_be_relative_uri) - {"id"}


def _speed_up_feedparser() -> None:
    """Workarounds for hot spots in feedparser's parser (together they halve its time); none
    changes what it returns (tests/test_feeds.py checks that on feedparser's whole corpus, when it
    is there, else on the copied sample).

    - It re-resolves the base URI with urllib.parse.urljoin at every element start and end. Both
      functions are pure and a feed repeats the same few arguments: cache them.
    - FeedParserDict's ``__getitem__``, ``get``, ``__contains__``, ``__setitem__`` and
      ``setdefault`` run its alias logic (``channel`` -> ``feed`` ...) in Python on every use,
      tens of thousands per feed. Keys without an alias go straight to the dict.
      This module's own reads (``entry.get(...)`` in :func:`parse`) take the same path: it is the
      one bypass, there is no second helper.

    - It deep-copies the content parameters (a dict of a few strings) for every text element; a
      shallow copy is the same thing for a dict of strings.
    - It resolves every link against the base URI, though almost all are absolute already (and
      unique, so the cache above misses). A plain absolute http(s) URL, which urljoin would give
      back unchanged, is returned as it is (see :data:`_PLAIN_ABSOLUTE_URL`).
    - It maps Windows-1252 code points in every text with ``str.translate`` and a dict, which
      raises and catches a KeyError for each distinct character not in it. The same mapping as a
      list of the first 160 code points has no misses to raise (later ones are left as they are).

    - For every document it first tries to import the libxml2 SAX driver (``drv_libxml2``),
      which is not installed: a failed import searches sys.path again each time. It is given
      expat, the parser it falls back to (and the one :func:`split_document` uses), as this
      module's :func:`create_parser`, with ``buffer_text`` on: expat otherwise reports text one
      line at a time, and each piece goes through three Python calls (10% of parsing).

    These reach into feedparser's internals (``mixin._urljoin``, ``mixin.copy``, ``mixin._cp1252``,
    ``api.PREFERRED_XML_PARSERS``, ``FeedParserDict``), which is why pyproject.toml pins feedparser
    below 6.1.
    """
    import copy

    from feedparser import api, mixin, util

    api.PREFERRED_XML_PARSERS = [__name__]

    def cached(function: Callable[..., str]) -> Callable[..., str]:
        memo = functools.lru_cache(maxsize=1024)(function)

        def call(*args: Any) -> str:
            try:
                return memo(*args)
            except TypeError:  # an unhashable argument: not cacheable, just call it
                return function(*args)

        return call

    mixin._urljoin = cached(mixin._urljoin)
    mixin.make_safe_absolute_uri = cached(mixin.make_safe_absolute_uri)

    parser_dict = util.FeedParserDict
    aliased = frozenset({"category", "enclosures", "license", "updated", "updated_parsed", *parser_dict.keymap})
    with_aliases = parser_dict.__getitem__

    get_with_aliases = parser_dict.get

    def getitem(self: Any, key: Any) -> Any:
        if key in aliased:
            return with_aliases(self, key)
        return dict.__getitem__(self, key)

    def get(self: Any, key: Any, default: Any = None) -> Any:
        if key in aliased:
            return get_with_aliases(self, key, default)
        return dict.get(self, key, default)

    contains_with_aliases = parser_dict.__contains__
    setitem_with_aliases = parser_dict.__setitem__
    setdefault_with_aliases = parser_dict.setdefault

    def contains(self: Any, key: Any) -> bool:
        if key in aliased:
            return contains_with_aliases(self, key)
        return dict.__contains__(self, key)

    def setitem(self: Any, key: Any, value: Any) -> None:
        if key in parser_dict.keymap:
            setitem_with_aliases(self, key, value)
        else:
            dict.__setitem__(self, key, value)

    def setdefault(self: Any, key: Any, default: Any) -> Any:
        if key in aliased:
            return setdefault_with_aliases(self, key, default)
        return dict.setdefault(self, key, default)

    parser_dict.__getitem__ = getitem
    parser_dict.get = get
    parser_dict.__contains__ = contains
    parser_dict.__setitem__ = setitem
    parser_dict.setdefault = setdefault

    class ShallowForStrings:
        @staticmethod
        def deepcopy(value: Any) -> Any:
            if type(value) is parser_dict and all(v is None or type(v) is str for v in value.values()):
                return parser_dict(value)
            return copy.deepcopy(value)

    mixin.copy = ShallowForStrings

    resolve_uri = mixin._FeedParserMixin.resolve_uri

    def resolve_plain_absolute_as_is(self: Any, uri: Any) -> Any:
        if isinstance(uri, str) and _PLAIN_ABSOLUTE_URL.match(uri) and _parses(self.baseuri or ""):
            return uri
        return resolve_uri(self, uri)

    mixin._FeedParserMixin.resolve_uri = resolve_plain_absolute_as_is
    mixin._cp1252 = cp1252_as_list(mixin._cp1252)


class _BufferedExpatParser(expatreader.ExpatParser):
    """xml.sax's expat reader with ``buffer_text``: a run of text comes as one ``characters()``
    call, not one per line (a feed entry's HTML is many lines: a third of feedparser's calls)."""

    def reset(self) -> None:
        super().reset()
        expat = self._parser  # type: ignore[attr-defined]  # (not in the stubs)
        expat.buffer_text = True
        expat.buffer_size = 64 * 1024


def create_parser(*args: Any, **kwargs: Any) -> xml.sax.xmlreader.XMLReader:
    """The SAX driver entry point (``xml.sax.make_parser`` calls it) for feedparser's parsing."""
    return _BufferedExpatParser(*args, **kwargs)


@functools.lru_cache(maxsize=64)
def _parses(base: Any) -> bool:
    """Whether urljoin can read ``base``: with one it cannot (``http://[oops/``, say, from a
    server's Content-Location), feedparser's join gives every link as ``''``, and so must we."""
    try:
        urllib.parse.urlsplit(base)
    except (ValueError, TypeError):
        return False
    return True


def cp1252_as_list(mapping: Mapping[int, str]) -> list[str]:
    """feedparser's Windows-1252 fix-up table as a list for ``str.translate``: the same mapping."""
    table = [chr(code) for code in range(160)]
    for code, text in mapping.items():
        table[code] = text
    return table


#: An absolute http(s) URL that ``urllib.parse.urljoin`` (and feedparser's ``_urljoin`` around it)
#: returns exactly as it is, whatever the base (one urljoin can read, see :func:`_parses`):
#: lower-case scheme, an ASCII host without brackets (checked as a netloc), no extra slashes
#: after the scheme, no spaces or control characters (urlsplit strips them), no ";" in the path
#: (it splits parameters off the last segment, and drops a bare ";") and no empty "?" or "#"
#: (dropped too).
_PLAIN_ABSOLUTE_URL = re.compile(
    r"https?://[A-Za-z0-9._~%!$&'()*+,=:@-]+(?:/[^\x00-\x20\x7f;?#\[\]\\]*)?(?:\?[^\x00-\x20\x7f#]+)?(?:#[^\x00-\x20\x7f]+)?\Z"
)


_feedparser_adjusted = False
_adjust_lock = threading.Lock()


def _adjust_feedparser() -> None:
    global _feedparser_adjusted
    if _feedparser_adjusted:
        return
    with _adjust_lock:
        if not _feedparser_adjusted:
            _keep_entry_ids()
            _speed_up_feedparser()
            _feedparser_adjusted = True


_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".bmp")
_LOOKS_LIKE_HTML_PAGE = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S)
_ALTERNATE = re.compile(
    rb"""<link\b(?=[^>]*\brel\s*=\s*["']?alternate)(?=[^>]*\btype\s*=\s*["']?application/(?:rss|atom)\+xml)"""
    rb"""[^>]*\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""",
    re.I,
)


def parse(data: bytes, headers: Mapping[str, str], feed_url: str, feed_id: int, *, fast: bool = True) -> ParsedFeed:
    """Entries of the feed document ``data`` as articles of feed ``feed_id``.

    ``headers`` are the response headers (any case); they give the encoding and, through
    ``Content-Location`` (default: ``feed_url``), the base for relative URLs. Never raises for bad
    input: a document without entries comes back with ``problem`` saying why.

    A well-formed RSS 2.0 or Atom 1.0 document takes :mod:`reader.fastfeed` (several times quicker,
    the same articles); anything else, or with ``fast`` off, feedparser.
    """
    try:
        return _parse(data, headers, feed_url, feed_id, fast)
    except Exception as exc:  # feedparser on hostile input: one feed must never stop the others
        return ParsedFeed(None, None, [], f"cannot parse ({type(exc).__name__}: {exc})")


def parse_and_pack(data: bytes, headers: Mapping[str, str], feed_url: str, feed_id: int) -> ParsedFeed:
    """:func:`parse`, with the articles' text packed (:attr:`ParsedFeed.packed`): what a parse
    worker process runs. On a full-text feed deflating the three texts of each article was over a
    third of the storing process's work (py-spy, 5,000 items of 3.5 KB), which on two cores left it
    storing alone after the workers had finished; packed here, it is shared out with the parsing."""
    parsed = parse(data, headers, feed_url, feed_id)
    if not parsed.articles:
        return parsed
    packed = tuple(textpack.pack_article(a.body, a.body_html, a.raw) for a in parsed.articles)
    return dataclasses.replace(parsed, packed=packed)


def _parse(data: bytes, headers: Mapping[str, str], feed_url: str, feed_id: int, fast: bool = True) -> ParsedFeed:
    if not data.strip():
        return ParsedFeed(None, None, [], "empty document")
    response_headers = {k.lower(): v for k, v in headers.items()}
    response_headers.setdefault("content-location", feed_url)
    _adjust_feedparser()
    doc = fastfeed.parse(data, response_headers) if fast else None
    if doc is None:
        # A BytesIO, never the bytes: feedparser would try a bytes argument as a file name first.
        doc = feedparser.parse(
            io.BytesIO(data), response_headers=response_headers, sanitize_html=False, resolve_relative_uris=False
        )
    info = doc.get("feed") or {}
    title = _text_of(info.get("title"), info.get("title_detail"))
    link = _safe_link(info.get("link"))
    allow_file = urllib.parse.urlsplit(feed_url).scheme.lower() == "file"
    source = title or _host_name(feed_url)
    articles = []
    for entry in doc.get("entries") or ():
        article = _article(entry, source, feed_url, feed_id, allow_file)
        if article is not None:
            articles.append(article)
    problem = None if articles else _why_empty(doc, data, response_headers, feed_url)
    return ParsedFeed(title, link, articles, problem)


def _why_empty(doc: Any, data: bytes, headers: Mapping[str, str], feed_url: str) -> str:
    head = data[:4096].lstrip(b"\xef\xbb\xbf")
    if headers.get("content-type", "").lower().startswith("text/html") or _LOOKS_LIKE_HTML_PAGE.match(head):
        found = _ALTERNATE.search(data[: 256 * 1024])
        if found:
            href = next(g for g in found.groups() if g is not None).decode("utf-8", "replace")
            return f"an HTML page, not a feed (it names a feed: {urllib.parse.urljoin(feed_url, href.strip())})"
        return "an HTML page, not a feed"
    version = doc.get("version")
    exc = doc.get("bozo_exception") if doc.get("bozo") else None
    xml_error = None
    if isinstance(exc, xml.sax.SAXParseException):
        xml_error = f"malformed XML, line {exc.getLineNumber()}: {exc.getMessage()}"
    if xml_error:
        return xml_error
    entries = len(doc.get("entries") or ())
    if version or entries:
        # A feed, just with nothing to read in it.
        return NO_ENTRIES + (f" ({entries} without title, text, link or image)" if entries else "")
    if exc is not None:
        return f"not a feed ({exc})"
    return "not a feed (no RSS, Atom or RDF document found)"


def _text_of(value: Any, detail: Any) -> str | None:
    if not value or not isinstance(value, str):
        return None
    kind = (detail or {}).get("type", "") if isinstance(detail, Mapping) else ""
    text = sanitize.fragment_to_text(value) if kind in _HTML_TYPES or "<" in value or "&" in value else value
    text = " ".join(text.split())
    return text or None


#: An e-mail address in an author line (RSS's ``jo@news.example (Jo Writer)``, ``Jo <jo@...>``).
_AUTHOR_EMAIL = re.compile(r"[<(]?\s*[^\s()<>@]+@[^\s()<>]+\s*[>)]?")


def _author(entry: Any) -> str | None:
    """The author's name. feedparser's own split of an author line with an e-mail address cuts
    top-level domains after four letters (``desk@news.example (Desk)`` gives the name
    ``ple (Desk``), so such a line is split here: the address goes, the name stays (a line that is
    only an address stays as it is)."""
    raw = entry.get("author")
    if isinstance(raw, str) and "@" in raw:
        name = _AUTHOR_EMAIL.sub(" ", raw).strip(" ()<>")
        return _text_of(name or raw, None)
    detail = entry.get("author_detail")
    return _text_of((detail.get("name") if isinstance(detail, Mapping) else None) or raw, None)


def _host_name(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() == "file":
        return Path(urllib.request.url2pathname(parts.path)).name or url
    return (parts.hostname or url).removeprefix("www.")


def _safe_link(url: Any, base: str | None = None, allow_file: bool = False) -> str | None:
    """An absolute http(s) URL (file: for local feeds' images), or None."""
    if not url or not isinstance(url, str):
        return None
    url = url.strip()
    if url.startswith(("https://", "http://")):
        return url
    if base:
        with contextlib.suppress(ValueError):
            url = urllib.parse.urljoin(base, url)
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme in ("http", "https") or (allow_file and scheme == "file"):
        return url
    return None


def _date(entry: Any) -> datetime | None:
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(name)
        if value:
            try:
                year, month, day, hour, minute, second = value[:6]
                return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except (TypeError, ValueError, OverflowError):
                continue
    return None


def _main_content(entry: Any) -> Any:
    contents = [c for c in entry.get("content") or () if isinstance(c, Mapping) and c.get("value")]
    for content in contents:
        if content.get("type") in _HTML_TYPES:
            return content
    if contents:
        return contents[0]
    summary = entry.get("summary_detail")
    if isinstance(summary, Mapping) and summary.get("value"):
        return summary
    return None


def _article(entry: Any, source: str, feed_url: str, feed_id: int, allow_file: bool) -> Article | None:
    main = _main_content(entry)
    base = (main.get("base") if main is not None else None) or feed_url
    raw = ""
    body_html = ""
    if main is not None:
        raw = main.get("value") or ""
        if main.get("type") in _HTML_TYPES or main.get("type") is None:
            body_html = sanitize.clean_html(raw, base)
        else:
            body_html = sanitize.text_to_html(raw)
    body = sanitize.html_to_text(body_html)

    summary = entry.get("summary_detail")
    if isinstance(summary, Mapping) and summary.get("value") and summary is not main:
        value = summary["value"]
        text = sanitize.fragment_to_text(value, base) if summary.get("type") in _HTML_TYPES else value
        description = sanitize.shorten(text, DESCRIPTION_CHARS) or None
    else:
        # No summary of its own: none is invented (the list's snippet comes from the body anyway,
        # and a copy of the body's start would only be indexed twice).
        description = None

    title = _text_of(entry.get("title"), entry.get("title_detail"))
    link = _safe_link(entry.get("link"), base)
    published = _date(entry)
    author = _author(entry)
    image_url = _image(entry, body_html, base, allow_file)
    enclosures = _enclosures(entry, base)
    if not (title or body or link or image_url or enclosures):
        return None  # nothing a person could read, open, look at or play

    entry_id = entry.get("id") or entry.get("link")
    if not entry_id or not isinstance(entry_id, str):
        stamp = published.isoformat() if published else ""
        entry_id = "sha1:" + hashlib.sha1(f"{title or ''}\x1f{stamp}".encode("utf-8", "surrogatepass")).hexdigest()
    return Article(
        source=source,
        title=title,
        author=author,
        description=description,
        url=link,
        image_url=image_url,
        published=published,
        body=body,
        body_html=body_html or None,
        raw=raw,
        origin=feed_url,
        key=f"feed:{feed_id}:{entry_id.strip()}",
        feed_id=feed_id,
        enclosures=enclosures,
    )


def _enclosures(entry: Any, base: str) -> tuple[Enclosure, ...]:
    """The entry's files (RSS ``<enclosure>``, Atom ``<link rel="enclosure">``), http(s) only, each
    once; an image one is the lead image instead (:func:`_image`). The entry's ``itunes:duration``
    is its first audio or video file's (else its first untyped one's)."""
    found: list[Enclosure] = []
    for link in entry.get("links") or ():
        if not isinstance(link, Mapping) or link.get("rel") != "enclosure":
            continue
        url = _safe_link(link.get("href"), base)
        kind = str(link.get("type") or "").strip().lower() or None
        if url is None or (kind or "").startswith("image/") or any(e.url == url for e in found):
            continue
        found.append(Enclosure(url, kind, _whole(link.get("length"))))
    duration = duration_seconds(entry.get("itunes_duration"))
    if duration is not None:
        playable = [i for i, e in enumerate(found) if (e.type or "").startswith(("audio/", "video/"))]
        untyped = [i for i, e in enumerate(found) if e.type is None]
        for i in (playable or untyped)[:1]:
            found[i] = found[i]._replace(duration=duration)
    return tuple(found)


def _whole(value: Any) -> int | None:
    """A positive whole number a feed wrote (``length="12345"``), else None (0 means unknown)."""
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 1 << 62 else None


def duration_seconds(value: Any) -> int | None:
    """``itunes:duration`` as seconds: ``3723``, ``62:03``, ``1:02:03`` (None when it is none of these)."""
    parts = str(value or "").strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + int(part)
    return seconds or None


def _image(entry: Any, body_html: str, base: str, allow_file: bool) -> str | None:
    """media:thumbnail, then media:content of image type, then an image enclosure, then the first <img>."""

    def candidates() -> Iterator[Any]:
        for thumb in entry.get("media_thumbnail") or ():
            if isinstance(thumb, Mapping):
                yield thumb.get("url")
        for media in entry.get("media_content") or ():
            if isinstance(media, Mapping):
                kind = (media.get("type") or "").lower()
                url = media.get("url") or ""
                medium = media.get("medium")
                typed = medium == "image" or kind.startswith("image/")
                untyped = not kind and not medium and url.lower().split("?", 1)[0].endswith(_IMAGE_SUFFIXES)
                if typed or untyped:
                    yield url
        for link in entry.get("links") or ():
            if (
                isinstance(link, Mapping)
                and link.get("rel") == "enclosure"
                and (link.get("type") or "").lower().startswith("image/")
            ):
                yield link.get("href")
        yield sanitize.first_image(body_html)

    for candidate in candidates():
        url = _safe_link(candidate, base, allow_file)
        if url:
            return url
    return None


# --- splitting big documents --------------------------------------------------------------------


def split_document(data: bytes, parts: int) -> list[bytes] | None:
    """``data`` as up to ``parts`` smaller documents, each the original's head, a run of whole
    entries and its tail; None when it cannot be split safely (ill-formed, UTF-16/32, few entries).

    Offsets come from expat (so CDATA, comments and entities never fool it).
    """
    if parts < 2 or data[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00") or data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return None
    if b"\x00" in data[:1024]:
        return None
    parser = pyexpat.ParserCreate()
    starts: list[int] = []
    ends: list[int] = []
    depth = 0
    entry_depth = 0

    def start(name: str, attrs: Any) -> None:
        nonlocal depth, entry_depth
        depth += 1
        if depth in (2, 3) and name.rsplit(":", 1)[-1] in ("item", "entry"):
            if not entry_depth:
                entry_depth = depth
            if depth == entry_depth:
                starts.append(parser.CurrentByteIndex)

    def end(name: str) -> None:
        nonlocal depth
        if depth == entry_depth and name.rsplit(":", 1)[-1] in ("item", "entry"):
            ends.append(parser.CurrentByteIndex)
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except (pyexpat.ExpatError, ValueError, LookupError):
        return None
    parts = min(parts, len(starts) // 2)  # two entries a piece at least
    if parts < 2 or len(ends) != len(starts):
        return None
    last_end = data.find(b">", ends[-1])
    if last_end < 0:
        return None
    head, tail = data[: starts[0]], data[last_end + 1 :]
    size = -(-len(starts) // parts)
    cuts = [starts[i] for i in range(0, len(starts), size)] + [last_end + 1]
    return [head + data[a:b] + tail for a, b in itertools.pairwise(cuts)]


def ready() -> bool:
    """Nothing: a worker process that runs it has started (the pool is warmed with it)."""
    return True


def exit_with_parent() -> None:
    """Start-up of a parse worker process (the pool's initializer): the worker exits as soon as the
    process that started the pool is gone, even killed (``kill -9``), instead of waiting for work
    for good. (Its own queues cannot tell: the worker holds their write ends too. Nor can
    PR_SET_PDEATHSIG: a worker's parent is the fork server, not the process it works for.)

    multiprocessing hands each child a "sentinel" pipe whose other end only that process holds
    (forkserver and spawn alike): end of file on it means that process has exited. A daemon thread
    waits for it. Once the workers are gone the fork server stops too (it stops when every holder
    of its "alive" pipe, the caller and each worker, has closed it), and so does the resource
    tracker."""
    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)
    if isinstance(sentinel, int):
        threading.Thread(target=_exit_at_end_of, args=(sentinel,), name="reader-exit-with-parent", daemon=True).start()


def _exit_at_end_of(fd: int) -> None:
    try:
        while os.read(fd, 4096):  # nothing is ever written: this returns at end of file
            pass
    except OSError:  # not a pipe to watch after all: carry on as before
        return
    os._exit(1)
