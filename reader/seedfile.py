"""Seed records (scraped news) -> :class:`Article`. Pure Python, no Qt.

A record is a header line, a Python list literal of exactly 8 strings as ``repr()`` writes it::

    [source_id, index, author, title, description, url, image_url, published_at]

followed by the body, one paragraph per line. A file holds one record or several in a row: a line
that parses as an 8-string list literal starts a new record. Headers are read with
``ast.literal_eval`` only, never ``eval``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from reader.article import Article, Problem, utc

HEADER_FIELDS = ("source", "index", "author", "title", "description", "url", "image_url", "published_at")
NO_VALUE = "NOVALUE"
BAD_HEADER = "header is not an 8-string list literal"

#: Lines that start page boilerplate at the end of scraped bodies; they and what follows are dropped.
BOILERPLATE_MARKERS = ("SPONSORED FINANCIAL CONTENT",)
#: Boilerplate is only looked for this close to the end of a body.
_BOILERPLATE_WINDOW = 12
#: A header longer than this is not tried (literal_eval of megabytes is slow and pointless).
_MAX_HEADER_CHARS = 64 * 1024

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
#: A header-shaped line with at least this many commas is a header attempt (8 fields have 7).
_BROKEN_HEADER_COMMAS = 5
_HEADER_SHAPE = re.compile(r"""^\s*\[\s*[rRbBuU]?['"].*['"]\s*,?\s*\]\s*$""")
# Name words are case-sensitive (only "By" is not): with IGNORECASE, prose such as "By Monday, officials
# said ..." read as a byline, lost its first paragraph from the body and became the author.
_NAME_WORD = r"(?:[A-Z][\w'’.\-]*|[a-z]{1,3}(?=\s+(?:[a-z]{1,3}\s+)*[A-Z]))"
_BYLINE = re.compile(rf"^(?i:by):?\s+({_NAME_WORD}(?:(?:\s+|\s*,\s*|\s+(?:and|&)\s+){_NAME_WORD}){{0,9}})\s*$")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_WEEKDAY = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+)?"
_TIME_TAIL = r"(?:[\s,]+(?:at\s+)?\d{1,2}(?::\d{2}){0,2}\s*(?:[ap]\.?m\.?)?(?:\s*[A-Z]{2,4})?)?\s*$"
_DATE_MDY = re.compile(rf"^{_WEEKDAY}([a-z]+)\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}}){_TIME_TAIL}", re.I)
_DATE_DMY = re.compile(rf"^{_WEEKDAY}(\d{{1,2}})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+(\d{{4}}){_TIME_TAIL}", re.I)
_DATE_ISO = re.compile(rf"^(\d{{4}})-(\d{{2}})-(\d{{2}})(?:[T ][\d:.]+(?:Z|[+-]\d{{2}}:?\d{{2}})?)?{_TIME_TAIL}")


@dataclass
class ParseResult:
    articles: list[Article] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def decode(data: bytes) -> str:
    """Bytes -> text: UTF-8 (BOM or not), UTF-16 with a BOM, else cp1252 (never fails)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; map those through latin-1 rather than fail.
        return _cp1252(data)


def _cp1252(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return "".join(chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes((b,)).decode("cp1252") for b in data)


def looks_binary(data: bytes) -> bool:
    """NUL bytes in the first 8 KiB (outside UTF-16) mean this is not a text file."""
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    return b"\x00" in head


def parse_header(line: str) -> list[str] | None:
    """The 8 header strings, or None when ``line`` is not an 8-string list literal."""
    text = line.strip()
    if not (text.startswith("[") and text.endswith("]")) or len(text) > _MAX_HEADER_CHARS:
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(value, list) and len(value) == len(HEADER_FIELDS) and all(isinstance(v, str) for v in value):
        return value
    return None


def _could_be_header(line: str) -> bool:
    # Cheap test before literal_eval: body lines almost never look like this.
    return _HEADER_SHAPE.match(line) is not None


def value(text: str) -> str | None:
    """``'NOVALUE'`` and blank mean no value."""
    text = text.strip()
    if not text or text == NO_VALUE:
        return None
    return text


def parse_published(text: str | None) -> datetime | None:
    """ISO 8601 -> aware UTC datetime; anything unparsable -> None (date unknown)."""
    if not text:
        return None
    candidate = text.strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    try:
        return utc(parsed)
    except (OverflowError, ValueError):
        return None


def _line_date(line: str) -> date | None:
    text = line.strip()
    if len(text) > 60:
        return None
    try:
        if m := _DATE_MDY.match(text):
            month = _MONTHS.get(m.group(1).lower())
            return date(int(m.group(3)), month, int(m.group(2))) if month else None
        if m := _DATE_DMY.match(text):
            month = _MONTHS.get(m.group(2).lower())
            return date(int(m.group(3)), month, int(m.group(1))) if month else None
        if m := _DATE_ISO.match(text):
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return None


def byline_author(line: str) -> str | None:
    """``By Sarah Gray`` -> ``Sarah Gray``; None when the line is not a byline."""
    match = _BYLINE.match(line.strip())
    if not match:
        return None
    name = match.group(1).strip(" ,")
    # "By the way ..." is prose, not a byline: names start with a capital.
    return name if name[:1].isupper() else None


def clean_body(paragraphs: list[str], published: datetime | None) -> tuple[list[str], str | None]:
    """Drop a leading byline and a date line repeating ``published``, and trailing boilerplate.

    Returns the kept paragraphs and the byline's author (or None).
    """
    author = None
    start = 0
    if paragraphs and (found := byline_author(paragraphs[0])):
        author = found
        start = 1
    if published is not None and len(paragraphs) > start:
        day = _line_date(paragraphs[start])
        # A dateline is written in the publisher's zone: allow one day either side of UTC.
        if day is not None and abs(day - published.date()) <= timedelta(days=1):
            start += 1
    end = len(paragraphs)
    for i in range(len(paragraphs) - 1, max(start, end - _BOILERPLATE_WINDOW) - 1, -1):
        if paragraphs[i].startswith(BOILERPLATE_MARKERS):
            end = i
    return paragraphs[start:end], author


def split_lines(text: str) -> tuple[list[str], list[int]]:
    """Lines (without their breaks) and the offset where each starts, plus the end offset."""
    lines: list[str] = []
    offsets: list[int] = []
    pos = 0
    for match in _LINE_BREAK.finditer(text):
        lines.append(text[pos : match.start()])
        offsets.append(pos)
        pos = match.end()
    if pos < len(text):
        lines.append(text[pos:])
        offsets.append(pos)
    offsets.append(len(text))
    return lines, offsets


def parse(data: bytes, origin: str = "<bytes>") -> ParseResult:
    """Parse one seed file's bytes into articles and problems (never raises on bad input)."""
    result = ParseResult()
    if not data.strip():
        result.problems.append(Problem(origin, "empty file"))
        return result
    if looks_binary(data):
        result.problems.append(Problem(origin, "binary file, not a seed record"))
        return result
    text = decode(data)
    if not text.strip():
        # Only a BOM, or only whitespace the byte check does not know (NBSP, NEL, \x1c-\x1f).
        result.problems.append(Problem(origin, "empty file"))
        return result
    lines, offsets = split_lines(text)
    # Record boundaries: good headers, and broken ones (a line shaped like a header, with the commas
    # of several fields, that is not an 8-string literal). A broken header starts a record that is
    # reported and left out, rather than being glued onto the previous article as body text.
    bounds: list[tuple[int, list[str] | None]] = []
    for i, line in enumerate(lines):
        if _could_be_header(line):
            header = parse_header(line)
            if header is not None or line.count(",") >= _BROKEN_HEADER_COMMAS:
                bounds.append((i, header))
    first = bounds[0][0] if bounds else len(lines)
    for i in range(first):
        if lines[i].strip():
            # Text before the first header: the file does not start with a header. Whatever
            # records follow are still imported.
            result.problems.append(Problem(origin, BAD_HEADER, i + 1))
            break
    for n, (i, header) in enumerate(bounds):
        end = bounds[n + 1][0] if n + 1 < len(bounds) else len(lines)
        if header is None:
            result.problems.append(Problem(origin, BAD_HEADER, i + 1))
            continue
        raw = text[offsets[i] : offsets[end]]
        result.articles.append(_article(header, lines[i + 1 : end], raw, origin))
    return result


def _article(header: list[str], body_lines: list[str], raw: str, origin: str) -> Article:
    source, _index, author, title, description, url, image_url, published_at = (value(v) for v in header)
    published = parse_published(published_at)
    paragraphs = [p for p in (line.strip() for line in body_lines) if p]
    kept, byline = clean_body(paragraphs, published)
    return Article(
        source=source,
        title=title,
        author=author or byline,
        description=description,
        url=url,
        image_url=image_url,
        published=published,
        body="\n".join(kept),
        raw=raw,
        origin=origin,
    )
