"""The tray: an icon with the unread count, one notification for what a refresh brought, a click
that shows the window on it, closing to the tray as a preference; and, where the platform has no
tray (offscreen, Xvfb), none of it, without a crash.

The offscreen platform has no tray host, so the tests that need one say the platform has one
(``tray_available``); the icon and its notifications are Qt's own (QSystemTrayIcon)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import OFFSCREEN_SIZE_HINTS, all_titles, wait_job
from PySide6.QtWidgets import QApplication
from test_ui_feeds import rss, subscribe

from reader.records import Article, Query
from reader.store import Store
from reader.ui import tray
from reader.ui.jobs import JobKind
from reader.ui.settings import Settings
from reader.ui.sidebar import SidebarKey

# Qt's tray icon on the offscreen platform also looks for a signal that platform lacks.
pytestmark = pytest.mark.qt_log_ignore(
    *OFFSCREEN_SIZE_HINTS.args,
    r"No such signal QPlatformNativeInterface::systemTrayWindowChanged",
    r"^This plugin does not support raise\(\)$",
)


@pytest.fixture
def with_tray(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tray, "tray_available", lambda: True)
    monkeypatch.setattr(tray, "ARRIVALS_DELAY_MS", 0)


def feed_window(qtbot: Any, window_factory: Any, store: Store, tmp_path: Path, names: list[str]) -> Any:
    """A window over ``store`` subscribed to one local feed file per name, each with one item."""
    window = window_factory(store)
    for name in names:
        path = tmp_path / f"{name}.rss"
        path.write_text(rss((f"{name}-1", f"{name} first")), encoding="utf-8")
        subscribe(qtbot, window, path)
    return window


def add_items(tmp_path: Path, name: str, *titles: str) -> None:
    """The feed ``name`` now has its first item and one per title."""
    items = [(f"{name}-1", f"{name} first")] + [(f"{name}-{t}", t) for t in titles]
    (tmp_path / f"{name}.rss").write_text(rss(*items), encoding="utf-8")


def refresh(qtbot: Any, window: Any) -> None:
    """``r``, then until what it brought was counted for the tray (after the jobs before it ended:
    the count that follows adding a feed, say, is not the one waited for)."""
    qtbot.waitUntil(lambda: not window.jobs.jobs, timeout=30000)
    with wait_job(qtbot, window, JobKind.ARRIVALS):
        window.refreshing.refresh_feeds()


def test_without_a_tray_there_is_no_icon_and_closing_quits_as_before(
    qtbot: Any, window_factory: Any, known_store: Store, tmp_path: Path
) -> None:
    settings = Settings(tmp_path / "s.ini")
    settings.close_to_tray = True
    settings.sync()
    window = window_factory(known_store, tmp_path / "s.ini")
    assert not tray.tray_available()  # (offscreen: no tray host)
    assert window.tray.icon is None
    window.preferences.show_preferences()
    dialog = window.preferences.dialog
    assert not dialog.tray_icon.isEnabled() and not dialog.close_to_tray.isEnabled()
    dialog.close()
    window.close()
    assert not window.isVisible()
    assert window.jobs._closed  # really closed: its jobs were stopped


def test_the_icon_shows_the_unread_count_and_follows_it(
    qtbot: Any, with_tray: None, window_factory: Any, known_store: Store
) -> None:
    window = window_factory(known_store)
    with wait_job(qtbot, window, JobKind.COUNTS):
        window.counting.refresh()
    unread = known_store.totals()[1]
    icon = window.tray.icon
    assert icon is not None and icon.isVisible()
    assert icon.toolTip() == f"Reader: {unread:,} unread"

    window.list.setFocus()
    window.reading.toggle_read()  # the selected article: read
    qtbot.waitUntil(lambda: icon.toolTip() == f"Reader: {unread - 1:,} unread", timeout=10000)

    window.preferences.show_preferences()
    window.preferences.dialog.tray_icon.setChecked(False)  # Preferences: no icon
    assert window.tray.icon is None
    assert not Settings(window.settings.path).tray_icon


def test_a_refresh_that_brings_articles_says_how_many_in_how_many_feeds_once(
    qtbot: Any, with_tray: None, window_factory: Any, store: Store, tmp_path: Path
) -> None:
    window = feed_window(qtbot, window_factory, store, tmp_path, ["harbour", "valley", "ridge"])
    shown: list[str] = []
    window.tray.notified.connect(lambda _title, text: shown.append(text))

    refresh(qtbot, window)  # nothing new on the feeds: nothing to say
    assert shown == []

    # Articles a person imports are not news: they asked for them.
    store.add_articles([Article("Desk", "Imported by hand", key="seed:1")])
    add_items(tmp_path, "harbour", "h2", "h3", "h4")
    add_items(tmp_path, "valley", "v2")
    refresh(qtbot, window)
    assert shown == ["4 new in 2 feeds"]

    refresh(qtbot, window)  # told once: the same articles are not news twice
    assert shown == ["4 new in 2 feeds"]


def test_clicking_the_notification_shows_the_window_on_what_arrived(
    qtbot: Any, with_tray: None, window_factory: Any, store: Store, tmp_path: Path
) -> None:
    window = feed_window(qtbot, window_factory, store, tmp_path, ["harbour", "valley"])
    harbour = next(f for f in store.feeds() if f.title == "Harbour Gazette" and "harbour" in f.url)

    add_items(tmp_path, "harbour", "h2", "h3")  # one feed: the click lists that feed
    refresh(qtbot, window)
    window.showMinimized()
    qtbot.waitUntil(window.isMinimized)
    window.tray.icon.messageClicked.emit()
    qtbot.waitUntil(lambda: window.isVisible() and not window.isMinimized())
    assert window.sidebar.current_key == SidebarKey("all", feed_id=harbour.id)
    assert sorted(all_titles(window)) == ["h2", "h3", "harbour first"]

    add_items(tmp_path, "harbour", "h2", "h3", "h4")  # two feeds: the click lists what is unread
    add_items(tmp_path, "valley", "v2")
    refresh(qtbot, window)
    window.tray.icon.messageClicked.emit()
    assert window.sidebar.current_key == SidebarKey("unread")
    assert window.model.query.view == "unread"


def test_closing_to_the_tray_hides_the_window_and_quit_closes_it(
    qtbot: Any, with_tray: None, window_factory: Any, known_store: Store
) -> None:
    window = window_factory(known_store)
    window.preferences.show_preferences()
    dialog = window.preferences.dialog
    assert dialog.close_to_tray.isEnabled()
    dialog.close_to_tray.setChecked(True)
    dialog.close()

    window.close()
    assert not window.isVisible()
    assert not window.jobs._closed  # still running: its refresh timer, its counts
    assert not QApplication.instance().quitOnLastWindowClosed()
    with wait_job(qtbot, window, JobKind.COUNTS):
        window.counting.refresh()

    window.tray.icon.activated.emit(tray.QSystemTrayIcon.ActivationReason.Trigger)  # a click on the icon
    qtbot.waitUntil(window.isVisible)
    assert QApplication.instance().quitOnLastWindowClosed()

    quit_action = window.tray.icon.contextMenu().actions()[-1]
    assert quit_action.text() == "Quit"
    quit_action.trigger()
    assert not window.isVisible()
    assert window.jobs._closed
    assert QApplication.instance().quitOnLastWindowClosed()


def test_arrivals_counts_unread_feed_articles_stored_after_an_arrival(store: Store) -> None:
    assert store.arrivals(None) == (0, 0, 0, None)
    feed = store.add_feed("https://feed.example/a.xml", "A")
    other = store.add_feed("https://feed.example/b.xml", "B")
    store.add_articles([Article("Desk", "seed", key="s:1")])
    newest, *_ = store.arrivals(None)
    assert newest >= 1
    store.add_articles(
        [
            Article(None, "a1", key="a:1", feed_id=feed.id),
            Article(None, "a2", key="a:2", feed_id=feed.id),
            Article(None, "b1", key="b:1", feed_id=other.id),
            Article("Desk", "seed 2", key="s:2"),
        ]
    )
    last, articles, feeds, one = store.arrivals(newest)
    assert last > newest and (articles, feeds) == (3, 2)
    assert one in (feed.id, other.id)
    read = store.page(Query(feed_id=other.id)).rows[0].id
    store.set_read([read])
    assert store.arrivals(newest)[1:3] == (2, 1)  # read on arrival (a synced article read elsewhere): not news
    assert store.arrivals(newest)[3] == feed.id
    assert store.arrivals(last) == (last, 0, 0, None)


def test_arrivals_are_counted_when_removed_articles_ids_are_given_again(store: Store) -> None:
    # Without AUTOINCREMENT SQLite gives the next article max(id) + 1: once the newest articles
    # are gone (a feed unsubscribed), the next ones get their ids again. Counted by id above the
    # newest seen, they were no news: the notification was missed.
    kept = store.add_feed("https://feed.example/kept.xml", "Kept")
    gone = store.add_feed("https://feed.example/gone.xml", "Gone")
    store.add_articles([Article(None, "k1", key="k:1", feed_id=kept.id)])
    store.add_articles([Article(None, f"g{i}", key=f"g:{i}", feed_id=gone.id) for i in range(3)])
    seen, *_ = store.arrivals(None)
    ids_before = {r.id for r in store.iter_rows()}
    store.unsubscribe(gone.id)  # the three newest ids are free again
    store.add_articles([Article(None, f"k{i}", key=f"k:{i}", feed_id=kept.id) for i in range(2, 4)])
    if isinstance(store, Store):  # (PostgreSQL's identity columns never give an id again)
        assert {r.id for r in store.iter_rows()} <= ids_before  # (the ids were given again)
    newest, articles, feeds, one = store.arrivals(seen)
    assert newest > seen and (articles, feeds, one) == (2, 1, kept.id)
    assert store.arrivals(newest) == (newest, 0, 0, None)
