"""Preferences changed from the keys, the menus and File > Preferences…: the reading pane's text
size, remote images, the sidebar shown or hidden, the compact list, the refresh interval, the theme,
the reading font and the start-up view. Each is applied and saved in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QWidget

from reader.records import Query
from reader.ui.article_view import ArticleListView
from reader.ui.columns import ColumnSplitter
from reader.ui.reading_pane import ReadingPane
from reader.ui.settings import START_VIEWS, Settings
from reader.ui.sidebar import Sidebar, SidebarKey
from reader.ui.status import Message

if TYPE_CHECKING:
    # (Types only: the window builds the image service and the refresh timer after its first paint.)
    from reader.ui.dialogs import PreferencesDialog
    from reader.ui.list_images import ListImages
    from reader.ui.refreshing import Refreshing
    from reader.ui.retention import Retention
    from reader.ui.tray import Tray


class TextSize(QObject):
    """The reading pane's body text size (Preferences, in points; 0: the default), and Ctrl++ /
    Ctrl+- / Ctrl+0 on top of it, both remembered in the settings. Each step says the size it
    arrived at ("Text size 120%", against the chosen size): the change itself can be too small to
    judge by eye."""

    def __init__(self, pane: ReadingPane, settings: Settings, message: Message, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pane = pane
        self._settings = settings
        self.message = message

    @property
    def points(self) -> int:
        return self._settings.text_size

    def restore(self) -> None:
        self._pane.set_text_size(self._settings.text_size or None)
        self._pane.set_zoom(self._settings.text_zoom)

    def set_points(self, points: int) -> None:
        """The chosen body size (0: the default); the zoom steps stay, on top of it."""
        self._settings.text_size = points
        self._pane.set_text_size(self._settings.text_size or None)

    def zoom_in(self) -> None:
        self._pane.zoom_in()
        self._changed()

    def zoom_out(self) -> None:
        self._pane.zoom_out()
        self._changed()

    def zoom_reset(self) -> None:
        self._pane.zoom_reset()
        self._changed()

    def _changed(self) -> None:
        self._settings.text_zoom = self._pane.zoom
        self.message(f"Text size {self._pane.zoom_percent}%")


class RemoteImages(QObject):
    """Whether images are fetched from the network (the View menu's checkable entry, and the
    Preferences' check box).

    Signals:
    changed(bool): turned on or off (the menu's check mark follows a change made elsewhere).
    """

    changed = Signal(bool)

    def __init__(self, images: ListImages, settings: Settings, message: Message, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._images = images
        self._settings = settings
        self.message = message

    @property
    def enabled(self) -> bool:
        return self._settings.remote_images

    def restore(self) -> None:
        self._images.set_remote_images(self._settings.remote_images)

    def toggle(self) -> None:
        """The menu entry was triggered (Qt has already flipped its check mark)."""
        self.set_enabled(not self._settings.remote_images)

    def set_enabled(self, enabled: bool) -> None:
        if enabled == self._settings.remote_images:
            return
        self._settings.remote_images = enabled
        self._images.set_remote_images(enabled)
        self.message("Remote images " + ("on." if enabled else "off: no image is fetched from the network."))
        self.changed.emit(enabled)


class SidebarShown(QObject):
    """Ctrl+B (the View menu's checkable entry): hides the sidebar, its width going to the list and
    the pane, or shows it again; remembered in the settings."""

    def __init__(
        self,
        splitter: ColumnSplitter,
        sidebar: QWidget,
        focus_after_hiding: QWidget,
        settings: Settings,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._splitter = splitter
        self._sidebar = sidebar
        self._focus_after_hiding = focus_after_hiding
        self._settings = settings

    @property
    def shown(self) -> bool:
        return not self._sidebar.isHidden()

    def restore(self) -> None:
        self._apply(self._settings.sidebar_shown)

    def toggle(self) -> None:
        """The key or the menu entry (Qt has already flipped its check mark)."""
        shown = not self.shown
        self._settings.sidebar_shown = shown
        self._apply(shown)

    def _apply(self, shown: bool) -> None:
        focus = QApplication.focusWidget()
        had_focus = focus is not None and (focus is self._sidebar or self._sidebar.isAncestorOf(focus))
        self._sidebar.setHidden(not shown)
        if self._splitter.proportional:
            self._splitter.apply_proportions()
        if had_focus and not shown:
            # Focus in a hidden widget would leave the keys going nowhere visible.
            self._focus_after_hiding.setFocus()


class CompactList(QObject):
    """Ctrl+L (the View menu's checkable entry): one line per article, title then source and date,
    no thumbnail and no snippet, so about four times as many titles fit; remembered."""

    def __init__(self, view: ArticleListView, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._view = view
        self._settings = settings

    @property
    def compact(self) -> bool:
        return self._view.delegate.compact

    def restore(self) -> None:
        self._view.set_compact(self._settings.compact_list)

    def toggle(self) -> None:
        """The key or the menu entry (Qt has already flipped its check mark)."""
        compact = not self.compact
        self._settings.compact_list = compact
        self._view.set_compact(compact)


class RefreshInterval(QObject):
    """How often the feeds refresh by themselves (minutes; 0: never), remembered."""

    def __init__(self, refreshing: Refreshing, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._refreshing = refreshing
        self._settings = settings

    @property
    def minutes(self) -> int:
        return self._settings.refresh_minutes

    def restore(self) -> None:
        self._refreshing.set_interval(self._settings.refresh_minutes)

    def set_minutes(self, minutes: int) -> None:
        minutes = max(0, minutes)
        self._settings.refresh_minutes = minutes
        self._refreshing.set_interval(minutes)


class Appearance(QObject):
    """The theme (System / Light / Dark: the application's palette) and the reading pane's body
    font (Sans / Serif), remembered. The theme is applied before the window is first painted."""

    def __init__(self, pane: ReadingPane, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pane = pane
        self._settings = settings

    @property
    def theme(self) -> str:
        return self._settings.theme

    @property
    def reading_font(self) -> str:
        return self._settings.reading_font

    def restore(self) -> None:
        from reader.ui.theme import apply_theme

        apply_theme(self._settings.theme)
        self._pane.set_serif(self._settings.reading_font == "serif")

    def set_theme(self, theme: str) -> None:
        from reader.ui.theme import apply_theme

        self._settings.theme = theme
        apply_theme(self._settings.theme)

    def set_reading_font(self, font: str) -> None:
        self._settings.reading_font = font
        self._pane.set_serif(self._settings.reading_font == "serif")


def view_name(key: SidebarKey) -> str:
    """A sidebar entry as the settings spell it: ``all``, ``unread``, ``starred``, ``feed:<id>``,
    ``folder:<account id>:<name>``, ``label:<name>`` or ``source:<name>`` (a name may hold colons: it is all that
    follows)."""
    if key.label is not None:
        return f"label:{key.label}"
    if key.account_id is not None and key.folder is not None:
        return f"folder:{key.account_id}:{key.folder}"
    if key.feed_id is not None:
        return f"feed:{key.feed_id}"
    if key.source is not None:
        return f"source:{key.source}"
    return key.view


def view_key(name: str) -> SidebarKey:
    """The sidebar entry :func:`view_name` spelled; anything else is All articles."""
    kind, colon, rest = name.partition(":")
    if colon and kind == "feed" and rest.isdigit():
        return SidebarKey("all", feed_id=int(rest))
    account, colon2, folder = rest.partition(":")
    if colon and kind == "folder" and colon2 and account.isdigit() and folder:
        return SidebarKey("all", account_id=int(account), folder=folder)
    if colon and kind == "source":
        return SidebarKey("all", source=rest)
    if colon and kind == "label" and rest:
        return SidebarKey("all", label=rest)
    if name == "unread":
        return SidebarKey("unread")
    if name == "starred":
        return SidebarKey("starred")
    if name == "hidden":
        return SidebarKey("hidden")
    return SidebarKey()


class StartView(QObject):
    """What the window lists when it opens (Preferences: All articles, Unread, Starred, or the
    last view used), remembered; and the sidebar entry last chosen, for "last". The start-up
    view only chooses the list: what is selected in it is still not marked read (see Reading)."""

    CHOICES = START_VIEWS

    def __init__(self, sidebar: Sidebar, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sidebar = sidebar
        self._settings = settings
        sidebar.key_changed.connect(self.on_key_changed)

    @property
    def choice(self) -> str:
        return self._settings.start_view

    def set_choice(self, choice: str) -> None:
        self._settings.start_view = choice

    def query(self) -> Query:
        """The list's first query; the sidebar highlights its entry (once it has entries)."""
        choice = self._settings.start_view
        key = view_key(self._settings.last_view) if choice == "last" else view_key(choice)
        self._sidebar.set_current_key(key)
        return Query(
            view=key.view,
            source=key.source,
            feed_id=key.feed_id,
            account_id=key.account_id,
            folder=key.folder,
            label=key.label,
        )

    def on_key_changed(self, key: SidebarKey) -> None:
        self._settings.last_view = view_name(key)


class PreferencesWindow:
    """Owns File > Preferences…: the dialog over the preferences above (one at a time, kept)."""

    def __init__(
        self,
        parent: QWidget,
        appearance: Appearance,
        remote_images: RemoteImages,
        refresh: RefreshInterval,
        retention: Retention,
        text_size: TextSize,
        start_view: StartView,
        tray: Tray,
    ) -> None:
        self._parent = parent
        self._retention = retention
        self._appearance = appearance
        self._remote_images = remote_images
        self._refresh = refresh
        self._text_size = text_size
        self._start_view = start_view
        self._tray = tray
        #: The dialog, once shown.
        self.dialog: PreferencesDialog | None = None

    def show_preferences(self) -> None:
        from reader.ui.dialogs import PreferencesDialog  # (dialogs are imported when first opened)

        if self.dialog is None:
            self.dialog = PreferencesDialog(
                self._appearance,
                self._remote_images,
                self._refresh,
                self._retention,
                self._text_size,
                self._start_view,
                self._tray,
                self._parent,
            )
            self.dialog.setModal(False)
        self.dialog.show()
        self.dialog.activateWindow()
