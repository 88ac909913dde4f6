"""The window on a shared PostgreSQL store (tests/postgres.py's real server): the list, moving,
search, read and star state (the person's own), import, feeds added and refreshed from a loopback
server, all through the window's own background jobs, which open the store from its URL and
person; and what a shared store does not have yet, refused in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import KNOWN_COUNT, OFFSCREEN_SIZE_HINTS, TOPICS, all_titles, known_articles, wait_job, write_seed
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from reader.records import Article, Query
from reader.store import StoreAddress, StoreProtocol, open_store
from reader.ui.jobs import JobKind

pytestmark = OFFSCREEN_SIZE_HINTS


@pytest.fixture
def shared(postgres_url: str) -> Iterator[Callable[..., StoreProtocol]]:
    """open(person=None): a store on the test's database (the known articles in it), closed at the end."""
    opened: list[StoreProtocol] = []

    def open_(person: str | None = None) -> StoreProtocol:
        store = open_store(postgres_url, person=person)
        opened.append(store)
        return store

    open_().add_articles(known_articles())
    yield open_
    for store in opened:
        store.close()


def press(qtbot: Any, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    focused = QApplication.focusWidget()
    assert focused is not None
    qtbot.keyClick(focused, key, modifier)


def flags_stored(qtbot: Any, window: Any) -> None:
    qtbot.waitUntil(lambda: not window.flags.any_pending(), timeout=15000)


def title_of(window: Any, row: int) -> str | None:
    """Row ``row``'s title, None while its page or block is on its way from the reader's thread."""
    found = window.model.row(row)
    return None if found is None else found.title


def test_the_window_lists_moves_searches_and_keeps_flags_per_person(
    qtbot: Any, window_factory: Any, shared: Callable[..., StoreProtocol], postgres_url: str
) -> None:
    ann = shared("ann")
    window = window_factory(ann)
    assert window.db == StoreAddress(postgres_url, "ann"), "the jobs reopen the database, as ann"
    assert window.model.rowCount() > 0
    assert window.model.row(0).title == known_articles()[0].title
    # The counts are counted by a job on a connection of its own.
    qtbot.waitUntil(lambda: f"{KNOWN_COUNT} articles · {KNOWN_COUNT} unread" in window.counts_label.text())
    flags_stored(qtbot, window)
    second = window.model.row(1).id
    press(qtbot, Qt.Key.Key_J)
    assert window.list.current_row() == 1
    qtbot.waitUntil(lambda: window.pane.article.id == second)  # (read on the reader's thread)
    press(qtbot, Qt.Key.Key_S)
    flags_stored(qtbot, window)
    bob = shared("bob")
    got = ann.get(second)
    assert got is not None and (got.read, got.starred) == (True, True), "stored by the flag writer, as ann"
    theirs = bob.get(second)
    assert theirs is not None and (theirs.read, theirs.starred) == (False, False), "bob's state is his own"
    qtbot.waitUntil(lambda: f"{KNOWN_COUNT - 1} unread · 1 starred" in window.counts_label.text(), timeout=15000)
    # Shift+A marks ann's list read (a job on its own connection), nobody else's.
    with wait_job(qtbot, window, JobKind.MARK_ALL_READ):
        press(qtbot, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    assert (ann.count(Query(view="unread")), bob.count(Query(view="unread"))) == (0, KNOWN_COUNT)
    # Search as you type, on the server's index, and its count from a job.
    press(qtbot, Qt.Key.Key_Slash)
    with qtbot.waitSignal(window.search.search_changed, timeout=5000):
        qtbot.keyClicks(window.search, TOPICS[0][:4])
    qtbot.waitUntil(lambda: window.model.listed)  # (the results arrive from the reader's thread)
    titles = [window.model.row(r).title for r in range(window.model.rowCount())]
    assert len(titles) == KNOWN_COUNT // len(TOPICS) and all(TOPICS[0] in t for t in titles)
    qtbot.waitUntil(lambda: f"{KNOWN_COUNT // len(TOPICS)} results" in window.counts_label.text(), timeout=15000)


def untouched_file_named_like(url: str) -> Callable[[], bool]:
    """Whether no job made (or wrote) the SQLite file ``Store.open(url)`` would have made, since now."""
    stray = Path.cwd() / Path(url)
    before = stray.stat().st_mtime_ns if stray.exists() else None
    return lambda: (stray.stat().st_mtime_ns if stray.exists() else None) == before


def test_import_and_feeds_added_and_refreshed_land_in_the_database(
    qtbot: Any,
    window_factory: Any,
    shared: Callable[..., StoreProtocol],
    feed_server: Any,
    tmp_path: Path,
    postgres_url: str,
) -> None:
    from test_ui_feeds import rss, sidebar_items

    untouched = untouched_file_named_like(postgres_url)

    from reader.ui.sidebar import COUNT_ROLE

    store = shared()
    window = window_factory(store)
    seed = write_seed(tmp_path / "seed.txt", "Gazette story from a file", "https://gazette.example/1")
    with wait_job(qtbot, window, JobKind.IMPORT):
        window.importing.import_paths([str(seed)])
    assert "1 new" in window.statusBar().currentMessage()
    assert "Gazette story from a file" in all_titles(window)
    assert store.count() == KNOWN_COUNT + 1
    assert untouched(), "no file named like the URL"

    url = feed_server.add("/gazette.rss", rss(("a", "First harbour story")).encode())
    with wait_job(qtbot, window, JobKind.IMPORT):
        window.importing.import_paths([url], what="Adding feed")
    assert "First harbour story" in all_titles(window)
    feed_server.add("/gazette.rss", rss(("a", "First harbour story"), ("b", "Second harbour story")).encode())
    window.list.setFocus()
    with wait_job(qtbot, window, JobKind.REFRESH):
        press(qtbot, Qt.Key.Key_R)
    assert "Feeds refreshed: 1 new" in window.statusBar().currentMessage()
    assert "Second harbour story" in all_titles(window)
    assert [(f.url, f.total) for f in store.feeds()] == [(url, 2)]

    def gazette_unread() -> int | None:
        item = sidebar_items(window).get("Harbour Gazette")
        return None if item is None else item.data(COUNT_ROLE)

    qtbot.waitUntil(lambda: gazette_unread() == 2, timeout=15000)  # (its unread, counted by a job)


def test_rules_and_cleanup_run_in_the_window_on_a_shared_store(
    qtbot: Any, window_factory: Any, shared: Callable[..., StoreProtocol], postgres_url: str
) -> None:
    """The daily features the shared store has (rules, cleanup) run from the window through its
    jobs too, on the database: not refused, not on a file named like the URL."""
    from reader.ui.actions import Action

    untouched = untouched_file_named_like(postgres_url)
    store = shared()
    window = window_factory(store)
    window.action_registry[Action.RULES].trigger()
    dialog = window.rules.dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: not window.jobs.running(JobKind.RULES), timeout=15000)
    dialog.close()
    window.retention.set_days(1)
    with wait_job(qtbot, window, JobKind.CLEANUP):
        window.refreshing.refresh_feeds()  # (a refresh is followed by the cleanup)
    assert store.count() == KNOWN_COUNT, "unread articles stay"
    assert untouched()


def test_reader_db_url_opens_the_window(postgres_url: str, shared: Callable[..., StoreProtocol]) -> None:
    """``reader --db URL`` (and ``READER_DB=URL``) opens the window: its first paint comes."""
    for args, env in (
        (["--db", postgres_url], {}),
        (["--db", postgres_url, "--user", "ann"], {}),
        ([], {"READER_DB": postgres_url}),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "reader", "-platform", "offscreen", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "READER_STARTUP_PROBE": "visible", **env},
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("visible "), (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr


# --- what other processes change, heard through LISTEN/NOTIFY -----------------------------------------


def listening(qtbot: Any, window: Any) -> Any:
    live = window.live
    assert live is not None, "a window on a shared store listens"
    qtbot.waitUntil(live.listener.listening.is_set, timeout=15000)
    qtbot.waitUntil(lambda: live.caught_up, timeout=15000)  # (the list read once more after the LISTEN)
    qtbot.waitUntil(lambda: window.model.listed, timeout=15000)  # (its first page arrived)
    return live


def test_what_was_stored_before_the_window_listened_is_listed_once_it_listens(
    qtbot: Any,
    window_factory: Any,
    shared: Callable[..., StoreProtocol],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A commit between the window's first page and its LISTEN is not heard: the window lists
    again once it listens (an article stored then, its notification lost, shows up)."""
    from reader.store.changes import ChangeListener

    held: list[ChangeListener] = []
    start = ChangeListener.start

    def hold(listener: ChangeListener) -> None:  # (started below, once the window has read its list)
        held.append(listener)

    monkeypatch.setattr(ChangeListener, "start", hold)
    window = window_factory(shared("ann"))
    writer = shared("ann")
    monkeypatch.setattr(writer, "_notify", lambda conn, kind: None)
    writer.add_articles([Article(source="wire", title="Stored before the LISTEN", body="x")])
    late = writer.page(Query(search='"stored before the listen"')).rows[0].id
    qtbot.wait(0)  # (anything queued for the window runs: nothing reads the list again)
    assert window.model.row_of(late) is None
    (listener,) = held
    start(listener)
    live = window.live
    assert live is not None
    qtbot.waitUntil(lambda: live.caught_up, timeout=15000)
    qtbot.waitUntil(lambda: window.model.row_of(late) is not None, timeout=10000)


def test_an_import_by_another_process_shows_up_in_an_open_window_keeping_the_place(
    qtbot: Any, window_factory: Any, shared: Callable[..., StoreProtocol], postgres_url: str, tmp_path: Path
) -> None:
    from test_cli import reader

    window = window_factory(shared("ann"))
    live = listening(qtbot, window)
    applied: list[None] = []
    live.applied.connect(lambda: applied.append(None))
    window.list.select_row(5)
    current = window.model.article_id(window.list.current_row())
    seed = write_seed(tmp_path / "seed.txt", "Breaking story from the command line", "https://gazette.example/cli")
    done = reader("--db", postgres_url, "import", str(seed))
    assert done.returncode == 0, done.stderr
    qtbot.waitUntil(lambda: title_of(window, 0) == "Breaking story from the command line", timeout=10000)
    assert window.model.article_id(window.list.current_row()) == current, "the place is kept"
    qtbot.waitUntil(lambda: f"{KNOWN_COUNT + 1} articles" in window.counts_label.text(), timeout=10000)
    assert len(applied) == 1, "one import, one reload"


def test_another_persons_flags_are_not_this_windows_business_but_its_own_are(
    qtbot: Any, window_factory: Any, shared: Callable[..., StoreProtocol], postgres_url: str
) -> None:
    from test_cli import reader

    window = window_factory(shared("ann"))
    live = listening(qtbot, window)
    heard: list[Any] = []
    applied: list[None] = []
    live.heard.connect(heard.append)
    live.applied.connect(lambda: applied.append(None))
    qtbot.waitUntil(lambda: f"{KNOWN_COUNT} unread" in window.counts_label.text(), timeout=15000)
    first, second = window.model.row(0).id, window.model.row(1).id
    assert reader("--db", postgres_url, "--user", "bob", "mark", str(first), "--read").returncode == 0
    qtbot.waitUntil(lambda: any(c.person == "bob" for c in heard), timeout=10000)
    assert applied == [] and not live._timer.isActive(), "bob's read state changes nothing ann is shown"
    assert reader("--db", postgres_url, "--user", "ann", "mark", str(second), "--read").returncode == 0
    qtbot.waitUntil(lambda: window.model.listed and window.model.is_read(1), timeout=10000)
    assert not window.model.is_read(0)
    qtbot.waitUntil(lambda: f"{KNOWN_COUNT - 1} unread" in window.counts_label.text(), timeout=10000)
    assert len(applied) == 1


def test_a_lost_listening_connection_is_one_line_and_comes_back(
    qtbot: Any, window_factory: Any, shared: Callable[..., StoreProtocol], postgres_url: str, tmp_path: Path
) -> None:
    import psycopg
    from test_cli import reader

    window = window_factory(shared())
    live = listening(qtbot, window)
    said: list[str] = []
    window.statusBar().messageChanged.connect(said.append)
    applied: list[None] = []
    live.applied.connect(lambda: applied.append(None))
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        (ended,) = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'"
        ).fetchone()  # type: ignore[misc]
    assert ended == 1
    qtbot.waitUntil(lambda: "Reconnected to the database server." in said, timeout=15000)
    lost = [line for line in said if line.endswith("; reconnecting…")]
    assert len(lost) == 1 and "\n" not in lost[0] and lost[0].startswith("postgresql://")
    qtbot.waitUntil(lambda: len(applied) == 1, timeout=10000)  # (listed again: a change may have gone unheard)
    seed = write_seed(tmp_path / "seed.txt", "Heard after the reconnection", "https://gazette.example/again")
    assert reader("--db", postgres_url, "import", str(seed)).returncode == 0
    qtbot.waitUntil(lambda: title_of(window, 0) == "Heard after the reconnection", timeout=10000)
    assert len(applied) == 2


def test_a_window_on_a_server_that_is_not_there_is_one_line_and_no_window() -> None:
    from postgres import free_port

    url = f"postgresql://nobody@127.0.0.1:{free_port()}/reader"
    done = subprocess.run(
        [sys.executable, "-m", "reader", "-platform", "offscreen", "--db", url],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "READER_STARTUP_PROBE": "visible"},
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"reader: {url}: the database server is not running or not reachable (")
    assert done.stderr.count("\n") == 1
