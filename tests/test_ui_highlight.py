"""While a search is active its words are highlighted in the list's rows and the pane's body."""

from __future__ import annotations

from typing import Any

from conftest import OFFSCREEN_SIZE_HINTS
from PySide6.QtGui import QImage, QTextDocument

from reader.ui.article_delegate import PADDING, THUMB_SIZE
from reader.ui.article_model import ArticleRole
from reader.ui.highlight import highlight_html, highlight_text, match_spans, search_terms

pytestmark = OFFSCREEN_SIZE_HINTS


def test_words_match_as_the_index_does() -> None:
    terms = search_terms("muller volc")
    assert match_spans("Ms Müller saw a Volcano", terms) == [(3, 9), (16, 23)]
    assert match_spans("volcanic müllerite", terms) == [(0, 8)]  # only the last word is a prefix
    assert match_spans("a vo b", search_terms("vo")) == [(2, 4)]  # two letters: a whole word
    assert match_spans("vol volcano", search_terms("vo ")) == []  # typed on: "vo" is whole
    assert match_spans("black hole", search_terms("black hole")) == [(0, 10)]  # one run
    assert search_terms("  ") is None


def test_highlighting_escapes_and_leaves_markup_alone() -> None:
    terms = search_terms("volcano")
    assert highlight_text("<b> & volcano", terms) == (
        '&lt;b&gt; &amp; <span style="background-color:#ffe066; color:#000000">volcano</span>'
    )
    markup = '<p><a href="https://x.org/volcano" title="volcano">the volcano &amp; more</a></p>'
    out = highlight_html(markup, terms)
    assert out.startswith('<p><a href="https://x.org/volcano" title="volcano">the <span ')
    assert out.endswith(">volcano</span> &amp; more</a></p>")
    assert highlight_html("<p>no match &amp; here</p>", terms) == "<p>no match &amp; here</p>"


def highlighted_pixels(image: QImage, left: int) -> int:
    count = 0
    for y in range(0, image.height(), 2):
        for x in range(left, image.width(), 2):
            c = image.pixelColor(x, y)
            if c.red() > 200 and c.green() > 200 and c.blue() < 190:
                count += 1
    return count


def body_highlights(doc: QTextDocument, word: str) -> int:
    found, cursor = 0, doc.find(word)
    while not cursor.isNull():
        if cursor.charFormat().background().color().name() == "#ffe066":
            found += 1
        cursor = doc.find(word, cursor)
    return found


def test_a_search_highlights_its_words_in_the_list_and_the_pane(qtbot: Any, window: Any) -> None:
    window.list.select_row(1)  # (an article about the volcano)
    qtbot.waitUntil(lambda: window.pane.article is not None)
    viewport = window.list.viewport()
    left = THUMB_SIZE.width() + 2 * PADDING
    assert highlighted_pixels(viewport.grab().toImage(), left) == 0
    assert body_highlights(window.pane.document(), "volcano") == 0

    window.searching.on_search_changed("VOLCÁN")  # a prefix, in another case, with an accent
    qtbot.waitUntil(lambda: window.model.rowCount() > 0 and window.model.query.search == "VOLCÁN")
    row = window.model.index(0, 0).data(ArticleRole.item)
    assert "volcano" in (row.title or "")
    window.list.select_row(0)
    qtbot.waitUntil(lambda: window.pane.article is not None and window.pane.article.id == row.id)
    qtbot.waitUntil(lambda: highlighted_pixels(viewport.grab().toImage(), left) > 20)
    assert body_highlights(window.pane.document(), "volcano") >= 2  # both paragraphs, not the title

    window.searching.on_search_changed("")
    qtbot.waitUntil(lambda: window.model.query.search is None)
    qtbot.waitUntil(lambda: highlighted_pixels(viewport.grab().toImage(), left) == 0)
    assert body_highlights(window.pane.document(), "volcano") == 0
