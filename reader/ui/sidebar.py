"""The sidebar: All / Unread / Starred, then each source and each feed with unread counts, then
one section per sync account: its folders, each with its feeds indented under it, and the feeds
in no folder.

Each entry's text is its name alone; its count is data of its own (:data:`COUNT_ROLE`), painted by
:class:`SidebarDelegate` right-aligned in a column at the right, so that a narrow sidebar elides
the name and never the count ("Harbour Times  (6)" in one label lost its count first).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListWidget,
    QListWidgetItem,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from reader.records import NO_SOURCE, Account, Feed, SourceCount, View
from reader.ui.item_state import is_hovered, item_state
from reader.ui.names import readable_source
from reader.ui.viewports import wrap_viewport

_KEY_ROLE = Qt.ItemDataRole.UserRole + 1
#: The number shown at the right of an entry (int), or None for none.
COUNT_ROLE = Qt.ItemDataRole.UserRole + 2
#: True when that number counts unread articles: it is bold then (when not 0).
UNREAD_ROLE = Qt.ItemDataRole.UserRole + 3
#: True on a section's header ("Sources", "Feeds"): not an entry, never selected.
HEADER_ROLE = Qt.ItemDataRole.UserRole + 4
#: How deep an entry sits (int: 0, or 1 for a sync account's feed inside its folder).
LEVEL_ROLE = Qt.ItemDataRole.UserRole + 5

#: Above and below an entry's line, and before its name / after its count.
ROW_PADDING = 6
LEFT_PADDING = 12
RIGHT_PADDING = 10
#: Between the name's column and the count's.
COUNT_GAP = 6
#: A header's room above its line, which sets the sections apart.
HEADER_SPACE = 14
#: The highlight stops this short of the sidebar's sides, with rounded corners.
HIGHLIGHT_INSET = 4
#: An entry one level deeper starts this much further right.
INDENT = 14


def row_layout(rect: QRect, count_width: int, level: int = 0) -> tuple[QRect, QRect]:
    """(name, count) rectangles of an entry in ``rect``: the count right-aligned in a column of
    ``count_width`` pixels at the right (an empty rect without a count), the name in what is left,
    to be elided there, ``level`` indents further in. The count keeps its width however narrow the
    row: the name gives way."""
    left = rect.left() + LEFT_PADDING + INDENT * level
    right = rect.right() - RIGHT_PADDING
    if count_width <= 0:
        return QRect(left, rect.top(), max(0, right - left + 1), rect.height()), QRect()
    count = QRect(right - count_width + 1, rect.top(), count_width, rect.height())
    name_right = count.left() - COUNT_GAP
    return QRect(left, rect.top(), max(0, name_right - left), rect.height()), count


class _Fonts:
    """The delegate's fonts, metrics and row sizes for one base font, built once: a count refresh
    rebuilds every entry, and the list asks each one's size."""

    def __init__(self, base: QFont) -> None:
        self.base = QFont(base)
        self.name = QFont(base)
        self.bold = QFont(base)
        self.bold.setBold(True)
        self.header = QFont(base)
        self.header.setBold(True)
        self.header.setPointSizeF(max(6.0, base.pointSizeF() * 0.8))
        self.header.setCapitalization(QFont.Capitalization.AllUppercase)
        self.header.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 0.8)
        self.name_fm = QFontMetrics(self.name)
        self.bold_fm = QFontMetrics(self.bold)
        self.header_fm = QFontMetrics(self.header)
        # The width asked is only the paddings': the list makes every row as wide as the widest
        # hint, and a row as wide as its whole name pushed the count out of view (the name is
        # elided to the width there is instead).
        self.entry_size = QSize(
            LEFT_PADDING + RIGHT_PADDING, max(self.name_fm.height(), self.bold_fm.height()) + 2 * ROW_PADDING
        )
        self.header_size = QSize(LEFT_PADDING + RIGHT_PADDING, HEADER_SPACE + self.header_fm.height() + 4)


class SidebarDelegate(QStyledItemDelegate):
    """Paints the sidebar's entries (name, count) and headers; colours from the palette, so the
    light and the dark theme both work."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fonts: _Fonts | None = None

    def fonts(self, base: QFont) -> _Fonts:
        if self._fonts is None or self._fonts.base != base:  # (cheaper than comparing key()s)
            self._fonts = _Fonts(base)
        return self._fonts

    @staticmethod
    def count_text(index: QModelIndex | QPersistentModelIndex) -> str:
        count = index.data(COUNT_ROLE)
        return str(count) if isinstance(count, int) else ""

    def layout(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> tuple[QRect, QRect]:
        """(name, count) rectangles of ``index`` painted in ``option.rect`` (see :func:`row_layout`);
        the count's column is as wide as it is in bold, so it does not shift when it turns bold."""
        text = self.count_text(index)
        width = self.fonts(option.font).bold_fm.horizontalAdvance(text) + 1 if text else 0
        level = index.data(LEVEL_ROLE)
        return row_layout(option.rect, width, level if isinstance(level, int) else 0)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        """Override QStyledItemDelegate.sizeHint: a comfortable line; a header has room above."""
        fonts = self.fonts(option.font)
        return fonts.header_size if index.data(HEADER_ROLE) else fonts.entry_size

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        """Override QStyledItemDelegate.paint."""
        fonts = self.fonts(option.font)
        rect: QRect = option.rect
        palette: QPalette = option.palette
        view = option.widget
        # (Not option.state: see reader.ui.item_state.)
        selected, active = item_state(view, index) if isinstance(view, QAbstractItemView) else (False, True)
        group = QPalette.ColorGroup.Active if active else QPalette.ColorGroup.Inactive
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        painter.save()
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            if index.data(HEADER_ROLE):
                painter.setFont(fonts.header)
                painter.setPen(palette.color(group, QPalette.ColorRole.PlaceholderText))
                box = rect.adjusted(LEFT_PADDING, HEADER_SPACE, -RIGHT_PADDING, 0)
                painter.drawText(
                    box,
                    int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                    fonts.header_fm.elidedText(text, Qt.TextElideMode.ElideRight, box.width()),
                )
                return
            band = QRectF(rect.adjusted(HIGHLIGHT_INSET, 1, -HIGHLIGHT_INSET, -1))
            if selected:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(palette.color(group, QPalette.ColorRole.Highlight))
                painter.drawRoundedRect(band, 4, 4)
            elif isinstance(view, QAbstractItemView) and is_hovered(view, index):
                hover = QColor(palette.color(group, QPalette.ColorRole.Highlight))
                hover.setAlphaF(0.14)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(hover)
                painter.drawRoundedRect(band, 4, 4)
            ink = palette.color(group, QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
            name_rect, count_rect = self.layout(option, index)
            painter.setFont(fonts.name)
            painter.setPen(ink)
            painter.drawText(
                name_rect,
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                fonts.name_fm.elidedText(text, Qt.TextElideMode.ElideRight, name_rect.width()),
            )
            count = self.count_text(index)
            if count:
                emphasis = bool(index.data(UNREAD_ROLE)) and index.data(COUNT_ROLE) != 0
                muted = QColor(ink)
                muted.setAlphaF(0.85 if selected else (0.75 if emphasis else 0.55))
                painter.setFont(fonts.bold if emphasis else fonts.name)
                painter.setPen(muted)
                painter.drawText(count_rect, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), count)
        finally:
            painter.restore()


class SidebarKey(NamedTuple):
    view: View = "all"
    source: str | None = None
    feed_id: int | None = None
    #: A sync account's folder: the account's id and the folder's name (both, or neither).
    account_id: int | None = None
    folder: str | None = None
    #: A label rules gave.
    label: str | None = None


class Sidebar(QListWidget):
    """Signals:
    key_changed(object): the person picked another entry (a :class:`SidebarKey`).
    """

    key_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._viewport = wrap_viewport(self)  # (its delegate asks for it on the first paint)
        self.setObjectName("sidebar")
        # (Not uniform: a header is taller than an entry, with room above it.)
        self.delegate = SidebarDelegate(self)
        self.setItemDelegate(self.delegate)
        self.setMouseTracking(True)  # the hovered entry is tinted
        # Narrow (800 px windows), a long feed name is elided: a sideways scroll bar there only
        # took a line's height and scrolled the counts away from the names.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._current = SidebarKey()
        self.currentItemChanged.connect(self.on_current_item_changed)
        self.itemClicked.connect(self.on_item_clicked)

    @property
    def current_key(self) -> SidebarKey:
        return self._current

    def entry_layout(self, item: QListWidgetItem) -> tuple[QRect, QRect]:
        """(name, count) rectangles of ``item`` as the delegate paints them now (viewport coordinates)."""
        option = QStyleOptionViewItem()
        option.font = self.font()
        option.rect = self.visualItemRect(item)
        return self.delegate.layout(option, self.indexFromItem(item))

    def set_current_key(self, key: SidebarKey) -> None:
        """Make ``key`` the filter shown (the start-up view), without ``key_changed``: the caller
        lists it. Before the first counts there are no entries yet; :meth:`populate` selects it."""
        self._current = key
        blocked = self.blockSignals(True)
        try:
            for i in range(self.count()):
                if self.item(i).data(_KEY_ROLE) == key:
                    self.setCurrentRow(i)
                    break
        finally:
            self.blockSignals(blocked)

    def populate(
        self,
        totals: tuple[int, int, int],
        sources: Sequence[SourceCount],
        feeds: Sequence[Feed],
        accounts: Sequence[Account] = (),
        labels: Sequence[SourceCount] = (),
        hidden: int = 0,
    ) -> None:
        """Rebuild the entries with fresh counts, keeping the current one selected. ``feeds`` holds
        the accounts' feeds too: each is listed in its account's section, not under Feeds."""
        # Rebuilt with signals blocked: while the old entries go, Qt moves the current item to a
        # neighbour, and that must neither become the filter nor be heard as the person's pick.
        blocked = self.blockSignals(True)
        try:
            self.clear()
            total, unread, starred = totals
            self._add("All articles", SidebarKey("all"), total, unread=False)
            self._add("Unread", SidebarKey("unread"), unread, unread=True)
            self._add("Starred", SidebarKey("starred"), starred, unread=False)
            if hidden:
                item = self._add("Hidden", SidebarKey("hidden"), hidden, unread=False)
                item.setToolTip("Articles rules hid: kept, not listed elsewhere")
            if labels:
                self._header("Labels")
                for counted_label in labels:
                    name = counted_label.source or ""
                    self._add(name, SidebarKey("all", label=name), counted_label.unread or None)
            if sources:
                self._header("Sources")
                for s in sources:
                    label = readable_source(s.source) or "(no source)"  # (the key keeps the id)
                    key = SidebarKey("all", source=NO_SOURCE if s.source is None else s.source)
                    self._add(label, key, s.unread or None)
            local = [f for f in feeds if f.account_id is None]
            if local:
                self._header("Feeds")
                for f in local:
                    mark = "⚠ " if (f.last_error or f.dead) else ""
                    item = self._add(f"{mark}{f.name}", SidebarKey("all", feed_id=f.id), f.unread or None)
                    if f.dead:
                        item.setToolTip("This feed is gone (410): it is no longer refreshed.")
                    elif f.last_error:
                        item.setToolTip(f"Last refresh failed: {f.last_error}")
                    else:
                        item.setToolTip(f.url)
            for account in accounts:
                self._add_account(account, [f for f in feeds if f.account_id == account.id])
            fell_back = self._select(self._current)
        finally:
            self.blockSignals(blocked)
        if fell_back:
            self.key_changed.emit(self._current)

    def _add_account(self, account: Account, feeds: Sequence[Feed]) -> None:
        """An account's section: its name as the header (marked when its last sync failed), its
        folders by name, each followed by its feeds one level in, then the feeds in no folder."""
        header = self._header(f"⚠ {account.name}" if account.last_error else account.name)
        header.setToolTip(f"Last sync failed: {account.last_error}" if account.last_error else account.url)
        folders: dict[str, list[Feed]] = {}
        for f in feeds:
            if f.folder:
                folders.setdefault(f.folder, []).append(f)
        for folder in sorted(folders, key=str.lower):
            inside = folders[folder]
            key = SidebarKey("all", account_id=account.id, folder=folder)
            self._add(folder, key, sum(f.unread for f in inside) or None)
            for f in inside:
                self._add(f.name, SidebarKey("all", feed_id=f.id), f.unread or None, level=1).setToolTip(
                    f.remote_url or f.url
                )
        for f in feeds:
            if not f.folder:
                self._add(f.name, SidebarKey("all", feed_id=f.id), f.unread or None).setToolTip(f.remote_url or f.url)

    def _add(
        self, text: str, key: SidebarKey, count: int | None, *, unread: bool = True, level: int = 0
    ) -> QListWidgetItem:
        """An entry named ``text`` with ``count`` at its right (None: none); ``unread``: that count
        is of unread articles (the totals of All and Starred are not)."""
        # Filled before it is added: each setData() on a listed item is a dataChanged the view handles.
        item = QListWidgetItem(text)
        item.setData(_KEY_ROLE, key)
        item.setData(COUNT_ROLE, count)
        item.setData(UNREAD_ROLE, unread)
        if level:
            item.setData(LEVEL_ROLE, level)
        if count is not None:  # what a screen reader says: the count is no longer in the text
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{text}, {count}{' unread' if unread else ''}")
        self.addItem(item)
        return item

    def _header(self, text: str) -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setData(HEADER_ROLE, True)
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        self.addItem(item)
        return item

    def key_at(self, pos: QPoint) -> SidebarKey | None:
        """The entry under ``pos`` (viewport coordinates), None over a header or nothing."""
        item = self.itemAt(pos)
        key = item.data(_KEY_ROLE) if item is not None else None
        return key if isinstance(key, SidebarKey) else None

    def _select(self, key: SidebarKey) -> bool:
        """Highlight the entry of ``key``. When it is gone (a removed feed), the filter falls back
        to All articles: True then, and the caller says so with ``key_changed``, so the list follows."""
        for i in range(self.count()):
            item = self.item(i)
            if item.data(_KEY_ROLE) == key:
                self.setCurrentItem(item)
                return False
        self.setCurrentRow(0)
        if self._current == SidebarKey():
            return False
        self._current = SidebarKey()
        return True

    def on_current_item_changed(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if current is None:  # never during populate(): it blocks signals
            return
        key = current.data(_KEY_ROLE)
        if not isinstance(key, SidebarKey):
            return
        changed = key != self._current
        self._current = key
        if changed:
            self.key_changed.emit(key)

    def on_item_clicked(self, item: QListWidgetItem) -> None:
        """A click always applies, even on the entry already current: the list shows that filter."""
        key = item.data(_KEY_ROLE)
        if isinstance(key, SidebarKey):
            self._current = key
            self.key_changed.emit(key)
