"""The words of the active search, found in a title, a snippet or a body to highlight them.

The words are :func:`~reader.store.search_words`' (the index's: the last one a prefix from
:data:`~reader.store.MIN_PREFIX` letters), compared as the index compares them: case- and
diacritics-insensitive ("muller" finds "Müller")."""

from __future__ import annotations

# (html is imported where it is used: the window's first paint renders no HTML, and importing it
# took ~5 ms before that paint.)
import re
import unicodedata
from typing import NamedTuple

from reader.store import search_words

_WORD = re.compile(r"\w+", re.UNICODE)
#: Tags, comments and entities of (sanitised) HTML: never searched, never split.
_MARKUP = re.compile(r"(<!--.*?-->|<[^>]*>)", re.DOTALL)
#: The pane's highlight: dark text on yellow reads in light and dark themes alike.
HIGHLIGHT_STYLE = "background-color:#ffe066; color:#000000"

Span = tuple[int, int]


def fold(text: str) -> str:
    """As the index compares words: without diacritics, case-folded."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


class Terms(NamedTuple):
    """The folded words of a search: whole words, and the last one as a prefix (or None)."""

    words: frozenset[str]
    prefix: str | None

    def matches(self, word: str) -> bool:
        folded = fold(word)
        return folded in self.words or (self.prefix is not None and folded.startswith(self.prefix))


def search_terms(search: str | None) -> Terms | None:
    """The terms of ``search``; None when it has no words (nothing to highlight)."""
    if not search:
        return None
    words, prefix = search_words(search)
    if not words:
        return None
    folded = [fold(w) for w in words]
    last = folded.pop() if prefix else None
    return Terms(frozenset(folded), last)


def match_spans(text: str, terms: Terms | None) -> list[Span]:
    """(start, end) of each run of matching words in ``text``: neighbours with only white space
    between them make one run (one highlight behind "black hole", not two)."""
    if terms is None or not text:
        return []
    spans: list[Span] = []
    for m in _WORD.finditer(text):
        if not terms.matches(m.group()):
            continue
        start, end = m.span()
        if spans and not text[spans[-1][1] : start].strip():
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def highlight_text(text: str, terms: Terms | None) -> str:
    """``text`` as escaped HTML, its matches in highlight spans."""
    import html  # (not at the top: see there)

    out: list[str] = []
    at = 0
    for start, end in match_spans(text, terms):
        out.append(html.escape(text[at:start]))
        out.append(f'<span style="{HIGHLIGHT_STYLE}">{html.escape(text[start:end])}</span>')
        at = end
    out.append(html.escape(text[at:]))
    return "".join(out)


def highlight_html(markup: str, terms: Terms | None) -> str:
    """(Sanitised) HTML with the matches in its text highlighted; tags, attributes and comments are
    left as they are. A text with no match stays byte for byte as it was."""
    import html  # (not at the top: see there)

    if terms is None:
        return markup
    parts = _MARKUP.split(markup)
    for i in range(0, len(parts), 2):  # (the odd ones are markup)
        if not parts[i]:
            continue
        text = html.unescape(parts[i])
        if match_spans(text, terms):
            parts[i] = highlight_text(text, terms)
    return "".join(parts)
