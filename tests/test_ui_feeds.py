"""The window's side of feeds: refresh in the background, feeds in the sidebar with unread counts and
an error mark, periodic refresh from the settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import OFFSCREEN_SIZE_HINTS
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from reader.store import Store
from reader.ui.sidebar import SidebarKey

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


def wait_job(qtbot: Any, window: Any, name: str) -> Any:
    return qtbot.waitSignal(window.controller.job_finished, timeout=30000, check_params_cb=lambda n: n == name)


def titles(window: Any) -> list[str]:
    model = window.model
    while model.canFetchMore(model.index(-1)):
        model.fetchMore(model.index(-1))
    return [model.row(r).title for r in range(model.rowCount())]


def sidebar_items(window: Any) -> dict[str, Any]:
    return {window.sidebar.item(i).text(): window.sidebar.item(i) for i in range(window.sidebar.count())}


def subscribe(qtbot: Any, window: Any, feed_file: Path) -> None:
    with wait_job(qtbot, window, "import"):
        window.controller.import_paths([str(feed_file)], what="Adding feed")
    with wait_job(qtbot, window, "counts"):
        window.controller.refresh_counts()


def test_r_refreshes_feeds_in_the_background_and_shows_new_entries(
    qtbot: Any, window_factory: Any, known_store: Store, tmp_path: Path
) -> None:
    window = window_factory(known_store)
    feed_file = tmp_path / "gazette.rss"
    feed_file.write_text(rss(("a", "First harbour story")), encoding="utf-8")
    subscribe(qtbot, window, feed_file)
    assert "First harbour story" in titles(window)

    feed_file.write_text(rss(("a", "First harbour story"), ("b", "Second harbour story")), encoding="utf-8")
    window.list.setFocus()
    with wait_job(qtbot, window, "refresh"):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_R)
        # The job runs on its own thread: the key returned before the refresh finished.
        assert any(job.name == "refresh" for job in window.controller.jobs)
    assert "Second harbour story" in titles(window)
    assert "1 new" in window.statusBar().currentMessage()


def test_feeds_are_listed_in_the_sidebar_with_unread_counts_and_pick_their_articles(
    qtbot: Any, window_factory: Any, known_store: Store, tmp_path: Path
) -> None:
    window = window_factory(known_store)
    feed_file = tmp_path / "gazette.rss"
    feed_file.write_text(rss(("a", "First harbour story"), ("b", "Second harbour story")), encoding="utf-8")
    subscribe(qtbot, window, feed_file)

    items = sidebar_items(window)
    assert "Harbour Gazette  (2)" in items
    window.sidebar.setCurrentItem(items["Harbour Gazette  (2)"])
    assert window.sidebar.current_key == SidebarKey("all", feed_id=known_store.feeds()[0].id)
    assert titles(window) == ["Second harbour story", "First harbour story"]


def test_a_failing_feed_is_marked_with_its_last_error_as_tooltip(
    qtbot: Any, window_factory: Any, known_store: Store
) -> None:
    broken = known_store.add_feed("http://127.0.0.1:9/feed.xml", "Broken Feed")
    known_store.update_feed(broken.id, last_error="HTTP 500 Internal Server Error")
    gone = known_store.add_feed("http://127.0.0.1:9/gone.xml", "Gone Feed")
    known_store.update_feed(gone.id, dead=True)
    window = window_factory(known_store)
    with wait_job(qtbot, window, "counts"):
        window.controller.refresh_counts()

    items = sidebar_items(window)
    assert items["⚠ Broken Feed"].toolTip() == "Last refresh failed: HTTP 500 Internal Server Error"
    assert "410" in items["⚠ Gone Feed"].toolTip()


def test_periodic_refresh_follows_the_setting(qtbot: Any, window_factory: Any, known_store: Store) -> None:
    window = window_factory(known_store)
    timer = window.controller.refresh_timer
    assert timer.isActive()
    assert timer.interval() == 30 * 60_000  # the default: every 30 minutes

    window.controller.set_refresh_interval(5)
    assert timer.isActive() and timer.interval() == 5 * 60_000
    window.controller.set_refresh_interval(0)
    assert not timer.isActive()


def test_the_no_source_entry_lists_the_records_without_a_source(
    qtbot: Any, window_factory: Any, known_store: Store
) -> None:
    from reader.records import Article

    known_store.add_articles([Article(source=None, title="Sourceless record", url="https://x.example/nosource")])
    window = window_factory(known_store)
    with wait_job(qtbot, window, "counts"):
        window.controller.refresh_counts()
    entry = next(item for text, item in sidebar_items(window).items() if text.startswith("(no source)"))
    window.sidebar.setCurrentItem(entry)
    assert titles(window) == ["Sourceless record"]
