"""Wires the image service to the article list and the reading pane.

The list asks for a thumbnail only when the delegate paints a row (so only visible rows ask, and the
rows painted last go first); when one arrives, only that row's thumbnail role changes. Rows scrolled
well out of view cancel requests that have not started.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSize, QTimer
from PySide6.QtGui import QPixmap

from reader.records import ArticleRow
from reader.ui.article_delegate import THUMB_SIZE
from reader.ui.article_model import ArticleListModel
from reader.ui.article_view import ArticleListView
from reader.ui.names import source_initial
from reader.ui.reading_pane import ReadingPane
from reader.ui.thumbnails import ImageService

#: Rows kept requested above and below the visible ones when scrolling.
KEEP_MARGIN_ROWS = 20


class ListImages(QObject):
    """The model's thumbnail provider and the pane's image source, both backed by one ImageService."""

    def __init__(
        self, service: ImageService, model: ArticleListModel, view: ArticleListView, pane: ReadingPane
    ) -> None:
        super().__init__(view)
        self.service = service
        self._model = model
        self._view = view
        self._pane = pane
        self._requested: dict[str, int] = {}  # image url -> article id, not yet arrived
        # Nothing is requested until the window has painted once: the first network request loads
        # Qt's network stack (~100 ms), which must not stand between a person and the window.
        self.active = False
        model.thumbnails = self
        view.delegate.placeholder_provider = self.placeholder
        pane.images = service
        service.image_ready.connect(self.on_image_ready)
        service.image_failed.connect(self.on_image_failed)
        model.modelReset.connect(self.on_model_reset)
        self._scroll_timer = QTimer(self)
        self._scroll_timer.setSingleShot(True)
        self._scroll_timer.setInterval(120)
        self._scroll_timer.timeout.connect(self.cancel_scrolled_away)
        view.verticalScrollBar().valueChanged.connect(self._scroll_timer.start)

    def thumbnail_for(self, row: ArticleRow) -> QPixmap | None:
        """ThumbnailProvider: the cached thumbnail, else a request for it (made while painting)."""
        if not row.image_url:
            return None
        if not self.active:
            return self.service.pixmap(row.image_url, THUMB_SIZE)
        found = self.service.thumbnail(row.image_url, THUMB_SIZE)
        if found is None and not self.service.is_failed(row.image_url):
            self._requested[row.image_url] = row.id
        return found

    def activate(self) -> None:
        """Start loading images (after the first paint); visible rows ask again as they repaint."""
        if not self.active:
            self.active = True
            # The visible rows ask now, and the pane after them: the service starts the latest
            # request first, and the article being read comes before the thumbnails.
            self._view.viewport().repaint()
            self._pane.refresh_images()

    def placeholder(self, size: QSize, source: str, dark: bool) -> QPixmap:
        """The delegate's placeholder for a row of ``source``: its initial, on its tint."""
        return self.service.placeholder(size, source_initial(source), dark, source=source)

    def on_image_ready(self, url: str, size: QSize) -> None:
        if size == THUMB_SIZE:
            self._requested.pop(url, None)
            for row in self._model.rows_with_image(url):
                self._model.thumbnail_arrived(row)
        elif self._pane.article is not None:
            self._pane.refresh_images()

    def on_image_failed(self, url: str) -> None:
        self._requested.pop(url, None)
        article = self._pane.article
        if article is not None and article.image_url == url:
            self._pane.refresh_images()  # the lead image will not come: its placeholder shows instead

    def on_model_reset(self) -> None:
        # A new query: the old rows' pending requests are no longer wanted.
        for url in self._requested:
            self.service.cancel(url, THUMB_SIZE)
        self._requested.clear()

    def cancel_scrolled_away(self) -> None:
        viewport = self._view.viewport().rect()
        first = self._view.indexAt(viewport.topLeft()).row()
        last = self._view.indexAt(viewport.bottomLeft()).row()
        if first < 0:
            return
        if last < 0:
            last = self._model.rowCount() - 1
        low, high = first - KEEP_MARGIN_ROWS, last + KEEP_MARGIN_ROWS
        for url, article_id in list(self._requested.items()):
            row = self._model.row_of(article_id)
            if row is None or not low <= row <= high:
                self.service.cancel(url, THUMB_SIZE)
                del self._requested[url]

    def set_remote_images(self, enabled: bool) -> None:
        self.service.set_remote_images_enabled(enabled)
        self._view.viewport().update()
        self._pane.refresh_images()
