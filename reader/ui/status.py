"""The status bar as the window's concerns see it: a ``message(text)`` callable, and store errors
turned into one of those messages instead of a traceback in Qt's event loop."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from PySide6.QtWidgets import QStatusBar

from reader.store import StoreError

#: Status-bar messages stay this long.
MESSAGE_MS = 6000

#: Says one line in the status bar.
Message = Callable[[str], None]


def status_message(bar: QStatusBar) -> Message:
    """The ``message`` callable the window hands its concerns: ``text`` shown for MESSAGE_MS."""

    def message(text: str) -> None:
        bar.showMessage(text, MESSAGE_MS)

    return message


class _Says(Protocol):
    @property
    def message(self) -> Message: ...


_S = TypeVar("_S", bound=_Says)
_P = ParamSpec("_P")


def reports_store_errors(slot: Callable[Concatenate[_S, _P], None]) -> Callable[Concatenate[_S, _P], None]:
    """A store error inside a slot (the store busy for longer than its timeout, damaged, read-only,
    the disk full) is said through the object's ``message``; it must not escape into Qt's event
    loop as a traceback."""

    @functools.wraps(slot)
    def wrapper(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> None:
        try:
            slot(self, *args, **kwargs)
        except StoreError as exc:
            self.message(str(exc))

    return wrapper
