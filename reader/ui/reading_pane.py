"""The reading pane: a QTextBrowser (no web engine) showing one article.

Title, source · author · date · reading time, lead image, paragraphs, a link to the original. Links
are never followed inside the pane: they are handed to :func:`reader.ui.desktop.open_url` through the
``link_activated`` signal. Colours come from the palette, so dark themes work.
"""

from __future__ import annotations

# (html is imported where it is used: the window's first paint renders no HTML, and importing it
# took ~5 ms before that paint.)
import math
import re
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, unquote

from PySide6.QtCore import QEvent, QSize, QTimer, Signal
from PySide6.QtGui import QFont, QFontInfo, QFontMetricsF, QPalette, QPixmap, QResizeEvent, QTextDocument
from PySide6.QtWidgets import QTextBrowser, QWidget

from reader.records import Article, Enclosure, describe_enclosure, is_date_only
from reader.ui.highlight import Terms, highlight_html, highlight_text, search_terms
from reader.ui.names import SourceNames, source_initial
from reader.ui.viewports import wrap_viewport

if TYPE_CHECKING:
    # (Imported where they are used: QUrl's and QImage's Python types and enums took 2-4 ms to set
    # up before the first paint, whose blank pane has neither a link nor an image.)
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QImage

WORDS_PER_MINUTE = 230
LEAD_IMAGE_SCHEME = "reader-image"
#: A lead image that will not come (it failed, or remote images are off) is this band instead:
#: ``reader-placeholder:<width>x<height>:<initial>:<source>:<caption>`` (the last two
#: percent-encoded), painted by the image service in the source's tint, as the list's placeholders
#: of that source, with a picture glyph and the image's host.
PLACEHOLDER_SCHEME = "reader-placeholder"
#: The picture's height would be 9/16 of the column, at most this...
PLACEHOLDER_MAX_HEIGHT = 240
#: ... and the band is a quarter of that, at least this: it says there is a picture without
#: standing in its place (a tile the picture's size with one giant letter looked heavy).
PLACEHOLDER_BAND_SHARE = 4
PLACEHOLDER_BAND_MIN = 32


def placeholder_band_height(width: int) -> int:
    """The band's height in a text column ``width`` pixels wide."""
    return max(PLACEHOLDER_BAND_MIN, min(width * 9 // 16, PLACEHOLDER_MAX_HEIGHT) // PLACEHOLDER_BAND_SHARE)


#: The meta line's star is a link to this address: clicking it toggles the star (never a URL opened).
STAR_URL = "reader:star"
STARRED = "★"
NOT_STARRED = "☆"
STAR_COLOR = "#e6aa00"  # as the list's star (article_delegate)
MAX_ZOOM = 12
MIN_ZOOM = -6
#: Images are laid out again once the pane's width has changed by this much (or shrunk at all).
REFIT_STEP_PX = 32
#: ... this long after the last resize step, so that dragging the splitter decodes nothing per pixel.
REFIT_DELAY_MS = 120
#: The text column's width in average characters of the body font: lines of 60-75 characters read
#: best; a wider pane centres the column instead of stretching the lines across it.
MEASURE_CHARS = 68
#: Body text is set this much larger than the UI font, with this line height (percent): reading
#: matter wants more than a list row does. The title and the meta line keep the UI's sizes.
BODY_SCALE = 1.2
BODY_LINE_HEIGHT = 150
#: The body's own headings (h1-h6) in body sizes: a scale that steps down to the body's size, all
#: bold, h1 still below the article's title. Qt sizes an ``<h2>`` from the document's (UI) font
#: whatever size CSS gives it, so h4 came out smaller than a paragraph and h5 as large as one: the
#: body's headings are set as sized paragraphs instead.
HEADING_SCALES = (1.5, 1.3, 1.15, 1.05, 1.0, 0.9)
_BODY_STYLE = ", ".join(f"div.body {tag}" for tag in ("p", "li", "blockquote", "pre", "dd", "dt", "td", "th"))

# Patterns, compiled where they are first used (re caches them): the window's first paint renders
# no article, and compiling these six took 1-1.5 ms before it.
_IMG_SRC = r"""(?i)<img\b[^>]*?\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))"""
_HEADING_OPEN = r"(?i)<h([1-6])\b([^>]*)>"
_HEADING_CLOSE = r"(?i)</h[1-6]\s*>"
_IMG_TAG = r"(?i)<img\b[^>]*>"
_SIZE_ATTRIBUTE = r"""(?i)\s(?:width|height)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)"""
_IMAGE_PATH = r"(?i)\.(?:jpe?g|png|gif|webp|avif|bmp)$"


class ImageSource(Protocol):
    """What the pane needs of the image service (see :mod:`reader.ui.thumbnails`)."""

    def document_image(self, url: str, max_width: int) -> QImage | None: ...

    def is_failed(self, url: str) -> bool: ...

    def remote_images_enabled(self) -> bool: ...

    def placeholder(
        self, size: QSize, initial: str = "", dark: bool = False, source: str = "", caption: str = ""
    ) -> QPixmap: ...


def _image_identity(url: str) -> str:
    """What makes two image URLs the same picture: scheme aside (http and https serve the same
    file), and a query string aside on a path that names an image file (CDN size parameters)."""
    import html  # (not at the top: see there)

    text = html.unescape(url).strip()
    text = re.sub(r"^https?:", "", text, flags=re.IGNORECASE)
    path, _, _query = text.partition("?")
    return path if re.search(_IMAGE_PATH, path) else text


def inline_images(body_html: str) -> list[str]:
    """The ``src`` of every ``<img>`` in a body, in order."""
    import html  # (not at the top: see there)

    return [html.unescape(next(g for g in m.groups() if g is not None)) for m in re.finditer(_IMG_SRC, body_html)]


def lead_image_is_inline(image_url: str, body_html: str | None) -> bool:
    """Whether the body already shows the lead picture (a feed's enclosure that is also inline)."""
    if not body_html or "<img" not in body_html.lower():
        return False
    lead = _image_identity(image_url)
    return any(_image_identity(src) == lead for src in inline_images(body_html))


def reading_minutes(article: Article) -> int:
    words = len(article.body.split())
    return max(1, math.ceil(words / WORDS_PER_MINUTE)) if words else 0


class ReadingPane(QTextBrowser):
    """Signals:
    link_activated(QUrl): a link was clicked; the window decides whether it may open.
    star_clicked(): the meta line's star was clicked; the window toggles the article's star.
    """

    link_activated = Signal(object)  # (a QUrl: see the imports)
    star_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._viewport = wrap_viewport(self)  # (before the window asks for it)
        self.setObjectName("readingPane")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_anchor_clicked)
        self.document().setDocumentMargin(18)
        self.document().setDefaultStyleSheet(f"{_BODY_STYLE} {{ line-height: {BODY_LINE_HEIGHT}%; }}")
        self._base_font = QFont(self.font())
        self._zoom = 0
        self._serif = False
        self._empty_message = ""
        self._article: Article | None = None
        self.images: ImageSource | None = None
        #: The name the meta line shows for the source; the window shares one with the list.
        self.names = SourceNames()
        self._terms: Terms | None = None  # the active search's, highlighted in the body
        self._rendered_width = 0  # the content width images were last fitted to
        self._refit_timer = QTimer(self)
        self._refit_timer.setSingleShot(True)
        self._refit_timer.setInterval(REFIT_DELAY_MS)
        self._refit_timer.timeout.connect(self._refit)
        # Blank until the window shows an article or says why there is none (the window's start
        # does that after its first paint: rendering even this took ~5 ms, QTextFrameFormat's set-up
        # among it).

    # --- content ---

    @property
    def article(self) -> Article | None:
        return self._article

    def show_article(self, article: Article | None) -> None:
        self._article = article
        if article is None:
            self.show_empty()
            return
        self._set_html(self.render_html(article))
        self.verticalScrollBar().setValue(0)

    def set_search(self, search: str | None) -> None:
        """The active search (None: none): its words are highlighted in the body shown."""
        terms = search_terms(search)
        if terms != self._terms:
            self._terms = terms
            self.refresh_images()  # (shown again where it was, highlighted)

    def set_starred(self, starred: bool) -> None:
        """Show the article's star as the list has it (the store may not have it yet)."""
        if self._article is not None and self._article.starred != starred:
            self._article = self._article._replace(starred=starred)
            self.refresh_images()

    def _on_anchor_clicked(self, url: QUrl) -> None:
        if url.toString() == STAR_URL:
            self.star_clicked.emit()
        else:
            self.link_activated.emit(url)

    def show_empty(self, message: str = "Select an article to read it here.") -> None:
        import html  # (not at the top: see there)

        self._article = None
        self._empty_message = message
        dim = self._dim_color()
        self._set_html(f'<p style="color:{dim}; margin-top:2em" align="center">{html.escape(message)}</p>')

    def refresh_images(self) -> None:
        """An image the document uses has arrived: lay out again, keeping the scroll position."""
        if self._article is None:
            return
        bar = self.verticalScrollBar()
        position = bar.value()
        self._set_html(self.render_html(self._article))
        bar.setValue(position)

    def _set_html(self, text: str) -> None:
        self.setHtml(text)  # (a new document: its root frame has lost the column's side margins)
        self._fit_column()

    def _fit_column(self) -> None:
        """Centre the text column: the root frame's side margins take up what the pane has beyond the
        measure. Margins, not a narrower viewport, so the whole pane still scrolls and selects.
        A blank pane has no column (the window's first paint: see __init__); the next text fits it."""
        if self.document().isEmpty():
            return
        root = self.document().rootFrame()
        frame = root.frameFormat()
        margin = self.document().documentMargin()
        side = margin + max(0, (self._available_width() - self._content_width()) // 2)
        if frame.leftMargin() != side or frame.rightMargin() != side:
            frame.setLeftMargin(side)
            frame.setRightMargin(side)
            root.setFrameFormat(frame)

    def render_html(self, article: Article) -> str:
        import html  # (not at the top: see there)

        esc = html.escape
        dim = self._dim_color()
        parts = [f'<h1 style="margin-bottom:4px">{esc(article.title or "(untitled)")}</h1>']
        meta = [m for m in (self.names.name(article.source, article.feed_id), article.author) if m]
        if article.published is not None:
            shape = "%d %B %Y" if is_date_only(article.published) else "%d %B %Y, %H:%M UTC"
            meta.append(article.published.strftime(shape).lstrip("0"))
        else:
            meta.append("date unknown")
        minutes = reading_minutes(article)
        if minutes:
            meta.append(f"{minutes} min read")
        star = (
            f'<a href="{STAR_URL}" style="color:{STAR_COLOR}; text-decoration:none">{STARRED}</a>'
            if article.starred
            else f'<a href="{STAR_URL}" style="color:{dim}; text-decoration:none">{NOT_STARRED}</a>'
        )
        parts.append(f'<p style="color:{dim}">{star}&nbsp;&nbsp;{esc(" · ".join(meta))}</p>')
        self._rendered_width = self._content_width()
        if (
            article.image_url
            and self.images is not None
            and not lead_image_is_inline(article.image_url, article.body_html)
        ):
            width = self._rendered_width
            if self.images.document_image(article.image_url, width) is not None:
                parts.append(f'<p><img src="{esc(self._lead_image_url(article.image_url, width), quote=True)}"></p>')
            elif self._lead_image_will_not_come(article.image_url):
                height = placeholder_band_height(width)
                initial = source_initial(article.source or _host(article.image_url))
                # Tinted by the source as the list tints its rows' placeholders (none: neutral, as there).
                tint = quote(article.source or "", safe="")
                caption = quote(_host(article.image_url) or "image", safe="")
                src = f"{PLACEHOLDER_SCHEME}:{width}x{height}:{initial}:{tint}:{caption}"
                parts.append(f'<p><img src="{esc(src, quote=True)}" width="{width}" height="{height}"></p>')
        page_html = article.full_html
        if page_html:
            parts.append(f'<p style="color:{dim}">Full article from {esc(_host(article.url or "") or "its page")}</p>')
        elif article.full_status:
            parts.append(
                f'<p style="color:{dim}">The full article could not be had ({esc(article.full_status)}):'
                " this is the feed's text.</p>"
            )
        if page_html or article.body_html:
            # Images come decoded to fit the pane: a width or height the page gave them would stretch
            # them past it again (behind a horizontal scroll bar).
            body = re.sub(
                _IMG_TAG, lambda m: re.sub(_SIZE_ATTRIBUTE, "", m.group(0)), page_html or article.body_html or ""
            )
            body = sized_headings(highlight_html(body, self._terms), self.body_font().pointSizeF())
        else:
            paragraphs = [p for p in article.body.split("\n") if p.strip()]
            if not paragraphs and article.description:
                paragraphs = [article.description]
            body = "".join(f"<p>{highlight_text(p, self._terms)}</p>" for p in paragraphs)
        if body:
            font = self.body_font()
            size, family = font.pointSizeF(), QFontInfo(font).family().replace("'", "")
            parts.append(f'<div class="body" style="font-size:{size:.1f}pt; font-family:\'{family}\'">{body}</div>')
        for enclosure in article.enclosures:
            about = describe_enclosure(enclosure)
            parts.append(
                f'<p style="margin-top:1em">{_ENCLOSURE_MARK} <a href="{esc(enclosure.url, quote=True)}">'
                f"{esc(enclosure_action(enclosure))}</a>"
                + (f' <span style="color:{dim}">({esc(about)})</span>' if about else "")
                + "</p>"
            )
        if article.url:
            parts.append(
                f'<p style="margin-top:1.5em"><a href="{esc(article.url, quote=True)}">Read the original</a>'
                f' <span style="color:{dim}">({esc(_host(article.url))})</span></p>'
            )
        return "\n".join(parts)

    def _lead_image_will_not_come(self, url: str) -> bool:
        """Failed (until the failure expires), or remote while remote images are off: a placeholder
        says there is a picture. One still loading shows nothing yet (no box that jumps to another
        size a moment later)."""
        assert self.images is not None
        remote = not url[:5].lower().startswith("file:")
        return self.images.is_failed(url) or (remote and not self.images.remote_images_enabled())

    def _lead_image_url(self, url: str, width: int) -> str:
        return f"{LEAD_IMAGE_SCHEME}:{width}:{url}"

    def loadResource(self, kind: int, name: QUrl | str) -> Any:
        """Override QTextBrowser.loadResource: images come from the image service, never the network
        directly and never blocking. A missing image is None until it arrives (see refresh_images)."""
        from PySide6.QtGui import QImage

        if kind == QTextDocument.ResourceType.ImageResource.value and self.images is not None:
            text = name if isinstance(name, str) else name.toString()
            if text.startswith(PLACEHOLDER_SCHEME + ":"):
                return self._placeholder_image(text)
            width = self._content_width()
            if text.startswith(LEAD_IMAGE_SCHEME + ":"):
                _, width_text, url = text.split(":", 2)
                width = int(width_text) if width_text.isdigit() else width
            else:
                url = text
            image = self.images.document_image(url, width)
            return image if image is not None else QImage()
        if kind == QTextDocument.ResourceType.ImageResource.value:
            return QImage()
        return None  # never let QTextBrowser fetch anything itself

    def _placeholder_image(self, text: str) -> QImage:
        from PySide6.QtGui import QImage

        assert self.images is not None
        _, size_text, initial, source, caption = [*text.split(":", 4), "", ""][:5]
        width_text, _, height_text = size_text.partition("x")
        if not (width_text.isdigit() and height_text.isdigit()):
            return QImage()
        base = self.palette().color(QPalette.ColorRole.Base)
        size = QSize(int(width_text), int(height_text))
        dark = base.lightness() < 128
        return self.images.placeholder(size, initial, dark, source=unquote(source), caption=unquote(caption)).toImage()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Override QTextBrowser.resizeEvent: fit the article's images to the new width (a narrower
        pane would otherwise crop them behind a horizontal scroll bar), once the resizing pauses."""
        super().resizeEvent(event)
        self._fit_column()
        if self._article is not None and self.images is not None and self._has_images(self._article):
            width = self._content_width()
            if width < self._rendered_width or abs(width - self._rendered_width) >= REFIT_STEP_PX:
                self._refit_timer.start()

    def _refit(self) -> None:
        if self._article is not None and self._content_width() != self._rendered_width:
            self.refresh_images()

    @staticmethod
    def _has_images(article: Article) -> bool:
        return bool(article.image_url) or "<img" in (article.body_html or "").lower()

    def _available_width(self) -> int:
        """The widest the text could be: the viewport less the document's margins."""
        margin = int(self.document().documentMargin())
        return self.viewport().width() - 2 * margin - 4

    def _content_width(self) -> int:
        """The text column's width (images are fitted to it): the measure, or the pane if narrower."""
        return max(120, min(self._available_width(), self.measure_width()))

    def body_font(self) -> QFont:
        """The font body text is set in (what the measure is counted in): BODY_SCALE times the
        document's font, which follows the text size; a serif face when the reading font is Serif."""
        font = QFont(self.document().defaultFont())
        size = font.pointSizeF() if font.pointSizeF() > 0 else 10.0
        font.setPointSizeF(round(size * BODY_SCALE, 1))
        if self._serif:
            # The generic name and the hint: the platform picks its serif face (the HTML names the
            # face it picked, which every platform resolves, where "serif" may not be).
            font.setStyleHint(QFont.StyleHint.Serif)
            font.setFamilies(["Serif", "Times New Roman", "Georgia"])
        return font

    @property
    def serif(self) -> bool:
        return self._serif

    def set_serif(self, serif: bool) -> None:
        """The body text in a serif face (the title and the meta line keep the UI's font)."""
        if serif == self._serif:
            return
        self._serif = serif
        if self._article is not None:
            self.refresh_images()  # the family is written into the HTML; the measure follows it
        else:
            self._fit_column()

    def measure_width(self) -> int:
        """MEASURE_CHARS average characters of the body font, in pixels."""
        return math.ceil(QFontMetricsF(self.body_font()).averageCharWidth() * MEASURE_CHARS)

    def _dim_color(self) -> str:
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.Text)
        base = palette.color(QPalette.ColorRole.Base)
        pairs = ((text.red(), base.red()), (text.green(), base.green()), (text.blue(), base.blue()))
        mixed = [int(a * 0.6 + b * 0.4) for a, b in pairs]
        return "#{:02x}{:02x}{:02x}".format(*mixed)

    def changeEvent(self, event: QEvent) -> None:
        """Override QTextBrowser.changeEvent: re-render in the new colours when the theme changes."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            if self._article is not None:
                self.refresh_images()
            else:
                self.show_empty(self._empty_message)  # its dim colour is in the HTML too

    # --- scrolling and text size ---

    def scroll_page(self, forward: bool = True) -> bool:
        """Scroll by a page. Returns False when already at the end (or start) in that direction."""
        bar = self.verticalScrollBar()
        if forward and bar.value() >= bar.maximum():
            return False
        if not forward and bar.value() <= bar.minimum():
            return False
        step = max(bar.pageStep() - 40, 20)
        bar.setValue(bar.value() + (step if forward else -step))
        return True

    @property
    def zoom(self) -> int:
        return self._zoom

    @property
    def zoom_percent(self) -> int:
        """The text size now, against the size at zoom 0."""
        base = self._base_font.pointSizeF() if self._base_font.pointSizeF() > 0 else 10.0
        return round(self.document().defaultFont().pointSizeF() / base * 100)

    def set_text_size(self, body_points: float | None) -> None:
        """The body text at ``body_points`` (None: BODY_SCALE times the UI font) before zooming; the
        title, the meta line and the measure scale with it. The zoom steps stay, on top of it."""
        font = QFont(self.font())
        if body_points is not None:
            font.setPointSizeF(body_points / BODY_SCALE)
        if font == self._base_font:
            return
        self._base_font = font
        self.set_zoom(self._zoom)

    def set_zoom(self, steps: int) -> None:
        steps = max(MIN_ZOOM, min(MAX_ZOOM, steps))
        self._zoom = steps
        font = QFont(self._base_font)
        size = font.pointSizeF() if font.pointSizeF() > 0 else 10.0
        font.setPointSizeF(max(5.0, size + steps))
        self.document().setDefaultFont(font)
        if self._article is not None:
            self.refresh_images()  # the body's size is written into the HTML; the column follows it
        else:
            self._fit_column()

    def zoom_in(self) -> None:
        self.set_zoom(self._zoom + 1)

    def zoom_out(self) -> None:
        self.set_zoom(self._zoom - 1)

    def zoom_reset(self) -> None:
        self.set_zoom(0)

    def sizeHint(self) -> QSize:
        """Override: the pane wants room."""
        return QSize(560, 600)


def sized_headings(body_html: str, body_points: float) -> str:
    """``body_html`` with each ``<hN>`` a paragraph in its :data:`HEADING_SCALES` size of
    ``body_points`` (see there why); its other attributes are kept (the sanitiser leaves no style)."""

    def opening(match: re.Match[str]) -> str:
        points = body_points * HEADING_SCALES[int(match.group(1)) - 1]
        style = f"font-size:{points:.1f}pt; font-weight:bold; margin-top:0.8em; margin-bottom:0.3em"
        return f'<p{match.group(2)} style="{style}">'

    return re.sub(_HEADING_CLOSE, "</p>", re.sub(_HEADING_OPEN, opening, body_html))


#: Before each enclosure's link in the pane.
_ENCLOSURE_MARK = "\u25b6"  # ▶


def enclosure_action(enclosure: Enclosure) -> str:
    """The link's words: what following it does (the system's player or browser takes it)."""
    kind = (enclosure.type or "").split("/", 1)[0]
    if kind in ("audio", "video"):
        return f"Play {kind}"
    name = enclosure.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return f"Download {name}" if name and "." in name else "Download the file"


def _host(url: str) -> str:
    from PySide6.QtCore import QUrl

    return QUrl(url).host() or url
