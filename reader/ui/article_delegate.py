"""Paints one article row: thumbnail, title (bold when unread, star when starred),
source · author · relative date, and a two-line snippet; or, in the compact list, one line: the
title, then source · relative date at the right.

While a search is active, its words are highlighted in the title and the snippet: where the runs of
matching words sit is measured once per row (and width, and search) and cached like the wrapped snippets.

Fonts, metrics and wrapped snippets are cached; ``paint()`` allocates no pixmaps and scales nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from reader.records import ArticleRow, is_date_only
from reader.ui.article_model import ArticleRole
from reader.ui.highlight import Terms, match_spans, search_terms
from reader.ui.item_state import item_state
from reader.ui.names import SourceNames

THUMB_SIZE = QSize(96, 72)
PADDING = 8
#: Above and below the one line of a compact row.
COMPACT_PADDING = 4
SPACING = 2
STAR = "★"
#: What a row whose display block is still on its way from a shared store says.
LOADING_TEXT = "Loading…"
_SNIPPET_CACHE_MAX = 4096
#: Behind the search's words: translucent, so the text over it reads in light and dark themes.
HIGHLIGHT_COLOR = QColor(255, 214, 0, 120)
#: The kinds of text a row highlights in (a part of the highlight cache's key).
_TITLE_READ, _TITLE_UNREAD, _SNIPPET_LINE1, _SNIPPET_LINE2 = range(4)
#: (x, width) of each highlighted run, from the text's left edge.
Runs = tuple[tuple[int, int], ...]


def relative_date(published: datetime | None, now: datetime | None = None) -> str:
    """``5m``, ``3h``, ``2d`` for recent dates; ``20 Apr`` this year; ``20 Apr 2018`` before. A date
    without a time (see :func:`~reader.records.is_date_only`) is counted in days: ``today``, ``2d ago``."""
    if published is None:
        return "date unknown"
    now = now or datetime.now(UTC)
    if is_date_only(published):
        days = (now.astimezone(UTC).date() - published.astimezone(UTC).date()).days
        if days == 0:
            return "today"
        if 0 < days < 7:
            return f"{days}d ago"
    seconds = (now - published).total_seconds()
    if 0 <= seconds < 60:
        return "just now"
    if 0 <= seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    if 0 <= seconds < 86400:
        return f"{int(seconds // 3600)}h ago"
    if 0 <= seconds < 7 * 86400:
        return f"{int(seconds // 86400)}d ago"
    if published.year == now.year:
        return f"{published.day} {published.strftime('%b')}"
    return f"{published.day} {published.strftime('%b %Y')}"


class _Fonts:
    """Fonts and metrics for one base font, built once."""

    def __init__(self, base: QFont) -> None:
        self.key = base.key()
        self.title = QFont(base)
        self.title_bold = QFont(base)
        self.title_bold.setBold(True)
        self.meta = QFont(base)
        self.meta.setPointSizeF(max(6.0, base.pointSizeF() * 0.85))
        self.snippet = QFont(base)
        self.snippet.setPointSizeF(max(6.0, base.pointSizeF() * 0.92))
        self.title_fm = QFontMetrics(self.title)
        self.title_bold_fm = QFontMetrics(self.title_bold)
        self.meta_fm = QFontMetrics(self.meta)
        self.snippet_fm = QFontMetrics(self.snippet)
        self.row_height = (
            2 * PADDING
            + self.title_bold_fm.height()
            + SPACING
            + self.meta_fm.height()
            + SPACING
            + 2 * self.snippet_fm.lineSpacing()
        )
        self.row_height = max(self.row_height, THUMB_SIZE.height() + 2 * PADDING)
        self.compact_row_height = 2 * COMPACT_PADDING + max(self.title_bold_fm.height(), self.meta_fm.height())


class ArticleDelegate(QStyledItemDelegate):
    """Draws article rows. All rows are the same height (the view uses uniform item sizes)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fonts: _Fonts | None = None
        self._snippets: dict[tuple[int, int, str], tuple[str, str]] = {}
        #: One line per row (title, source, date): no thumbnail, no snippet. See :meth:`set_compact`.
        self.compact = False
        #: (size, source, dark) -> placeholder; the window sets the image service's here.
        self.placeholder_provider: Callable[[QSize, str, bool], QPixmap] | None = None
        #: The names rows show for their sources; the window shares one with the pane.
        self.names = SourceNames()
        self._terms: Terms | None = None
        #: (row id, kind, width) -> where the search's words are, in that row's text of that kind.
        self._highlights: dict[tuple[int, int, int], Runs] = {}

    def fonts(self, base: QFont) -> _Fonts:
        if self._fonts is None or self._fonts.key != base.key():
            self._fonts = _Fonts(base)
            self._snippets.clear()
            self._highlights.clear()
        return self._fonts

    def set_search(self, search: str | None) -> None:
        """The active search (None: none): its words are highlighted in the rows from the next paint."""
        terms = search_terms(search)
        if terms != self._terms:
            self._terms = terms
            self._highlights.clear()

    def highlight_runs(self, row_id: int, kind: int, width: int, text: str, fm: QFontMetrics) -> Runs:
        """Where the search's words are in ``text`` (a row's title or snippet line, drawn in
        ``width``), measured once and cached; () without a search."""
        if self._terms is None:
            return ()
        key = (row_id, kind, width)
        runs = self._highlights.get(key)
        if runs is None:
            runs = tuple(
                (fm.horizontalAdvance(text[:start]), fm.horizontalAdvance(text[start:end]))
                for start, end in match_spans(text, self._terms)
            )
            if len(self._highlights) >= _SNIPPET_CACHE_MAX:
                self._highlights.clear()
            self._highlights[key] = runs
        return runs

    def set_compact(self, compact: bool) -> None:
        """Switch between full and compact rows; the view relayouts (the row height changes)."""
        if compact != self.compact:
            self.compact = compact
            self.sizeHintChanged.emit(QModelIndex())

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        """Override QStyledItemDelegate.initStyleOption: no text (:meth:`paint` draws it), so that
        the base class's paint() draws the row's background, selection and focus alone."""
        super().initStyleOption(option, index)
        option.text = ""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        """Override QStyledItemDelegate.sizeHint: one fixed height for every row."""
        fonts = self.fonts(option.font)
        return QSize(200, fonts.compact_row_height if self.compact else fonts.row_height)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        """Override QStyledItemDelegate.paint."""
        row: ArticleRow | None = index.data(ArticleRole.item)
        if row is None:
            self._paint_loading(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        painter.save()
        try:
            # Background, selection and focus through the style, like every native list: Qt's own
            # paint() draws them (without the text: initStyleOption() clears it), in C++, so the
            # first paint does not wait for PySide6 to set up QStyle (see reader.ui.item_state).
            super().paint(painter, option, index)
            fonts = self.fonts(opt.font)
            rect: QRect = opt.rect
            palette: QPalette = opt.palette
            text_color, selected = self._text_color(opt, index)
            dim_color = QColor(text_color)
            dim_color.setAlphaF(0.65)
            if self.compact:
                self._paint_compact(painter, row, rect, fonts, text_color, dim_color, selected)
                return

            thumb_rect = QRect(
                rect.left() + PADDING,
                rect.top() + (rect.height() - THUMB_SIZE.height()) // 2,
                THUMB_SIZE.width(),
                THUMB_SIZE.height(),
            )
            pixmap = index.data(ArticleRole.thumbnail)
            if not isinstance(pixmap, QPixmap) or pixmap.isNull():
                pixmap = self._placeholder(row, palette)
            if pixmap is not None and not pixmap.isNull():
                # Centre the (already scaled) pixmap in its slot; no scaling here.
                ratio = pixmap.devicePixelRatio() or 1.0
                w, h = int(pixmap.width() / ratio), int(pixmap.height() / ratio)
                painter.drawPixmap(
                    thumb_rect.left() + (thumb_rect.width() - w) // 2,
                    thumb_rect.top() + (thumb_rect.height() - h) // 2,
                    pixmap,
                )

            left = thumb_rect.right() + 1 + PADDING
            width = max(10, rect.right() - PADDING - left)
            y = rect.top() + PADDING

            title_font, title_fm = (
                (fonts.title, fonts.title_fm) if row.read else (fonts.title_bold, fonts.title_bold_fm)
            )
            title_width = width
            if row.starred:
                star_w = title_fm.horizontalAdvance(STAR + " ")
                title_width -= star_w
                painter.setFont(title_font)
                painter.setPen(QColor(230, 170, 0) if not selected else text_color)
                painter.drawText(
                    QRect(rect.right() - PADDING - star_w, y, star_w, title_fm.height()),
                    int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                    STAR,
                )
            painter.setFont(title_font)
            painter.setPen(text_color)
            title = title_fm.elidedText(row.title or "(untitled)", Qt.TextElideMode.ElideRight, title_width)
            kind = _TITLE_READ if row.read else _TITLE_UNREAD
            for x, w in self.highlight_runs(row.id, kind, title_width, title, title_fm):
                painter.fillRect(left + x, y, w, title_fm.height(), HIGHLIGHT_COLOR)
            painter.drawText(QRect(left, y, title_width, title_fm.height()), int(Qt.AlignmentFlag.AlignVCenter), title)
            y += title_fm.height() + SPACING

            painter.setFont(fonts.meta)
            painter.setPen(dim_color)
            meta = self.meta_text(row)
            painter.drawText(
                QRect(left, y, width, fonts.meta_fm.height()),
                int(Qt.AlignmentFlag.AlignVCenter),
                fonts.meta_fm.elidedText(meta, Qt.TextElideMode.ElideRight, width),
            )
            y += fonts.meta_fm.height() + SPACING

            painter.setFont(fonts.snippet)
            painter.setPen(text_color if selected else dim_color)
            line1, line2 = self._wrapped_snippet(row, width, fonts)
            line_h = fonts.snippet_fm.lineSpacing()
            for x, w in self.highlight_runs(row.id, _SNIPPET_LINE1, width, line1, fonts.snippet_fm):
                painter.fillRect(left + x, y, w, line_h, HIGHLIGHT_COLOR)
            for x, w in self.highlight_runs(row.id, _SNIPPET_LINE2, width, line2, fonts.snippet_fm):
                painter.fillRect(left + x, y + line_h, w, line_h, HIGHLIGHT_COLOR)
            painter.drawText(QRect(left, y, width, line_h), int(Qt.AlignmentFlag.AlignVCenter), line1)
            painter.drawText(QRect(left, y + line_h, width, line_h), int(Qt.AlignmentFlag.AlignVCenter), line2)
        finally:
            painter.restore()

    @staticmethod
    def _text_color(opt: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> tuple[QColor, bool]:
        """The row's text colour (the highlighted text's when selected; the inactive group's when
        the list's window is not active), and whether the row is selected."""
        view = opt.widget
        selected, active = item_state(view, index) if isinstance(view, QAbstractItemView) else (False, True)
        group = QPalette.ColorGroup.Active if active else QPalette.ColorGroup.Inactive
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        return opt.palette.color(group, role), selected

    def _paint_loading(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        """A row listed whose title and the rest are still on their way (a shared store): its
        background and selection, and a dim "Loading…" where the title goes, until the model's
        dataChanged brings it."""
        if index.data(ArticleRole.id) is None:
            return  # (not a listed row)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        painter.save()
        try:
            super().paint(painter, option, index)
            fonts = self.fonts(opt.font)
            rect: QRect = opt.rect
            color = QColor(self._text_color(opt, index)[0])
            color.setAlphaF(0.45)
            padding = COMPACT_PADDING if self.compact else PADDING
            left = rect.left() + padding + (0 if self.compact else THUMB_SIZE.width() + PADDING)
            painter.setFont(fonts.meta)
            painter.setPen(color)
            painter.drawText(
                QRect(left, rect.top() + padding, max(10, rect.right() - padding - left), fonts.meta_fm.height()),
                int(Qt.AlignmentFlag.AlignVCenter),
                LOADING_TEXT,
            )
        finally:
            painter.restore()

    def _paint_compact(
        self,
        painter: QPainter,
        row: ArticleRow,
        rect: QRect,
        fonts: _Fonts,
        text_color: QColor,
        dim_color: QColor,
        selected: bool,
    ) -> None:
        """One line: the title (elided), then the star and source · date at the right. The meta
        takes at most a third of the width: the title is what the compact list is for."""
        left, right = rect.left() + PADDING, rect.right() - PADDING
        width = max(10, right - left)
        meta = self.meta_text(row)
        meta_fm = fonts.meta_fm
        meta_w = min(meta_fm.horizontalAdvance(meta) + 2, width // 3)  # (+2: the advance is rounded)
        painter.setFont(fonts.meta)
        painter.setPen(dim_color)
        painter.drawText(
            QRect(right - meta_w, rect.top(), meta_w, rect.height()),
            int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
            meta_fm.elidedText(meta, Qt.TextElideMode.ElideRight, meta_w),
        )
        title_font, title_fm = (fonts.title, fonts.title_fm) if row.read else (fonts.title_bold, fonts.title_bold_fm)
        title_width = max(10, width - meta_w - PADDING)
        painter.setFont(title_font)
        if row.starred:
            star_w = title_fm.horizontalAdvance(STAR + " ")
            title_width -= star_w
            painter.setPen(QColor(230, 170, 0) if not selected else text_color)
            painter.drawText(
                QRect(right - meta_w - PADDING - star_w, rect.top(), star_w, rect.height()),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                STAR,
            )
        painter.setPen(text_color)
        title = title_fm.elidedText(row.title or "(untitled)", Qt.TextElideMode.ElideRight, title_width)
        kind = _TITLE_READ if row.read else _TITLE_UNREAD
        top = rect.top() + (rect.height() - title_fm.height()) // 2
        for x, w in self.highlight_runs(row.id, kind, title_width, title, title_fm):
            painter.fillRect(left + x, top, w, title_fm.height(), HIGHLIGHT_COLOR)
        painter.drawText(QRect(left, rect.top(), title_width, rect.height()), int(Qt.AlignmentFlag.AlignVCenter), title)

    def meta_text(self, row: ArticleRow) -> str:
        """The row's second line (source name · author · date); compact rows leave the author out."""
        author = None if self.compact else row.author
        return " · ".join(
            p for p in (self.names.name(row.source, row.feed_id), author, relative_date(row.published)) if p
        )

    def _wrapped_snippet(self, row: ArticleRow, width: int, fonts: _Fonts) -> tuple[str, str]:
        key = (row.id, width, fonts.key)
        cached = self._snippets.get(key)
        if cached is not None:
            return cached
        fm = fonts.snippet_fm
        words = row.snippet.split()
        line1 = ""
        used = 0
        for i, word in enumerate(words):
            candidate = f"{line1} {word}" if line1 else word
            if fm.horizontalAdvance(candidate) > width:
                break
            line1 = candidate
            used = i + 1
        rest = " ".join(words[used:])
        if not line1 and rest:  # one very long word: elide it on the first line
            line1, rest = fm.elidedText(rest, Qt.TextElideMode.ElideRight, width), ""
        line2 = fm.elidedText(rest, Qt.TextElideMode.ElideRight, width)
        if len(self._snippets) >= _SNIPPET_CACHE_MAX:
            self._snippets.clear()
        self._snippets[key] = (line1, line2)
        return line1, line2

    def _placeholder(self, row: ArticleRow, palette: QPalette) -> QPixmap | None:
        if self.placeholder_provider is None:
            return None
        dark = palette.color(QPalette.ColorRole.Base).lightness() < 128
        # The provider picks the initial from the whole name ("www.nasa.gov" -> "N").
        return self.placeholder_provider(THUMB_SIZE, row.source or "", dark)
