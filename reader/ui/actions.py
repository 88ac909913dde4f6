"""Every key of the window, in one registry of QActions. ``?`` shows this table.

Each action is an :class:`Action`; the window binds each one to a method of the object that owns
that concern (``Action.NEXT_ARTICLE`` -> ``Reading.next_article``), and the registry refuses to
build with an action unbound or bound twice. Single-key shortcuts (letters, Space, Enter, arrows)
are silent while a text field has focus: there they are typing, not commands.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QWidget

from reader.ui.search_bar import is_text_input

if TYPE_CHECKING:
    from reader.ui.dialogs import KeysDialog

#: What an action runs when triggered.
Handler = Callable[[], object]


class Action(enum.Enum):
    """Every action of the window (the value names its QAction: ``action_<value>``)."""

    NEXT_ARTICLE = "next_article"
    PREVIOUS_ARTICLE = "previous_article"
    NEXT_UNREAD = "next_unread"
    PREVIOUS_UNREAD = "previous_unread"
    SCROLL_DOWN = "scroll_down"
    SCROLL_UP = "scroll_up"
    OPEN_ORIGINAL = "open_original"
    TOGGLE_READ = "toggle_read"
    TOGGLE_STARRED = "toggle_starred"
    FETCH_FULL = "fetch_full"
    MARK_ALL_READ = "mark_all_read"
    UNDO_MARK_ALL_READ = "undo_mark_all_read"
    FOCUS_SEARCH = "focus_search"
    CLEAR_SEARCH = "clear_search"
    REFRESH_FEEDS = "refresh_feeds"
    IMPORT_FILES = "import_files"
    IMPORT_FOLDER = "import_folder"
    ADD_FEED = "add_feed"
    EXPORT_OPML = "export_opml"
    ACCOUNTS = "accounts"
    PREFERENCES = "preferences"
    SHOW_KEYS = "show_keys"
    ABOUT = "about"
    QUIT = "quit"
    ZOOM_IN = "zoom_in"
    ZOOM_OUT = "zoom_out"
    ZOOM_RESET = "zoom_reset"
    TOGGLE_REMOTE_IMAGES = "toggle_remote_images"
    TOGGLE_SIDEBAR = "toggle_sidebar"
    TOGGLE_COMPACT_LIST = "toggle_compact_list"


class ActionSpec(NamedTuple):
    """One row of the table. (A NamedTuple: defined before the first paint, where a dataclass
    would cost ten times as much.)"""

    action: Action
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
    ActionSpec(Action.NEXT_ARTICLE, "Next article", ("J",), native=("Down",)),
    ActionSpec(Action.PREVIOUS_ARTICLE, "Previous article", ("K",), native=("Up",)),
    ActionSpec(Action.NEXT_UNREAD, "Next unread", ("N",)),
    ActionSpec(Action.PREVIOUS_UNREAD, "Previous unread", ("P",)),
    ActionSpec(Action.SCROLL_DOWN, "Scroll down; at the end, next unread", ("Space",)),
    ActionSpec(Action.SCROLL_UP, "Scroll up", ("Shift+Space",)),
    ActionSpec(Action.OPEN_ORIGINAL, "Open the original in the browser", ("O", "Return", "Enter", "V")),
    ActionSpec(Action.TOGGLE_READ, "Toggle read", ("M",)),
    ActionSpec(Action.TOGGLE_STARRED, "Toggle star", ("S",)),
    ActionSpec(Action.FETCH_FULL, "Fetch the full article from its page", ("G",)),
    ActionSpec(Action.MARK_ALL_READ, "Mark all listed read", ("Shift+A",)),
    ActionSpec(Action.UNDO_MARK_ALL_READ, "Undo the last mark all read", ("Ctrl+Z",)),
    ActionSpec(Action.FOCUS_SEARCH, "Search", ("/", "Ctrl+F"), menu="View"),
    ActionSpec(Action.CLEAR_SEARCH, "Clear the search and return to the list", ("Esc",), menu="View"),
    ActionSpec(Action.REFRESH_FEEDS, "Refresh feeds and sync accounts", ("R", "F5"), menu="File"),
    ActionSpec(Action.IMPORT_FILES, "Import files…", ("Ctrl+O",), menu="File"),
    ActionSpec(Action.IMPORT_FOLDER, "Import folder…", ("Ctrl+Shift+O",), menu="File"),
    ActionSpec(Action.ADD_FEED, "Add feed…", ("Ctrl+N",), menu="File"),
    ActionSpec(Action.EXPORT_OPML, "Export OPML…", (), menu="File"),
    ActionSpec(Action.ACCOUNTS, "Accounts…", (), menu="File"),
    ActionSpec(Action.PREFERENCES, "Preferences…", ("Ctrl+,",), menu="File"),
    ActionSpec(Action.SHOW_KEYS, "Show every key", ("?",), menu="Help"),
    ActionSpec(Action.ABOUT, "About Reader", (), menu="Help"),
    ActionSpec(Action.QUIT, "Quit", ("Ctrl+Q",), menu="File"),
    ActionSpec(Action.ZOOM_IN, "Larger text", ("Ctrl++", "Ctrl+="), menu="View"),
    ActionSpec(Action.ZOOM_OUT, "Smaller text", ("Ctrl+-",), menu="View"),
    ActionSpec(Action.ZOOM_RESET, "Normal text size", ("Ctrl+0",), menu="View"),
    ActionSpec(Action.TOGGLE_REMOTE_IMAGES, "Load remote images", (), menu="View", checkable=True),
    ActionSpec(Action.TOGGLE_SIDEBAR, "Show the sidebar", ("Ctrl+B",), menu="View", checkable=True),
    ActionSpec(Action.TOGGLE_COMPACT_LIST, "Compact list (titles only)", ("Ctrl+L",), menu="View", checkable=True),
)


def key_label(key: str) -> str:
    return QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText) or key


#: The window's menus, in the menu bar's order (the ``?`` dialog groups the keys the same way).
MENUS = ("File", "Article", "View", "Help")


def help_rows(specs: Sequence[ActionSpec] = ACTIONS) -> list[tuple[str, str]]:
    """(keys, what they do) for every action, for the ``?`` dialog."""
    rows = []
    for spec in specs:
        keys = " / ".join(key_label(k) for k in (*spec.keys, *spec.native) if k != "Enter") or "(menu)"
        rows.append((keys, spec.text))
    return rows


def help_groups(specs: Sequence[ActionSpec] = ACTIONS) -> list[tuple[str, list[tuple[str, str]]]]:
    """:func:`help_rows` grouped by menu, in the menu bar's order (a menu not in :data:`MENUS`
    last): the ``?`` dialog shows each group as a short table, which fits on screen where one
    table of every key needed scrolling."""
    menus = list(MENUS) + [spec.menu for spec in specs if spec.menu not in MENUS]
    groups = []
    for menu in dict.fromkeys(menus):
        group = [spec for spec in specs if spec.menu == menu]
        if group:
            groups.append((menu, help_rows(group)))
    return groups


class ActionRegistry:
    """Creates the QActions on ``window`` and connects each to the handler bound to it."""

    def __init__(
        self, window: QWidget, bindings: Mapping[Action, Handler], specs: tuple[ActionSpec, ...] = ACTIONS
    ) -> None:
        listed = [spec.action for spec in specs]
        unbound = [a.name for a in listed if a not in bindings]
        unlisted = [a.name for a in bindings if a not in listed]
        twice = sorted({a.name for a in listed if listed.count(a) > 1})
        if unbound or unlisted or twice:
            raise ValueError(f"action registry: unbound {unbound}, not listed {unlisted}, listed twice {twice}")
        self.specs = specs
        self._actions: dict[Action, QAction] = {}
        self._handlers: dict[Action, Handler] = {}
        for spec in specs:
            # (Not QAction(text, window): PySide6 sets up QIcon to tell that constructor from
            # QAction(icon, text, ...): 2-4 ms before the first paint, which shows no icon.)
            action = QAction(window)
            action.setText(spec.text)
            action.setObjectName(f"action_{spec.action.value}")
            action.setShortcuts([QKeySequence(k) for k in spec.keys])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setCheckable(spec.checkable)
            action.triggered.connect(self._guarded(spec))
            window.addAction(action)
            self._actions[spec.action] = action
            self._handlers[spec.action] = bindings[spec.action]

    def rebind(self, bindings: Mapping[Action, Handler]) -> None:
        """Hand some actions to new handlers: the window binds the keys of what it builds after its
        first paint to a stand-in that builds it at once, then to the real handlers."""
        unlisted = [a.name for a in bindings if a not in self._actions]
        if unlisted:
            raise ValueError(f"action registry: not listed {unlisted}")
        self._handlers.update(bindings)

    def _guarded(self, spec: ActionSpec) -> Callable[[], None]:
        plain = spec.plain

        def trigger() -> None:
            if plain and is_text_input(QApplication.focusWidget()):
                return  # typing in a field: a letter is a letter
            self._handlers[spec.action]()  # looked up now: the handler may have been rebound

        return trigger

    def __getitem__(self, action: Action) -> QAction:
        return self._actions[action]

    def __iter__(self) -> Iterator[ActionSpec]:
        return iter(self.specs)

    def handler(self, action: Action) -> Handler:
        """What ``action`` runs (the bound method it was given)."""
        return self._handlers[action]

    def help_rows(self) -> list[tuple[str, str]]:
        return help_rows(self.specs)


class KeysHelp:
    """``?``: the dialog listing every key, built from the registry's table."""

    def __init__(self, parent: QWidget, specs: Sequence[ActionSpec] = ACTIONS) -> None:
        self._parent = parent
        self._specs = specs
        #: The dialog, once shown.
        self.dialog: KeysDialog | None = None

    def show_keys(self) -> None:
        from reader.ui.dialogs import KeysDialog  # (dialogs are imported when first opened, not at start)

        dialog = KeysDialog(help_groups(self._specs), self._parent)
        dialog.setModal(False)
        dialog.show()
        self.dialog = dialog
