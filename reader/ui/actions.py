"""Every key of the window, in one registry of QActions. ``?`` shows this table.

Single-key shortcuts (letters, Space, Enter, arrows) are silent while a text field has focus: there
they are typing, not commands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QWidget

from reader.ui.search_bar import is_text_input


@dataclass(frozen=True, slots=True)
class ActionSpec:
    name: str  # the handler method on the controller
    text: str
    keys: tuple[str, ...]
    menu: str = "Article"
    checkable: bool = False
    #: Keys listed in the help but handled by the focused widget itself (the list moves on Down,
    #: the pane scrolls, the sidebar moves): binding them here would take them from those widgets.
    native: tuple[str, ...] = ()

    @property
    def plain(self) -> bool:
        """True when some shortcut is a key without Ctrl/Alt/Meta (a 'typing' key)."""
        chords = (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier
        )
        for key in self.keys:
            seq = QKeySequence(key)
            if not seq.count():
                continue
            combo = seq[0]  # type: ignore[index]  # QKeySequence.__getitem__ exists; the stubs omit it
            if not (combo.keyboardModifiers() & chords) and not Qt.Key.Key_F1 <= combo.key() <= Qt.Key.Key_F35:
                return True
        return False


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("next_article", "Next article", ("J",), native=("Down",)),
    ActionSpec("previous_article", "Previous article", ("K",), native=("Up",)),
    ActionSpec("next_unread", "Next unread", ("N",)),
    ActionSpec("previous_unread", "Previous unread", ("P",)),
    ActionSpec("scroll_down", "Scroll down; at the end, next unread", ("Space",)),
    ActionSpec("scroll_up", "Scroll up", ("Shift+Space",)),
    ActionSpec("open_original", "Open the original in the browser", ("O", "Return", "Enter", "V")),
    ActionSpec("toggle_read", "Toggle read", ("M",)),
    ActionSpec("toggle_starred", "Toggle star", ("S",)),
    ActionSpec("mark_all_read", "Mark all listed read", ("Shift+A",)),
    ActionSpec("focus_search", "Search", ("/", "Ctrl+F"), menu="View"),
    ActionSpec("clear_search", "Clear the search and return to the list", ("Esc",), menu="View"),
    ActionSpec("refresh_feeds", "Refresh feeds", ("R", "F5"), menu="File"),
    ActionSpec("import_files", "Import files…", ("Ctrl+O",), menu="File"),
    ActionSpec("import_folder", "Import folder…", ("Ctrl+Shift+O",), menu="File"),
    ActionSpec("add_feed", "Add feed…", ("Ctrl+N",), menu="File"),
    ActionSpec("show_keys", "Show every key", ("?",), menu="Help"),
    ActionSpec("quit", "Quit", ("Ctrl+Q",), menu="File"),
    ActionSpec("zoom_in", "Larger text", ("Ctrl++", "Ctrl+="), menu="View"),
    ActionSpec("zoom_out", "Smaller text", ("Ctrl+-",), menu="View"),
    ActionSpec("zoom_reset", "Normal text size", ("Ctrl+0",), menu="View"),
    ActionSpec("toggle_remote_images", "Load remote images", (), menu="View", checkable=True),
)


def key_label(key: str) -> str:
    return QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText) or key


class ActionRegistry:
    """Creates the QActions on ``window`` and routes them to ``controller`` methods."""

    def __init__(self, window: QWidget, controller: object, specs: tuple[ActionSpec, ...] = ACTIONS) -> None:
        self.specs = specs
        self.actions: dict[str, QAction] = {}
        for spec in specs:
            action = QAction(spec.text, window)
            action.setObjectName(f"action_{spec.name}")
            action.setShortcuts([QKeySequence(k) for k in spec.keys])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setCheckable(spec.checkable)
            handler: Callable[[], object] = getattr(controller, spec.name)
            action.triggered.connect(self._guarded(spec, handler))
            window.addAction(action)
            self.actions[spec.name] = action

    @staticmethod
    def _guarded(spec: ActionSpec, handler: Callable[[], object]) -> Callable[[], None]:
        plain = spec.plain

        def trigger() -> None:
            if plain and is_text_input(QApplication.focusWidget()):
                return  # typing in a field: a letter is a letter
            handler()

        return trigger

    def __getitem__(self, name: str) -> QAction:
        return self.actions[name]

    def help_rows(self) -> list[tuple[str, str]]:
        """(keys, what they do) for every action, for the ``?`` dialog."""
        rows = []
        for spec in self.specs:
            keys = " / ".join(key_label(k) for k in (*spec.keys, *spec.native) if k != "Enter") or "(menu)"
            rows.append((keys, spec.text))
        return rows
