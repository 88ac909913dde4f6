"""The main window: selecting and reading, the pane, state that persists, importing without freezing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    JS_URL,
    KNOWN_COUNT,
    OFFSCREEN_SIZE_HINTS,
    SCRIPT_ROW,
    SCRIPT_TITLE,
    all_titles,
    flags_stored,
    known_title,
    known_url,
    wait_job,
    write_seed,
)
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QTextCursor, QTextDocument
from PySide6.QtWidgets import QApplication

from reader.store import Query, Store
from reader.ui.actions import Action
from reader.ui.jobs import JobKind
from reader.ui.reading_pane import STAR_URL
from reader.ui.sidebar import COUNT_ROLE

pytestmark = OFFSCREEN_SIZE_HINTS

LEFT = Qt.MouseButton.LeftButton


def anchors(document: QTextDocument) -> Iterator[tuple[str, int]]:
    """(href, document position) of every link in the pane's document."""
    block = document.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.isValid() and fragment.charFormat().isAnchor():
                yield fragment.charFormat().anchorHref(), fragment.position()
            it += 1
        block = block.next()


# --- selecting and reading ----------------------------------------------------------------------


def test_clicking_an_article_shows_it_and_marks_it_read(qtbot: Any, window: Any, known_store: Store) -> None:
    target = 4
    article_id = window.model.row(target).id
    assert known_store.get(article_id).read is False
    rect = window.list.visualRect(window.model.index(target))
    assert rect.isValid() and window.list.viewport().rect().contains(rect.center())
    qtbot.mouseClick(window.list.viewport(), LEFT, pos=rect.center())
    assert window.list.current_row() == target
    assert window.model.row(target).read is True
    flags_stored(qtbot, window)
    assert known_store.get(article_id).read is True
    text = window.pane.toPlainText()
    assert known_title(target) in text
    assert f"Paragraph one of article {target}" in text
    assert "Alpha" in text and f"Author {target}" in text and "min read" in text
    assert "Read the original" in text
    assert window.settings.last_article == article_id


def test_pane_escapes_html_in_the_title(window: Any) -> None:
    window.list.select_row(SCRIPT_ROW)
    pane = window.pane
    assert SCRIPT_TITLE in pane.toPlainText(), "the title shows as text, tags and all"
    assert "<script" not in pane.toHtml().lower()
    assert "&lt;script&gt;" in pane.render_html(pane.article)


def test_pane_link_click_goes_through_open_url(qtbot: Any, window: Any, opened_urls: list[str]) -> None:
    window.list.select_row(4)
    pane = window.pane
    links = [(href, at) for href, at in anchors(pane.document()) if href != STAR_URL]  # (the star: test_ui_pane)
    assert [href for href, _ in links] == [known_url(4)]
    # A real click on "Read the original".
    cursor = QTextCursor(pane.document())
    cursor.setPosition(links[0][1] + 1)
    point = pane.cursorRect(cursor).center()
    assert pane.anchorAt(point) == known_url(4)
    qtbot.mouseClick(pane.viewport(), LEFT, pos=point)
    assert opened_urls == [known_url(4)]
    assert pane.article.title == known_title(4), "the pane did not navigate away"
    # Any link the pane reports goes the same way.
    pane.anchorClicked.emit(QUrl("mailto:editor@example.com"))
    assert opened_urls == [known_url(4), "mailto:editor@example.com"]
    pane.anchorClicked.emit(QUrl(JS_URL))
    pane.anchorClicked.emit(QUrl("file:///etc/passwd"))
    assert opened_urls == [known_url(4), "mailto:editor@example.com"]
    assert "file" in window.statusBar().currentMessage()
    assert pane.article.title == known_title(4)


def test_status_bar_and_sidebar_counts(qtbot: Any, window: Any) -> None:
    qtbot.waitUntil(lambda: window.counts_label.text().startswith(f"{KNOWN_COUNT} articles"))
    assert f"{KNOWN_COUNT} unread" in window.counts_label.text(), "nothing read at start"
    assert window.windowTitle() == f"Reader ({KNOWN_COUNT} unread)"
    labels = [window.sidebar.item(i).text() for i in range(window.sidebar.count())]
    assert labels[:3] == ["All articles", "Unread", "Starred"]
    counts = [window.sidebar.item(i).data(COUNT_ROLE) for i in range(3)]
    assert counts == [KNOWN_COUNT, KNOWN_COUNT, 0]  # painted in their own column, at the right
    assert any(label.startswith("Alpha") for label in labels)
    assert any(label.startswith("Beta") for label in labels)


def test_sidebar_filters_the_list(qtbot: Any, window: Any, known_store: Store) -> None:
    qtbot.waitUntil(lambda: window.sidebar.count() > 3)
    window.model.toggle_starred(5)
    window.sidebar.setCurrentRow(2)  # Starred
    assert window.model.query.view == "starred"
    # Listed at once when the star was stored first, else once it is (the list is read again).
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    assert window.model.row(0).title == known_title(5)
    window.sidebar.setCurrentRow(1)  # Unread
    assert window.model.rowCount() == KNOWN_COUNT
    beta = next(i for i in range(window.sidebar.count()) if window.sidebar.item(i).text().startswith("Beta"))
    window.sidebar.setCurrentRow(beta)
    assert window.model.query == Query(view="all", source="beta")
    assert {window.model.row(r).source for r in range(window.model.rowCount())} == {"beta"}


def test_reload_keeps_the_article_being_read_and_marks_nothing(qtbot: Any, window: Any, known_store: Store) -> None:
    """An import or a refresh reloads the list while someone reads: the current article stays, the
    focus stays on the list, and no other article is shown or marked read on the way."""
    window.model.set_read(0, False)
    first_id = window.model.row(0).id
    window.list.select_row(3)
    reading = window.model.row(3).id
    shown: list[int] = []
    window.list.article_selected.connect(lambda article_id, _row: shown.append(article_id))
    window.listing.reload_keeping_place()
    flags_stored(qtbot, window)
    assert known_store.get(first_id).read is False, "the first article was marked read behind the reader's back"
    assert set(shown) <= {reading}
    assert window.list.current_row() == 3
    assert window.pane.article.id == reading
    assert window.settings.last_article == reading
    assert QApplication.focusWidget() is window.list


def test_changing_the_view_marks_nothing_read(qtbot: Any, window: Any, known_store: Store) -> None:
    qtbot.waitUntil(lambda: window.sidebar.count() > 3)
    window.model.toggle_starred(5)
    flags_stored(qtbot, window)
    unread = known_store.count(Query(view="unread"))
    window.sidebar.setCurrentRow(2)  # Starred
    window.sidebar.setCurrentRow(1)  # Unread
    window.sidebar.setCurrentRow(0)  # All
    flags_stored(qtbot, window)
    assert known_store.count(Query(view="unread")) == unread


def test_remote_images_toggle_persists(window: Any) -> None:
    action = window.action_registry[Action.TOGGLE_REMOTE_IMAGES]
    was = action.isChecked()
    action.trigger()
    assert action.isChecked() is not was
    assert window.settings.remote_images is not was
    assert "Remote images" in window.statusBar().currentMessage()


# --- state that persists --------------------------------------------------------------------------


def test_settings_round_trip(
    qtbot: Any, window_factory: Callable[..., Any], known_store: Store, tmp_path: Path
) -> None:
    settings_file = tmp_path / "round-trip.ini"
    first = window_factory(known_store, settings_file)
    # Within the offscreen screen (800x600): restoreGeometry fits windows to their screen.
    first.resize(720, 520)
    first.splitter.setSizes([120, 250, 350])
    qtbot.waitUntil(lambda: first.size().width() == 720)
    sizes = first.splitter.sizes()
    first.pane.zoom_in()
    first.text_size.zoom_in()
    first.list.select_row(6)
    article_id = first.model.row(6).id
    first.close()
    assert settings_file.is_file()

    second = window_factory(known_store, settings_file)
    assert (second.width(), second.height()) == (720, 520)
    assert second.splitter.sizes() == sizes
    assert second.pane.zoom == 2
    assert second.settings.text_zoom == 2
    assert second.list.current_row() == 6, "the last article is selected again"
    assert second.pane.article is not None and second.pane.article.id == article_id
    assert known_title(6) in second.pane.toPlainText()
    assert QApplication.focusWidget() is second.list, "the list has the focus on start"


def test_start_without_a_remembered_article_shows_the_first(
    window_factory: Callable[..., Any], known_store: Store, tmp_path: Path
) -> None:
    from reader.ui.settings import Settings

    settings_file = tmp_path / "gone.ini"
    settings = Settings(settings_file)
    settings.last_article = 10**6  # not in the store (any more)
    settings.sync()
    window = window_factory(known_store, settings_file)
    assert window.list.current_row() == 0
    assert window.pane.article.title == known_title(0)
    assert QApplication.focusWidget() is window.list


def test_start_with_a_remembered_article_outside_the_list(
    window_factory: Callable[..., Any], known_store: Store, tmp_path: Path
) -> None:
    """The remembered article is deeper than find_row looks: it is still shown."""
    from reader.ui.settings import Settings

    last = known_store.page(Query(), None, KNOWN_COUNT).rows[-1]
    settings_file = tmp_path / "deep.ini"
    settings = Settings(settings_file)
    settings.last_article = last.id
    settings.sync()
    window = window_factory(known_store, settings_file)
    assert window.pane.article is not None and window.pane.article.id == last.id


def running_qthreads() -> list[Any]:
    """Every QThread Python knows of that still runs (worker jobs, the image service's threads)."""
    import gc

    from PySide6.QtCore import QThread

    main = QApplication.instance().thread()
    found = []
    for obj in gc.get_objects():
        try:
            if isinstance(obj, QThread) and obj is not main and obj.isRunning():
                found.append(obj)
        except RuntimeError:  # a wrapper whose C++ object is gone
            continue
    return found


def test_closing_the_window_stops_every_thread(qtbot: Any, window: Any, known_store: Store, tmp_path: Path) -> None:
    """The window may close while the application lives on (tests, a second window): nothing it
    started may keep running, or Qt aborts when the thread object goes. The flags set just before
    are stored first."""
    import threading

    write_many(tmp_path / "bulk", files=5, per_file=20)
    window.importing.import_paths([str(tmp_path / "bulk")])
    starred = window.model.row(3).id
    window.model.toggle_starred(3)
    window.close()
    assert not any(job.is_running() for job in window.jobs.jobs)
    still = [t.objectName() for t in running_qthreads()]
    assert still == [], f"threads still running after close: {still}"
    assert not [t.name for t in threading.enumerate() if t.name == "reader-flag-writer"]
    assert known_store.get(starred).starred is True, "the star set just before closing was stored"


# --- the empty state and importing ----------------------------------------------------------------


@pytest.fixture
def empty_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(tmp_path / "empty.sqlite")
    try:
        yield store
    finally:
        store.close()


def test_empty_store_says_how_to_import(window_factory: Callable[..., Any], empty_store: Store) -> None:
    window = window_factory(empty_store)
    assert window.list_stack.currentWidget() is window.empty_label
    assert window.empty_label.isVisible()
    assert "Import files (Ctrl+O) or add a feed" in window.empty_label.text()
    assert window.pane.article is None


def test_no_search_match_says_so(qtbot: Any, window: Any) -> None:
    assert window.list_stack.currentWidget() is window.list
    with qtbot.waitSignal(window.search.search_changed, timeout=5000):
        window.searching.focus_search()
        qtbot.keyClicks(window.search, "zzzqqq")
    assert window.list_stack.currentWidget() is window.empty_label
    assert "zzzqqq" in window.empty_label.text()
    qtbot.keyClick(window.search, Qt.Key.Key_Escape)
    assert window.list_stack.currentWidget() is window.list


def drop_event(urls: list[QUrl]) -> tuple[QMimeData, QDropEvent]:
    mime = QMimeData()
    mime.setUrls(urls)
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, LEFT, Qt.KeyboardModifier.NoModifier)
    return mime, event


def test_drag_and_drop_imports(
    qtbot: Any, window_factory: Callable[..., Any], empty_store: Store, tmp_path: Path
) -> None:
    window = window_factory(empty_store)
    seed = write_seed(tmp_path / "dropped.txt", "Dropped on the window", "https://example.org/dropped")

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(seed))])
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, LEFT, Qt.KeyboardModifier.NoModifier)
    enter.ignore()
    window.dragEnterEvent(enter)
    assert enter.isAccepted(), "local files are welcome"
    web = QMimeData()
    web.setUrls([QUrl("https://example.org/page")])
    refused = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, web, LEFT, Qt.KeyboardModifier.NoModifier)
    refused.ignore()
    window.dragEnterEvent(refused)
    assert not refused.isAccepted(), "a web link is not a file to import"

    _mime, event = drop_event([QUrl.fromLocalFile(str(seed))])
    with wait_job(qtbot, window, JobKind.IMPORT):
        window.dropEvent(event)
    assert event.isAccepted()
    assert empty_store.count() == 1
    assert all_titles(window) == ["Dropped on the window"]
    assert window.list_stack.currentWidget() is window.list
    assert "1 new" in window.statusBar().currentMessage()


def test_import_problems_are_listed_in_a_dialog(qtbot: Any, window: Any, tmp_path: Path) -> None:
    good = write_seed(tmp_path / "good.txt", "A good record", "https://example.org/good")
    bad = tmp_path / "bad.txt"
    bad.write_text("this is not a header\nbody\n", encoding="utf-8")
    with wait_job(qtbot, window, JobKind.IMPORT):
        window.importing.import_paths([str(good), str(bad), str(tmp_path / "missing.txt")])
    dialog = window.importing.problems_dialog
    assert dialog is not None and dialog.isVisible()
    from PySide6.QtWidgets import QPlainTextEdit

    text = dialog.findChild(QPlainTextEdit).toPlainText()
    assert "bad.txt" in text and "missing.txt" in text
    assert "A good record" in all_titles(window), "the good input was imported all the same"
    dialog.close()


def write_many(folder: Path, files: int, per_file: int) -> int:
    folder.mkdir()
    for f in range(files):
        records = []
        for r in range(per_file):
            n = f * per_file + r
            header = repr(
                [
                    "bulk",
                    str(n),
                    "NOVALUE",
                    f"Bulk record {n}",
                    "",
                    f"https://bulk.example.com/{n}",
                    "",
                    f"2020-01-01T{n % 24:02d}:{n % 60:02d}:00Z",
                ]
            )
            records.append(f"{header}\nBody of bulk record {n}, a few words long.\nAnother line.")
        (folder / f"{f:03d}.txt").write_text("\n".join(records) + "\n", encoding="utf-8")
    return files * per_file


def test_import_does_not_block_the_gui_thread(qtbot: Any, window: Any, known_store: Store, tmp_path: Path) -> None:
    count = write_many(tmp_path / "bulk", files=30, per_file=100)
    ticks_while_importing = 0

    def tick() -> None:
        nonlocal ticks_while_importing
        if any(job.kind is JobKind.IMPORT and job.is_running() for job in window.jobs.jobs):
            ticks_while_importing += 1

    timer = QTimer()
    timer.setInterval(1)
    timer.timeout.connect(tick)
    timer.start()
    try:
        with wait_job(qtbot, window, JobKind.IMPORT, timeout=120000):
            window.importing.import_paths([str(tmp_path / "bulk")])
            assert window.progress.isVisible(), "progress shows in the status bar"
            assert window.cancel_button.isVisible()
            assert any(job.kind is JobKind.IMPORT for job in window.jobs.jobs), "the import is a background job"
    finally:
        timer.stop()
    assert ticks_while_importing > 3, "the event loop kept running while the import worked"
    assert known_store.count() == KNOWN_COUNT + count
    assert not window.progress.isVisible()
    assert not window.cancel_button.isVisible()
    assert f"{count} new" in window.statusBar().currentMessage()


def test_cancel_button_cancels_the_import(
    qtbot: Any, window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Cancel button reaches the import itself: its work function sees the cancel event and
    stops (an import that never looked at it would run on to its end: here, never)."""
    import threading

    from reader import importer

    started = threading.Event()
    saw_cancel = threading.Event()

    def endless_import(db_path: object, inputs: list[str], *, progress: Any, cancel: threading.Event) -> Any:
        progress(0, len(inputs))
        started.set()
        if cancel.wait(30):  # as an import does between files: it stops once cancelled
            saw_cancel.set()
        return importer.ImportReport(files=1, cancelled=cancel.is_set())

    monkeypatch.setattr(importer, "import_paths", endless_import)
    with wait_job(qtbot, window, JobKind.IMPORT, timeout=20000):
        window.importing.import_paths([str(tmp_path / "a"), str(tmp_path / "b")])
        assert window.cancel_button.isVisible()
        qtbot.waitUntil(started.is_set)
        qtbot.mouseClick(window.cancel_button, LEFT)
    assert saw_cancel.is_set(), "the work function saw the cancel"
    assert "(cancelled)" in window.statusBar().currentMessage()
    assert not window.progress.isVisible()
    assert not window.cancel_button.isVisible()


def test_cancel_stops_a_real_import_part_way(qtbot: Any, window: Any, known_store: Store, tmp_path: Path) -> None:
    """The importer itself stops: fewer articles are stored than the input holds. Another
    connection holds the store's write lock until Cancel is clicked, so the import cannot have
    got through its input first (it stores batches of 2,048 and parses at most a few ahead)."""
    import sqlite3

    count = write_many(tmp_path / "bulk", files=120, per_file=100)
    other = sqlite3.connect(known_store.path, isolation_level=None, timeout=1)
    other.execute("BEGIN IMMEDIATE")
    try:
        with wait_job(qtbot, window, JobKind.IMPORT, timeout=120000):
            window.importing.import_paths([str(tmp_path / "bulk")])
            qtbot.waitUntil(lambda: window.progress.value() > 0)  # it is parsing the files
            qtbot.mouseClick(window.cancel_button, LEFT)
            other.execute("COMMIT")
    finally:
        if other.in_transaction:
            other.execute("COMMIT")
        other.close()
    stored = known_store.count() - KNOWN_COUNT
    assert 0 < stored < count, f"{stored} of {count} stored"
    assert "(cancelled)" in window.statusBar().currentMessage()
    assert f"{stored} new" in window.statusBar().currentMessage()


def test_a_busy_store_while_marking_read_is_a_status_message_not_a_traceback(
    qtbot: Any, window: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reader.store import Store, StoreBusyError

    def busy(self: Store, ids: object, read: bool = True) -> int:
        raise StoreBusyError("store.sqlite: the store is busy in another program (database is locked)")

    flags_stored(qtbot, window)
    monkeypatch.setattr(Store, "set_read", busy)
    window.list.setFocus()
    qtbot.keyClick(window.list, Qt.Key.Key_J)  # selecting marks read: the write fails (on the writer's thread)
    assert window.list.current_row() == 1
    qtbot.waitUntil(lambda: "busy" in window.statusBar().currentMessage())
    assert window.model.is_read(1) is False, "the list does not claim a state the store refused"
    assert not window.flags.any_pending()


def test_a_result_still_on_its_way_when_the_window_closes_is_not_delivered(qtbot: Any, window: Any) -> None:
    import threading

    delivered: list[object] = []
    started = threading.Event()

    def work(progress: Any, cancel: threading.Event) -> str:
        started.set()
        cancel.wait(30)  # the window's close cancels it
        return "late"

    window.jobs.start(JobKind.COUNTS, work, delivered.append, quiet=True)
    assert started.wait(10)
    window.close()  # cancels and waits for the thread: its result is queued for the GUI thread now
    QApplication.sendPostedEvents()  # deliver whatever is queued
    assert delivered == [], "a result reached a closed window (its widgets may be gone)"
