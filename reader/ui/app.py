"""Starting the window: platform checks, the QApplication, the main window."""

from __future__ import annotations

import _ctypes
import itertools
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reader.store import StoreAddress, StoreProtocol, StoreTarget

# Libraries Qt's xcb platform plugin loads (by soname), and the Debian packages that carry them.
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
}


def _loadable(soname: str) -> bool:
    # dlopen what Qt is about to load anyway: about a millisecond in all, where
    # ctypes.util.find_library runs `ldconfig -p` once per library (~60 ms for these). Through
    # _ctypes.dlopen, what ctypes.CDLL calls: importing the ctypes package itself took 1.5-2 ms
    # before the first paint, for nothing else.
    try:
        _ctypes.dlopen(soname, os.RTLD_LOCAL)
    except OSError:
        return False
    return True


def platform_problem(environ: dict[str, str] | os._Environ[str] = os.environ) -> str | None:
    """Why Qt could not open a window here (missing display or xcb libraries), or None.

    Qt's own message for a missing library is a bare abort ("could not load the Qt platform plugin
    xcb"); this names the Debian packages instead.
    """
    platform = environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or platform not in ("", "xcb"):
        return None
    if not platform and environ.get("WAYLAND_DISPLAY"):
        return None
    if not environ.get("DISPLAY"):
        return "no display to open a window on (DISPLAY is not set); the command line works without one: reader --help"
    missing = [package for soname, package in XCB_LIBRARIES.items() if not _loadable(soname)]
    if missing:
        return (
            "Qt cannot open a window: system libraries are missing. Install them with:\n"
            f"    sudo apt install {' '.join(missing)}"
        )
    return None


UPGRADE_NOTICE = "Updating the store for this version of Reader (once; a large store takes a while)…"


def upgrade_showing_progress(db_path: Path) -> None:
    """Migrate the store at ``db_path`` on a worker thread while a busy dialog says so (packing the
    articles and rebuilding the search index for schema 4 takes about a minute per 100,000
    articles): started from a desktop menu, Reader
    would otherwise show nothing at all meanwhile. Raises the store's error, if any."""
    import threading

    from PySide6.QtCore import QEventLoop, QObject, Qt, Signal
    from PySide6.QtGui import QCloseEvent
    from PySide6.QtWidgets import QProgressDialog

    from reader.store import Store

    class Finished(QObject):
        done = Signal()

    class BusyDialog(QProgressDialog):
        """Stays up until the upgrade is over: Esc and the close button would only hide it."""

        def closeEvent(self, event: QCloseEvent) -> None:
            """Override: the window's close button does nothing."""
            event.ignore()

        def reject(self) -> None:
            """Override: Esc does nothing."""

    finished = Finished()
    failure: list[BaseException] = []

    def upgrade() -> None:
        try:
            Store.open(db_path).close()
        except BaseException as exc:  # handed to the UI thread, raised there
            failure.append(exc)
        finally:
            finished.done.emit()

    dialog = BusyDialog(labelText=UPGRADE_NOTICE, minimum=0, maximum=0)  # 0..0: busy
    dialog.setCancelButton(None)  # it cannot be stopped halfway
    dialog.setWindowFlag(Qt.WindowType.WindowCloseButtonHint, False)
    dialog.setWindowTitle("Reader")
    dialog.setMinimumDuration(0)
    dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
    loop = QEventLoop()
    finished.done.connect(loop.quit, Qt.ConnectionType.QueuedConnection)
    worker = threading.Thread(target=upgrade, name="reader-store-upgrade", daemon=True)
    dialog.show()
    worker.start()
    loop.exec()
    worker.join()
    dialog.hide()
    if failure:
        raise failure[0]


def skip_pyside_source_scans() -> None:
    """Spare the window's imports PySide6's scan of their source.

    Once PySide6 is imported, every module name an ``import`` statement names for the first time
    is looked up in shibokensupport's table of the modules that can switch on PySide6's optional
    features (``from __feature__ import snake_case``); a name not in it is entered after reading the
    module's whole source (``inspect.getsource``) for the word "PySide6". For the window's imports
    that read 50 files (``typing``, ``datetime`` and ``re`` among them, long loaded): 10-14 ms
    before the first paint. The modules loaded so far, and Reader's own window modules, switch on
    no feature: they are entered as the scan would enter them when it finds no switch (-1: no
    features; 0: PySide6 with none switched on). A PySide6 without that table is left as it is.
    """
    feature = sys.modules.get("shibokensupport.feature")
    table = getattr(feature, "pyside_feature_dict", None)
    if not isinstance(table, dict):
        return
    for name in list(sys.modules):
        table.setdefault(name, -1)
    ui = Path(__file__).parent
    for module in os.listdir(ui):
        if module.endswith(".py"):
            table.setdefault(f"{__package__}.{module[:-3]}", 0)


#: Set by ``python -m reader.benchmark window``: print when the window first paints (the clock and
#: the process's CPU time), then quit.
STARTUP_PROBE = "READER_STARTUP_PROBE"


def _install_startup_probe(window: Any, app: Any) -> None:
    import time

    from PySide6.QtCore import QEvent, QObject, QTimer

    class Probe(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            """Override QObject.eventFilter: the first paint of the window on screen."""
            if event.type() == QEvent.Type.Paint:
                watched.removeEventFilter(self)
                QTimer.singleShot(0, self.painted)
            return False

        def painted(self) -> None:
            # The next turn of the event loop: the whole paint pass is done and on the screen.
            # A paint before the window system exposed the window is not the window shown: wait
            # for the next one. (Quitting there without a line was read as "no window at all".)
            handle = window.windowHandle()
            if handle is None or not handle.isExposed():
                window.installEventFilter(self)
                return
            # The clock, then the CPU time the process (every thread of it) has used so far: less
            # swayed by the machine's load than the clock.
            print(f"{os.environ[STARTUP_PROBE]} {time.monotonic():.6f} {time.process_time():.6f}", flush=True)
            app.quit()

    window._startup_probe = Probe(window)
    window.installEventFilter(window._startup_probe)


def _platform_option(argv: list[str] | None) -> str | None:
    """The value of Qt's ``-platform`` option in ``argv`` (it wins over QT_QPA_PLATFORM), or None."""
    for option, value in itertools.pairwise(argv or []):
        if option == "-platform":
            return value
    return None


#: The window reads a page or one article at a time: a small page cache keeps memory flat.
WINDOW_CACHE_MB = 4


def _open_upgrading(db: StoreAddress) -> StoreProtocol:
    """The store at ``db``, a store file upgraded first behind the busy dialog when it needs it
    (a shared store's steps are quick: opening it takes them)."""
    from reader.store import Store, StoreError
    from reader.ui.startup import pause_collection, resume_collection

    if db.shared:
        return db.open(cache_mb=WINDOW_CACHE_MB)
    db_path = Path(db.target)
    if Store.needs_upgrade(db_path):
        resume_collection()  # (an upgrade may take minutes: not without the garbage collector)
        try:
            upgrade_showing_progress(db_path)
        except StoreError as exc:
            # Started from a desktop menu there is no terminal to read stderr on.
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.critical(None, "Reader", f"The store could not be updated:\n{exc}")
            raise
        finally:
            pause_collection()
    return Store.open(db_path, cache_mb=WINDOW_CACHE_MB)


def _on_disk(db: StoreAddress) -> bool:
    """Whether another connection sees the same store (an in-memory one is this connection's own)."""
    return str(db.target) != ":memory:"


def run(
    target: StoreTarget,
    argv: list[str] | None = None,
    *,
    store: StoreProtocol | None = None,
    person: str | None = None,
) -> int:
    """Open the window on the store ``target`` names (a file, or a PostgreSQL URL, for ``person``);
    ``argv`` is QApplication's (the program's name, then Qt's own options such as ``-style
    fusion``). ``store``: that store, already open and current (the command line opened it to
    report a bad one): not checked or opened again. The window closes it."""
    from reader.store.protocol import StoreAddress
    from reader.ui.startup import pause_collection, resume_collection

    db = StoreAddress.of(store) if store is not None else StoreAddress(target, person)
    pause_collection()  # until the first paint (paused by the command line already, as a rule)
    try:
        return _run(db, argv, store)
    finally:
        resume_collection()


def _run(db: StoreAddress, argv: list[str] | None, store: StoreProtocol | None) -> int:
    platform = _platform_option(argv)
    problem = platform_problem(os.environ if platform is None else {**os.environ, "QT_QPA_PLATFORM": platform})
    if problem:
        print(f"reader: {problem}", file=sys.stderr)
        if store is not None:
            store.close()
        return 2

    from reader.ui.startup import EarlyCounts, StartupLog, SupportCodeCache, warm_up, watch

    log = StartupLog()
    # Qt's libraries and fontconfig on a thread (started by the command line already, as a rule).
    warming = warm_up()
    if warming is not None:
        log.elsewhere = warming.steps
    # Counted from here, on a thread, while Qt starts: the first paint shows the sidebar's counts.
    # (A store still to be opened may need an upgrade first: its counts start once it is open.)
    early = EarlyCounts(db) if store is not None and _on_disk(db) else None
    support = SupportCodeCache()  # (PySide6's signature support, compiled at the last start)
    with support.serving():
        from PySide6.QtWidgets import QApplication
    if support.served or support.compiled:
        log.mark(
            f"PySide6's support code: {support.served} files compiled before, {support.compiled} now, "
            f"{support.deferred} left to their first use"
        )

    skip_pyside_source_scans()
    from reader.store import StoreError
    from reader.ui.main_window import MainWindow
    from reader.ui.settings import Settings

    log.mark("Qt and the window's modules imported")
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(argv if argv is not None else sys.argv[:1])
    log.mark(f"application made (platform {app.platformName()})")
    app.setApplicationName("Reader")
    app.setOrganizationName("reader-desktop")
    app.setDesktopFileName("reader-desktop")
    try:
        if store is None:
            store = _open_upgrading(db)
    except StoreError as exc:
        print(f"reader: {exc}", file=sys.stderr)
        return 2
    log.mark(f"store opened: {db.shown()}")
    if early is None and _on_disk(db):
        early = EarlyCounts(db)
    window = MainWindow(store, Settings())
    window.startup = log
    window.early_counts = early
    log.mark("window built")
    if os.environ.get(STARTUP_PROBE):
        _install_startup_probe(window, app)
    window.show()
    log.mark("window shown")
    watch(window, log)
    window.start()
    log.mark(f"first page listed ({window.model.rowCount()} rows)")
    try:
        return int(app.exec())
    finally:
        if log.watchdog is not None:
            log.watchdog.stop()
        window.jobs.wait_for_jobs()
        if window.built:
            # Built after aboutToQuit when the window quit as its second stage came (the benchmark's
            # probe does): the image service missed that signal and must still stop its threads.
            window.images.shutdown()
        store.close()
