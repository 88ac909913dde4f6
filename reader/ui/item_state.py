"""A row's selected, active and hovered state, read from its view instead of from ``option.state``.

``option.state`` is a ``QStyle.State``: reading it from Python makes PySide6 set up the whole QStyle
class first (its Python type and a dozen large enums: 18-33 ms, once per process), and the delegates
of the list and the sidebar read it on the window's first paint, which a bare window never waits
for. The view knows the same: QListView paints a row selected when its selection model says so,
active when the view's window is the active one, hovered when it is the row under the mouse.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QAbstractItemView


def item_state(view: QAbstractItemView, index: QModelIndex | QPersistentModelIndex) -> tuple[bool, bool]:
    """(selected, active) of ``index`` as ``view`` paints it: ``State_Selected`` and ``State_Active``."""
    selection = view.selectionModel()
    selected = selection is not None and selection.isSelected(index)
    return selected, view.isActiveWindow()


def is_hovered(view: QAbstractItemView, index: QModelIndex | QPersistentModelIndex) -> bool:
    """Whether the mouse is over ``index`` in ``view`` (``State_MouseOver``)."""
    if not view.underMouse():
        return False
    viewport = view.viewport()
    return view.indexAt(viewport.mapFromGlobal(QCursor.pos())) == index
