"""A scroll area's viewport, wrapped for Python before anything asks ``viewport()`` for it.

PySide6 wraps a ``QWidget*`` it has no wrapper for by first setting up every QWidget subclass it
has not set up yet (their Python types and enums: 15-20 ms, once per process). ``viewport()``
returns such a pointer, and the window asks for viewports while it is built, so its first paint
waited for that set-up, which a bare window never does. Looked up by its class and Qt's object
name for it, the same widget is wrapped as a QWidget at once; ``viewport()`` then returns that
wrapper, and the one-off set-up comes later, after the first paint, at the first other pointer.
"""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractScrollArea, QWidget

#: The object name QAbstractScrollArea gives its viewport (Qt 4 to 6).
VIEWPORT_NAME = "qt_scrollarea_viewport"


def wrap_viewport(area: QAbstractScrollArea) -> QWidget | None:
    """The viewport of ``area``, wrapped without the set-up; keep the result as long as ``area``
    (a wrapper let go would be made again by the next ``viewport()``, set-up and all). None if Qt
    named it otherwise (``viewport()`` still works, at the old cost)."""
    return area.findChild(QWidget, VIEWPORT_NAME)
