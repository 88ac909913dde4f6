"""The sidebar: All / Unread / Starred, then each source and each feed with unread counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from reader.records import NO_SOURCE, Feed, SourceCount, View
from reader.ui.names import readable_source

_KEY_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True, slots=True)
class SidebarKey:
    view: View = "all"
    source: str | None = None
    feed_id: int | None = None


class Sidebar(QListWidget):
    """Signals:
    key_changed(object): the person picked another entry (a :class:`SidebarKey`).
    """

    key_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.setUniformItemSizes(True)
        # Narrow (800 px windows), a long feed name is elided: a sideways scroll bar there only
        # took a line's height and scrolled the counts away from the names.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._current = SidebarKey()
        self.currentItemChanged.connect(self.on_current_item_changed)
        self.itemClicked.connect(self.on_item_clicked)

    @property
    def current_key(self) -> SidebarKey:
        return self._current

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

    def populate(self, totals: tuple[int, int, int], sources: Sequence[SourceCount], feeds: Sequence[Feed]) -> None:
        """Rebuild the entries with fresh counts, keeping the current one selected."""
        # Rebuilt with signals blocked: while the old entries go, Qt moves the current item to a
        # neighbour, and that must neither become the filter nor be heard as the person's pick.
        blocked = self.blockSignals(True)
        try:
            self.clear()
            total, unread, starred = totals
            self._add(f"All articles  ({total})", SidebarKey("all"))
            self._add(f"Unread  ({unread})", SidebarKey("unread"))
            self._add(f"Starred  ({starred})", SidebarKey("starred"))
            if sources:
                self._header("Sources")
                for s in sources:
                    label = readable_source(s.source) or "(no source)"  # (the key keeps the id)
                    key = SidebarKey("all", source=NO_SOURCE if s.source is None else s.source)
                    self._add(f"{label}  ({s.unread})" if s.unread else label, key)
            if feeds:
                self._header("Feeds")
                for f in feeds:
                    mark = "⚠ " if (f.last_error or f.dead) else ""
                    label = f"{mark}{f.name}" + (f"  ({f.unread})" if f.unread else "")
                    item = self._add(label, SidebarKey("all", feed_id=f.id))
                    if f.dead:
                        item.setToolTip("This feed is gone (410): it is no longer refreshed.")
                    elif f.last_error:
                        item.setToolTip(f"Last refresh failed: {f.last_error}")
                    else:
                        item.setToolTip(f.url)
            fell_back = self._select(self._current)
        finally:
            self.blockSignals(blocked)
        if fell_back:
            self.key_changed.emit(self._current)

    def _add(self, text: str, key: SidebarKey) -> QListWidgetItem:
        item = QListWidgetItem(text, self)
        item.setData(_KEY_ROLE, key)
        return item

    def _header(self, text: str) -> None:
        item = QListWidgetItem(text, self)
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        item.setFont(font)
        item.setFlags(Qt.ItemFlag.NoItemFlags)

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
