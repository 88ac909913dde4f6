"""A fast path for well-formed RSS 2.0 and Atom 1.0 documents: expat straight into the few entry
fields :mod:`reader.feedparse` reads, in the shapes feedparser gives them, or None to say "let
feedparser do it".

Why: on a 5,000-item full-text feed feedparser was 30% of Reader's CPU time (py-spy, issue #17), most
of it its generic per-element machinery (a SAX layer, an element stack, content parameters copied
for every text), which this skips. It is not a second parser with its own ideas: every rule below is
feedparser 6.0's, copied (text stripped, the UTF-8-read-as-Latin-1 repair, Windows-1252 code points,
``looks_like_html`` for RSS titles, ``guid`` as link, the ``&amp;`` repair of links, xml:base, the
author e-mail split) or called (its date parsers, URL joins, encoding detection, author helpers).
Whatever it is not sure of it refuses (:class:`Fallback`) and feedparser parses the whole document:
RSS 0.9x/1.0, a DOCTYPE or entity declarations, a parse or encoding error, markup inside a text
element (Atom ``xhtml`` too), base64 or ``src`` content, a repeated single-valued element, and any
element it does not know that feedparser would give a meaning to (tests/test_fastfeed.py compares
the two paths article by article on every feed file under tests/data and generated ones).
"""

from __future__ import annotations

import pyexpat
import re
from typing import Any

from feedparser import api, encodings, mixin
from feedparser.datetimes import _parse_date

_ATOM = "http://www.w3.org/2005/atom"
_Mixin = mixin._FeedParserMixin
#: Namespace URI (lower-case) -> feedparser's prefix for it ("" for RSS and Atom themselves).
_PREFIXES: dict[str, str] = {k.lower(): v for k, v in _Mixin.namespaces.items()}
_CANONICAL = frozenset(_PREFIXES.values())
#: Namespaces that make feedparser read the document as RSS 0.90 / 1.0: not ours.
_OTHER_VERSIONS = frozenset({"http://my.netscape.com/rdf/simple/0.9/", "http://purl.org/rss/1.0/"})

#: Elements feedparser has a handler for (``_start_NAME`` / ``_end_NAME``, NAME as it names them).
_HANDLED = frozenset(
    name.removeprefix("_start_").removeprefix("_end_").lower()
    for name in dir(api.StrictFeedParser)
    if name.startswith(("_start_", "_end_"))
)
#: Entry keys reader.feedparse reads: an unknown element of one of these names would set it.
_READ_KEYS = frozenset(
    {
        "title",
        "title_detail",
        "link",
        "links",
        "id",
        "author",
        "author_detail",
        "authors",
        "content",
        "summary",
        "summary_detail",
        "published",
        "published_parsed",
        "updated",
        "updated_parsed",
        "created",
        "created_parsed",
        "media_thumbnail",
        "media_content",
        "guidislink",
    }
)
#: Known elements whose handlers touch nothing we read: skipped (as leaves only).
_ENTRY_SKIP = frozenset(
    {
        "category",
        "dc_subject",
        "rights",
        "dc_rights",
        "comments",
        "media_category",
        "media_credit",
        "media_keywords",
        "media_rating",
        "media_license",
        "media_restriction",
        "itunes_explicit",
        "itunes_image",
        "itunes_keywords",
        "itunes_block",
    }
)
_FEED_SKIP = frozenset(
    {
        "description",
        "subtitle",
        "language",
        "dc_language",
        "lastbuilddate",
        "pubdate",
        "published",
        "updated",
        "dc_date",
        "generator",
        "category",
        "dc_subject",
        "rights",
        "dc_rights",
        "managingeditor",
        "webmaster",
        "dc_creator",
        "dc_publisher",
        "cloud",
        "icon",
        "logo",
        "itunes_author",
        "itunes_summary",
        "itunes_subtitle",
        "itunes_explicit",
        "itunes_image",
        "itunes_keywords",
        "itunes_block",
    }
)
#: Known feed-level elements whose children, whatever they are, touch only their own record.
_FEED_SKIP_TREES = frozenset(
    {"image", "textinput", "author", "contributor", "skiphours", "skipdays", "itunes_owner", "itunes_category"}
)
_TEXT_TYPES = frozenset({"text/plain", "text/html"})
_HTML_TYPES = frozenset(_Mixin.html_types)
_ENTITY_IN_LINK = re.compile("&([A-Za-z0-9_]+);")
_CP1252 = mixin._cp1252


class Fallback(Exception):
    """Not a document the fast path is sure of: feedparser parses it."""


class _Authors:
    """Just enough of feedparser's parser for its own author helpers (``_save_author``,
    ``_sync_author_detail``) to run on one record: the same split of names and e-mail addresses."""

    __slots__ = ("context",)

    def __init__(self, context: dict[str, Any]) -> None:
        self.context = context

    def _get_context(self) -> dict[str, Any]:
        return self.context

    _save_author = _Mixin._save_author
    _sync_author_detail = _Mixin._sync_author_detail


class _Base:
    """feedparser's ``resolve_uri`` (as reader.feedparse adjusts it) needs only ``baseuri``."""

    __slots__ = ("baseuri",)

    def __init__(self, baseuri: str) -> None:
        self.baseuri = baseuri


def parse(data: bytes, headers: dict[str, str]) -> dict[str, Any] | None:
    """``data`` as feedparser would give it (``feed``, ``entries``, ``version``, only the fields
    reader.feedparse reads), or None: parse it with feedparser. ``headers``: lower-case names,
    ``content-location`` the base URI. Call after reader.feedparse has adjusted feedparser."""
    try:
        return _Parser(data, headers).run()
    except Fallback:
        return None
    except Exception:  # a case the fast path did not foresee: feedparser, which has the last word, takes it
        return None


def _finish(parser: _Parser, text: str, content_type: str | None, resolve: bool) -> tuple[str, str | None]:
    """feedparser's ``pop`` for a text element: stripped, a link resolved, RSS text that looks like
    HTML typed so, the UTF-8-as-Latin-1 repair and the Windows-1252 code points."""
    output = text.strip()
    if resolve and output:
        parser.base.baseuri = parser.baseuri
        output = _Mixin.resolve_uri(parser.base, output)
    if parser.rss and content_type == "text/plain" and _Mixin.looks_like_html(output):
        content_type = "text/html"
    if not output.isascii():
        try:
            output = output.encode("iso-8859-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
        output = output.translate(_CP1252)
    return output, content_type


class _Parser:
    def __init__(self, data: bytes, headers: dict[str, str]) -> None:
        result: dict[str, Any] = {"bozo": False}
        self.data = encodings.convert_to_utf8(dict(headers), data, result)
        # (A complaint alone, "no Content-Type" or "declared X, read as Y", does not stop feedparser
        # from parsing the converted document strictly, nor us; no encoding at all does.)
        if not result.get("encoding"):
            raise Fallback("encoding")
        location = headers.get("content-location", "")
        self.baseuri: str = mixin.make_safe_absolute_uri("", location) or mixin.make_safe_absolute_uri(location) or ""
        self.base = _Base(self.baseuri)
        self.bases: list[str] = []
        self.feed: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.rss = False
        self.version = ""
        self.depth = 0
        self.root_seen = False
        self.names: dict[str, tuple[str, str]] = {}
        self.entry: dict[str, Any] | None = None
        self.entry_depth = 0
        self.seen: set[str] = set()
        self.feed_seen: set[str] = set()
        self.has_content = False
        # The element whose text is being read: (name, content type, start depth) and its text.
        self.current: tuple[str, str | None, dict[str, Any] | None] | None = None
        self.text: list[str] = []
        self.author_text: list[str] | None = None
        self.author: _Authors | None = None
        self.author_depth = 0
        self.guid = False
        self.skip_until = 0  # depth of a skipped subtree's root, 0: none
        self.leaf_depth = 0  # depth of an element that must have no child elements

    def run(self) -> dict[str, Any] | None:
        parser = pyexpat.ParserCreate(None, " ")
        parser.namespace_prefixes = True
        parser.buffer_text = True
        parser.buffer_size = 256 * 1024
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.characters
        parser.StartNamespaceDeclHandler = self.namespace
        parser.StartDoctypeDeclHandler = self.refuse
        parser.EntityDeclHandler = self.refuse
        try:
            parser.Parse(self.data, True)
        except pyexpat.ExpatError as exc:
            raise Fallback("malformed") from exc
        if not self.entries or not self.version:
            raise Fallback("no entries")  # feedparser says why
        return {"feed": self.feed, "entries": self.entries, "version": self.version, "bozo": False}

    @staticmethod
    def refuse(*args: Any) -> None:
        raise Fallback("DTD")

    def namespace(self, prefix: str | None, uri: str | None) -> None:
        if not uri:
            return
        lower = uri.lower()
        if lower in _OTHER_VERSIONS:
            raise Fallback("RSS 1.0 / 0.90")
        if not self.version and lower == _ATOM:
            self.version = "atom10"
        known = _PREFIXES.get(lower)
        if "backend.userland.com/rss" in lower:
            known = ""
        # A document prefix that is also one of feedparser's own, for another namespace, would
        # make feedparser rename elements: not ours to copy.
        if prefix and prefix in _CANONICAL and known != prefix:
            raise Fallback("prefix")

    def name(self, raw: str) -> tuple[str, str]:
        """(feedparser's name for an element, its namespace's canonical prefix or '?' if unknown)."""
        cached = self.names.get(raw)
        if cached is not None:
            return cached
        parts = raw.split(" ")
        if len(parts) == 1:
            prefix, local = "", parts[0]
        else:
            uri = parts[0].lower()
            local = parts[1]
            known = "" if "backend.userland.com/rss" in uri else _PREFIXES.get(uri)
            # An unknown namespace: feedparser names the element by the document's prefix.
            prefix = known if known is not None else (parts[2] if len(parts) > 2 else "") + "\x00"
        local = local.lower()
        if prefix.endswith("\x00"):
            given = prefix[:-1]
            named = (f"{given}_{local}" if given else local, "?")
        else:
            named = (f"{prefix}_{local}" if prefix else local, prefix)
        self.names[raw] = named
        return named

    @staticmethod
    def attributes(attrs: dict[str, str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for raw, value in attrs.items():
            parts = raw.split(" ")
            if len(parts) == 1:
                key = parts[0]
            else:
                prefix = _PREFIXES.get(parts[0].lower(), "")
                key = f"{prefix}:{parts[1]}" if prefix else parts[1]
            found[key.lower()] = value
        return found

    def characters(self, text: str) -> None:
        if self.current is not None:
            self.text.append(text)
        elif self.author_text is not None and self.depth == self.author_depth:
            self.author_text.append(text)

    # --- elements -------------------------------------------------------------------------------

    def start(self, raw: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        if self.skip_until:
            return
        if self.leaf_depth:
            raise Fallback("markup in a text element")
        name, _prefix = self.name(raw)
        attrs_d = self.attributes(attrs) if attrs else {}
        base = attrs_d.get("xml:base", attrs_d.get("base")) or self.baseuri
        if self.baseuri:
            self.baseuri = mixin.make_safe_absolute_uri(self.baseuri, base) or self.baseuri
        else:
            self.baseuri = mixin._urljoin(self.baseuri, base)
        self.bases.append(self.baseuri)
        if self.depth == 1:
            self.root(name, raw, attrs_d)
            return
        if self.entry is not None:
            if self.author is not None:
                self.author_child(name, attrs_d)
            else:
                self.entry_child(name, attrs_d)
            return
        if name in ("item", "entry") and self.depth == (3 if self.rss else 2):
            if "rdf:about" in attrs_d or "href" in attrs_d or "lastmod" in attrs_d:
                raise Fallback("CDF or RDF item")
            self.entry = {}
            self.entries.append(self.entry)
            self.entry_depth = self.depth
            self.seen = set()
            return
        if self.rss and self.depth == 2:
            if name != "channel" or "href" in attrs_d or "lastmod" in attrs_d:
                raise Fallback("not a channel")
            return
        self.feed_child(name, attrs_d)

    def root(self, name: str, raw: str, attrs: dict[str, str]) -> None:
        if name == "rss" and attrs.get("version", "").startswith("2."):
            self.rss = True
            self.version = "rss20"
        elif name == "feed" and self.version == "atom10" and raw.split(" ")[0].lower() == _ATOM:
            self.rss = False
        else:
            raise Fallback("not RSS 2.0 or Atom 1.0")

    def text_element(self, name: str, content_type: str | None, detail: dict[str, Any] | None) -> None:
        self.current = (name, content_type, detail)
        self.text = []
        self.leaf_depth = self.depth

    def content_params(self, attrs: dict[str, str], default: str) -> dict[str, Any]:
        if "mode" in attrs:
            raise Fallback("content mode")
        content_type = _Mixin.map_content_type(attrs.get("type", default))
        if content_type not in _TEXT_TYPES and content_type not in _HTML_TYPES:
            raise Fallback(f"content type {content_type}")  # base64 or XML: feedparser's
        if content_type == "application/xhtml+xml":
            raise Fallback("xhtml")
        return {"type": content_type, "language": None, "base": self.baseuri}

    def once(self, seen: set[str], family: str) -> None:
        if family in seen:
            raise Fallback(f"a second {family}")
        seen.add(family)

    def skip_leaf(self, name: str, allowed: frozenset[str]) -> None:
        if name in allowed:
            pass
        elif name in _HANDLED or name in _READ_KEYS:  # unknown ones are stored under their name
            raise Fallback(f"element {name}")
        self.leaf_depth = self.depth

    def feed_child(self, name: str, attrs: dict[str, str]) -> None:
        if (self.depth != 3 if self.rss else self.depth != 2) or name in ("item", "entry"):
            raise Fallback("an element out of place")
        if name == "title":
            self.once(self.feed_seen, "title")
            params = self.content_params(attrs, "text/plain")
            self.text_element("title", params["type"], params)
        elif name == "link":
            self.link(self.feed, attrs, self.feed_seen)
        elif name == "id" or name == "guid":
            self.once(self.feed_seen, "id")
            self.guid = attrs.get("ispermalink", "true") == "true"
            self.text_element("id", None, None)
        elif name in _FEED_SKIP_TREES:
            self.skip_until = self.depth
        else:
            self.skip_leaf(name, _FEED_SKIP)

    def link(self, context: dict[str, Any], attrs: dict[str, str], seen: set[str]) -> None:
        """feedparser's ``_start_link``: an Atom link's href, or an RSS link's text to come."""
        attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
        attrs = _Mixin._enforce_href(attrs)
        links = context.setdefault("links", [])
        if "href" in attrs:
            self.base.baseuri = self.baseuri
            attrs["href"] = _Mixin.resolve_uri(self.base, attrs["href"])
            links.append(attrs)
            if attrs["rel"] == "alternate" and _Mixin.map_content_type(attrs["type"]) in _HTML_TYPES:
                context["link"] = attrs["href"]
            self.leaf_depth = self.depth
        else:
            self.once(seen, "text link")
            links.append(attrs)
            self.text_element("link", None, None)

    def entry_child(self, name: str, attrs: dict[str, str]) -> None:
        entry = self.entry
        assert entry is not None
        if self.depth != self.entry_depth + 1:
            raise Fallback("nested")
        if name == "title":
            self.once(self.seen, "title")
            params = self.content_params(attrs, "text/plain")
            self.text_element("title", params["type"], params)
        elif name == "link":
            self.link(entry, attrs, self.seen)
        elif name in ("guid", "id"):
            self.once(self.seen, "id")
            self.guid = attrs.get("ispermalink", "true") == "true"
            self.text_element("id", None, None)
        elif name in ("description", "summary"):
            self.once(self.seen, "summary")
            params = self.content_params(attrs, "text/html" if name == "description" else "text/plain")
            self.text_element("summary", params["type"], params)
        elif name in ("content_encoded", "content"):
            if "src" in attrs:
                raise Fallback("content src")
            self.has_content = True
            params = self.content_params(attrs, "text/html" if name == "content_encoded" else "text/plain")
            self.text_element("content", params["type"], params)
        elif name in ("pubdate", "published", "issued"):
            self.once(self.seen, "published")
            self.text_element("published", None, None)
        elif name in ("updated", "modified", "dc_date"):
            self.once(self.seen, "updated")
            self.text_element("updated", None, None)
        elif name == "created":
            self.once(self.seen, "created")
            self.text_element("created", None, None)
        elif name in ("author", "dc_creator"):
            self.once(self.seen, "author")
            entry.setdefault("authors", []).append({})
            self.author = _Authors(entry)
            self.author_text = []
            self.author_depth = self.depth
        elif name == "enclosure":
            attrs = _Mixin._enforce_href(attrs)
            attrs["rel"] = "enclosure"
            entry.setdefault("links", []).append(attrs)
            self.leaf_depth = self.depth
        elif name == "itunes_duration":
            self.once(self.seen, "itunes_duration")
            self.text_element("itunes_duration", None, None)
        elif name == "media_thumbnail":
            if "url" not in attrs:
                raise Fallback("thumbnail without url")
            entry.setdefault("media_thumbnail", []).append(attrs)
            self.leaf_depth = self.depth
        elif name == "media_content":
            entry.setdefault("media_content", []).append(attrs)
            self.leaf_depth = self.depth
        elif name == "contributor":
            self.skip_until = self.depth
        else:
            self.skip_leaf(name, _ENTRY_SKIP)

    def author_child(self, name: str, attrs: dict[str, str]) -> None:
        if self.depth != self.author_depth + 1 or name not in ("name", "email", "uri", "url"):
            raise Fallback("author")
        self.text_element("author_" + name, None, None)

    def end(self, raw: str) -> None:
        depth = self.depth
        self.depth -= 1
        if self.skip_until:
            if depth == self.skip_until:
                self.skip_until = 0
                self.pop_base()
            return
        if self.leaf_depth == depth:
            self.leaf_depth = 0
            if self.current is not None:
                self.finish_text()
        elif self.author is not None and depth == self.author_depth:
            self.end_author()
        elif self.entry is not None and depth == self.entry_depth:
            self.entry = None
            self.has_content = False
        self.pop_base()

    def pop_base(self) -> None:
        bases = self.bases
        if bases:
            bases.pop()
            if bases and bases[-1]:
                self.baseuri = bases[-1]

    def end_author(self) -> None:
        author = self.author
        assert author is not None and self.author_text is not None
        output, _ = _finish(self, "".join(self.author_text), None, False)
        author.context["author"] = output
        author._sync_author_detail()
        self.author = None
        self.author_text = None

    def finish_text(self) -> None:
        assert self.current is not None
        name, content_type, detail = self.current
        self.current = None
        text = "".join(self.text)
        context = self.entry if self.entry is not None else self.feed
        if name.startswith("author_"):
            field = name[7:]
            if field in ("name", "email"):
                value: str = text.strip()  # feedparser reads these as they are (no repairs)
            else:
                field = "href"
                value, _ = _finish(self, text, None, True)
            assert self.author is not None
            self.author._save_author(field, value)
            return
        output, content_type = _finish(self, text, content_type, name == "link")
        if name == "link":
            if self.entry is not None:
                output = output.replace("&amp;", "&")
                output = _ENTITY_IN_LINK.sub(r"&\g<1>", output)
            else:
                output = _ENTITY_IN_LINK.sub(r"&\g<1>", output)
            context["link"] = output
            if output or self.entry is None:
                context["links"][-1]["href"] = output
            return
        if name == "id":
            context["id"] = output
            context.setdefault("guidislink", self.guid and "link" not in context)
            if self.guid:
                context.setdefault("link", output)
            return
        if name in ("published", "updated", "created"):
            context[name] = output
            context[name + "_parsed"] = _parse_date(output)
            return
        if detail is not None:
            detail = dict(detail, type=content_type, value=output)
        if name == "content":
            context.setdefault("content", []).append(detail)
            if content_type in _TEXT_TYPES or content_type in _HTML_TYPES:
                context.setdefault("summary", output)
            return
        context[name] = output
        if detail is not None:
            context[name + "_detail"] = detail
