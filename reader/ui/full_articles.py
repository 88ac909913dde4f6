"""Full articles in the window: ``g`` fetches the shown article's page and shows its main text in
the pane; a feed's context menu in the sidebar sets it to full articles; after each refresh and
sync, the articles of such feeds are fetched in the background (reader.fullcontent does the
fetching and reading, on the job's thread)."""

from __future__ import annotations

import threading
import urllib.parse

from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from reader.records import Article, Feed, Progress, counted
from reader.ui.jobs import JobKind, StoreWork
from reader.ui.reading_pane import ReadingPane
from reader.ui.sidebar import Sidebar, SidebarKey


class FullArticles(QObject):
    """Owns ``g`` and the background fetch of full articles after a refresh."""

    def __init__(self, work: StoreWork, pane: ReadingPane, sidebar: Sidebar, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work
        self._pane = pane
        self._sidebar = sidebar
        #: The feeds as last counted (the sidebar's): whether each asks for full articles.
        self._feeds: dict[int, Feed] = {}
        work.jobs.job_finished.connect(self._on_job_finished)
        sidebar.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        sidebar.customContextMenuRequested.connect(self._on_context_menu)

    def on_feeds_counted(self, feeds: tuple[Feed, ...]) -> None:
        self._feeds = {feed.id: feed for feed in feeds}

    def feed_menu(self, key: SidebarKey | None) -> QMenu | None:
        """The context menu of a feed's entry (None for other entries): full articles on or off."""
        feed = self._feeds.get(key.feed_id) if key is not None and key.feed_id is not None else None
        if feed is None:
            return None
        menu = QMenu(self._sidebar)
        menu.setObjectName("feedMenu")
        full = QAction("Fetch full articles", menu)
        full.setCheckable(True)
        full.setChecked(feed.full_content)
        full.setToolTip("Each article's page is fetched and its main text shown instead of the feed's summary")
        full.toggled.connect(lambda on: self.set_full_content(feed, on))
        menu.addAction(full)
        return menu

    def _on_context_menu(self, pos: QPoint) -> None:
        menu = self.feed_menu(self._sidebar.key_at(pos))
        if menu is not None:
            menu.exec(self._sidebar.viewport().mapToGlobal(pos))
            menu.deleteLater()

    def set_full_content(self, feed: Feed, on: bool) -> None:
        """Set ``feed`` to full articles (then fetch them) or back to the feed's text: the pages
        fetched because of it go (the article in the pane shows the feed's text again), those the
        person fetched with ``g`` stay."""
        db = self._work.db
        shown = self._pane.article
        shown_id = shown.id if shown is not None and shown.feed_id == feed.id else None

        def work(progress: Progress, cancel: threading.Event) -> tuple[int, Article | None]:
            with db.open() as store:
                store.update_feed(feed.id, full_content=on)
                dropped = 0 if on else store.drop_full_content(feed.id)
                return dropped, store.get(shown_id) if dropped and shown_id is not None else None

        def done(result: tuple[int, Article | None]) -> None:
            dropped, stored = result
            self._feeds[feed.id] = feed._replace(full_content=on)
            self._work.message(
                f"{feed.name}: "
                + (
                    "full articles on"
                    if on
                    else "full articles off: the feed's own text is shown"
                    + (f" again ({counted(dropped, 'page')} dropped; those fetched with g stay)" if dropped else "")
                )
            )
            now = self._pane.article
            if stored is not None and now is not None and now.id == stored.id:
                self._pane.show_article(now._replace(full_html=stored.full_html, full_status=stored.full_status))
            if on:
                self.fetch_pending()

        self._work.jobs.start(JobKind.FULL_CONTENT, work, done, quiet=True)

    def fetch_shown(self) -> None:
        """``g``: the article in the pane, from its page (again if it was fetched before)."""
        article = self._pane.article
        if article is None or article.id is None:
            self._work.message("No article to fetch: select one first.")
            return
        if not article.url:
            self._work.message("This article has no page to fetch (no link).")
            return
        article_id, url = article.id, article.url
        db = self._work.db

        def work(progress: Progress, cancel: threading.Event) -> tuple[str | None, str]:
            from reader import fullcontent

            with db.open() as store:
                _kept, failed = fullcontent.fetch_articles(store, [article_id], stop=cancel)
                if failed:  # (this time's reason: a page fetched before, if any, stays)
                    return None, failed[0][1]
                stored = store.get(article_id)
            if stored is None:
                return None, "the article was removed meanwhile"
            return stored.full_html, stored.full_status or ""

        def done(result: tuple[str | None, str]) -> None:
            html, status = result
            host = urllib.parse.urlsplit(url).hostname or url
            shown = self._pane.article
            if shown is not None and shown.id == article_id and (html is not None or shown.full_html is None):
                # The pane's own copy (its flags may not be stored yet), with the page's text (or
                # why not; a page fetched before stays shown).
                self._pane.show_article(shown._replace(full_html=html, full_status=status))
            if html is not None and not status:
                self._work.message(f"Full article from {host}")
            else:
                self._work.message(f"Could not get the full article from {host}: {status}; the feed's text stays")

        self._work.jobs.start(JobKind.FULL_CONTENT, work, done, label="Fetching the full article")

    def _on_job_finished(self, kind: JobKind) -> None:
        if kind in (JobKind.REFRESH, JobKind.SYNC) and not self._work.jobs.running(JobKind.FULL_CONTENT):
            self.fetch_pending()

    def fetch_pending(self) -> None:
        """The pages of the articles of feeds set to full articles that were not tried yet; the
        article in the pane shows its page's text once it has it."""
        db = self._work.db
        shown = self._pane.article
        shown_id = shown.id if shown is not None and shown.full_status is None else None

        def work(progress: Progress, cancel: threading.Event) -> tuple[int, int, str | None]:
            from reader import fullcontent

            with db.open() as store:
                if not any(feed.full_content for feed in store.feeds()):
                    return 0, 0, None
                kept, failed = fullcontent.fetch_pending(store, progress=progress, stop=cancel)
                stored = store.get(shown_id) if kept and shown_id is not None else None
            return kept, len(failed), stored.full_html if stored is not None else None

        def done(result: tuple[int, int, str | None]) -> None:
            kept, failed, html = result
            if kept or failed:
                self._work.message(
                    f"{counted(kept, 'full article')} fetched"
                    + (f"; {counted(failed, 'page')} could not be had (their feed's text stays)" if failed else "")
                )
            now = self._pane.article
            if html and now is not None and now.id == shown_id:
                self._pane.show_article(now._replace(full_html=html, full_status=""))

        self._work.jobs.start(JobKind.FULL_CONTENT, work, done, label="Fetching full articles", quiet=True)
