"""Sync in the window, against the real FreshRSS of the ``freshrss`` fixture (no mocks): File >
Accounts adds and removes accounts, ``r`` syncs them in the background, the sidebar shows each
account's folders and feeds, flags set in the window reach the server, and a server that does not
answer is one line in the status bar, never a modal box.

What the tests do on the server goes through tests/freshrss.py's own client, never reader.sync."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import OFFSCREEN_SIZE_HINTS, flags_stored, wait_job
from freshrss import FreshRSS, RefusingProxy, free_port
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from reader.records import Query
from reader.store import Store
from reader.ui.accounts import AccountsDialog
from reader.ui.jobs import JobKind
from reader.ui.sidebar import COUNT_ROLE, HEADER_ROLE, LEVEL_ROLE, SidebarKey

pytestmark = OFFSCREEN_SIZE_HINTS

SYNC_MS = 120_000


# --- helpers ---------------------------------------------------------------------------------------


def folder_feed(freshrss: FreshRSS, count: int) -> tuple[str, str, set[str], str]:
    """A new feed of ``count`` items on the server, filed in a new folder: (its title, stream id,
    item ids, the folder)."""
    name = f"f{uuid.uuid4().hex[:10]}"
    url = freshrss.write_feed(name, [f"{name} item {i}" for i in range(count)])
    api = freshrss.api()
    stream = api.quickadd(url)
    folder = f"Folder{uuid.uuid4().hex[:6]}"
    form = [("T", api.token()), ("ac", "edit"), ("s", stream), ("a", f"user/-/label/{folder}")]
    assert api.call("subscription/edit", form=form) == b"OK"
    ids = api.feed_ids(stream)
    assert len(ids) == count
    return name, stream, ids, folder


def open_accounts(qtbot: Any, window: Any) -> AccountsDialog:
    from reader.ui.actions import Action

    window.action_registry[Action.ACCOUNTS].trigger()
    dialog = window.accounts.dialog
    assert dialog is not None
    qtbot.waitExposed(dialog)
    return dialog


def add_through_dialog(qtbot: Any, dialog: AccountsDialog, url: str, user: str, password: str) -> None:
    dialog.url.setText(url)
    dialog.user.setText(user)
    dialog.password.setText(password)
    with qtbot.waitSignal(
        dialog._work.jobs.job_finished, timeout=SYNC_MS, check_params_cb=lambda k: k is JobKind.ADD_ACCOUNT
    ):
        QTest.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)


def entries(window: Any) -> list[tuple[str, Any, Any, bool]]:
    """The sidebar's rows: (text, count, level, is a header)."""
    sidebar = window.sidebar
    return [
        (
            sidebar.item(i).text(),
            sidebar.item(i).data(COUNT_ROLE),
            sidebar.item(i).data(LEVEL_ROLE),
            bool(sidebar.item(i).data(HEADER_ROLE)),
        )
        for i in range(sidebar.count())
    ]


def row_of(window: Any, text: str) -> int:
    sidebar = window.sidebar
    return next(i for i in range(sidebar.count()) if sidebar.item(i).text() == text)


def click_entry(window: Any, text: str) -> None:
    sidebar = window.sidebar
    item = sidebar.item(row_of(window, text))
    sidebar.scrollToItem(item)
    QTest.mouseClick(sidebar.viewport(), Qt.MouseButton.LeftButton, pos=sidebar.visualItemRect(item).center())


def activate(qtbot: Any, window: Any) -> None:
    """The window active again, the list focused (after the Accounts dialog had the keys)."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.list.setFocus()


def sync_in_window(qtbot: Any, window: Any) -> None:
    """``r``, and wait until every account's sync has ended."""
    activate(qtbot, window)
    with qtbot.waitSignal(window.syncing.synced, timeout=SYNC_MS):
        QTest.keyClick(window.list, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: window.syncing.current is None, timeout=SYNC_MS)
    qtbot.waitUntil(lambda: not window.jobs.running(JobKind.REFRESH), timeout=SYNC_MS)
    qtbot.waitUntil(lambda: not window.jobs.running(JobKind.COUNTS), timeout=SYNC_MS)


def remote_id_of(store: Store, article_id: int) -> str:
    row = store._conn.execute("SELECT remote_id FROM articles WHERE id = ?", (article_id,)).fetchone()
    return str(row[0])


def no_modal_box() -> bool:
    return QApplication.activeModalWidget() is None and not any(
        isinstance(w, QMessageBox) and w.isVisible() for w in QApplication.topLevelWidgets()
    )


@pytest.fixture
def window_and_store(window_factory: Any, store: Store) -> tuple[Any, Store]:
    return window_factory(store), store


# --- adding, syncing, the sidebar ----------------------------------------------------------------------


def test_an_account_added_in_the_dialog_syncs_and_its_folder_and_feed_fill_the_sidebar(
    qtbot: Any, freshrss: FreshRSS, window_and_store: tuple[Any, Store]
) -> None:
    window, store = window_and_store
    title, _stream, ids, folder = folder_feed(freshrss, 3)
    dialog = open_accounts(qtbot, window)
    with qtbot.waitSignal(window.syncing.synced, timeout=SYNC_MS):  # adding it syncs it
        add_through_dialog(qtbot, dialog, freshrss.url, freshrss.user, freshrss.password)
        assert "feed" in dialog.status.text() and "folder" in dialog.status.text(), dialog.status.text()
    assert [a.user for a in dialog.accounts] == [freshrss.user]
    assert dialog.password.text() == "", "the password is not kept, not even in the field"
    name = dialog.accounts[0].name
    assert dialog.table.item(0, 0).text() == name and dialog.table.item(0, 2).text() not in ("never", "syncing…")
    assert no_modal_box()

    # (A count taken while the sync ran may land first: the one after it has the whole feed.)
    qtbot.waitUntil(lambda: (folder, 3, None, False) in entries(window), timeout=SYNC_MS)
    rows = entries(window)
    header = rows.index((name, None, None, True))
    assert header > [text for text, *_ in rows].index("Starred"), "the account's own section"
    at = row_of(window, folder)
    assert at > header and rows[at] == (folder, 3, None, False), "the folder with its unread count"
    assert rows[at + 1] == (title, 3, 1, False), "its feed one level in, under it"
    assert "Feeds" not in [text for text, _, _, is_header in rows if is_header], "not among the local feeds"

    click_entry(window, folder)
    account = store.get_account(name)
    assert account is not None
    assert window.model.query == Query(account_id=account.id, folder=folder)
    assert window.model.rowCount() == 3
    assert {remote_id_of(store, window.model.article_id(r)) for r in range(3)} == ids
    assert window.sidebar.current_key == SidebarKey(account_id=account.id, folder=folder)

    # A count refresh never moves the selection off the folder.
    with wait_job(qtbot, window, JobKind.COUNTS):
        window.counting.refresh()
    assert window.sidebar.currentItem().text() == folder


def test_marks_made_in_the_window_reach_the_server_at_the_next_sync(
    qtbot: Any, freshrss: FreshRSS, window_and_store: tuple[Any, Store]
) -> None:
    window, store = window_and_store
    title, _stream, ids, _folder = folder_feed(freshrss, 4)
    dialog = open_accounts(qtbot, window)
    with qtbot.waitSignal(window.syncing.synced, timeout=SYNC_MS):
        add_through_dialog(qtbot, dialog, freshrss.url, freshrss.user, freshrss.password)
    dialog.close()
    qtbot.waitUntil(lambda: title in [text for text, *_ in entries(window)], timeout=SYNC_MS)
    click_entry(window, title)
    qtbot.waitUntil(lambda: window.model.rowCount() == 4)
    activate(qtbot, window)
    api = freshrss.api()

    # Read two by opening them (j), star one (s).
    window.list.select_row(0)
    QTest.keyClick(window.list, Qt.Key.Key_J)
    QTest.keyClick(window.list, Qt.Key.Key_K)
    first, second = (remote_id_of(store, window.model.article_id(r)) for r in (0, 1))
    assert window.model.is_read(0) and window.model.is_read(1)
    QTest.keyClick(window.list, Qt.Key.Key_S)
    flags_stored(qtbot, window)
    assert {first, second} <= api.unread(), "not sent before the sync"
    sync_in_window(qtbot, window)
    assert not ({first, second} & api.unread()) and api.starred() & ids == {first}

    # Unread and unstar it again, in the window.
    window.list.select_row(0)
    QTest.keyClick(window.list, Qt.Key.Key_M)
    QTest.keyClick(window.list, Qt.Key.Key_S)
    flags_stored(qtbot, window)
    sync_in_window(qtbot, window)
    assert first in api.unread() and second not in api.unread() and not (api.starred() & ids)

    # Shift+A on the feed: every one of its items read on the server.
    QTest.keyClick(window.list, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: not store.count(Query(view="unread", feed_id=window.model.query.feed_id)), timeout=30000)
    sync_in_window(qtbot, window)
    assert not (ids & api.unread())
    assert row_of(window, title) >= 0 and window.sidebar.item(row_of(window, title)).data(COUNT_ROLE) is None


def test_the_server_changes_state_and_r_brings_it_into_the_window(
    qtbot: Any, freshrss: FreshRSS, window_and_store: tuple[Any, Store]
) -> None:
    window, store = window_and_store
    title, _stream, ids, folder = folder_feed(freshrss, 2)
    dialog = open_accounts(qtbot, window)
    with qtbot.waitSignal(window.syncing.synced, timeout=SYNC_MS):
        add_through_dialog(qtbot, dialog, freshrss.url, freshrss.user, freshrss.password)
    qtbot.waitUntil(lambda: (title, 2, 1, False) in entries(window), timeout=SYNC_MS)
    freshrss.api().edit_tag(sorted(ids)[:1], add="user/-/state/com.google/read")
    sync_in_window(qtbot, window)
    name = store.accounts()[0].name
    # The sync's own line; not "No feeds to refresh" (the account's server fetches its feeds).
    assert window.statusBar().currentMessage() == f"{name}: 0 new articles, 1 flag taken from the server"
    qtbot.waitUntil(lambda: window.sidebar.item(row_of(window, title)).data(COUNT_ROLE) == 1, timeout=SYNC_MS)
    assert window.sidebar.item(row_of(window, folder)).data(COUNT_ROLE) == 1


def test_changes_the_server_refuses_are_said_in_the_status_bar(
    qtbot: Any, freshrss: FreshRSS, window_and_store: tuple[Any, Store], monkeypatch: Any
) -> None:
    from reader import http
    from reader.http import Client

    window, store = window_and_store
    title, _stream, ids, _folder = folder_feed(freshrss, 2)
    dialog = open_accounts(qtbot, window)
    with qtbot.waitSignal(window.syncing.synced, timeout=SYNC_MS):
        add_through_dialog(qtbot, dialog, freshrss.url, freshrss.user, freshrss.password)
    dialog.close()
    qtbot.waitUntil(lambda: title in [text for text, *_ in entries(window)], timeout=SYNC_MS)
    account = store.accounts()[0]
    for row in store.iter_rows(Query(account_id=account.id)):
        if remote_id_of(store, row.id) in ids:
            store.set_starred(row.id)
    proxy = RefusingProxy(set(sorted(ids)[:1]))
    try:
        monkeypatch.setattr(http, "_default", Client(proxies={"http": proxy.url}))
        sync_in_window(qtbot, window)
    finally:
        proxy.close()
    line = window.statusBar().currentMessage()
    assert line.startswith(f"{account.name}: 1 change refused by the server (first: HTTP 400 Bad Request), "), line
    assert "1 change sent" in line and no_modal_box()


# --- failures: one line, never a modal box --------------------------------------------------------------


def test_a_wrong_password_is_one_line_in_the_dialog_and_saves_nothing(
    qtbot: Any, freshrss: FreshRSS, window_and_store: tuple[Any, Store]
) -> None:
    window, store = window_and_store
    dialog = open_accounts(qtbot, window)
    add_through_dialog(qtbot, dialog, freshrss.url, freshrss.user, "not-the-password")
    line = dialog.status.text()
    assert line.startswith(f"{freshrss.user}@127.0.0.1") and "\n" not in line and "not-the-password" not in line
    assert "Traceback" not in line
    assert store.accounts() == [] and dialog.table.rowCount() == 0
    assert dialog.url.text() == freshrss.url, "the fields stay, to be corrected"
    assert no_modal_box()


def test_a_plain_http_server_elsewhere_is_refused_before_any_login(
    qtbot: Any, window_and_store: tuple[Any, Store]
) -> None:
    window, store = window_and_store
    dialog = open_accounts(qtbot, window)
    add_through_dialog(qtbot, dialog, "http://rss.example.org/api/greader.php", "alice", "secret")
    assert dialog.status.text().startswith("http://rss.example.org/api/greader.php: refused, plain http")
    assert store.accounts() == []


def test_a_stopped_server_is_an_error_in_the_status_bar_and_no_modal_box(
    qtbot: Any, tmp_path: Path, window_and_store: tuple[Any, Store]
) -> None:
    window, store = window_and_store
    own = FreshRSS.start(tmp_path / "own-server")  # stopped by this test: not the shared one
    try:
        dialog = open_accounts(qtbot, window)
        with qtbot.waitSignal(window.syncing.synced, timeout=SYNC_MS):
            add_through_dialog(qtbot, dialog, own.url, own.user, own.password)
        name = dialog.accounts[0].name
        dialog.close()
    finally:
        own.stop()
    sync_in_window(qtbot, window)
    line = window.statusBar().currentMessage()
    assert line.startswith(f"{name}: ") and "\n" not in line, line
    assert no_modal_box()
    account = store.get_account(name)
    assert account is not None and account.last_error == line
    qtbot.waitUntil(lambda: any(text == f"⚠ {name}" for text, *_ in entries(window)), timeout=SYNC_MS)
    dialog = open_accounts(qtbot, window)
    assert dialog.table.item(0, 3).text() == line, "the dialog shows the last error"


def test_a_server_that_never_was_is_one_line_too(qtbot: Any, window_and_store: tuple[Any, Store]) -> None:
    window, store = window_and_store
    dialog = open_accounts(qtbot, window)
    add_through_dialog(qtbot, dialog, f"http://127.0.0.1:{free_port()}/api/greader.php", "bob", "pw")
    assert dialog.status.text().startswith("bob@127.0.0.1:") and store.accounts() == []
    assert no_modal_box()


# --- removing ---------------------------------------------------------------------------------------


def test_removing_an_account_asks_first_says_what_went_and_empties_its_section(
    qtbot: Any, freshrss: FreshRSS, window_and_store: tuple[Any, Store], monkeypatch: Any
) -> None:
    window, store = window_and_store
    _title, _stream, _ids, folder = folder_feed(freshrss, 2)
    dialog = open_accounts(qtbot, window)
    with qtbot.waitSignal(window.syncing.synced, timeout=SYNC_MS):
        add_through_dialog(qtbot, dialog, freshrss.url, freshrss.user, freshrss.password)
    qtbot.waitUntil(lambda: folder in [text for text, *_ in entries(window)], timeout=SYNC_MS)
    name = dialog.accounts[0].name
    feeds = len(store.remote_feeds(dialog.accounts[0].id))
    articles = store.count(Query(account_id=dialog.accounts[0].id))
    # (The server is shared by the whole run: other tests may have starred some of its items.)
    starred = store.count(Query(account_id=dialog.accounts[0].id, view="starred"))
    asked: list[str] = []

    def answer(cls: Any, parent: Any, account: str) -> bool:
        asked.append(account)
        return len(asked) > 1  # no the first time, yes the second

    monkeypatch.setattr(AccountsDialog, "ask_remove", classmethod(answer))
    dialog.table.selectRow(0)
    QTest.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    assert asked == [name] and store.get_account(name) is not None, "no: nothing removed"
    with wait_job(qtbot, window, JobKind.REMOVE_ACCOUNT):
        QTest.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    removed = articles - starred
    kept = f" ({starred} starred kept)" if starred else ""
    assert dialog.status.text() == (
        f"Removed account {name}: {feeds} feed{'s' if feeds != 1 else ''} and "
        f"{removed} article{'s' if removed != 1 else ''}{kept}"
    )
    assert store.accounts() == [] and dialog.table.rowCount() == 0
    qtbot.waitUntil(lambda: folder not in [text for text, *_ in entries(window)], timeout=SYNC_MS)
    assert name not in [text for text, *_ in entries(window)]
    from reader.sync import credentials

    assert credentials.load_token(name) is None


# --- the parts without a server ---------------------------------------------------------------------


def test_the_progress_bar_names_the_account_and_groups_digits(qtbot: Any) -> None:
    from PySide6.QtWidgets import QProgressBar, QPushButton

    from reader.ui.jobs import Job, StatusProgress

    bar, cancel = QProgressBar(), QPushButton()
    bar.setTextVisible(True)
    for widget in (bar, cancel):
        qtbot.addWidget(widget)
    said: list[str] = []
    progress = StatusProgress(bar, cancel, said.append)
    refresh = Job(JobKind.REFRESH, lambda p, c: None, lambda r: None, "Refreshing feeds")
    sync = Job(JobKind.SYNC, lambda p, c: None, lambda r: None, "Syncing alice")
    progress.show(refresh)
    progress.show(sync)
    progress.on_progress(sync, 250, 10_000)
    assert bar.text() == "Syncing alice… 250/10,000"
    progress.on_progress(refresh, 3, 7)  # the other job, not shown: its numbers are not this one's
    assert bar.text() == "Syncing alice… 250/10,000"
    assert not cancel.isHidden(), "a sync can be cancelled"
    progress.hide(sync)
    assert not bar.isHidden() and bar.format() == "Refreshing feeds…", "the refresh still runs"
    progress.on_progress(refresh, 3, 7)
    assert bar.text() == "Refreshing feeds… 3/7"
    progress.hide(refresh)
    assert bar.isHidden()


def test_the_sidebar_lists_each_accounts_folders_and_feeds_and_a_folder_is_a_view(qtbot: Any) -> None:
    from reader.records import Account, Feed
    from reader.ui.preferences import view_key, view_name
    from reader.ui.sidebar import Sidebar

    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    alice = Account(id=1, name="alice", url="https://rss.example.org/api/greader.php", user="alice")
    bob = Account(id=2, name="bob", url="https://b.example/api", user="bob", last_error="bob: timed out")
    feeds = [
        Feed(id=1, url="https://local.example/feed", title="Local", unread=1),
        Feed(id=2, url="greader:1:a", title="Alpha", unread=2, account_id=1, folder="Tech"),
        Feed(id=3, url="greader:1:b", title="Beta", unread=0, account_id=1, folder="Tech"),
        Feed(id=4, url="greader:1:c", title="Gamma", unread=5, account_id=1),
        Feed(id=5, url="greader:1:d", title="Delta", unread=1, account_id=1, folder="news"),
        Feed(id=6, url="greader:2:e", title="Epsilon", unread=4, account_id=2, folder="Tech"),
    ]
    sidebar.populate((13, 13, 0), [], feeds, [alice, bob])
    rows = [
        (sidebar.item(i).text(), sidebar.item(i).data(COUNT_ROLE), sidebar.item(i).data(LEVEL_ROLE))
        for i in range(3, sidebar.count())
    ]
    assert rows == [
        ("Feeds", None, None),
        ("Local", 1, None),
        ("alice", None, None),
        ("news", 1, None),
        ("Delta", 1, 1),
        ("Tech", 2, None),
        ("Alpha", 2, 1),
        ("Beta", None, 1),
        ("Gamma", 5, None),
        ("⚠ bob", None, None),
        ("Tech", 4, None),
        ("Epsilon", 4, 1),
    ]
    indented = sidebar.item(row_of_text(sidebar, "Alpha"))
    flat = sidebar.item(row_of_text(sidebar, "Gamma"))
    assert sidebar.entry_layout(indented)[0].left() > sidebar.entry_layout(flat)[0].left()
    bobs_tech = sidebar.item(sidebar.count() - 2)
    with qtbot.waitSignal(sidebar.key_changed) as picked:
        sidebar.setCurrentItem(bobs_tech)
    key = picked.args[0]
    assert key == SidebarKey(account_id=2, folder="Tech")
    assert view_key(view_name(key)) == key and view_name(key) == "folder:2:Tech"
    assert view_key("folder:2:a:b") == SidebarKey(account_id=2, folder="a:b")
    with qtbot.assertNotEmitted(sidebar.key_changed):
        sidebar.populate((13, 12, 0), [], feeds, [alice, bob])  # a count refresh
    assert sidebar.currentItem().text() == "Tech" and sidebar.currentRow() == sidebar.count() - 2


def row_of_text(sidebar: Any, text: str) -> int:
    return next(i for i in range(sidebar.count()) if sidebar.item(i).text() == text)


def test_accounts_sync_when_the_window_starts(
    qtbot: Any, freshrss: FreshRSS, window_factory: Any, store_path: Path
) -> None:
    from reader.sync.accounts import add_account

    _title, _stream, _ids, folder = folder_feed(freshrss, 2)
    added = add_account(store_path, freshrss.url, freshrss.user, freshrss.password)
    with Store.open(store_path) as store:
        window = window_factory(store)
        qtbot.waitUntil(lambda: folder in [text for text, *_ in entries(window)], timeout=SYNC_MS)
        account = store.get_account(added.account.name)
        assert account is not None and account.last_sync is not None
        assert account.last_sync > datetime(2020, 1, 1, tzinfo=UTC)
        qtbot.waitUntil(lambda: window.syncing.current is None, timeout=SYNC_MS)


def test_the_accounts_table_passes_the_model_tester(qtbot: Any, window: Any) -> None:
    from PySide6.QtTest import QAbstractItemModelTester

    dialog = open_accounts(qtbot, window)
    tester = QAbstractItemModelTester(dialog.table.model(), QAbstractItemModelTester.FailureReportingMode.Fatal)
    try:
        dialog.reload()
        assert dialog.table.rowCount() == 0 and not dialog.remove_button.isEnabled()
    finally:
        del tester
    assert isinstance(dialog, QDialog) and not dialog.isModal()


def test_an_empty_field_is_said_in_the_dialog(qtbot: Any, window: Any) -> None:
    dialog = open_accounts(qtbot, window)
    dialog.url.setText("https://rss.example.org/api/greader.php")
    QTest.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert dialog.status.text() == "To add an account, give its user, API password."
    assert not window.jobs.running(JobKind.ADD_ACCOUNT)


def test_sync_now_in_the_dialog_and_the_refresh_timer_sync_too(
    qtbot: Any, freshrss: FreshRSS, window_and_store: tuple[Any, Store]
) -> None:
    window, _store = window_and_store
    title, _stream, ids, _folder = folder_feed(freshrss, 3)
    dialog = open_accounts(qtbot, window)
    with qtbot.waitSignal(window.syncing.synced, timeout=SYNC_MS):
        add_through_dialog(qtbot, dialog, freshrss.url, freshrss.user, freshrss.password)
    qtbot.waitUntil(lambda: title in [text for text, *_ in entries(window)], timeout=SYNC_MS)
    first, second = sorted(ids)[:2]

    freshrss.api().edit_tag([first], add="user/-/state/com.google/read")
    dialog.table.selectRow(0)
    with qtbot.waitSignal(window.syncing.synced, timeout=SYNC_MS):
        QTest.mouseClick(dialog.sync_button, Qt.MouseButton.LeftButton)
        assert dialog.table.item(0, 2).text() == "syncing…"
    qtbot.waitUntil(lambda: window.sidebar.item(row_of(window, title)).data(COUNT_ROLE) == 2, timeout=SYNC_MS)
    assert dialog.table.item(0, 2).text() not in ("syncing…", "never")

    freshrss.api().edit_tag([second], add="user/-/state/com.google/read")
    with qtbot.waitSignal(window.syncing.synced, timeout=SYNC_MS):
        window.refreshing.timer.timeout.emit()  # the refresh interval came round
    qtbot.waitUntil(lambda: window.sidebar.item(row_of(window, title)).data(COUNT_ROLE) == 1, timeout=SYNC_MS)


def test_a_job_says_it_ended_after_its_done_or_its_failure_even_when_it_ends_at_once(qtbot: Any, window: Any) -> None:
    # Syncing moves to the next account when a job ends; a job that ended before anyone listened
    # would have stopped syncing for the session. ``ended`` is wired before the thread starts.
    order: list[str] = []

    def fail(progress: Any, stop: Any) -> None:
        raise ValueError("no")

    with qtbot.waitSignal(window.jobs.job_finished, timeout=10000):
        window.jobs.start(
            JobKind.SYNC, lambda p, s: 1, lambda r: order.append("done"), ended=lambda: order.append("ended")
        )
    qtbot.waitUntil(lambda: "ended" in order, timeout=10000)
    with qtbot.waitSignal(window.jobs.job_finished, timeout=10000):
        window.jobs.start(JobKind.SYNC, fail, lambda r: order.append("not done"), ended=lambda: order.append("ended"))
    qtbot.waitUntil(lambda: order.count("ended") == 2, timeout=10000)
    assert order == ["done", "ended", "ended"]


def test_a_sync_started_while_removal_is_asked_stops_the_removal_and_none_starts_during_it(
    qtbot: Any, freshrss: FreshRSS, window_and_store: tuple[Any, Store], monkeypatch: Any
) -> None:
    window, store = window_and_store
    dialog = open_accounts(qtbot, window)
    with qtbot.waitSignal(window.syncing.synced, timeout=SYNC_MS):
        add_through_dialog(qtbot, dialog, freshrss.url, freshrss.user, freshrss.password)
    name = dialog.accounts[0].name

    def timer_fires_meanwhile(cls: Any, parent: Any, account: str) -> bool:
        window.syncing.sync_account(account)  # the refresh timer, while the question is open
        return True

    monkeypatch.setattr(AccountsDialog, "ask_remove", classmethod(timer_fires_meanwhile))
    dialog.table.selectRow(0)
    with qtbot.waitSignal(window.syncing.synced, timeout=SYNC_MS):
        QTest.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
        assert dialog.status.text() == f"{name} is syncing: remove it once that sync has ended."
    assert store.get_account(name) is not None
    monkeypatch.setattr(AccountsDialog, "ask_remove", classmethod(lambda cls, parent, account: True))
    dialog.table.selectRow(0)
    with wait_job(qtbot, window, JobKind.REMOVE_ACCOUNT):
        QTest.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
        window.syncing.sync_account(name)  # r during the removal: not started
        assert not window.syncing.is_syncing(name)
    assert store.accounts() == []


@pytest.mark.qt_log_ignore(
    r"^This plugin does not support propagateSizeHints\(\)$",
    r"No such signal QPlatformNativeInterface::systemTrayWindowChanged",
    r"^This plugin does not support raise\(\)$",
)
def test_the_tray_announces_what_a_sync_brought_but_not_an_accounts_first_sync(
    qtbot: Any, freshrss: FreshRSS, window_factory: Any, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reader.ui import tray

    monkeypatch.setattr(tray, "tray_available", lambda: True)
    monkeypatch.setattr(tray, "ARRIVALS_DELAY_MS", 0)
    window = window_factory(store)
    told: list[str] = []
    window.tray.notified.connect(lambda _title, text: told.append(text))
    folder_feed(freshrss, 2)
    dialog = open_accounts(qtbot, window)
    with qtbot.waitSignal(window.syncing.synced, timeout=SYNC_MS):
        add_through_dialog(qtbot, dialog, freshrss.url, freshrss.user, freshrss.password)
    qtbot.waitUntil(lambda: not window.jobs.jobs, timeout=SYNC_MS)
    assert told == []  # the account's first sync: what it had, not news

    title, _stream, _ids, _folder = folder_feed(freshrss, 3)  # new on the server since
    sync_in_window(qtbot, window)
    qtbot.waitUntil(lambda: told != [], timeout=SYNC_MS)
    assert told == ["3 new in 1 feed"]
    window.tray.icon.messageClicked.emit()
    assert window.sidebar.currentItem().text() == title
