"""Source names as a person reads them: the feed's title for a feed's articles, else a readable form
of the record's source id ("bbc-news" -> "BBC News"). The sidebar, the list and the reading pane
all show these; filters keep the id."""

from __future__ import annotations

from collections.abc import Sequence

from reader.records import Feed

#: Ids whose words title-casing gets wrong (acronyms, brands).
KNOWN_SOURCES: dict[str, str] = {
    "nasa": "NASA",
    "bbc-news": "BBC News",
    "bbc": "BBC",
    "the-verge": "The Verge",
    "reuters": "Reuters",
    "wikinews": "Wikinews",
    "fortune": "Fortune",
    "cnn": "CNN",
    "npr": "NPR",
    "ap": "AP",
}


def source_key(name: str) -> str:
    text = name.strip().lower()
    return text.removeprefix("https://").removeprefix("http://").removeprefix("www.")


def source_initial(name: str) -> str:
    """The letter a placeholder shows for a source: ``"www.nasa.gov"`` -> ``"N"``, ``""`` -> ``""``.
    (Here, not in :mod:`reader.ui.thumbnails`: the reading pane needs it before the first paint,
    which must not wait for the image service's imports.)"""
    return next((c.upper() for c in source_key(name) if c.isalnum()), "")


def readable_source(source: str | None) -> str:
    """A seed record's source id as a name: known ids from :data:`KNOWN_SOURCES`, others as their
    words title-cased ("new-york-times" -> "New York Times"). Empty for no source."""
    if not source:
        return ""
    known = KNOWN_SOURCES.get(source.strip().lower())
    if known is not None:
        return known
    words = source.replace("-", " ").replace("_", " ").split()
    if not words:
        return source
    if source != source.lower():
        return " ".join(words)  # someone chose its case already ("ArsTechnica"): keep it
    return " ".join(w[:1].upper() + w[1:] for w in words)


class SourceNames:
    """Feed titles by feed id (from the last count), and the name to show for an article."""

    def __init__(self) -> None:
        self._titles: dict[int, str] = {}

    def set_feeds(self, feeds: Sequence[Feed]) -> bool:
        """Take the feeds' current titles; True when any changed (the list repaints then)."""
        titles = {f.id: f.title for f in feeds if f.title}
        if titles == self._titles:
            return False
        self._titles = titles
        return True

    def name(self, source: str | None, feed_id: int | None = None) -> str:
        """A feed's article: its feed's title, or (no title known) the source it was stored with,
        already a title or a host name. A seed record: its id, readable."""
        if feed_id is not None:
            return self._titles.get(feed_id) or source or ""
        return readable_source(source)
