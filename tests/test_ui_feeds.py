"""The window's side of feeds: refresh in the background, feeds in the sidebar with unread counts and
an error mark, periodic refresh from the settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import (
    OFFSCREEN_SIZE_HINTS,
    all_titles,
    wait_job,
)
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from reader.store import Store
from reader.ui.jobs import JobKind
from reader.ui.sidebar import COUNT_ROLE, SidebarKey

pytestmark = OFFSCREEN_SIZE_HINTS


def rss(*items: tuple[str, str]) -> str:
    entries = "".join(
        f"<item><title>{title}</title><link>https://feed.example/{guid}</link><guid>{guid}</guid>"
        f"<pubDate>Sat, 02 Mar 2024 0{i}:00:00 GMT</pubDate><description>About {title}.</description></item>"
        for i, (guid, title) in enumerate(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Harbour Gazette</title>'
        f"<link>https://feed.example/</link><description>x</description>{entries}</channel></rss>"
    )


def sidebar_items(window: Any) -> dict[str, Any]:
    return {window.sidebar.item(i).text(): window.sidebar.item(i) for i in range(window.sidebar.count())}


def subscribe(qtbot: Any, window: Any, feed_file: Path) -> None:
    with wait_job(qtbot, window, JobKind.IMPORT):
        window.importing.import_paths([str(feed_file)], what="Adding feed")
    with wait_job(qtbot, window, JobKind.COUNTS):
        window.counting.refresh()


def test_r_refreshes_feeds_in_the_background_and_shows_new_entries(
    qtbot: Any, window_factory: Any, known_store: Store, tmp_path: Path
) -> None:
    window = window_factory(known_store)
    feed_file = tmp_path / "gazette.rss"
    feed_file.write_text(rss(("a", "First harbour story")), encoding="utf-8")
    subscribe(qtbot, window, feed_file)
    assert "First harbour story" in all_titles(window)

    feed_file.write_text(rss(("a", "First harbour story"), ("b", "Second harbour story")), encoding="utf-8")
    window.list.setFocus()
    with wait_job(qtbot, window, JobKind.REFRESH):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_R)
        # The job runs on its own thread: the key returned before the refresh finished.
        assert any(job.kind is JobKind.REFRESH for job in window.jobs.jobs)
    assert "Second harbour story" in all_titles(window)
    assert "1 new" in window.statusBar().currentMessage()


def test_feeds_are_listed_in_the_sidebar_with_unread_counts_and_pick_their_articles(
    qtbot: Any, window_factory: Any, known_store: Store, tmp_path: Path
) -> None:
    window = window_factory(known_store)
    feed_file = tmp_path / "gazette.rss"
    feed_file.write_text(rss(("a", "First harbour story"), ("b", "Second harbour story")), encoding="utf-8")
    subscribe(qtbot, window, feed_file)

    items = sidebar_items(window)
    assert "Harbour Gazette" in items
    assert items["Harbour Gazette"].data(COUNT_ROLE) == 2  # painted at the right, apart from the name
    window.sidebar.setCurrentItem(items["Harbour Gazette"])
    assert window.sidebar.current_key == SidebarKey("all", feed_id=known_store.feeds()[0].id)
    assert all_titles(window) == ["Second harbour story", "First harbour story"]


def test_a_failing_feed_is_marked_with_its_last_error_as_tooltip(
    qtbot: Any, window_factory: Any, known_store: Store
) -> None:
    broken = known_store.add_feed("http://127.0.0.1:9/feed.xml", "Broken Feed")
    known_store.update_feed(broken.id, last_error="HTTP 500 Internal Server Error")
    gone = known_store.add_feed("http://127.0.0.1:9/gone.xml", "Gone Feed")
    known_store.update_feed(gone.id, dead=True)
    window = window_factory(known_store)
    with wait_job(qtbot, window, JobKind.COUNTS):
        window.counting.refresh()

    items = sidebar_items(window)
    assert items["⚠ Broken Feed"].toolTip() == "Last refresh failed: HTTP 500 Internal Server Error"
    assert "410" in items["⚠ Gone Feed"].toolTip()


def test_periodic_refresh_follows_the_setting(
    qtbot: Any, window_factory: Any, known_store: Store, tmp_path: Path
) -> None:
    from reader.ui.settings import Settings

    settings_path = tmp_path / "every-5.ini"
    settings = Settings(settings_path)
    settings.refresh_minutes = 5
    settings.sync()
    window = window_factory(known_store, settings_path)
    timer = window.refreshing.timer
    assert timer.isActive() and timer.interval() == 5 * 60_000, "the setting's interval, from the start"
    window.refreshing.set_interval(0)
    assert not timer.isActive(), "0: no periodic refresh"
    window.refreshing.set_interval(30)
    assert timer.isActive() and timer.interval() == 30 * 60_000


def test_the_refresh_timer_refreshes_the_feeds(
    qtbot: Any, window_factory: Any, known_store: Store, tmp_path: Path
) -> None:
    window = window_factory(known_store)
    assert window.refreshing.timer.interval() == 30 * 60_000  # the default: every 30 minutes
    feed_file = tmp_path / "gazette.rss"
    feed_file.write_text(rss(("a", "First harbour story")), encoding="utf-8")
    subscribe(qtbot, window, feed_file)
    feed_file.write_text(rss(("a", "First harbour story"), ("b", "Timed harbour story")), encoding="utf-8")

    # The timer's own timeout, not a key: shortened so the test need not wait 30 minutes.
    try:
        with wait_job(qtbot, window, JobKind.REFRESH):
            window.refreshing.timer.start(1)
    finally:
        window.refreshing.set_interval(30)
    assert "Timed harbour story" in all_titles(window)
    assert "Feeds refreshed: 1 new" in window.statusBar().currentMessage()


def test_the_no_source_entry_lists_the_records_without_a_source(
    qtbot: Any, window_factory: Any, known_store: Store
) -> None:
    from reader.records import Article

    known_store.add_articles([Article(source=None, title="Sourceless record", url="https://x.example/nosource")])
    window = window_factory(known_store)
    with wait_job(qtbot, window, JobKind.COUNTS):
        window.counting.refresh()
    entry = next(item for text, item in sidebar_items(window).items() if text.startswith("(no source)"))
    window.sidebar.setCurrentItem(entry)
    assert all_titles(window) == ["Sourceless record"]
