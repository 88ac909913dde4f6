"""The records every layer passes to the next: frozen, timezone-aware, Qt-free.

They are NamedTuples, not frozen dataclasses: every start of the window imports this module before
its first paint, and defining these twelve as ``dataclass(frozen=True, slots=True)`` took 8-13 ms
(each compiles six methods from source), as NamedTuples well under 1 ms each. Immutable either way;
a changed copy is ``record._replace(field=value)``.

Articles and list rows, feeds, what a list asks for (:class:`Query`) and gets (:class:`Page`), what a
write did (:class:`AddResult`), a rejected input (:class:`Problem`), and the one progress callback.
Nothing here does I/O.
"""

# (No ``from __future__ import annotations`` here: NamedTuple turns each string annotation of a
# field into a ForwardRef, compiling it, ~0.4 ms a record class before the window's first paint.
# A method's annotation naming its own class is quoted instead.)
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: How many characters of text the list shows as a snippet.
SNIPPET_CHARS = 240


class Enclosure(NamedTuple):
    """A file an entry carries (a podcast's audio, a video, a document): RSS ``<enclosure>``,
    Atom ``<link rel="enclosure">``. Only http(s) addresses are kept."""

    url: str
    type: str | None = None
    #: Bytes, as the feed says (often 0 or missing: None).
    length: int | None = None
    #: Seconds (``itunes:duration``), when the feed says.
    duration: int | None = None


def describe_enclosure(enclosure: Enclosure) -> str:
    """What a person is told of an enclosure besides its address: "audio/mpeg, 1:02:03, 42.1 MB"."""
    parts = [enclosure.type] if enclosure.type else []
    if enclosure.duration:
        hours, rest = divmod(enclosure.duration, 3600)
        minutes, seconds = divmod(rest, 60)
        parts.append(f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}")
    if enclosure.length:
        size = enclosure.length
        parts.append(
            f"{size / 1e6:,.1f} MB" if size >= 100_000 else f"{size / 1e3:,.0f} KB" if size >= 1000 else f"{size} bytes"
        )
    return ", ".join(parts)


class Article(NamedTuple):
    """One article, as parsed from a seed record or a feed entry, or as read back from the store.

    ``body`` is the cleaned text, one paragraph per line; ``raw`` is the record exactly as it was
    read, so nothing is ever lost. ``body_html`` is sanitised HTML for feed entries that have it.
    The store fills ``id``, ``read``, ``starred`` and ``imported_at``.
    """

    source: str | None
    title: str | None
    author: str | None = None
    description: str | None = None
    url: str | None = None
    image_url: str | None = None
    published: datetime | None = None
    body: str = ""
    body_html: str | None = None
    raw: str = ""
    origin: str | None = None
    #: Identity override (feed entries: ``feed:<feed id>:<entry id>``); None: derived from the fields.
    key: str | None = None
    feed_id: int | None = None
    id: int | None = None
    read: bool = False
    starred: bool = False
    imported_at: datetime | None = None
    enclosures: tuple[Enclosure, ...] = ()
    #: The page's main text (reader.fullcontent), sanitised HTML, when it was fetched.
    full_html: str | None = None
    #: Why the page's text could not be had, or "" once it was (None: not tried).
    full_status: str | None = None

    def identity(self) -> str:
        """The key that makes two records the same article.

        One article per canonical URL; records without one are the same when source, title and
        date agree. When the title or the date is missing too, the body is part of the key: two
        different untitled, undated records of one source must not collapse into one.
        """
        if self.key:
            return self.key
        if self.url:
            return "url:" + canonical_url(self.url)
        published = self.published.isoformat() if self.published else ""
        parts = [self.source or "", self.title or "", published]
        if not self.title or not self.published:
            parts.append(self.body)
        import hashlib  # (here: the window's start has no use for it)

        digest = hashlib.sha1("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
        return "rec:" + digest

    def snippet(self) -> str:
        return snippet_of(self.description, self.body)

    def __reduce__(self) -> "tuple[type[Article], tuple[object, ...]]":
        """Pickled as its constructor's arguments: the parse worker processes send back
        thousands of articles a feed (a dataclass's own pickling, a ``setattr`` per field in
        Python on load, took twice as long each way)."""
        return (Article, tuple(self))


class ArticleRow(NamedTuple):
    """What the article list needs of one article: no body, so 100,000 of them stay small."""

    id: int
    source: str | None
    title: str | None
    author: str | None
    snippet: str
    url: str | None
    image_url: str | None
    published: datetime | None
    read: bool
    starred: bool
    feed_id: int | None = None


_TRACKING_PREFIXES = ("utm_", "mc_")
_TRACKING_KEYS = frozenset({"fbclid", "gclid", "ocid", "cmpid"})


def canonical_url(url: str) -> str:
    """Normalise a URL for identity: scheme-less for http(s), lower-case host, no fragment,
    no default port, no tracking parameters, no trailing slash on the path."""
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", ""):
        return text
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port and not (scheme == "http" and port == 80) and not (scheme == "https" and port == 443):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/") or ""
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_KEYS
        ]
    )
    return urlunsplit(("", host, path, query, "")) if host else text


def utc(dt: datetime) -> datetime:
    """Timezone-aware UTC; naive datetimes are taken to be UTC already."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def counted(n: int, noun: str) -> str:
    """``1 article``, ``3 articles``: a count and its noun, as every message says one."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def is_date_only(dt: datetime) -> bool:
    """Whether a stored date carries no time of day: a record that gave only a date is stored as
    midnight UTC, and showing "00:00" would invent a time it never named."""
    at = utc(dt)
    return (at.hour, at.minute, at.second, at.microsecond) == (0, 0, 0, 0)


class Problem(NamedTuple):
    """One rejected input (or part of one), printed as ``input:line: reason``."""

    input: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.input}:{self.line}" if self.line is not None else self.input
        return f"{where}: {self.reason}"


# --- what the store is asked and answers ------------------------------------------------------

#: ``Query(source=NO_SOURCE)`` lists the seed records that have no source (their source_id was
#: 'NOVALUE' or empty); ``source=None`` means "any source".
NO_SOURCE = ""
View = Literal["all", "unread", "starred", "hidden"]
Order = Literal["newest", "relevance"]


class Query(NamedTuple):
    """Which articles a list shows. ``search`` is what the person typed (not FTS syntax)."""

    view: View = "all"
    #: Seed records of this source (the window lists feeds apart, and counts sources without them).
    source: str | None = None
    #: With ``source``: feed articles whose source (their feed's title) is that, too.
    feeds_too: bool = False
    feed_id: int | None = None
    search: str | None = None
    order: Order = "newest"
    #: Only the articles of this sync account (its id), or of its feeds in this folder.
    account_id: int | None = None
    folder: str | None = None
    #: Only the articles a rule gave this label.
    label: str | None = None


#: Where a page ends, to start the next one after it (keyset pagination, never OFFSET).
Cursor = tuple[float, int]


class Page(NamedTuple):
    rows: list[ArticleRow]
    #: Pass to the next :meth:`Store.page` call; None when this page was the last.
    next_cursor: Cursor | None


class AddResult(NamedTuple):
    added: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: "AddResult") -> "AddResult":  # type: ignore[override]
        """Field by field (not a tuple's concatenation): what two imports added, together."""
        return AddResult(self.added + other.added, self.updated + other.updated, self.unchanged + other.unchanged)


class Rule(NamedTuple):
    """A saved search and what to do with what it finds (``reader rules``)."""

    id: int
    name: str
    #: In the search field's syntax.
    query: str
    #: read, star, hide or label:NAME.
    action: str
    #: Only this feed's articles (its id and address), when set.
    feed_id: int | None = None
    feed_url: str | None = None
    #: Only the articles of the sync feeds in this folder, when set.
    folder: str | None = None


class Cleaned(NamedTuple):
    """What a cleanup (``reader cleanup``) removed, or with a dry run would remove."""

    removed: int
    #: Old enough, but starred: kept.
    starred_kept: int
    #: Bytes of the store now free inside it (reused by new articles before the file grows).
    free_bytes: int


class SourceCount(NamedTuple):
    source: str | None
    total: int
    unread: int


class Feed(NamedTuple):
    id: int
    url: str
    title: str | None = None
    site_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    added_at: datetime | None = None
    updated_at: datetime | None = None
    last_error: str | None = None
    dead: bool = False
    total: int = 0
    unread: int = 0
    #: The server's Cache-Control max-age or Expires: fresh until then (held back at most one
    #: refresh interval after the last fetch); None: no word from the server.
    fresh_until: datetime | None = None
    #: The server's Retry-After (429, 503): not to be fetched before this, whatever the interval.
    retry_at: datetime | None = None
    #: A sync account's feed (its server fetches it, not us): the account's id, the feed's own
    #: address (``url`` is then only a unique name) and its folder there.
    account_id: int | None = None
    remote_url: str | None = None
    folder: str | None = None
    #: Fetch each article's page and keep its main text (reader.fullcontent).
    full_content: bool = False

    @property
    def name(self) -> str:
        return self.title or self.remote_url or self.url


class Account(NamedTuple):
    """A sync account (a Google Reader API server). Its auth token is not here: never in the store
    (reader.sync.credentials keeps it)."""

    id: int
    name: str
    url: str
    user: str
    added_at: datetime | None = None
    last_sync: datetime | None = None
    #: ``ot`` of the next sync: the server's clock when the last complete one began (less a margin).
    since: int | None = None
    #: The server asked us to wait until then (429 or 503 with Retry-After).
    retry_at: datetime | None = None
    last_error: str | None = None


Progress = Callable[[int, int], None]
"""progress(done, total): the units of work (files, feeds, articles) finished so far, out of
``total``. ``total`` may grow while the work goes on (an OPML file turns out to list several
feeds); ``done`` never exceeds it."""


def snippet_of(description: str | None, body: str) -> str:
    """The list's line of text: the description, or else the body's first three lines, with
    runs of white space as one space, cut to :data:`SNIPPET_CHARS`.

    ``body`` may be only the start of the body (the store unpacks no more than it needs): once it
    holds three line breaks, or gives at least :data:`SNIPPET_CHARS` characters, the rest of the
    body changes nothing."""
    if description:
        text = description
    else:
        lines = [line for line in (part.strip() for part in body.split("\n", 3)[:3]) if line]
        # A line without an ending of its own (a heading: "What happened") is kept apart from the
        # next by a dash; a plain space ran the two together ("What happened Crews worked").
        text = " ".join(
            line + (" —" if i < len(lines) - 1 and line[-1] not in _ENDINGS else "") for i, line in enumerate(lines)
        )
    return " ".join(text.split())[:SNIPPET_CHARS]


#: How a line may end that needs no separator before the next one in a snippet.
_ENDINGS = frozenset(".!?:;,…\"'”’»)]—–-")
