"""The reading pane's typography: a readable measure centred in a wide pane, body text set larger
and with more leading than the UI, the star and dates in the meta line, a placeholder for a lead
image that failed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from conftest import BASE_DATE, OFFSCREEN_SIZE_HINTS, flags_stored
from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtGui import QFontMetricsF, QPixmap, QTextBlock, QTextBlockFormat, QTextCursor

from reader.records import Article
from reader.store import Store
from reader.ui.actions import Action
from reader.ui.article_delegate import relative_date
from reader.ui.article_model import ArticleRole
from reader.ui.reading_pane import NOT_STARRED, PLACEHOLDER_SCHEME, STAR_URL, STARRED, ReadingPane

pytestmark = OFFSCREEN_SIZE_HINTS

LONG_PARAGRAPH = " ".join(["Harbour cranes unload the morning ships while gulls circle overhead."] * 12)


def long_article(**changes: Any) -> Article:
    fields: dict[str, Any] = dict(
        source="Harbour Times",
        title="The harbour at dawn",
        url="https://news.example/dawn",
        published=BASE_DATE,
        body=LONG_PARAGRAPH + "\nA second paragraph.",
    )
    fields.update(changes)
    return Article(**fields)


def shown_pane(qtbot: Any, width: int, article: Article | None = None) -> ReadingPane:
    pane = ReadingPane()
    qtbot.addWidget(pane)
    pane.resize(width, 600)
    pane.show()
    qtbot.waitUntil(pane.isVisible)
    pane.show_article(article or long_article())
    return pane


def block_with(pane: ReadingPane, text: str) -> QTextBlock:
    block = pane.document().begin()
    while block.isValid():
        if text in block.text():
            return block
        block = block.next()
    raise AssertionError(f"no block with {text!r}")


def test_a_wide_pane_keeps_a_readable_measure_centred(qtbot: Any) -> None:
    pane = shown_pane(qtbot, 1800)
    block = block_with(pane, "Harbour cranes")
    layout = block.layout()
    assert layout.lineCount() > 2
    chars = [layout.lineAt(i).textLength() for i in range(layout.lineCount() - 1)]
    assert all(55 <= n <= 80 for n in chars), chars
    average = QFontMetricsF(pane.body_font()).averageCharWidth()
    rect = pane.document().documentLayout().blockBoundingRect(block)
    assert 60 <= rect.width() / average <= 75
    left = rect.left()
    right = pane.viewport().width() - rect.right()
    assert left > 300 and abs(left - right) <= 12, (left, right)


def test_a_narrow_pane_fills_the_pane(qtbot: Any) -> None:
    pane = shown_pane(qtbot, 360)
    block = block_with(pane, "Harbour cranes")
    rect = pane.document().documentLayout().blockBoundingRect(block)
    margin = pane.document().documentMargin()
    assert rect.left() == margin
    assert rect.width() >= pane.viewport().width() - 2 * margin - 8
    # Widening the pane centres the column again.
    pane.resize(1800, 600)
    qtbot.waitUntil(
        lambda: pane.document().documentLayout().blockBoundingRect(block_with(pane, "Harbour")).left() > 300
    )


def test_body_text_is_larger_than_the_ui_with_comfortable_leading(qtbot: Any) -> None:
    pane = shown_pane(qtbot, 900)
    ui_size = pane.document().defaultFont().pointSizeF()
    for text in ("Harbour cranes", "A second paragraph."):
        block = block_with(pane, text)
        size = block.begin().fragment().charFormat().font().pointSizeF()
        assert 1.15 <= size / ui_size <= 1.25, (size, ui_size)
        assert block.blockFormat().lineHeight() == 150
        assert block.blockFormat().lineHeightType() == QTextBlockFormat.LineHeightTypes.ProportionalHeight.value
    meta = block_with(pane, "Harbour Times")
    assert meta.begin().fragment().charFormat().font().pointSizeF() == ui_size, "the meta line keeps the UI size"
    assert meta.blockFormat().lineHeight() == 0
    # The body follows the text size.
    pane.set_zoom(3)
    size = block_with(pane, "Harbour cranes").begin().fragment().charFormat().font().pointSizeF()
    assert abs(size - (ui_size + 3) * 1.2) < 0.2


def test_a_date_without_a_time_shows_as_a_date(qtbot: Any) -> None:
    midnight = datetime(2024, 3, 1, tzinfo=UTC)
    pane = shown_pane(qtbot, 900, long_article(published=midnight))
    meta = block_with(pane, "Harbour Times").text()
    assert "1 March 2024" in meta and "00:00" not in meta and "UTC" not in meta
    pane.show_article(long_article(published=BASE_DATE))
    assert "1 March 2024, 12:00 UTC" in block_with(pane, "Harbour Times").text(), "a time is still shown"
    # The list counts such a date in days, not in hours since a midnight it never named.
    assert relative_date(midnight, now=midnight + timedelta(hours=15)) == "today"
    assert relative_date(midnight, now=midnight + timedelta(days=2, hours=3)) == "2d ago"
    assert relative_date(BASE_DATE, now=BASE_DATE + timedelta(hours=3)) == "3h ago"


def star_point(pane: ReadingPane) -> QPoint:
    found = (
        pane.document().find(STARRED) if pane.article and pane.article.starred else pane.document().find(NOT_STARRED)
    )
    assert not found.isNull()
    cursor = QTextCursor(pane.document())
    cursor.setPosition(found.selectionStart() + 1)
    point = pane.cursorRect(cursor).center() - QPoint(3, 0)
    assert pane.anchorAt(point) == STAR_URL
    return point


def test_the_pane_shows_the_star_and_clicking_it_toggles_it(
    qtbot: Any, window: Any, known_store: Store, opened_urls: list[str]
) -> None:
    window.list.select_row(3)
    pane = window.pane
    article_id = pane.article.id
    meta = block_with(pane, " · ").text()
    assert NOT_STARRED in meta and STARRED not in meta
    qtbot.mouseClick(pane.viewport(), Qt.MouseButton.LeftButton, pos=star_point(pane))
    assert window.model.data(window.model.index(3), ArticleRole.starred) is True, "starred as the S key does"
    assert STARRED in block_with(pane, " · ").text()
    flags_stored(qtbot, window)
    assert known_store.get(article_id).starred is True
    # The star key and the click are the same toggle: the pane follows the key too.
    window.action_registry[Action.TOGGLE_STARRED].trigger()
    assert NOT_STARRED in block_with(pane, " · ").text()
    qtbot.mouseClick(pane.viewport(), Qt.MouseButton.LeftButton, pos=star_point(pane))
    assert STARRED in block_with(pane, " · ").text()
    flags_stored(qtbot, window)
    assert known_store.get(article_id).starred is True
    assert opened_urls == [], "the star is no link to open"


class NoImages:
    """An image service with remote images off: nothing arrives, nothing failed."""

    def document_image(self, url: str, max_width: int) -> None:
        return None

    def is_failed(self, url: str) -> bool:
        return False

    def remote_images_enabled(self) -> bool:
        return False

    def placeholder(
        self, size: QSize, initial: str = "", dark: bool = False, source: str = "", caption: str = ""
    ) -> QPixmap:
        pixmap = QPixmap(size)
        pixmap.fill(Qt.GlobalColor.gray)
        return pixmap


def test_a_remote_lead_image_with_remote_images_off_is_a_placeholder(qtbot: Any) -> None:
    pane = shown_pane(qtbot, 900)
    pane.images = NoImages()
    pane.show_article(long_article(image_url="https://cdn.example/dawn.jpg"))
    assert PLACEHOLDER_SCHEME in pane.toHtml()
    pane.show_article(long_article(image_url="file:///nowhere/dawn.jpg"))
    assert PLACEHOLDER_SCHEME not in pane.toHtml(), "a local file still loading shows nothing yet"


def test_the_bodys_headings_step_down_from_larger_than_the_body(qtbot: Any) -> None:
    """Qt sizes <hN> from the UI font whatever CSS says: h4 came out smaller than a paragraph."""
    levels = "".join(f"<h{n}>Heading level {n}</h{n}>" for n in range(1, 7))
    pane = shown_pane(qtbot, 900, long_article(body_html=f"{levels}<p>Plain paragraph.</p>"))
    body = block_with(pane, "Plain paragraph").begin().fragment().charFormat().font().pointSizeF()
    title = block_with(pane, "The harbour at dawn").begin().fragment().charFormat().font().pointSizeF()
    sizes = []
    for n in range(1, 7):
        font = block_with(pane, f"Heading level {n}").begin().fragment().charFormat().font()
        assert font.bold(), n
        sizes.append(font.pointSizeF())
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 6, sizes
    assert title > sizes[0] > 1.4 * body, "h1 well above the body, still below the title"
    assert sizes[3] > body and sizes[4] == body and sizes[5] >= 0.85 * body, (sizes, body)
    # They follow the text size with the body.
    pane.set_zoom(4)
    bigger = block_with(pane, "Plain paragraph").begin().fragment().charFormat().font().pointSizeF()
    h2 = block_with(pane, "Heading level 2").begin().fragment().charFormat().font().pointSizeF()
    assert bigger > body and abs(h2 / bigger - sizes[1] / body) < 0.02


def test_the_lead_image_placeholder_has_its_sources_tint_as_in_the_list(qtbot: Any, window: Any) -> None:
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QTextDocument

    from reader.ui.article_delegate import THUMB_SIZE
    from reader.ui.reading_pane import inline_images

    window.remote_images.set_enabled(False)
    pane = window.pane

    def pane_tile(source: str) -> Any:
        pane.show_article(long_article(source=source, image_url="https://cdn.example/dawn.jpg"))
        src = next(s for s in inline_images(pane.render_html(pane.article)) if s.startswith(PLACEHOLDER_SCHEME))
        image = pane.loadResource(QTextDocument.ResourceType.ImageResource.value, QUrl(src))
        assert not image.isNull()
        return image.pixelColor(1, 1)

    def list_tile(source: str) -> Any:
        return window.list_images.placeholder(THUMB_SIZE, source, False).toImage().pixelColor(1, 1)

    harbour, gazette = pane_tile("Harbour Times"), pane_tile("The Gazette: evening")
    assert harbour == list_tile("Harbour Times") and gazette == list_tile("The Gazette: evening")
    assert harbour != gazette and harbour.saturation() > 20, "tinted, not the neutral grey"


def test_the_lead_image_placeholder_is_a_slim_band_naming_the_host(qtbot: Any, window: Any) -> None:
    """A tile the picture's size with one giant letter looked heavy: a band a quarter of it, with a
    glyph and the image's host, in the source's tint."""
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QTextDocument

    from reader.ui.reading_pane import PLACEHOLDER_MAX_HEIGHT, inline_images

    window.remote_images.set_enabled(False)
    pane = window.pane
    pane.show_article(long_article(source="Harbour Times", image_url="https://cdn.example/dawn.jpg"))
    src = next(s for s in inline_images(pane.render_html(pane.article)) if s.startswith(PLACEHOLDER_SCHEME))
    assert src.endswith(":cdn.example"), src
    image = pane.loadResource(QTextDocument.ResourceType.ImageResource.value, QUrl(src))
    ratio = image.devicePixelRatio()
    width, height = image.width() / ratio, image.height() / ratio
    picture = min(width * 9 / 16, PLACEHOLDER_MAX_HEIGHT)
    assert 32 <= height <= picture / 4 + 1, (width, height)
    background = image.pixelColor(1, 1)
    inked = {
        x for x in range(image.width()) for y in range(0, image.height(), 2) if image.pixelColor(x, y) != background
    }
    assert inked, "a glyph and the host, not an empty band"
    assert max(inked) - min(inked) < image.width() / 2, "small, centred: not a letter across the tile"
