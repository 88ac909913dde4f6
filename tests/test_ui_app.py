"""Starting the window: the first run's sample articles, and a clear message when Qt cannot open one."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import OFFSCREEN_SIZE_HINTS, drain_jobs, older_store

from reader import cli, paths
from reader.store import Query, Store, StoreError
from reader.ui import app

KASPERSKY = "Twitter Bans Ads from Russian Computer Security Company Kaspersky Lab"
BUNDLED = 129


@pytest.fixture
def window_opens(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """reader.ui.app.run replaced: records the store it would open the window on."""
    opened: list[Path] = []

    def run(db_path: Path, argv: list[str] | None = None, *, store: Store | None = None) -> int:
        opened.append(Path(db_path))
        if store is not None:
            store.close()
        return 0

    monkeypatch.setattr(app, "run", run)
    return opened


def kaspersky(store: Store) -> Any:
    rows = store.page(Query(search="Kaspersky"), None, 10).rows
    return next(row for row in rows if row.title == KASPERSKY)


@OFFSCREEN_SIZE_HINTS
def test_first_run_imports_the_bundled_seeds(
    window_opens: list[Path], monkeypatch: pytest.MonkeyPatch, window_factory: Callable[..., Any], qtbot: Any
) -> None:
    default = paths.default_db_path()
    assert "READER_DB" not in os.environ
    assert default.is_relative_to(os.environ["XDG_DATA_HOME"]), "the test's own data folder, not the user's"
    assert not default.exists()
    records = sorted(paths.seeds_dir().glob("*.txt"))
    assert len(records) == BUNDLED

    assert cli.main([]) == 0
    assert window_opens == [default]
    with Store.open(default) as store:
        assert store.count() == BUNDLED
        first = store.get(kaspersky(store).id)
        assert first is not None and first.source == "fortune"
        imported_at = first.imported_at

    # The second start finds the store and imports nothing.
    imports: list[object] = []
    import reader.importer

    monkeypatch.setattr(reader.importer, "import_paths", lambda *a, **k: imports.append(a))
    assert cli.main([]) == 0
    assert imports == []
    assert window_opens == [default, default]
    with Store.open(default) as store:
        assert store.count() == BUNDLED
        assert store.get(first.id).imported_at == imported_at

        # And the first window a new user sees has the sample article in it.
        window = window_factory(store)
        model = window.model
        while model.canFetchMore(model.index(-1)):
            model.fetchMore(model.index(-1))
        titles = [model.row(r).title for r in range(model.rowCount())]
        assert len(titles) == BUNDLED
        assert KASPERSKY in titles
        assert window.list_stack.currentWidget() is window.list
        drain_jobs(qtbot, window)  # before this store closes


def test_an_explicit_new_store_starts_empty(window_opens: list[Path], tmp_path: Path) -> None:
    db = tmp_path / "mine.sqlite"
    assert cli.main(["--db", str(db)]) == 0
    assert window_opens == [db]
    with Store.open(db) as store:
        assert store.count() == 0
    assert not paths.default_db_path().exists()


def test_an_emptied_default_store_is_not_refilled(window_opens: list[Path]) -> None:
    """Only a new default store gets the sample: a store someone emptied stays theirs."""
    default = paths.default_db_path()
    default.parent.mkdir(parents=True, exist_ok=True)
    Store.open(default).close()
    assert cli.main([]) == 0
    with Store.open(default) as store:
        assert store.count() == 0


# --- a store from an older version -----------------------------------------------------------------


def version_1_store(path: Path) -> Path:
    """An empty store as the first release wrote it (schema 1)."""
    with older_store(path):
        pass
    assert Store.needs_upgrade(path)
    return path


def test_the_window_is_left_to_upgrade_a_store_and_says_so_meanwhile(
    window_opens: list[Path], tmp_path: Path, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = version_1_store(tmp_path / "old.sqlite")
    assert cli.main(["--db", str(db)]) == 0
    assert window_opens == [db] and Store.needs_upgrade(db)  # not migrated before Qt, unseen

    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QProgressDialog

    release = threading.Event()
    real_open = Store.open

    def waiting_open(path: Any, **kwargs: Any) -> Store:
        assert release.wait(10)
        return real_open(path, **kwargs)

    monkeypatch.setattr(Store, "open", waiting_open)
    shown: list[tuple[str, bool]] = []

    def look() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QProgressDialog) and widget.isVisible():
                widget.close()  # the close button, and Esc: it stays up all the same
                QTest.keyClick(widget, Qt.Key.Key_Escape)
                shown.append((widget.labelText(), widget.isVisible() and Store.needs_upgrade(db)))
        release.set()

    QTimer.singleShot(0, look)
    app.upgrade_showing_progress(db)
    assert shown == [(app.UPGRADE_NOTICE, True)]  # shown, and kept, while the upgrade ran
    assert not Store.needs_upgrade(db)
    assert not any(isinstance(w, QProgressDialog) and w.isVisible() for w in QApplication.topLevelWidgets())


class StandInWindow:
    """The main window, replaced: it records the store it was given and ends the event loop."""

    opened: ClassVar[list[Path]] = []

    def __init__(self, store: Store, settings: Any) -> None:
        from types import SimpleNamespace

        StandInWindow.opened.append(store.path)
        self.jobs = SimpleNamespace(wait_for_jobs=lambda: None)
        self.model = SimpleNamespace(rowCount=lambda: 0)
        self.built = False

    def show(self) -> None:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        QTimer.singleShot(0, QApplication.instance().quit)

    def start(self) -> None:
        pass


def test_the_command_line_opens_the_store_once_for_the_window_and_checks_for_an_upgrade_once(
    tmp_path: Path, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window's start opened the store twice and looked for an upgrade three times. (The
    sidebar's counts are counted on a connection of their own, on a thread: see EarlyCounts.)"""
    import threading

    import reader.ui.main_window

    db = tmp_path / "store.sqlite"
    Store.open(db).close()
    opened: list[Path] = []
    checked: list[Path] = []
    real_open, real_needs_upgrade = Store.open, Store.needs_upgrade

    def open_(path: Path, **kw: Any) -> Store:
        if threading.current_thread() is threading.main_thread():
            opened.append(Path(path))
        return real_open(path, **kw)

    monkeypatch.setattr(Store, "open", open_)
    monkeypatch.setattr(Store, "needs_upgrade", lambda path: (checked.append(Path(path)), real_needs_upgrade(path))[1])
    monkeypatch.setattr(reader.ui.main_window, "MainWindow", StandInWindow)
    StandInWindow.opened = []
    assert cli.main(["--db", str(db)]) == 0
    assert opened == [db] and checked == [db] and StandInWindow.opened == [db]


def test_the_window_upgrades_an_older_store_behind_its_notice_then_opens_it(
    tmp_path: Path, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reader.ui.main_window

    db = version_1_store(tmp_path / "old.sqlite")
    upgraded: list[Path] = []
    real = app.upgrade_showing_progress
    monkeypatch.setattr(app, "upgrade_showing_progress", lambda path: (upgraded.append(path), real(path))[1])
    monkeypatch.setattr(reader.ui.main_window, "MainWindow", StandInWindow)
    StandInWindow.opened = []
    assert app.run(db) == 0
    assert upgraded == [db] and StandInWindow.opened == [db] and not Store.needs_upgrade(db)


def test_a_failed_upgrade_says_so_in_a_message_box_and_on_stderr(
    tmp_path: Path, qtbot: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from PySide6.QtWidgets import QMessageBox

    import reader.ui.main_window

    db = version_1_store(tmp_path / "old.sqlite")

    def failing(path: Path) -> None:
        raise StoreError(f"{path}: disk full")

    told: list[str] = []
    monkeypatch.setattr(app, "upgrade_showing_progress", failing)
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: told.append(text))
    monkeypatch.setattr(reader.ui.main_window, "MainWindow", StandInWindow)
    StandInWindow.opened = []
    assert app.run(db) == 2
    assert told == [f"The store could not be updated:\n{db}: disk full"]
    assert capsys.readouterr().err == f"reader: {db}: disk full\n"
    assert StandInWindow.opened == []


def test_a_failed_upgrade_is_raised_as_the_stores_error(
    tmp_path: Path, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = version_1_store(tmp_path / "old.sqlite")

    def failing_open(path: Any, **kwargs: Any) -> Store:
        raise StoreError(f"{path}: disk full")

    monkeypatch.setattr(Store, "open", failing_open)
    with pytest.raises(StoreError, match="disk full"):
        app.upgrade_showing_progress(db)


# --- when Qt cannot open a window ----------------------------------------------------------------


@pytest.fixture
def linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.sys, "platform", "linux")


def libraries(monkeypatch: pytest.MonkeyPatch, missing: set[str]) -> list[str]:
    asked: list[str] = []

    def loadable(soname: str) -> bool:
        asked.append(soname)
        return soname not in missing

    monkeypatch.setattr(app, "_loadable", loadable)
    return asked


@pytest.mark.usefixtures("linux")
def test_no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    libraries(monkeypatch, set())
    message = app.platform_problem({})
    assert message is not None and "DISPLAY" in message and "\n" not in message
    message = app.platform_problem({"QT_QPA_PLATFORM": "xcb"})
    assert message is not None and "DISPLAY" in message


@pytest.mark.usefixtures("linux")
def test_every_library_missing_names_every_package(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = libraries(monkeypatch, set(app.XCB_LIBRARIES))
    message = app.platform_problem({"DISPLAY": ":0"})
    assert message is not None
    assert set(asked) == set(app.XCB_LIBRARIES)
    assert "sudo apt install" in message
    for package in ("libxcb-cursor0", "libxcb-icccm4", "libxkbcommon-x11-0", "libegl1"):
        assert package in message


@pytest.mark.usefixtures("linux")
def test_one_library_missing_names_only_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    libraries(monkeypatch, {"libxcb-cursor.so.0"})
    message = app.platform_problem({"DISPLAY": ":0"})
    assert message is not None
    assert message.splitlines()[-1].split() == ["sudo", "apt", "install", "libxcb-cursor0"]


@pytest.mark.usefixtures("linux")
@pytest.mark.parametrize(
    "environ",
    [
        {"DISPLAY": ":0"},
        {"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"},
        {"QT_QPA_PLATFORM": "offscreen"},
        {"WAYLAND_DISPLAY": "wayland-0"},
    ],
    ids=["x11", "xcb", "offscreen", "wayland"],
)
def test_nothing_to_say_when_a_window_can_open(environ: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    libraries(monkeypatch, set())
    assert app.platform_problem(environ) is None


@pytest.mark.usefixtures("linux")
def test_reader_says_so_instead_of_aborting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``reader`` without a display: one line on stderr, exit status 2, no Qt abort, no traceback."""
    libraries(monkeypatch, set())
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert cli.main(["--db", str(tmp_path / "x.sqlite")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("reader: no display") and err.count("\n") == 1
    assert "Traceback" not in err


# --- Qt's own options (-style, -platform ...) ------------------------------------------------------


@pytest.fixture
def window_argv(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, list[str] | None]]:
    """reader.ui.app.run replaced: records the store and QApplication's argv it was given."""
    opened: list[tuple[Path, list[str] | None]] = []

    def run(db_path: Path, argv: list[str] | None = None, *, store: Store | None = None) -> int:
        opened.append((Path(db_path), argv))
        if store is not None:
            store.close()
        return 0

    monkeypatch.setattr(app, "run", run)
    return opened


@pytest.mark.parametrize(
    ("options", "qt"),
    [
        (["-style", "fusion"], ["-style", "fusion"]),
        (["-platform", "offscreen"], ["-platform", "offscreen"]),
        (["-style=fusion", "-reverse"], ["-style", "fusion", "-reverse"]),
        (
            ["-qwindowgeometry", "800x600+0+0", "-stylesheet", "x.qss"],
            ["-qwindowgeometry", "800x600+0+0", "-stylesheet", "x.qss"],
        ),
    ],
)
@pytest.mark.parametrize("db_first", [True, False])
def test_qt_options_open_the_window_with_them(
    window_argv: list[tuple[Path, list[str] | None]], tmp_path: Path, options: list[str], qt: list[str], db_first: bool
) -> None:
    """``reader -style fusion`` (with or without --db, either side) opens the window and hands the
    option to QApplication, where argparse used to refuse it with a misleading error."""
    db = tmp_path / "mine.sqlite"
    argv = ["--db", str(db), *options] if db_first else [*options, "--db", str(db)]
    assert cli.main(argv) == 0
    assert len(window_argv) == 1
    opened, qt_argv = window_argv[0]
    assert opened == db
    assert qt_argv is not None and qt_argv[1:] == qt, "the program's name first, then Qt's options"


def test_without_qt_options_qapplication_gets_only_the_programs_name(
    window_argv: list[tuple[Path, list[str] | None]], tmp_path: Path
) -> None:
    assert cli.main(["--db", str(tmp_path / "x.sqlite")]) == 0
    argv = window_argv[0][1]
    assert argv is not None and len(argv) == 1


def test_a_qt_option_without_its_value_says_so(
    window_argv: list[tuple[Path, list[str] | None]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["-style"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("reader: -style needs a value") and err.count("\n") == 1
    assert window_argv == []


def test_a_qt_option_before_a_command_is_refused_and_commands_are_unaffected(
    window_argv: list[tuple[Path, list[str] | None]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "x.sqlite"
    assert cli.main(["-style", "fusion", "--db", str(db), "list"]) == 2
    assert "-style is an option of the window" in capsys.readouterr().err
    # A command's own arguments are its own: a store (or source) named like a Qt option is kept.
    assert cli.main(["--db", str(db), "list", "--source=-style"]) == 0
    assert cli.main(["--db", "list", "list"]) == 0, "--db's value is a path, even one named like a command"
    assert window_argv == []


def test_qapplication_really_gets_the_style_and_the_platform(tmp_path: Path) -> None:
    """``reader -platform offscreen -style fusion`` in a process of its own, with no display and no
    QT_QPA_PLATFORM: the window opens (the -platform option counts as the platform) in Fusion."""
    import subprocess
    import sys

    script = (
        "import os, sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from reader import cli\n"
        "from reader.ui.main_window import MainWindow\n"
        "def start(self):\n"
        "    app = QApplication.instance()\n"
        "    print(app.style().name(), app.platformName(), flush=True)\n"
        "    os._exit(0)  # at once: this test is about the options, not the teardown\n"
        "MainWindow.start = start\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    db = tmp_path / "x.sqlite"
    done = subprocess.run(
        [sys.executable, "-c", script, "--db", str(db), "-platform", "offscreen", "-style", "fusion"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["fusion", "offscreen"]


@pytest.mark.parametrize("value", [None, "", "  ", "/elsewhere/xdg"])
def test_the_user_folders_are_where_platformdirs_puts_them(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    # reader.paths follows the XDG rule itself (platformdirs is not imported before the first paint).
    import platformdirs

    for variable in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        if value is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, value)
    name = paths.APP_NAME
    assert paths.user_data_dir() == Path(platformdirs.user_data_dir(name, appauthor=False))
    assert paths.user_cache_dir() == Path(platformdirs.user_cache_dir(name, appauthor=False))
    assert paths.user_config_dir() == Path(platformdirs.user_config_dir(name, appauthor=False))
