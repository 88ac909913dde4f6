"""The window's three columns, sidebar | article list | reading pane, and how they share the width.

The list is where titles are read: it gets a share of the window (with too little it cuts titles
after a few words), the sidebar a smaller one, capped, and the pane the rest. In a narrow window the
list's share grows: 40% of 800 px left it about 300 px, and its titles were cut at ~25 characters
while the pane, wrapping its text anyway, kept more.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QSplitter, QWidget

#: The sidebar's share of the width, and its widest (its names and counts need no more).
SIDEBAR_SHARE = 0.14
SIDEBAR_MAX = 220
#: The list's share of the width from ``WIDE`` pixels up; the pane has the rest.
LIST_SHARE = 0.40
#: ... and at ``NARROW`` pixels and below: about 40 characters of a title at 800 px. Between the
#: two the share goes from one to the other in proportion (the list never narrows as the window widens).
NARROW_LIST_SHARE = 0.54
NARROW = 800
WIDE = 1200
#: Stretch factors once the person has placed the handles (or a saved layout is restored): what
#: the window gains or loses goes to the list and the pane in the proportion of their shares, and
#: the sidebar keeps its width.
_LIST_STRETCH = round(LIST_SHARE * 100)
_PANE_STRETCH = round((1 - LIST_SHARE - SIDEBAR_SHARE) * 100)


def list_share(width: int) -> float:
    """The list's share of ``width`` pixels: :data:`NARROW_LIST_SHARE` up to :data:`NARROW`,
    :data:`LIST_SHARE` from :data:`WIDE`, in proportion between."""
    if width <= NARROW:
        return NARROW_LIST_SHARE
    if width >= WIDE:
        return LIST_SHARE
    return NARROW_LIST_SHARE + (LIST_SHARE - NARROW_LIST_SHARE) * (width - NARROW) / (WIDE - NARROW)


def column_sizes(width: int) -> list[int]:
    """[sidebar, list, pane] for ``width`` pixels (the handles already taken off)."""
    width = max(0, width)
    sidebar = min(SIDEBAR_MAX, round(width * SIDEBAR_SHARE))
    listing = round(width * list_share(width))
    return [sidebar, listing, max(0, width - sidebar - listing)]


class ColumnSplitter(QSplitter):
    """The horizontal splitter holding the three columns. Until the person drags a handle or a
    saved layout is restored, every resize lays them out by :func:`column_sizes` (so the first
    layout fits the size the window really got, whatever the screen made of it); after that the
    person's layout is kept and stretch factors share out any change of width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("mainSplitter")
        #: True while the columns follow :func:`column_sizes`.
        self.proportional = True
        self.splitterMoved.connect(self._on_moved)

    def set_columns(self, sidebar: QWidget, listing: QWidget, pane: QWidget) -> None:
        for widget in (sidebar, listing, pane):
            self.addWidget(widget)
        self.setStretchFactor(0, 0)
        self.setStretchFactor(1, _LIST_STRETCH)
        self.setStretchFactor(2, _PANE_STRETCH)
        self.setCollapsible(1, False)
        self.setCollapsible(2, False)

    def restoreState(self, state: QByteArray | bytes | bytearray | memoryview) -> bool:
        """Override QSplitter.restoreState: a restored layout is the person's; it is kept."""
        restored = super().restoreState(state)
        if restored:
            self.proportional = False
        return restored

    def apply_proportions(self) -> None:
        if self.count() < 3:
            return
        shown = [i for i in range(self.count()) if not self.column_hidden(i)]
        width = self.width() - self.handleWidth() * max(0, len(shown) - 1)
        if 0 in shown:
            self.setSizes(column_sizes(width))
        else:
            # Without the sidebar its share goes to the list and the pane, in their proportion.
            listing = round(width * list_share(width) / (1 - SIDEBAR_SHARE))
            self.setSizes([0, listing, max(0, width - listing)])

    def column_hidden(self, index: int) -> bool:
        widget = self.widget(index)
        return widget is None or widget.isHidden()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Override QSplitter.resizeEvent: keep the proportions until the person sets their own."""
        super().resizeEvent(event)
        if self.proportional:
            self.apply_proportions()

    def _on_moved(self, _pos: int, _index: int) -> None:
        self.proportional = False
