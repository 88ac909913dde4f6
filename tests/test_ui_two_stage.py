"""The window starts in two stages: the first paint waits only for what it shows (issue 16); the rest
comes after it, and a key pressed before it came is not lost."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import KNOWN_COUNT, OFFSCREEN_SIZE_HINTS

from reader.store import Store
from reader.ui.actions import MENUS, Action

pytestmark = OFFSCREEN_SIZE_HINTS

#: The known store's sources in the sidebar, with their unread counts (half the articles each).
SOURCE_ENTRIES = [("Alpha", KNOWN_COUNT // 2), ("Beta", KNOWN_COUNT // 2)]

#: What the first paint must not wait for: the image service and Qt's network stack, the dialogs,
#: importing, refreshing, exporting, the browser, and the command line's feed modules. (Nor argparse:
#: the command line's parser is not built (see FIRST_PAINT), and PySide6's .pyi generator, which
#: imports it, runs at its first use: see reader.ui.startup.DEFERRED_SUPPORT.)
DEFERRED = (
    "PySide6.QtNetwork",
    "PySide6.QtSvg",
    "reader.ui.thumbnails",
    "reader.ui.list_images",
    "reader.ui.dialogs",
    "reader.ui.importing",
    "reader.ui.exporting",
    "reader.ui.refreshing",
    "reader.ui.about",
    "reader.ui.desktop",
    "reader.importer",
    "reader.subscriptions",
    "reader.feedparse",
    "reader.fetching",
    "xml.etree.ElementTree",
    "platformdirs",
    "json",
    "html",
    # Nothing before the first paint is a dataclass (defining one compiles its methods: the
    # records took 8-13 ms), and the display check dlopens Qt's libraries without the ctypes package.
    "dataclasses",
    "ctypes",
    "argparse",
)

#: `reader --db STORE` as the desktop starts it, offscreen; at the window's first paint it writes
#: which of DEFERRED are imported, whether the second stage or the command line's parser was built
#: and whether PySide6 has set up every widget class; the benchmark's probe quits it right after.
FIRST_PAINT = """
import enum, inspect, sys, types
scanned = []  # modules whose source was read (PySide6's check for its feature switches)
getsource = inspect.getsource
def counted(obj):
    if isinstance(obj, types.ModuleType):
        scanned.append(obj.__name__)
    return getsource(obj)
inspect.getsource = counted
enums = set()
create = enum.EnumType._create_
def made(cls, name, *args, **kwargs):
    enums.add(name)  # PySide6 makes a class's Python enums as it sets the class up
    return create(cls, name, *args, **kwargs)
enum.EnumType._create_ = made
import typing
forward = []  # the modules whose NamedTuples made a ForwardRef of a string annotation (compiling it)
make_forward = typing.ForwardRef.__init__
def forward_ref(self, *args, **kwargs):
    caller = sys._getframe(1)
    while caller.f_globals.get("__name__") == "typing":
        caller = caller.f_back
    forward.append(caller.f_globals.get("__name__"))
    make_forward(self, *args, **kwargs)
typing.ForwardRef.__init__ = forward_ref
import reader.cli, reader.ui.app, reader.ui.startup
deferred, out = sys.argv[1].split(","), sys.argv[2]  # (not json: it is one of them)
warm_ups = []  # (the thread that loads Qt's libraries and sets fontconfig up: see WarmUp)
warm_up = reader.ui.startup.warm_up
reader.ui.startup.warm_up = lambda: warm_ups.append(type(warm_up()).__name__) or warm_up()
parsers = []
build_parser = reader.cli.build_parser
reader.cli.build_parser = lambda: parsers.append(1) or build_parser()
def paintEvent(self, event):
    if not self._painted:
        imported = [m for m in deferred if m in sys.modules]
        with open(out, "w") as f:
            built = getattr(self, "built", None)
            every_widget_class = "WizardButton" in enums  # QWizard's: no window of Reader's has one
            seen = {"imported": imported, "built": built, "parser built": bool(parsers)}
            seen |= {"warm-up": warm_ups, "records' ForwardRefs": forward.count("reader.records")}
            import gc
            seen |= {"garbage collector paused": not gc.isenabled()}
            seen |= {"every widget class": every_widget_class, "QStyle": "PixelMetric" in enums}
            seen |= {"QIcon": "ThemeIcon" in enums, "QTextFrameFormat": "BorderStyle" in enums}
            seen |= {"QUrl": "UrlFormattingOption" in enums, "QImage": "InvertMode" in enums}
            seen |= {"QThread": "QualityOfService" in enums}
            seen |= {"sources read": [m for m in scanned if m.startswith("reader")], "all read": len(scanned)}
            from reader.ui.sidebar import COUNT_ROLE
            entries = [self.sidebar.item(i) for i in range(self.sidebar.count())]
            seen |= {"sidebar": [(e.text(), e.data(COUNT_ROLE)) for e in entries], "status": self.counts_label.text()}
            f.write(repr(seen))
    painted(self, event)
skip = reader.ui.app.skip_pyside_source_scans
def skip_then_watch():  # (run() imports the window's modules right after it, as it does here)
    global painted
    skip()
    from reader.ui.main_window import MainWindow
    painted = MainWindow.paintEvent
    MainWindow.paintEvent = paintEvent
reader.ui.app.skip_pyside_source_scans = skip_then_watch
sys.exit(reader.cli.main(["-platform", "offscreen", "--db", sys.argv[3]]))
"""


def test_the_first_paint_imports_nothing_it_does_not_show(tmp_path: Path, known_store: Store) -> None:
    out = tmp_path / "first-paint.json"
    done = subprocess.run(
        [sys.executable, "-c", FIRST_PAINT, ",".join(DEFERRED), str(out), str(known_store.path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "READER_STARTUP_PROBE": "visible"},
    )
    # The probe quits as the second stage comes: its threads still stop (no abort, no message).
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if line != "This plugin does not support propagateSizeHints()"]
    assert done.stdout.startswith("visible ") and said == []
    first_paint = ast.literal_eval(out.read_text())
    # PySide6 sets up every widget class at the first QWidget* it has not wrapped yet (15-20 ms):
    # not before the first paint (see reader.ui.viewports). Nor QStyle (18-33 ms), which the
    # delegates' option.state would set up (see reader.ui.item_state), nor QIcon (2-4 ms: see
    # reader.ui.actions.ActionRegistry), nor QTextFrameFormat (the pane is blank: see ReadingPane).
    # PySide6 read the source of
    # 50 modules (10-14 ms: see reader.ui.app.skip_pyside_source_scans); a few stdlib ones are left.
    assert first_paint.pop("all read") <= 8
    assert first_paint == {
        "imported": [],
        "built": False,
        "parser built": False,
        "every widget class": False,
        "QStyle": False,
        "QIcon": False,
        "QTextFrameFormat": False,
        # Nor QUrl, QImage (the blank pane has no link, no image) or QThread (no job runs before it).
        "QUrl": False,
        "QImage": False,
        "QThread": False,
        "sources read": [],
        # Started by the command line, before the store opens; run() finds it started.
        "warm-up": ["WarmUp", "WarmUp"],
        # The records' field annotations are objects, not strings to compile (~0.4 ms a class).
        "records' ForwardRefs": 0,
        # It went over the hundreds of thousands of objects the imports make again and again.
        "garbage collector paused": True,
        # The sidebar's counts are in the first paint (counted on a thread while Qt started).
        "sidebar": [
            ("All articles", KNOWN_COUNT),
            ("Unread", KNOWN_COUNT),
            ("Starred", 0),
            ("Sources", None),
            *SOURCE_ENTRIES,
        ],
        "status": f"{KNOWN_COUNT} articles · {KNOWN_COUNT} unread · 0 starred",
    }


def started_before_its_second_stage(qtbot: Any, store: Store, tmp_path: Path) -> Any:
    """A window shown, active and started, whose first paint since start() has not come yet."""
    from PySide6.QtWidgets import QApplication

    from reader.ui.main_window import MainWindow
    from reader.ui.settings import Settings

    window = MainWindow(store, Settings(tmp_path / "settings.ini"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.start()  # (no event is processed from here to the key: the second stage is still to come)
    assert not window.built
    return window


def test_a_second_stage_key_pressed_before_it_came_builds_it_and_is_done(
    qtbot: Any, tmp_path: Path, known_store: Store
) -> None:
    window = started_before_its_second_stage(qtbot, known_store, tmp_path)
    qtbot.keyClick(window.list, "?")  # the keys dialog: built by the second stage
    assert window.built
    assert window.keys_help.dialog is not None and window.keys_help.dialog.isVisible()
    window.keys_help.dialog.close()


def test_a_first_stage_key_before_the_second_stage_works_and_leaves_it_for_later(
    qtbot: Any, tmp_path: Path, known_store: Store
) -> None:
    window = started_before_its_second_stage(qtbot, known_store, tmp_path)
    first = window.list.current_row()
    qtbot.keyClick(window.list, "j")
    assert window.list.current_row() == first + 1 and not window.built
    qtbot.waitUntil(lambda: window.built)  # after the next paint


def test_the_menus_are_titled_at_once_and_filled_by_the_second_stage(
    qtbot: Any, tmp_path: Path, known_store: Store
) -> None:
    window = started_before_its_second_stage(qtbot, known_store, tmp_path)
    assert [action.text() for action in window.menuBar().actions()] == list(MENUS)
    assert all(not action.menu().actions() for action in window.menuBar().actions())
    qtbot.waitUntil(lambda: window.built)
    export = window.action_registry[Action.EXPORT_OPML]
    assert any(export in action.menu().actions() for action in window.menuBar().actions())


def test_the_lists_selected_row_is_painted_in_the_highlight_as_before(window: Any) -> None:
    """The row's background and selection come from the base class's paint (no ``option.state``)."""
    from PySide6.QtGui import QPalette

    current = window.list.currentIndex()
    other = window.model.index(current.row() + 1, 0)
    image = window.list.viewport().grab().toImage()
    ratio = image.devicePixelRatio()
    group = QPalette.ColorGroup.Active if window.isActiveWindow() else QPalette.ColorGroup.Inactive
    highlight = window.list.palette().color(group, QPalette.ColorRole.Highlight)

    def highlighted(index: Any) -> bool:
        rect = window.list.visualRect(index)
        pixel = image.pixelColor(round((rect.left() + 4) * ratio), round(rect.center().y() * ratio))
        # (Fusion shades its selection a little: #308dc7 for #308cc6.)
        return all(abs(a - b) <= 3 for a, b in zip(pixel.getRgb(), highlight.getRgb(), strict=True))

    assert highlighted(current) and not highlighted(other)


def test_the_first_paint_lists_the_rows_the_list_shows_and_the_rest_of_the_page_follows(
    qtbot: Any, tmp_path: Path, known_store: Store
) -> None:
    """A page of 200 rows took 14-45 ms on a 100,000-article store; the rows on screen 2-7 ms."""
    window = started_before_its_second_stage(qtbot, known_store, tmp_path)
    shown = window.list.visible_rows()
    assert 2 < shown < KNOWN_COUNT and window.model.rowCount() == shown
    assert window.list.current_row() == 0
    qtbot.waitUntil(lambda: window.built)
    assert window.model.rowCount() == KNOWN_COUNT  # (the rest of the page: fewer than a page)


def test_the_pane_shows_the_start_article_right_after_the_first_paint_and_is_blank_before(
    qtbot: Any, tmp_path: Path, known_store: Store
) -> None:
    """Rendering the article took 6-8 ms before the first paint; the pane is blank meanwhile (not
    "Select an article", which it is not waiting for), and the article is still not marked read."""
    window = started_before_its_second_stage(qtbot, known_store, tmp_path)
    assert window.pane.article is None and window.pane.toPlainText() == ""
    first = window.model.article_id(0)
    qtbot.waitUntil(lambda: window.built)
    assert window.pane.article is not None and window.pane.article.id == first
    assert not window.model.is_read(0)


def test_a_move_before_the_first_paint_shows_that_article_at_once(
    qtbot: Any, tmp_path: Path, known_store: Store
) -> None:
    window = started_before_its_second_stage(qtbot, known_store, tmp_path)
    qtbot.keyClick(window.list, "j")
    second = window.model.article_id(1)
    assert window.pane.article is not None and window.pane.article.id == second
    qtbot.waitUntil(lambda: window.built)
    assert window.pane.article.id == second and window.model.is_read(1)
