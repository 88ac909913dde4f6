"""The main window: sidebar | article list | reading pane. It builds the widgets and the objects
that own each concern, binds the keys to them and wires their signals; it has no behaviour of its
own. Keys are in :mod:`reader.ui.actions`, background work in :mod:`reader.ui.jobs`.

Concerns, and what each is handed:

- :class:`~reader.ui.reading.Reading`: store (reads), model, list, pane, settings. The selected
  article in the pane, moving, opening originals, read and star flags.
- :class:`~reader.ui.reading.MarkingAllRead`: model, jobs, flag writer. Shift+A.
- :class:`~reader.ui.listing.Listing`: model, list, empty state. The query, reloading in place.
- :class:`~reader.ui.searching.Searching`: search field, list, listing. Search and sidebar filters.
- :class:`~reader.ui.importing.Importing`, :class:`~reader.ui.refreshing.Refreshing`,
  :class:`~reader.ui.exporting.Exporting`, :class:`~reader.ui.counting.Counting`: jobs and what
  they update.
- :class:`~reader.ui.flag_writer.FlagWriter`: read and star flags, stored off the GUI thread.
- :class:`~reader.ui.store_reader.StoreReader` (a shared store only): the list's pages and rows and
  the pane's article, read off the GUI thread (a store file is read on it: a few ms, no network).
- :class:`~reader.ui.syncing.Syncing`: store (the accounts), jobs, refreshing (r / F5 and its
  timer sync too). :class:`~reader.ui.accounts.Accounts`: File > Accounts….

The window is built in two stages. The first builds what the first paint shows: the list on its
first page, the sidebar, the search field, the reading pane, the status bar, the menu bar's titles
and every key's QAction. The second (:meth:`MainWindow.finish_building`, run after the first paint,
or at once when something needs it first) imports and builds the rest: the image service and Qt's
network stack, importing, refreshing and its timer, syncing and the accounts dialog, OPML export,
preferences, the keys and about dialogs, and the menus' entries; then the accounts sync. A key of
the second stage pressed before it ran builds it first, then does what it says: no key is lost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QModelIndex, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QPaintEvent
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from reader.records import Feed
from reader.store import StoreAddress, StoreProtocol
from reader.ui.actions import MENUS, Action, ActionRegistry, Handler
from reader.ui.article_model import ArticleListModel
from reader.ui.article_view import ArticleListView
from reader.ui.columns import ColumnSplitter
from reader.ui.counting import Counting
from reader.ui.flag_writer import FlagWriter
from reader.ui.jobs import JobRunner, StatusProgress, StoreWork, verify_store
from reader.ui.listing import EMPTY_STORE_TEXT, Listing
from reader.ui.preferences import Appearance, CompactList, SidebarShown, StartView, TextSize
from reader.ui.reading import MarkingAllRead, Reading
from reader.ui.reading_pane import ReadingPane
from reader.ui.search_bar import SearchBar
from reader.ui.searching import Searching
from reader.ui.settings import Settings
from reader.ui.sidebar import Sidebar, SidebarKey
from reader.ui.startup import EarlyCounts, StartupLog, resume_collection
from reader.ui.status import status_message

if TYPE_CHECKING:
    # Built by the second stage (MainWindow.finish_building), after the first paint.
    from reader.ui.about import About
    from reader.ui.accounts import Accounts
    from reader.ui.actions import KeysHelp
    from reader.ui.exporting import Exporting
    from reader.ui.full_articles import FullArticles
    from reader.ui.importing import Importing
    from reader.ui.list_images import ListImages
    from reader.ui.live import LiveUpdates
    from reader.ui.preferences import PreferencesWindow, RefreshInterval, RemoteImages
    from reader.ui.refreshing import Refreshing
    from reader.ui.retention import Retention
    from reader.ui.rules import Rules
    from reader.ui.store_reader import StoreReader
    from reader.ui.syncing import Syncing
    from reader.ui.thumbnails import ImageService
    from reader.ui.tray import Tray

#: The window's attributes that the second stage builds: reading one of them first builds it.
SECOND_STAGE = frozenset(
    {
        "images",
        "list_images",
        "remote_images",
        "importing",
        "refreshing",
        "syncing",
        "accounts",
        "exporting",
        "refresh_interval",
        "preferences",
        "keys_help",
        "about",
        "tray",
        "retention",
        "full_articles",
        "rules",
    }
)

#: The keys whose handlers the second stage builds.
SECOND_STAGE_ACTIONS = (
    Action.REFRESH_FEEDS,
    Action.IMPORT_FILES,
    Action.IMPORT_FOLDER,
    Action.ADD_FEED,
    Action.EXPORT_OPML,
    Action.ACCOUNTS,
    Action.RULES,
    Action.PREFERENCES,
    Action.SHOW_KEYS,
    Action.ABOUT,
    Action.TOGGLE_REMOTE_IMAGES,
    Action.FETCH_FULL,
)

__all__ = ["EMPTY_STORE_TEXT", "MainWindow"]


class MainWindow(QMainWindow):
    images: ImageService
    list_images: ListImages
    remote_images: RemoteImages
    importing: Importing
    refreshing: Refreshing
    syncing: Syncing
    accounts: Accounts
    exporting: Exporting
    refresh_interval: RefreshInterval
    preferences: PreferencesWindow
    keys_help: KeysHelp
    about: About
    tray: Tray
    retention: Retention
    full_articles: FullArticles
    rules: Rules

    def __init__(
        self,
        store: StoreProtocol,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        images: ImageService | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        #: Where the store is, for the background jobs (each opens it on a connection of its own).
        self.db = StoreAddress.of(store)
        self.settings = settings
        self._given_images = images
        self._owns_images = images is None
        self._started = False
        self._painted = False
        self._quitting = False  # Quit (not a close of the window, which may keep it in the tray)
        #: True once the second stage is built (:meth:`finish_building`).
        self.built = False
        #: The start-up log, when the window was started by reader.ui.app.run (tests make windows without).
        self.startup: StartupLog | None = None
        #: The counts reader.ui.app.run started counting with the process: :meth:`start` shows them
        #: in the first paint when they are there. None: counted after the first paint.
        self.early_counts: EarlyCounts | None = None
        self._counted_early = False
        #: On a shared store: what others change, followed (built by the second stage; else None).
        self.live: LiveUpdates | None = None
        self.setObjectName("mainWindow")
        self.setWindowTitle("Reader")
        self.setAcceptDrops(True)
        self._build_widgets()
        self._build_concerns()
        self.action_registry = ActionRegistry(self, self._bindings())
        self._build_menu_titles()
        self._connect()
        self._restore()

    def __getattr__(self, name: str) -> Any:
        """Python's fallback for a missing attribute: one of the second stage's builds it (tests,
        and any code path that needs it before the first paint came)."""
        if name in SECOND_STAGE and not self.__dict__.get("built", True):
            self.finish_building()
            return getattr(self, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # --- building ---

    def _build_widgets(self) -> None:
        # Flags are stored off the GUI thread, on the writer's own connection; an in-memory store
        # has no second connection (and no other writer to wait for): it is written directly.
        direct = self.store if str(self.db.target) == ":memory:" else None
        self.flags = FlagWriter(self.db, self, direct=direct)
        self.sidebar = Sidebar()
        self.search = SearchBar()
        #: On a shared store the list's pages and rows and the pane's article are read on a thread
        #: of their own (the UI thread never waits on the network); a store file reads them here.
        self.reads: StoreReader | None = None
        if self.db.shared:
            from reader.ui.store_reader import StoreReader

            self.reads = StoreReader(self.db, self)
        self.model = ArticleListModel(self.store, self, flags=self.flags, reader=self.reads)
        self.list = ArticleListView()
        self.list.setModel(self.model)
        self.empty_label = QLabel(EMPTY_STORE_TEXT)
        self.empty_label.setObjectName("emptyState")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.list_stack = QStackedWidget()
        self.list_stack.addWidget(self.list)
        self.list_stack.addWidget(self.empty_label)

        middle = QWidget()
        layout = QVBoxLayout(middle)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.list_stack)

        self.pane = ReadingPane()
        # One set of source names (feed titles by feed id) for the list and the pane.
        self.pane.names = self.list.delegate.names
        self.splitter = ColumnSplitter()
        self.splitter.set_columns(self.sidebar, middle, self.pane)
        self.setCentralWidget(self.splitter)

        self.counts_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelJob")
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)
        self.statusBar().addPermanentWidget(self.counts_label)

    def _build_concerns(self) -> None:
        message = status_message(self.statusBar())
        db = self.db
        self.jobs = JobRunner(StatusProgress(self.progress, self.cancel_button, message, self), message, self)
        self.listing = Listing(self.model, self.list, self.list_stack, self.empty_label, message, self)
        self.counting = Counting(self.jobs, db, self.sidebar, self.counts_label, self.setWindowTitle, self)
        self.reading = Reading(
            self.store, self.model, self.list, self.pane, self.settings, message, self, reader=self.reads
        )
        if self.reads is not None:
            self.reads.failed.connect(message)
        reload, recount = self.listing.reload_keeping_place, self.counting.refresh
        self.work = StoreWork(self.jobs, db, reload, recount, message)
        self.marking = MarkingAllRead(self.model, self.work, self.flags, self)
        self.searching = Searching(self.search, self.list, self.listing, self.reading, message, self)
        self.text_size = TextSize(self.pane, self.settings, message, self)
        self.sidebar_shown = SidebarShown(self.splitter, self.sidebar, self.list, self.settings, self)
        self.compact_list = CompactList(self.list, self.settings, self)
        self.appearance = Appearance(self.pane, self.settings, self)
        self.start_view = StartView(self.sidebar, self.settings, self)

    def finish_building(self) -> None:
        """The second stage: what the first paint does not show (see the module's docstring).
        Runs once, after the first paint, or earlier when one of its keys or attributes is used."""
        if self.built:
            return
        self.built = True
        from reader.ui.about import About
        from reader.ui.accounts import Accounts
        from reader.ui.actions import KeysHelp
        from reader.ui.exporting import Exporting
        from reader.ui.full_articles import FullArticles
        from reader.ui.importing import Importing
        from reader.ui.list_images import ListImages
        from reader.ui.preferences import PreferencesWindow, RefreshInterval, RemoteImages
        from reader.ui.refreshing import Refreshing
        from reader.ui.retention import Retention
        from reader.ui.rules import Rules
        from reader.ui.syncing import Syncing
        from reader.ui.thumbnails import ImageService, default_cache_dir
        from reader.ui.tray import Tray

        message = status_message(self.statusBar())
        given = self._given_images
        self.images = given if given is not None else ImageService(default_cache_dir(), self)
        self.list_images = ListImages(self.images, self.model, self.list, self.pane)
        self.importing = Importing(self.work, self, self)
        self.refreshing = Refreshing(self.work, self)
        self.syncing = Syncing(self.store, self.work, self.refreshing, self)
        self.accounts = Accounts(self, self.store, self.work, self.syncing, self)
        self.exporting = Exporting(self.work, self, self)
        self.remote_images = RemoteImages(self.list_images, self.settings, message, self)
        self.refresh_interval = RefreshInterval(self.refreshing, self.settings, self)
        self.retention = Retention(self.work, self.settings, self)
        self.rules = Rules(self, self.work, self, articles=self.list, model=self.model)
        self.full_articles = FullArticles(self.work, self.pane, self.sidebar, self)
        self.counting.feeds_counted.connect(self.full_articles.on_feeds_counted)
        if self.counting.feeds is not None:  # (counted before it was built: the first paint's counts)
            self.full_articles.on_feeds_counted(self.counting.feeds)
        if self.db.shared:
            from reader.ui.live import LiveUpdates

            self.live = LiveUpdates(self.db, self.listing.reload_keeping_place, self.counting.refresh, message, self)
            self.live.start()
        self.keys_help = KeysHelp(self)
        self.about = About(self, self.db.shown())
        self.tray = Tray(
            self,
            self.jobs,
            self.db,
            self.settings,
            self.show_view,
            self.refreshing.refresh_feeds,
            self.close_and_quit,
            parent=self,
        )
        self.counting.unread_counted.connect(self.tray.on_unread_counted)
        if self.counting.totals is not None:
            self.tray.on_unread_counted(self.counting.totals[1])
        self.preferences = PreferencesWindow(
            self,
            self.appearance,
            self.remote_images,
            self.refresh_interval,
            self.retention,
            self.text_size,
            self.start_view,
            self.tray,
        )
        self.action_registry.rebind(
            {
                Action.REFRESH_FEEDS: self.refreshing.refresh_feeds,
                Action.IMPORT_FILES: self.importing.import_files,
                Action.IMPORT_FOLDER: self.importing.import_folder,
                Action.ADD_FEED: self.importing.add_feed,
                Action.EXPORT_OPML: self.exporting.export_opml,
                Action.ACCOUNTS: self.accounts.show_accounts,
                Action.RULES: self.rules.show_rules,
                Action.PREFERENCES: self.preferences.show_preferences,
                Action.SHOW_KEYS: self.keys_help.show_keys,
                Action.ABOUT: self.about.show_about,
                Action.TOGGLE_REMOTE_IMAGES: self.remote_images.toggle,
                Action.FETCH_FULL: self.full_articles.fetch_shown,
            }
        )
        self._fill_menus()
        self.search.setClearButtonEnabled(True)
        self.remote_images.changed.connect(self.action_registry[Action.TOGGLE_REMOTE_IMAGES].setChecked)
        self.remote_images.restore()
        self.tray.restore()
        if self._started:
            self.refresh_interval.restore()
        if self.startup is not None:
            self.startup.mark("second stage built (images, dialogs, menus, refresh)")

    def _first_use(self, action: Action) -> Handler:
        """A second-stage key before the second stage is built: build it, then do what the key says."""

        def run() -> None:
            self.finish_building()
            self.action_registry.handler(action)()

        return run

    def _bindings(self) -> dict[Action, Handler]:
        r, s = self.reading, self.searching
        return {
            Action.NEXT_ARTICLE: r.next_article,
            Action.PREVIOUS_ARTICLE: r.previous_article,
            Action.NEXT_UNREAD: r.next_unread,
            Action.PREVIOUS_UNREAD: r.previous_unread,
            Action.SCROLL_DOWN: r.scroll_down,
            Action.SCROLL_UP: r.scroll_up,
            Action.OPEN_ORIGINAL: r.open_original,
            Action.TOGGLE_READ: r.toggle_read,
            Action.TOGGLE_STARRED: r.toggle_starred,
            Action.MARK_ALL_READ: self.marking.mark_all_read,
            Action.UNDO_MARK_ALL_READ: self.marking.undo,
            Action.FOCUS_SEARCH: s.focus_search,
            Action.CLEAR_SEARCH: s.clear_search,
            Action.QUIT: self.close_and_quit,
            Action.ZOOM_IN: self.text_size.zoom_in,
            Action.ZOOM_OUT: self.text_size.zoom_out,
            Action.ZOOM_RESET: self.text_size.zoom_reset,
            Action.TOGGLE_SIDEBAR: self.sidebar_shown.toggle,
            Action.TOGGLE_COMPACT_LIST: self.compact_list.toggle,
        } | {action: self._first_use(action) for action in SECOND_STAGE_ACTIONS}

    def _build_menu_titles(self) -> None:
        """The menu bar's titles for the first paint; their entries come with the second stage (a
        menu opened before it builds it first)."""
        self._menus: dict[str, QMenu] = {}
        for name in MENUS:
            menu = self.menuBar().addMenu(name)
            menu.aboutToShow.connect(self.finish_building)
            self._menus[name] = menu

    def _fill_menus(self) -> None:
        for spec in self.action_registry:
            menu = self._menus.get(spec.menu)
            if menu is None:
                menu = self.menuBar().addMenu(spec.menu)
                self._menus[spec.menu] = menu
            menu.addAction(self.action_registry[spec.action])
        # macOS moves it to the application menu, where Preferences are looked for.
        self.action_registry[Action.PREFERENCES].setMenuRole(QAction.MenuRole.PreferencesRole)

    def _connect(self) -> None:
        self.list.article_selected.connect(self.reading.on_article_selected)
        self.search.search_changed.connect(self.searching.on_search_changed)
        self.search.escaped.connect(self.searching.on_search_escaped)
        self.search.accepted.connect(self.searching.on_search_accepted)
        self.sidebar.key_changed.connect(self.searching.on_sidebar_changed)
        self.pane.link_activated.connect(self.reading.open_link)
        self.pane.star_clicked.connect(self.reading.toggle_pane_starred)
        # Counts follow the flags once they are stored (counted earlier, they would lag behind).
        self.flags.stored.connect(self.counting.schedule)
        self.model.query_changed.connect(lambda: self.counting.count_results(self.model.query))
        self.model.query_changed.connect(self._on_query_changed)
        self.counting.feeds_counted.connect(self._on_feeds_counted)
        self.flags.failed.connect(self.reading.on_flags_refused)
        self.flags.idle.connect(self.listing.on_flags_idle)
        app = QCoreApplication.instance()
        if app is not None:
            # Quitting without closing the window (Ctrl+Q elsewhere, a signal) must still not leave
            # a job thread running while Qt tears down, nor a flag unwritten.
            app.aboutToQuit.connect(self.jobs.wait_for_jobs)
            app.aboutToQuit.connect(self.flags.close)

    def _on_query_changed(self) -> None:
        """The search's words are highlighted in the list and the pane while it is active."""
        search = self.model.query.search
        self.list.delegate.set_search(search)
        self.pane.set_search(search)
        self.list.viewport().update()

    def _on_feeds_counted(self, feeds: tuple[Feed, ...]) -> None:
        """A feed's new title names its articles in the list and the pane from now on."""
        if self.pane.names.set_feeds(feeds):
            self.list.viewport().update()
            self.pane.refresh_images()

    def _restore(self) -> None:
        s = self.settings
        self.appearance.restore()  # the theme: before the first paint, or it would flash the other
        if s.geometry is not None:
            self.restoreGeometry(s.geometry)
        else:
            self.resize(1280, 800)
        if s.splitter is not None:
            self.splitter.restoreState(s.splitter)
        self.text_size.restore()
        self.action_registry[Action.TOGGLE_REMOTE_IMAGES].setChecked(s.remote_images)
        self.sidebar_shown.restore()
        self.action_registry[Action.TOGGLE_SIDEBAR].setChecked(self.sidebar_shown.shown)
        self.compact_list.restore()
        self.action_registry[Action.TOGGLE_COMPACT_LIST].setChecked(self.compact_list.compact)

    def start(self) -> None:
        """First page of the start-up view (as many rows as the list shows: the rest of the page
        comes after the first paint), the sidebar's counts when :attr:`early_counts` has them (else
        they are counted in the background after the first paint), last article (else the first),
        focus on the list."""
        self.listing.set_query(self.start_view.query(), first_page=self.list.visible_rows())
        counts = self.early_counts.result() if self.early_counts is not None else None
        if counts is not None:
            self.counting.show(counts)  # (selects the start view's entry in the sidebar)
            self._counted_early = True
        if self.startup is not None:
            counted = "sidebar counted" if counts is not None else "no counts yet (counted after the first paint)"
            self.startup.mark(counted)
        self.reading.start()
        self.listing.update_empty_state()
        self.list.setFocus()
        self._started = True
        if self.built:
            self.refresh_interval.restore()

    def after_first_paint(self) -> None:
        """Work that can wait until the person sees the window: counts (unless the first paint had
        them), the store check, the second stage (images among it), the rest of the first page, and
        finding the last article read when it is not on the first page."""
        if not self._counted_early:  # (counted since the process started: nothing changed since)
            self.counting.refresh()
        self.finish_building()
        verify_store(self.jobs, self.db)
        self.list_images.activate()  # (the shown rows' thumbnails, then the pane's image: latest first)
        if self.model.canFetchMore(QModelIndex()):
            self.model.fetchMore(QModelIndex())
        self.reading.after_first_paint()
        self.syncing.sync_accounts()  # (none: nothing; the accounts table is a few rows)
        resume_collection()  # (paused since the start: see pause_collection)
        if self.startup is not None:
            self.startup.mark("deferred work started (counts, store check, images)")
            self.startup.write()

    def show_view(self, key: SidebarKey) -> None:
        """List a sidebar entry, as if it were picked there (a notification's click)."""
        self.sidebar.set_current_key(key)
        self.searching.on_sidebar_changed(key)

    def close_and_quit(self) -> None:
        self._quitting = True
        self.close()
        QApplication.quit()

    # --- Qt overrides ---

    def paintEvent(self, event: QPaintEvent) -> None:
        """Override QMainWindow.paintEvent: once the window has been painted, start the deferred work."""
        super().paintEvent(event)
        if self.startup is not None and not self.startup.on_screen:
            handle = self.windowHandle()
            self.startup.on_screen = handle is not None and handle.isExposed()
            self.startup.mark("painted, " + ("on screen" if self.startup.on_screen else "not exposed yet"))
        if self._started and not self._painted:
            self._painted = True
            QTimer.singleShot(0, self.after_first_paint)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Override QMainWindow.dragEnterEvent: accept files and folders."""
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """Override QMainWindow.dropEvent: import what was dropped."""
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.importing.import_paths(paths)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Override QMainWindow.closeEvent: save state, stop background work, store the flags; or,
        with "close to the tray" on and its icon shown, only hide (Quit quits)."""
        self.settings.geometry = self.saveGeometry()
        self.settings.splitter = self.splitter.saveState()
        self.settings.text_zoom = self.pane.zoom
        self.settings.sync()
        if self.built and not self._quitting and self.tray.keeps_running_on_close():
            event.ignore()
            self.tray.hide_window()
            return
        if self.built:
            self.tray.close()
            self.refreshing.stop()
            if self.live is not None:
                self.live.stop()
        self.jobs.close()
        if self.reads is not None:
            self.reads.close()
        self.flags.close()
        if self.built and self._owns_images:
            # aboutToQuit is too late when the application outlives the window (tests, benchmarks).
            self.images.shutdown()
        super().closeEvent(event)
