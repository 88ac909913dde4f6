"""The article list view. Keyboard navigation lives here, not in the window."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Signal
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

from reader.records import ArticleRow
from reader.ui.article_delegate import ArticleDelegate
from reader.ui.article_model import ArticleListModel
from reader.ui.viewports import wrap_viewport


class ArticleListView(QListView):
    """Shows an :class:`ArticleListModel` with uniform rows.

    Signals:
        article_selected(int, int): the current article changed: its id, and the row it is on
            now (valid while the signal is delivered, which is at once: the slot needs no lookup).
    """

    article_selected = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._viewport = wrap_viewport(self)  # (the window asks for it before the first paint)
        self.setObjectName("articleList")
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setHorizontalScrollBarPolicy(self.horizontalScrollBarPolicy().ScrollBarAlwaysOff)
        self.setLayoutMode(QListView.LayoutMode.SinglePass)
        self.delegate = ArticleDelegate(self)
        self.setItemDelegate(self.delegate)

    def setModel(self, model: ArticleListModel) -> None:  # type: ignore[override]
        """Override QListView.setModel: follow the current index."""
        super().setModel(model)
        self.selectionModel().currentChanged.connect(self.on_current_changed)

    def visible_rows(self) -> int:
        """How many rows the list shows at its present height, and one more partly shown."""
        viewport = self._viewport or self.viewport()
        fonts = self.delegate.fonts(self.font())
        row_height = fonts.compact_row_height if self.delegate.compact else fonts.row_height
        return viewport.height() // max(1, row_height) + 2

    def article_model(self) -> ArticleListModel:
        model = self.model()
        assert isinstance(model, ArticleListModel)
        return model

    def on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            row = current.row()
            article_id = self.article_model().article_id(row)
            if article_id is not None:
                self.article_selected.emit(article_id, row)

    def set_compact(self, compact: bool) -> None:
        """Title-only rows, or full ones; the current row stays in view across the new heights."""
        self.delegate.set_compact(compact)
        self.doItemsLayout()
        current = self.currentIndex()
        if current.isValid():
            self.scrollTo(current)

    def focusInEvent(self, event: QFocusEvent) -> None:
        """Override QListView.focusInEvent. Qt makes the first row current when the list gains focus
        without a current row; here that would open an article nobody chose and mark it read (after
        every new search or sidebar pick). Setting "no current row" explicitly tells Qt one was set."""
        if not self.currentIndex().isValid():
            self.setCurrentIndex(QModelIndex())
        super().focusInEvent(event)

    def keyboardSearch(self, search: str) -> None:
        """Override QAbstractItemView.keyboardSearch: letters are commands here (j, k, n ...), not a
        type-to-find that would read every row's title."""

    # --- navigation ---

    def current_row(self) -> int:
        index = self.currentIndex()
        return index.row() if index.isValid() else -1

    def current_article(self) -> ArticleRow | None:
        return self.article_model().row(self.current_row())

    def select_row(self, row: int, *, scroll: bool = True) -> bool:
        """Make ``row`` current (pages are fetched to reach it). Asynchronous (a shared store): a
        row beyond the loaded ones is False now, and is selected when its page arrives."""
        model = self.article_model()
        if row >= model.rowCount() and model.asynchronous:
            model.fetch_then(lambda: self._select_arrived(row, scroll))
            return False
        while row >= model.rowCount() and model.canFetchMore(QModelIndex()):
            model.fetchMore(QModelIndex())
        if not 0 <= row < model.rowCount():
            return False
        index = model.index(row)
        self.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        if scroll:
            self.scrollTo(index)
        return True

    def _select_arrived(self, row: int, scroll: bool) -> None:
        if row < self.article_model().rowCount():
            self.select_row(row, scroll=scroll)

    def next_article(self) -> bool:
        return self.select_row(self.current_row() + 1)

    def previous_article(self) -> bool:
        row = self.current_row()
        return row > 0 and self.select_row(row - 1)

    def next_unread(self) -> bool:
        row = self.article_model().next_unread_row(self.current_row())
        return row is not None and self.select_row(row)

    def next_unread_then(self, then: Callable[[bool], None]) -> None:
        """:meth:`next_unread`, whose answer may come later (a shared store: the next unread may
        be beyond the loaded rows): ``then(selected)``, not at all when the list is reset first."""
        model = self.article_model()
        if not model.asynchronous:
            then(self.next_unread())
            return
        model.next_unread_then(self.current_row(), lambda row: then(row is not None and self.select_row(row)))

    def previous_unread(self) -> bool:
        model = self.article_model()
        for row in range(self.current_row() - 1, -1, -1):
            if not model.is_read(row):
                return self.select_row(row)
        return False
