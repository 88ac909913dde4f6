"""OPML subscription lists: read (any version, nested categories, common mistakes) and write (OPML 2.0).

No Qt. XML comes through the standard library's expat, which refuses external entities and
(expat >= 2.4) entity-expansion bombs.
"""

from __future__ import annotations

import email.utils
import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


class OpmlError(ValueError):
    """The data is not an OPML subscription list; the message says why, for a person."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    title: str | None
    xml_url: str
    html_url: str | None = None
    #: The category path (outer folders first), e.g. ``("News", "Science")``.
    categories: tuple[str, ...] = ()


def read_opml(data: bytes) -> list[OpmlFeed]:
    """Every feed (outline with an ``xmlUrl``) in document order, at any depth; duplicates once.

    Raises :class:`OpmlError` (and nothing else) when ``data`` is not an OPML list it can read:
    malformed XML without salvageable outlines, another kind of XML, anything the XML parser
    refuses. Callers report that as one problem. Nesting depth is not limited by Python's stack.
    """
    try:
        return _read(data)
    except OpmlError:
        raise
    except Exception as exc:  # bad input must never escape as a traceback
        raise OpmlError(f"cannot read ({type(exc).__name__}: {exc})") from None


def _read(data: bytes) -> list[OpmlFeed]:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        # Hand-edited and some exported lists have a stray '&' or a bad byte: salvage their outlines.
        feeds = _dedupe(_read_leniently(data))
        if feeds:
            return feeds
        raise OpmlError(f"not well-formed XML ({exc})") from None
    if _local(root.tag).lower() != "opml":
        raise OpmlError(f"not an OPML file (its root element is <{_local(root.tag)}>)")
    body = next((child for child in root if _local(child.tag).lower() == "body"), None)
    if body is None:
        raise OpmlError("an OPML file without a <body>")
    return _dedupe(_walk(body))


def _local(tag: object) -> str:
    text = tag if isinstance(tag, str) else ""
    return text.rsplit("}", 1)[-1]


def _attributes(element: ET.Element) -> dict[str, str]:
    # Exporters disagree on case (xmlUrl, xmlurl, XMLURL).
    return {_local(k).lower(): v.strip() for k, v in element.attrib.items()}


def _walk(body: ET.Element) -> Iterator[OpmlFeed]:
    # Depth first, in document order, with an explicit stack: a list nested thousands of levels
    # deep would overflow Python's stack if this recursed.
    stack: list[tuple[Iterator[ET.Element], tuple[str, ...]]] = [(iter(body), ())]
    while stack:
        children, categories = stack[-1]
        element = next(children, None)
        if element is None:
            stack.pop()
            continue
        if _local(element.tag).lower() != "outline":
            continue
        attrs = _attributes(element)
        title = attrs.get("title") or attrs.get("text") or None
        xml_url = attrs.get("xmlurl")
        if xml_url:
            yield OpmlFeed(title, xml_url, attrs.get("htmlurl") or None, categories)
        # A feed outline may (rarely) hold more outlines; a category always does.
        stack.append((iter(element), (*categories, title) if title and not xml_url else categories))


_OUTLINE = re.compile(rb"<outline\b([^>]*)>", re.IGNORECASE)
_ATTRIBUTE = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _read_leniently(data: bytes) -> Iterator[OpmlFeed]:
    for match in _OUTLINE.finditer(data):
        attrs = {
            m.group(1).decode("ascii", "replace").lower(): html.unescape(
                (m.group(2) if m.group(2) is not None else m.group(3)).decode("utf-8", "replace")
            ).strip()
            for m in _ATTRIBUTE.finditer(match.group(1))
        }
        if attrs.get("xmlurl"):
            yield OpmlFeed(
                attrs.get("title") or attrs.get("text") or None, attrs["xmlurl"], attrs.get("htmlurl") or None
            )


def _dedupe(feeds: Iterable[OpmlFeed]) -> list[OpmlFeed]:
    seen: set[str] = set()
    out: list[OpmlFeed] = []
    for feed in feeds:
        if feed.xml_url not in seen:
            seen.add(feed.xml_url)
            out.append(feed)
    return out


def write_opml(feeds: Iterable[OpmlFeed], title: str = "Reader subscriptions") -> bytes:
    """An OPML 2.0 document (UTF-8) listing ``feeds``, grouped into their categories."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = email.utils.formatdate(usegmt=True)
    body = ET.SubElement(root, "body")
    folders: dict[tuple[str, ...], ET.Element] = {(): body}
    for feed in feeds:
        parent = body
        for depth in range(1, len(feed.categories) + 1):
            path = feed.categories[:depth]
            if path not in folders:
                folders[path] = ET.SubElement(parent, "outline", text=path[-1], title=path[-1])
            parent = folders[path]
        name = feed.title or feed.xml_url
        attrs = {"type": "rss", "text": name, "title": name, "xmlUrl": feed.xml_url}
        if feed.html_url:
            attrs["htmlUrl"] = feed.html_url
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
