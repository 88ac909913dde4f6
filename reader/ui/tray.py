"""The system tray: an icon with the unread count, one notification for what a refresh or a sync
brought ("12 new in 4 feeds"), and a click on either shows the window on them; as a preference,
closing the window keeps Reader running in the tray.

Where the platform has no tray (Xvfb without a tray host, offscreen, some Wayland desktops) there
is no icon and no notification, and closing the window quits, exactly as without this module.

What arrived is counted by arrival: each storing of new articles is numbered by a sequence that
only grows (article ids do not: once the newest articles are removed, the next ones get their
ids again), so "unread feed articles stored after the newest arrival seen at the last count" is
what a refresh or a sync brought, read through ranges of the primary key
(:meth:`reader.store.Store.arrivals`). What the person imported or subscribed to themselves is
not announced: they asked for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPainterPath, QPixmap
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu, QSystemTrayIcon

from reader.records import Progress
from reader.store import StoreAddress
from reader.ui.jobs import JobKind, JobRunner
from reader.ui.settings import Settings
from reader.ui.sidebar import SidebarKey

#: A refresh and the accounts' syncs that end within this of each other make one notification.
ARRIVALS_DELAY_MS = 1000
#: How long a notification stays up (the platform may shorten it).
MESSAGE_MS = 10_000
_ACCENT = QColor("#2f6fbd")
_BADGE = QColor("#e8590c")


def tray_available() -> bool:
    """Whether the platform shows tray icons now (a desktop's tray host is running)."""
    return bool(QSystemTrayIcon.isSystemTrayAvailable())


def app_icon(unread: bool = False) -> QIcon:
    """Reader's icon, drawn (no image file to find or decode): a page with lines of text on the
    accent colour; with a dot in the corner while articles are unread."""
    icon = QIcon()
    for size in (16, 22, 32, 48, 64):
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        s = float(size)
        page = QPainterPath()
        page.addRoundedRect(QRectF(s * 0.06, s * 0.06, s * 0.88, s * 0.88), s * 0.18, s * 0.18)
        p.fillPath(page, _ACCENT)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("white"))
        for i, width in enumerate((0.56, 0.56, 0.40)):
            p.drawRoundedRect(QRectF(s * 0.22, s * (0.28 + i * 0.17), s * width, s * 0.09), s * 0.04, s * 0.04)
        if unread:
            p.setBrush(_BADGE)
            p.drawEllipse(QRectF(s * 0.60, s * 0.0, s * 0.40, s * 0.40))
        p.end()
        icon.addPixmap(pixmap)
    return icon


def arrivals_text(articles: int, feeds: int) -> str:
    """What a notification says: "12 new in 4 feeds", "1 new in 1 feed"."""
    return f"{articles:,} new in {feeds:,} feed{'s' if feeds != 1 else ''}"


class Tray(QObject):
    """Owns the tray icon, its menu, the arrival notifications and closing to the tray.

    Signals:
        notified(str, str): a notification was shown (its title and text).
    """

    notified = Signal(str, str)

    def __init__(
        self,
        window: QMainWindow,
        jobs: JobRunner,
        db: StoreAddress,
        settings: Settings,
        go_to: Callable[[SidebarKey], None],
        refresh: Callable[[], None],
        quit_app: Callable[[], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._window = window
        self._jobs = jobs
        self._db = db
        self._settings = settings
        self._go_to = go_to
        self._refresh = refresh
        self._quit = quit_app
        #: The icon, while it is shown (None: turned off, or no tray on this platform).
        self.icon: QSystemTrayIcon | None = None
        self._unread = 0
        #: The newest article id at the last count (None: not counted yet).
        self._seen: int | None = None
        self._counting = False
        #: A count asked for while one ran: whether it is to be told (None: none asked for).
        self._again: bool | None = None
        #: An account was just added: its first sync is not announced.
        self._quiet_sync = False
        #: Where a click on the last notification goes: the one feed, or Unread.
        self._arrived_key = SidebarKey("unread")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(ARRIVALS_DELAY_MS)
        self._timer.timeout.connect(self._on_quiet)
        jobs.job_finished.connect(self._on_job_finished)

    # --- preferences ---

    @property
    def shown(self) -> bool:
        """Preferences: show an icon in the tray (where there is one)."""
        return self._settings.tray_icon

    def set_shown(self, shown: bool) -> None:
        self._settings.tray_icon = shown
        self._apply()

    @property
    def close_to_tray(self) -> bool:
        """Preferences: closing the window keeps Reader running in the tray."""
        return self._settings.close_to_tray

    def set_close_to_tray(self, keep: bool) -> None:
        self._settings.close_to_tray = keep

    @property
    def has_tray(self) -> bool:
        return tray_available()

    def restore(self) -> None:
        self._apply()

    def keeps_running_on_close(self) -> bool:
        """Whether closing the window should hide it to the tray instead of quitting."""
        return self.close_to_tray and self.icon is not None and self.icon.isVisible()

    def _apply(self) -> None:
        if self.shown and self.has_tray:
            if self.icon is None:
                self.icon = self._make_icon()
            self.icon.show()
            if self._seen is None:
                self._count_arrivals(notify=False)  # what is stored now is not news
        elif self.icon is not None:
            self.icon.hide()
            self.icon.deleteLater()
            self.icon = None

    def _make_icon(self) -> QSystemTrayIcon:
        icon = QSystemTrayIcon(app_icon(self._unread > 0), self)
        icon.setObjectName("trayIcon")
        icon.setToolTip(self._tooltip())
        menu = QMenu(self._window)
        menu.setObjectName("trayMenu")
        for text, run in (("Show Reader", self.show_window), ("Refresh", self._refresh)):
            action = QAction(text, menu)
            action.triggered.connect(run)
            menu.addAction(action)
        menu.addSeparator()
        quit_action = QAction("Quit", menu)
        quit_action.triggered.connect(self._quit)
        menu.addAction(quit_action)
        icon.setContextMenu(menu)
        icon.activated.connect(self._on_activated)
        icon.messageClicked.connect(self.on_message_clicked)
        return icon

    # --- the unread count ---

    def on_unread_counted(self, unread: int) -> None:
        had = self._unread > 0
        self._unread = unread
        if self.icon is not None:
            self.icon.setToolTip(self._tooltip())
            if had != (unread > 0):
                self.icon.setIcon(app_icon(unread > 0))

    def _tooltip(self) -> str:
        return f"Reader: {self._unread:,} unread" if self._unread else "Reader: no unread articles"

    # --- arrivals ---

    def _on_job_finished(self, kind: JobKind) -> None:
        if self.icon is None:
            return
        if kind is JobKind.SYNC and self._quiet_sync:
            # The first sync of an account just added brings what it already had: not news.
            self._quiet_sync = False
            self._count_arrivals(notify=False)
        elif kind in (JobKind.REFRESH, JobKind.SYNC):
            self._timer.start()  # (restarted by the next one that ends soon after)
        elif kind is JobKind.IMPORT:
            self._count_arrivals(notify=False)  # a feed the person just added is not news
        elif kind is JobKind.ADD_ACCOUNT:
            self._quiet_sync = True

    def _on_quiet(self) -> None:
        """A refresh or a sync ended a moment ago: count what came, unless another one still
        runs (its end comes here again): one notification for what arrived together, not a part
        of a sync that was still storing."""
        if not (self._jobs.running(JobKind.REFRESH) or self._jobs.running(JobKind.SYNC)):
            self._count_arrivals(notify=True)

    def _count_arrivals(self, *, notify: bool) -> None:
        if self._counting:
            # Again once this one is in (it may have missed what just came); told if either asks.
            self._again = notify if self._again is None else self._again or notify
            return
        self._counting = True
        after = self._seen
        db = self._db

        def work(progress: Progress, cancel: threading.Event) -> tuple[int, int, int, int | None]:
            with db.open() as store:
                return store.arrivals(after)

        def done(result: tuple[int, int, int, int | None]) -> None:
            newest, articles, feeds, feed_id = result
            self._seen = newest if self._seen is None else max(self._seen, newest)
            if notify and articles and self.icon is not None:
                self._arrived_key = SidebarKey("all", feed_id=feed_id) if feeds == 1 else SidebarKey("unread")
                text = arrivals_text(articles, feeds)
                self.icon.showMessage("Reader", text, QSystemTrayIcon.MessageIcon.Information, MESSAGE_MS)
                self.notified.emit("Reader", text)

        def ended() -> None:
            self._counting = False
            again, self._again = self._again, None
            if again is not None:
                self._count_arrivals(notify=again)

        self._jobs.start(JobKind.ARRIVALS, work, done, quiet=True, ended=ended)

    # --- clicks ---

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.show_window()

    def on_message_clicked(self) -> None:
        """The notification was clicked: the window, on what arrived."""
        self.show_window()
        self._go_to(self._arrived_key)

    def show_window(self) -> None:
        window = self._window
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.setQuitOnLastWindowClosed(True)  # (off while only the tray was left)
        if window.isMinimized():
            window.showNormal()
        else:
            window.show()
        window.raise_()
        window.activateWindow()

    def hide_window(self) -> None:
        """Closing the window with the preference on: hidden, still running. A dialog left open
        (Preferences) that is closed next must not quit Reader either."""
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.setQuitOnLastWindowClosed(False)
        self._window.hide()

    def close(self) -> None:
        """The window really closes: no icon left behind, and the application quits as usual."""
        self._timer.stop()
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.setQuitOnLastWindowClosed(True)
        if self.icon is not None:
            self.icon.hide()
