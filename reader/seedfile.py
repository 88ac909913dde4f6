"""Seed records (scraped news) -> :class:`Article`. Pure Python, no Qt.

A record is a header line, a Python list literal of exactly 8 strings as ``repr()`` writes it::

    [source_id, index, author, title, description, url, image_url, published_at]

followed by the body, one paragraph per line. A file holds one record or several in a row: a line
that parses as an 8-string list literal starts a new record. Headers are read with
``ast.literal_eval`` only, never ``eval``, and only after a linear shape test passes.

A file is read as UTF-8 when it is valid UTF-8 (the usual case); otherwise each record is read on
its own, UTF-8 when it is valid and Windows-1252 when not, and each record read as Windows-1252 is a
warning (the record is still imported).
"""

from __future__ import annotations

import ast
import itertools
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from reader.records import Article, Problem, utc

HEADER_FIELDS = ("source", "index", "author", "title", "description", "url", "image_url", "published_at")
NO_VALUE = "NOVALUE"
BAD_HEADER = "header is not an 8-string list literal"

#: Lines that start page boilerplate at the end of scraped bodies; they and what follows are dropped.
BOILERPLATE_MARKERS = ("SPONSORED FINANCIAL CONTENT",)
#: Boilerplate is only looked for this close to the end of a body.
_BOILERPLATE_WINDOW = 12
#: A header longer than this is not a header: it is never given to literal_eval. Real headers are
#: under 1 KiB (the longest of the 284 in seeds/, tests/data/ and ../shared/seeds/ is 709 characters;
#: a long description is a paragraph), so 64 KiB is ~90 times the longest. It bounds what one line
#: can cost: literal_eval of 64 KiB of the worst shapes tried (thousands of fields, nested tuples)
#: takes tens of milliseconds, where a real header takes ~25 microseconds.
_MAX_HEADER_CHARS = 64 * 1024

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
#: The same breaks in bytes: they are the same bytes in UTF-8 and cp1252, and never inside a UTF-8
#: sequence, so a file that is not valid UTF-8 can be cut into lines before it is decoded.
_LINE_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")
#: A header-shaped line with at least this many commas is a header attempt (8 fields have 7).
_BROKEN_HEADER_COMMAS = 5
#: What the shape test lets precede the first field's opening quote (``r'...'``, ``u'...'``;
#: ``b'...'`` is a bytes literal, which the 8-strings test then rejects).
_SHAPE_PREFIXES = frozenset("rRbBuU")
_QUOTES = frozenset("'\"")
#: What may separate a header's string literals: commas, parentheses and the whitespace Python skips.
_SEPARATORS = frozenset(" \t\f(),")
#: The prefixes of a str literal (f-strings and bytes are never header fields).
_STR_PREFIXES = frozenset("rRuU")
#: The warning for a record that is not valid UTF-8 (the record is imported, read as cp1252).
NOT_UTF8 = "not valid UTF-8"
READ_AS_CP1252 = "read as Windows-1252"
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
    #: Rejected input (the importer counts these, and the CLI exits 1 when there are any).
    problems: list[Problem] = field(default_factory=list)
    #: Imported, with a caveat worth saying (a record read as Windows-1252): not a rejection.
    warnings: list[Problem] = field(default_factory=list)


#: Header lines and where each starts a record: (line index, the 8 fields, or None for a broken header).
_Bounds = list[tuple[int, list[str] | None]]


@dataclass
class _Decoded:
    text: str
    #: When the file was decoded record by record, the work parse() would redo: split_lines(text)
    #: (lines, offsets) and the record boundaries.
    split: tuple[list[str], list[int], _Bounds] | None = None
    #: Records read as cp1252: (the record's header line, its first line that is not UTF-8), 0-based.
    fallbacks: list[tuple[int, int]] = field(default_factory=list)


def decode(data: bytes) -> str:
    """Bytes -> text, as :func:`parse` reads it (never fails).

    UTF-8 (BOM or not) when the whole file is; UTF-16 with a BOM. Otherwise record by record: a
    record that is valid UTF-8 is read so, one that is not is read as cp1252 (the text before the
    first header counts as a record), so one bad byte does not garble the file's other records.
    """
    return _decode(data).text


def _decode(data: bytes) -> _Decoded:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _Decoded(data.decode("utf-16"))
        except UnicodeDecodeError:
            pass
    try:
        return _Decoded(data.decode("utf-8"))  # the usual case: one decode, nothing split
    except UnicodeDecodeError:
        return _decode_records(data)


def _decode_records(data: bytes) -> _Decoded:
    """A file that is not valid UTF-8: each record read on its own, UTF-8 first, then cp1252.

    The bytes are cut into lines and each line is decoded alone, to find the headers. Then each
    record (a header line and the lines up to the next header, or the text before the first one)
    that has a line that is not UTF-8 is read as cp1252 as a whole; the others stay UTF-8. A line
    break is the same bytes in both encodings, so the text has the lines and breaks of the bytes.
    """
    chunks: list[bytes] = []
    breaks: list[str] = []
    pos = 0
    for match in _LINE_BREAK_BYTES.finditer(data):
        chunks.append(data[pos : match.start()])
        breaks.append(match.group().decode("ascii"))
        pos = match.end()
    if pos < len(data):
        chunks.append(data[pos:])
        breaks.append("")
    lines: list[str] = []
    utf8: list[bool] = []
    for chunk in chunks:
        try:
            lines.append(chunk.decode("utf-8"))
            utf8.append(True)
        except UnicodeDecodeError:
            lines.append(_cp1252(chunk))
            utf8.append(False)
    bounds = _bounds(lines)
    headers = dict(bounds)
    starts = [0, *headers]
    ends = [*headers, len(lines)]
    fallbacks: list[tuple[int, int]] = []
    for start, end in zip(starts, ends, strict=True):
        if all(utf8[start:end]):
            continue
        first_bad = utf8.index(False, start, end)
        for j in range(start, end):
            if utf8[j] and not chunks[j].isascii():  # (ASCII reads the same either way)
                lines[j] = _cp1252(chunks[j])
        if headers.get(start) is not None:
            if utf8[start] and not chunks[start].isascii():
                header = parse_header(lines[start])
                if header is None:
                    # Valid UTF-8 whose cp1252 reading is no header (a non-ASCII space around it,
                    # which strip() then no longer removes): the header line keeps its UTF-8 reading.
                    lines[start] = chunks[start].decode("utf-8")
                else:
                    headers[start] = header
            fallbacks.append((start, first_bad))
    offsets: list[int] = []
    pieces: list[str] = []
    pos = 0
    for line, line_break in zip(lines, breaks, strict=True):
        offsets.append(pos)
        pieces += (line, line_break)
        pos += len(line) + len(line_break)
    offsets.append(pos)
    return _Decoded("".join(pieces), (lines, offsets, [(i, headers[i]) for i, _ in bounds]), fallbacks)


def _cp1252(data: bytes) -> str:
    # cp1252 leaves five bytes undefined; map those through latin-1 rather than fail.
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
    """The 8 header strings, or None when ``line`` is not an 8-string list literal.

    Linear in the line's length: literal_eval is only tried on a line that is header-shaped
    (:func:`_header_text`), at most :data:`_MAX_HEADER_CHARS` long, and has the 7 commas of 8 fields.
    """
    text = _header_text(line)
    return None if text is None else _literal_header(text)


def _literal_header(text: str) -> list[str] | None:
    # (``text`` is stripped and header-shaped.) An f-string is never a header, but CPython 3.11
    # parses one with many {fields} in quadratic time: with a brace, the line must be string
    # literals only (a rare header has a brace in a title; it costs one pass over the line).
    if len(text) > _MAX_HEADER_CHARS or text.count(",") < len(HEADER_FIELDS) - 1:
        return None
    plain = _plain_header(text)
    if plain is not None:
        return plain
    if "{" in text and not _only_string_literals(text):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(value, list) and len(value) == len(HEADER_FIELDS) and all(isinstance(v, str) for v in value):
        return value
    return None


def _plain_header(text: str) -> list[str] | None:
    """The fields of a header written as ``repr`` writes a list of plain strings (``['a', 'b', ...]``,
    no quote or backslash inside a field, printable), without compiling it: what literal_eval
    would give, at a tenth of the cost. None for a header written any other way (literal_eval
    decides those)."""
    if not (text.startswith("['") and text.endswith("']")) or "\\" in text:
        return None
    if text.count("'") != 2 * len(HEADER_FIELDS) or not text.isprintable():
        return None  # (a quote inside a field, or the wrong number of fields)
    fields = text[2:-2].split("', '")
    return fields if len(fields) == len(HEADER_FIELDS) else None


def _only_string_literals(text: str) -> bool:
    """Whether ``text`` (``[...]``) holds nothing but string literals (plain, or with an r/u prefix:
    no f-strings, no bytes), commas, parentheses and the spaces, tabs and form feeds Python skips.

    One pass, in Python (it only runs on header-shaped lines with a brace).
    """
    i = 1
    end = len(text) - 1
    while i < end:
        c = text[i]
        if c in _SEPARATORS:
            i += 1
            continue
        if c in _STR_PREFIXES:
            i += 1
            c = text[i]
        if c not in _QUOTES:
            return False
        if text[i : i + 3] == c * 3:
            # Triple-quoted: ends at the next three quotes not escaped.
            i += 3
            while i < end and text[i : i + 3] != c * 3:
                i += 2 if text[i] == "\\" else 1
            i += 3
        else:
            i += 1
            while i < end and text[i] != c:
                i += 2 if text[i] == "\\" else 1
            i += 1
        if i > end:
            return False  # unterminated
    return True


def _header_text(line: str) -> str | None:
    """``line`` stripped when it is shaped like a header, else None (body lines almost never are).

    Header-shaped: ``[``, then a string literal's opening quote (after an optional r/u/b prefix),
    anything but a line break, a closing quote, an optional comma and ``]``, with whitespace allowed
    around each part. Linear for every input: strip, slices and one ``in``, each one pass, no
    backtracking. (The regex this replaces, ``^\\s*\\[\\s*[rRbBuU]?['"].*['"]\\s*,?\\s*\\]\\s*$``, tried
    every split of a run of spaces between its two ``\\s*``: quadratic, seconds for one 60 KB line.)
    """
    text = line.strip()
    if not (text.startswith("[") and text.endswith("]")):
        return None
    inner = text[1:-1].strip()
    if inner.endswith(","):
        inner = inner[:-1].rstrip()
    first = 1 if inner[:1] in _SHAPE_PREFIXES else 0
    if len(inner) < first + 2 or inner[first] not in _QUOTES or inner[-1] not in _QUOTES or "\n" in inner:
        return None
    return text


def _could_be_header(line: str) -> bool:
    return _header_text(line) is not None


def _bounds(lines: list[str]) -> _Bounds:
    """Record boundaries: good headers, and broken ones (a line shaped like a header, with the commas
    of several fields, that is not an 8-string literal). A broken header starts a record that is
    reported and left out, rather than being glued onto the previous article as body text."""
    bounds: _Bounds = []
    for i, line in enumerate(lines):
        if "[" not in line:
            continue  # (nearly every body line: a scan, where _header_text copies it stripped)
        text = _header_text(line)
        if text is not None:
            header = _literal_header(text)
            if header is not None or text.count(",") >= _BROKEN_HEADER_COMMAS:
                bounds.append((i, header))
    return bounds


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
    if "\r" not in text:
        # Nearly every file: split in C, offsets from the lengths (a third of the parse's time
        # was the loop below).
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        offsets = [0, *itertools.accumulate(len(line) + 1 for line in lines)]
        offsets[-1] = len(text)
        return lines, offsets
    lines = []
    offsets = []
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
    decoded = _decode(data)
    text = decoded.text
    if not text.strip():
        # Only a BOM, or only whitespace the byte check does not know (NBSP, NEL, \x1c-\x1f).
        result.problems.append(Problem(origin, "empty file"))
        return result
    if decoded.split is not None:
        lines, offsets, bounds = decoded.split
    else:
        lines, offsets = split_lines(text)
        bounds = _bounds(lines)
    for record, bad in decoded.fallbacks:
        where = "" if bad == record else f" (first at line {bad + 1})"
        result.warnings.append(Problem(origin, f"{NOT_UTF8}{where}; {READ_AS_CP1252}", record + 1))
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
