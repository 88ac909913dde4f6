"""The start-up log: every start says what it did and when, and a start with no window says why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import OFFSCREEN_SIZE_HINTS

from reader.store import Store, StoreAddress
from reader.ui import startup
from reader.ui.startup import StartupLog


def test_steps_are_timed_from_the_process_start(tmp_path: Path) -> None:
    age = startup.process_age_s()
    assert age is not None and 0 < age < 3600  # this test process started a while ago
    log = StartupLog(tmp_path / "cache" / "startup.log")
    log.mark("one step")
    log.write()
    lines = (tmp_path / "cache" / "startup.log").read_text().splitlines()
    assert "times since the process's start" in lines[0]
    step_ms = float(lines[1].split("ms")[0])
    assert step_ms >= age * 1000 * 0.9 and lines[1].endswith("one step")


def test_a_log_that_cannot_be_written_is_left(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    StartupLog(blocker / "startup.log").write()  # its folder is a file: nothing raised


def test_a_window_that_never_comes_on_screen_is_logged_and_said(
    qtbot: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PySide6.QtWidgets import QWidget

    window = QWidget()  # never shown: what a start with no window looks like from inside
    qtbot.addWidget(window)
    log = StartupLog(tmp_path / "startup.log")
    startup.watch(window, log, after_s=0.05)
    qtbot.waitUntil(lambda: (tmp_path / "startup.log").exists())
    written = (tmp_path / "startup.log").read_text()
    assert "no window on screen 0.05 s after it was shown" in written
    assert "window visible False" in written and "exposed False" in written and "platform offscreen" in written
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and said[0].startswith("reader: the window is not on screen") and str(log.path) in said[0]


@OFFSCREEN_SIZE_HINTS
def test_the_window_logs_its_first_paint_and_the_work_after_it(
    qtbot: Any, tmp_path: Path, known_store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    from reader.ui.main_window import MainWindow
    from reader.ui.settings import Settings

    window = MainWindow(known_store, Settings(tmp_path / "settings.ini"))
    qtbot.addWidget(window)
    log = StartupLog(tmp_path / "startup.log")
    window.startup = log
    window.show()
    watchdog = startup.watch(window, log, after_s=2.0)
    window.start()
    qtbot.waitUntil(lambda: (tmp_path / "startup.log").exists())
    steps = [line.split("ms", 1)[1].strip() for line in (tmp_path / "startup.log").read_text().splitlines()[1:]]
    assert steps == [
        "no counts yet (counted after the first paint)",  # (no early counts given: see EarlyCounts)
        "painted, on screen",
        "second stage built (images, dialogs, menus, refresh)",
        "deferred work started (counts, store check, images)",
    ]
    with qtbot.waitSignal(watchdog.timeout):  # the watchdog looked: a window on screen is not reported
        pass
    assert capsys.readouterr().err == ""
    assert "no window" not in (tmp_path / "startup.log").read_text()


def test_early_counts_are_the_sidebars_counts_of_the_store(known_store: Store) -> None:
    from conftest import KNOWN_COUNT

    counts = startup.EarlyCounts(StoreAddress(known_store.path)).result(timeout_s=30)
    assert counts is not None
    assert counts.totals == (KNOWN_COUNT, KNOWN_COUNT, 0)
    assert [(s.source, s.total, s.unread) for s in counts.sources] == [("alpha", 20, 20), ("beta", 20, 20)]


def test_early_counts_of_a_store_that_cannot_be_read_are_none_and_the_file_is_left(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-store.sqlite"
    bad.write_bytes(b"not a database" * 100)
    assert startup.EarlyCounts(StoreAddress(bad)).result(timeout_s=30) is None
    assert bad.read_bytes() == b"not a database" * 100


@OFFSCREEN_SIZE_HINTS
def test_counts_in_the_first_paint_reach_what_the_second_stage_builds_and_show_labels_and_hidden(
    qtbot: Any, tmp_path: Path
) -> None:
    """Counted early, the counts are not counted again after the first paint: the feed menus
    (full articles) and the tray, built after it, must have them all the same; the labels and
    the hidden articles rules made are in the first paint's sidebar."""
    from conftest import drain_jobs

    from reader.records import Article
    from reader.ui.jobs import JobKind
    from reader.ui.main_window import MainWindow
    from reader.ui.settings import Settings
    from reader.ui.sidebar import COUNT_ROLE, SidebarKey

    store = Store.open(tmp_path / "store.sqlite")
    feed = store.add_feed("https://feed.example/rss", "Gazette")
    store.update_feed(feed.id, full_content=True)
    store.add_rule("no sport", "football", "hide")
    store.add_rule("weather", "storm", "label:Weather")
    store.add_articles(
        [
            Article("Gazette", f"{title} {n}", key=f"feed:{feed.id}:{title}{n}", feed_id=feed.id)
            for n in range(3)
            for title in ("storm", "football", "quay")
        ]
    )
    window = MainWindow(store, Settings(tmp_path / "settings.ini"))
    qtbot.addWidget(window, before_close_func=lambda w: drain_jobs(qtbot, w))
    window.early_counts = startup.EarlyCounts(StoreAddress(store.path))
    assert window.early_counts.result(timeout_s=30) is not None
    counted: list[JobKind] = []
    window.jobs.job_finished.connect(counted.append)
    window.show()
    window.start()
    entries = {
        window.sidebar.item(i).text(): window.sidebar.item(i).data(COUNT_ROLE) for i in range(window.sidebar.count())
    }
    assert entries["All articles"] == 6 and entries["Hidden"] == 3 and entries["Weather"] == 3
    qtbot.waitUntil(lambda: window.built)
    menu = window.full_articles.feed_menu(SidebarKey("all", feed_id=feed.id))
    assert menu is not None and menu.actions()[0].isChecked()
    assert window.tray._unread == 6
    assert JobKind.COUNTS not in counted and not window.jobs.running(JobKind.COUNTS)


def test_the_warm_up_loads_qt_and_sets_fontconfig_up_on_a_thread_and_the_log_says_so(tmp_path: Path) -> None:
    """The window's start has Qt's libraries loaded and fontconfig set up on a thread while the
    store opens and PySide6 is imported (the UI thread did both); with its own C calls, not the
    ctypes package (see reader.ui.app._loadable)."""
    warming = startup.WarmUp()
    warming.thread.join(60)
    assert not warming.thread.is_alive()
    log = StartupLog(tmp_path / "startup.log")
    log.mark("a step here")
    log.elsewhere = warming.steps
    log.write()
    lines = (tmp_path / "startup.log").read_text().splitlines()
    steps = [line.split("ms", 1)[1].strip() for line in lines[1:]]
    qt = f"Qt's libraries loaded on a thread ({len(startup.QT_LIBRARIES)} of {len(startup.QT_LIBRARIES)}) in "
    assert steps[0].startswith(qt) and steps[1].startswith("fonts set up on a thread in ")
    assert steps[2] == "a step here"  # (in their place by time: the warm-up was done first)
    assert "failed" not in lines[2]


def test_no_fontconfig_and_no_qt_libraries_leave_it_to_qt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(startup, "FONTCONFIG", "libno-such-fontconfig.so.1")
    monkeypatch.setattr(startup, "QT_LIBRARIES", ("libno-such-qt.so.6", *startup.QT_LIBRARIES))
    warming = startup.WarmUp()
    warming.thread.join(60)
    assert [step for _, step in warming.steps] == [
        f"Qt's libraries loaded on a thread (0 of {len(startup.QT_LIBRARIES)}) in "
        + warming.steps[0][1].rsplit(" in ", 1)[1],
        "no fontconfig: Qt finds its fonts its own way",
    ]


@OFFSCREEN_SIZE_HINTS
def test_the_garbage_collector_paused_for_the_start_is_back_on_after_the_first_paint(
    qtbot: Any, tmp_path: Path, known_store: Store
) -> None:
    import gc

    from reader.ui.main_window import MainWindow
    from reader.ui.settings import Settings

    window = MainWindow(known_store, Settings(tmp_path / "settings.ini"))
    qtbot.addWidget(window)
    startup.pause_collection()
    try:
        assert not gc.isenabled()
        window.show()
        window.start()
        qtbot.waitUntil(lambda: window.built)  # (after the first paint)
        assert gc.isenabled()
    finally:
        startup.resume_collection()
        gc.enable()


def test_a_collector_someone_else_turned_off_stays_off() -> None:
    import gc

    gc.disable()
    try:
        startup.pause_collection()
        startup.resume_collection()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_support_code_is_compiled_once_and_served_for_the_very_same_source(tmp_path: Path) -> None:
    """PySide6 compiles its signature support from source at every import: the window's start
    keeps the compiled code and is handed it again, for the same source only."""
    import builtins

    original = builtins.compile
    path = tmp_path / "cache" / startup.SUPPORT_CODE_CACHE
    first = startup.SupportCodeCache(path)
    with first.serving():
        code = compile(b"value = 1", "shibokensupport/sample.py", "exec")
        compile("other = 1", "elsewhere.py", "exec")  # (not PySide6's: compiled, not kept)
    assert (first.served, first.compiled) == (0, 1) and path.exists()
    again = startup.SupportCodeCache(path)
    with again.serving():
        same = compile(b"value = 1", "shibokensupport/sample.py", "exec")
        changed = compile(b"value = 2", "shibokensupport/sample.py", "exec")
    assert (again.served, again.compiled) == (1, 1)
    assert same == code and same is not code  # (read back from the file)
    namespace: dict[str, object] = {}
    exec(changed, namespace)
    assert namespace["value"] == 2
    assert builtins.compile is original  # (put back)


def test_support_code_keeps_the_future_imports_of_the_code_that_compiles_it(tmp_path: Path) -> None:
    """compile() takes its caller's ``from __future__`` imports (this module's annotations, as
    shiboken's bootstrap has them): the code served is the code compile() would have made there."""
    source = b"def f(x: not_defined) -> None: pass\nnote = f.__annotations__['x']"
    for _ in range(2):  # compiled, then served
        cache = startup.SupportCodeCache(tmp_path / "code.marshal")
        with cache.serving():
            code = compile(source, "shibokensupport/annotated.py", "exec")
        namespace: dict[str, object] = {}
        exec(code, namespace)  # (no NameError: the annotation is a string, as this module's are)
        assert namespace["note"] == "not_defined"
    assert (cache.served, cache.compiled) == (1, 0)


def test_a_support_code_cache_that_cannot_be_read_is_compiled_again_and_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "code.marshal"
    path.write_bytes(b"not marshalled code")
    cache = startup.SupportCodeCache(path)
    with cache.serving():
        compile(b"value = 1", "signature_bootstrap.py", "exec")
    assert (cache.served, cache.compiled) == (0, 1)
    again = startup.SupportCodeCache(path)
    with again.serving():
        compile(b"value = 1", "signature_bootstrap.py", "exec")
    assert (again.served, again.compiled) == (1, 0)
    blocked = startup.SupportCodeCache(tmp_path / "file" / "code.marshal")
    (tmp_path / "file").write_text("")  # its folder is a file: nothing kept, nothing raised
    with blocked.serving():
        compile(b"value = 1", "signature_bootstrap.py", "exec")
    assert blocked.compiled == 1 and not (tmp_path / "file").is_dir()


#: A fresh interpreter imports PySide6 with the cache at argv[1], then uses its signature support
#: (what the served modules do: a Qt function's signature, the message for a wrong argument).
IMPORT_PYSIDE = """
import sys
from pathlib import Path
from reader.ui.startup import SupportCodeCache
cache = SupportCodeCache(Path(sys.argv[1]))
with cache.serving():
    from PySide6.QtWidgets import QApplication
from PySide6.QtCore import QTimer
from PySide6.support.signature import get_signature
try:
    QTimer().setInterval("soon")
except TypeError as exc:
    told = "Supported signatures:" in str(exc)
deferred = cache.deferred, "argparse" in sys.modules  # (imported by the .pyi generator alone)
from PySide6.support.signature.lib.pyi_generator import Formatter  # (its first use: it runs now)
used = Formatter.__name__, "argparse" in sys.modules
print(cache.served, cache.compiled, deferred, used, told, get_signature(QTimer.setInterval))
"""


def test_pyside6_imported_with_its_support_code_served_from_the_cache_works(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "code.marshal"
    runs = [
        subprocess.run([sys.executable, "-c", IMPORT_PYSIDE, str(path)], capture_output=True, text=True, timeout=120)
        for _ in range(2)
    ]
    assert [run.returncode for run in runs] == [0, 0], runs[0].stderr + runs[1].stderr
    (served, compiled, said), (served_again, compiled_again, said_again) = (run.stdout.split(" ", 2) for run in runs)
    assert served == "0" and int(compiled) >= 10  # (shiboken's bootstrap and its shibokensupport modules)
    assert served_again == compiled and compiled_again == "0"
    # The .pyi generator's code ran at its first use, not with the import; the rest works as ever.
    assert said == said_again == "(1, False) ('Formatter', True) True (self, msec: int, /) -> None\n"
