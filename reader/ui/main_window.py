"""The main window: sidebar | article list | reading pane. Layout and wiring only; behaviour lives
in :mod:`reader.ui.controller`, keys in :mod:`reader.ui.actions`."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QPaintEvent
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from reader.store import Store
from reader.ui.actions import ActionRegistry
from reader.ui.article_model import ArticleListModel
from reader.ui.article_view import ArticleListView
from reader.ui.controller import Controller
from reader.ui.list_images import ListImages
from reader.ui.reading_pane import ReadingPane
from reader.ui.search_bar import SearchBar
from reader.ui.settings import Settings
from reader.ui.sidebar import Sidebar
from reader.ui.thumbnails import ImageService, default_cache_dir
from reader.ui.workers import Job

EMPTY_STORE_TEXT = "No articles yet.\n\nImport files (Ctrl+O) or add a feed (Ctrl+N),\nor drop files or folders here."


class MainWindow(QMainWindow):
    def __init__(
        self,
        store: Store,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        images: ImageService | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.settings = settings
        self.images = images if images is not None else ImageService(default_cache_dir(), self)
        self._owns_images = images is None
        self.keys_dialog: QDialog | None = None
        self.problems_dialog: QDialog | None = None
        self._progress_job: Job | None = None
        self._started = False
        self._painted = False
        self._find_after_paint: int | None = None
        self.setObjectName("mainWindow")
        self.setWindowTitle("Reader")
        self.setAcceptDrops(True)
        self._build()
        self.controller = Controller(self)
        self.action_registry = ActionRegistry(self, self.controller)
        self._build_menus()
        self._connect()
        self._restore()
        app = QCoreApplication.instance()
        if app is not None:
            # Quitting without closing the window (Ctrl+Q elsewhere, a signal) must still not leave
            # a job thread running while Qt tears down.
            app.aboutToQuit.connect(self.controller.wait_for_jobs)

    # --- layout ---

    def _build(self) -> None:
        self.sidebar = Sidebar()
        self.search = SearchBar()
        self.model = ArticleListModel(self.store, self)
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
        self.list_images = ListImages(self.images, self.model, self.list, self.pane)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(middle)
        self.splitter.addWidget(self.pane)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setSizes([180, 420, 600])
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
        self.progress.hide()
        self.cancel_button.hide()

    def _build_menus(self) -> None:
        menus: dict[str, QMenu] = {}
        for name in ("File", "Article", "View", "Help"):
            menus[name] = self.menuBar().addMenu(name)
        for spec in self.action_registry.specs:
            menu = menus.get(spec.menu)
            if menu is None:
                menu = self.menuBar().addMenu(spec.menu)
                menus[spec.menu] = menu
            menu.addAction(self.action_registry[spec.name])

    def _connect(self) -> None:
        c = self.controller
        self.list.article_selected.connect(c.on_article_selected)
        self.search.search_changed.connect(c.on_search_changed)
        self.search.escaped.connect(c.on_search_escaped)
        self.search.accepted.connect(c.on_search_accepted)
        self.sidebar.key_changed.connect(c.on_sidebar_changed)
        self.pane.link_activated.connect(c.open_link)
        self.cancel_button.clicked.connect(self.on_cancel_clicked)
        # Not modelReset: a reset has no rows until the first page is in, and showing the empty state
        # for that moment hides the focused list; focus coming back makes Qt select row 0 (marked read).
        self.model.query_changed.connect(self.update_empty_state)
        self.model.rowsInserted.connect(self.update_empty_state)

    def _restore(self) -> None:
        s = self.settings
        if s.geometry is not None:
            self.restoreGeometry(s.geometry)
        else:
            self.resize(1280, 800)
        if s.splitter is not None:
            self.splitter.restoreState(s.splitter)
        self.pane.set_zoom(s.text_zoom)
        remote = s.remote_images
        self.action_registry["toggle_remote_images"].setChecked(remote)
        self.set_remote_images(remote)

    def start(self) -> None:
        """First page, last article (else the first), focus on the list, counts in the background."""
        self.model.set_query(self.model.query)
        last = self.settings.last_article
        # Before the first paint, look only in the first page; deeper is searched after it.
        row = self.model.row_of(last) if last else None
        if row is not None:
            self.list.select_row(row)
        elif last and (article := self.store.get(last)) is not None:
            self.pane.show_article(article)
            self._find_after_paint = last
        else:
            self.list.select_row(0)
        self.update_empty_state()
        self.list.setFocus()
        self.controller.set_refresh_interval(self.settings.refresh_minutes)
        self._started = True

    def after_first_paint(self) -> None:
        """Work that can wait until the person sees the window: counts, images, and finding the last
        article read when it is not on the first page."""
        self.controller.refresh_counts()
        self.controller.verify_store()
        self.list_images.activate()
        if self._find_after_paint is not None and self.list.current_row() < 0:
            row = self.model.find_row(self._find_after_paint)
            if row is not None:
                self.list.select_row(row)
        self._find_after_paint = None

    # --- state shown ---

    def update_empty_state(self) -> None:
        if self.model.rowCount() == 0:
            search = self.model.query.search
            if search:
                self.empty_label.setText(f"No articles match “{search}”.\n\nEsc clears the search.")
            elif self.model.query.view != "all" or self.model.query.source or self.model.query.feed_id:
                self.empty_label.setText("Nothing here.")
            else:
                self.empty_label.setText(EMPTY_STORE_TEXT)
            self.list_stack.setCurrentWidget(self.empty_label)
        else:
            self.list_stack.setCurrentWidget(self.list)

    def update_counts(self, totals: tuple[int, int, int]) -> None:
        total, unread, starred = totals
        self.counts_label.setText(f"{total} articles · {unread} unread · {starred} starred")
        self.setWindowTitle(f"Reader ({unread} unread)" if unread else "Reader")

    def set_remote_images(self, enabled: bool) -> None:
        self.list_images.set_remote_images(enabled)

    def show_progress(self, label: str, job: Job) -> None:
        self._progress_job = job
        self.progress.setFormat(f"{label}… %v/%m")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.setVisible(job.name in ("import", "refresh"))

    def on_job_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def hide_progress(self, job: Job) -> None:
        if self._progress_job is job:
            self._progress_job = None
            self.progress.hide()
            self.cancel_button.hide()

    def on_cancel_clicked(self) -> None:
        if self._progress_job is not None:
            self._progress_job.cancel()
            self.statusBar().showMessage("Cancelling…", 3000)

    # --- Qt overrides ---

    def paintEvent(self, event: QPaintEvent) -> None:
        """Override QMainWindow.paintEvent: once the window has been painted, start the deferred work."""
        super().paintEvent(event)
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
            self.controller.import_paths(paths)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Override QMainWindow.closeEvent: save state, stop background work."""
        self.settings.geometry = self.saveGeometry()
        self.settings.splitter = self.splitter.saveState()
        self.settings.text_zoom = self.pane.zoom
        self.settings.sync()
        self.controller.refresh_timer.stop()
        self.controller.wait_for_jobs()
        if self._owns_images:
            # aboutToQuit is too late when the application outlives the window (tests, benchmarks).
            self.images.shutdown()
        super().closeEvent(event)
