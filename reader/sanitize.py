"""Feed HTML made safe (nh3), and the plain text derived from it. No Qt.

nh3 (the Rust ``ammonia`` sanitiser) parses with html5ever and writes back well-formed HTML:
lower-case tags, double-quoted attribute values with ``<``, ``>``, ``&`` and ``"`` escaped. That is
what lets :func:`html_to_text` use simple regular expressions on its output (never on raw feed
HTML). Attributes are another matter (a value may itself read like ``src="..."``): :func:`first_image`
reads them with the standard library's HTML parser.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from html.parser import HTMLParser
from urllib.parse import urlsplit

import nh3

#: Schemes a link or image may use after cleaning. ``javascript:``, ``data:``, ``vbscript:`` go.
URL_SCHEMES = frozenset({"http", "https", "mailto"})
#: Relative URLs are resolved against a base of one of these schemes (local feeds have ``file:``).
_BASE_SCHEMES = ("http", "https", "file")

_BLOCK_TAGS = (
    "address|article|aside|blockquote|br|caption|dd|details|div|dl|dt|figcaption|figure|footer|h[1-6]|header|hr|li|"
    "ol|p|pre|section|summary|table|tbody|td|tfoot|th|thead|tr|ul"
)
_BLOCK = re.compile(rf"<(?:/?(?:{_BLOCK_TAGS}))(?:\s[^>]*)?/?>")
_TAG = re.compile(r"<[^>]*>")
_LOOKS_LIKE_HTML = re.compile(r"<[a-zA-Z/!]|&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);")


#: nh3's default attributes less ``cite`` (a URL nh3 does not check against the allowed schemes).
_ATTRIBUTES = {tag: set(names) - {"cite"} for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}


@lru_cache(maxsize=64)
def _cleaner(base: str | None) -> nh3.Cleaner:
    # One cleaner per base URL: a feed's entries share a base, so this is built once per feed.
    if base is not None:
        return nh3.Cleaner(
            url_schemes=set(URL_SCHEMES), attributes=_ATTRIBUTES, url_relative=("rewrite_with_base", base)
        )
    return nh3.Cleaner(url_schemes=set(URL_SCHEMES), attributes=_ATTRIBUTES)


@lru_cache(maxsize=256)
def usable_base(base: str | None) -> str | None:
    """``base`` if relative URLs can be resolved against it (an absolute http/https/file URL)."""
    if not base:
        return None
    try:
        parts = urlsplit(base)
    except ValueError:
        return None
    if parts.scheme.lower() not in _BASE_SCHEMES:
        return None
    if parts.scheme.lower() != "file" and not parts.netloc:
        return None
    return base


#: An attribute that nh3 (ammonia) treats as a URL whose value does not start with a scheme: a
#: relative URL (or one hidden behind an entity), which only a cleaner with a base resolves.
#: Found by :func:`has_relative_url`, which is this pattern's search, made fast.
RELATIVE_URL = re.compile(
    r"""\b(?:href|src|action|data|formaction|ping|poster)\s*=(?!\s*["']?\s*[a-z][a-z0-9+.\-]*:)""", re.IGNORECASE
)
_URL_ATTRIBUTE = re.compile(r"href|src|action|data|formaction|ping|poster", re.IGNORECASE)
_ABSOLUTE_VALUE = re.compile(r"""\s*["']?\s*[a-z][a-z0-9+.\-]*:""", re.IGNORECASE)


def has_relative_url(fragment: str) -> bool:
    r"""``RELATIVE_URL.search(fragment)`` is not None, found from each ``=`` instead: that search
    tries its alternation at every character (about 200 us a kilobyte, more than nh3's cleaning of
    the same text, which a synced item pays for its body). Before an ``=`` and the whitespace
    that precedes it, the attribute name the pattern wants is the whole run of word characters
    (``\b`` before it: no boundary is inside such a run); ``isspace`` and ``isalnum`` or ``_`` are
    what ``\s`` and ``\w`` match in a str pattern."""
    at = fragment.find("=")
    while at >= 0:
        end = at
        while end and fragment[end - 1].isspace():
            end -= 1
        start = end
        while start and (fragment[start - 1].isalnum() or fragment[start - 1] == "_"):
            start -= 1
        if (
            start < end
            and _URL_ATTRIBUTE.fullmatch(fragment, start, end)
            and not _ABSOLUTE_VALUE.match(fragment, at + 1)
        ):
            return True
        at = fragment.find("=", at + 1)
    return False


def clean_html(fragment: str, base: str | None = None) -> str:
    """Sanitised HTML: no scripts or styles (content and all), no event handlers, no
    ``javascript:`` (or other non-web) URLs; relative ``href``/``src`` resolved against ``base``.

    A fragment with no relative URL gets the cleaner without a base, whose output is the same:
    synced items each bring their own link as the base, and building a cleaner for each was an
    eighth of a first sync's time."""
    if not fragment:
        return ""
    try:
        usable = usable_base(base) if base and has_relative_url(fragment) else None
        return _cleaner(usable).clean(fragment)
    except (ValueError, TypeError):
        # A base the URL library refuses: clean without resolving rather than lose the entry.
        return _cleaner(None).clean(fragment)


def html_to_text(clean: str) -> str:
    """Plain text of *sanitised* HTML: one paragraph per line, whitespace collapsed, entities decoded."""
    if not clean:
        return ""
    text = clean
    # Source line breaks and indentation are just spaces in HTML (skip the work when there are none).
    if "\n" in text or "\r" in text or "\t" in text or "  " in text:
        text = " ".join(text.split())
    text = _TAG.sub("", _BLOCK.sub("\n", text))
    if "&" in text:
        text = html.unescape(text).replace("\u00a0", " ")
    return "\n".join([line for line in (raw.strip() for raw in text.split("\n")) if line])


def fragment_to_text(fragment: str, base: str | None = None) -> str:
    """Plain text of untrusted HTML (or of text that merely may hold entities)."""
    if not fragment:
        return ""
    if not _LOOKS_LIKE_HTML.search(fragment):
        return "\n".join([line for line in (" ".join(raw.split()) for raw in fragment.split("\n")) if line])
    return html_to_text(clean_html(fragment, base))


def text_to_html(text: str) -> str:
    """Plain text as HTML paragraphs (blank lines separate paragraphs)."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)


class _ImgSrc(HTMLParser):
    """The ``src`` of an ``<img>`` tag, its attributes read by the stdlib HTML parser."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.src: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img" and self.src is None:
            self.src = next((value for name, value in attrs if name == "src" and value), None)

    handle_startendtag = handle_starttag


def first_image(clean: str) -> str | None:
    """The ``src`` of the first ``<img>`` with one in *sanitised* HTML, or None."""
    # In nh3's output "<" is escaped everywhere but at a tag, and ">" in attribute values: each
    # "<img" starts an img tag that ends at the next ">". Only those tags go through the parser.
    start = clean.find("<img")
    while start >= 0:
        end = clean.find(">", start)
        if end < 0:
            return None
        parser = _ImgSrc()
        parser.feed(clean[start : end + 1])
        parser.close()
        if parser.src:
            return parser.src
        start = clean.find("<img", end)
    return None


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters (with an ellipsis)."""
    head = " ".join(text[: 2 * limit].split())
    if len(head) <= limit and len(text) <= 2 * limit:
        return head
    cut = head.rfind(" ", 0, limit)
    return head[: cut if cut > limit // 2 else limit].rstrip(" ,;:.") + "…"
