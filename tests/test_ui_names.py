"""Sources read as names in the sidebar, the list and the pane; the filter keeps the id."""

from __future__ import annotations

from typing import Any

from conftest import BASE_DATE, OFFSCREEN_SIZE_HINTS, wait_job

from reader.records import Article, Query
from reader.store import Store
from reader.ui.article_model import ArticleRole
from reader.ui.jobs import JobKind
from reader.ui.names import readable_source

pytestmark = OFFSCREEN_SIZE_HINTS


def test_known_ids_are_mapped_and_others_title_cased() -> None:
    assert readable_source("nasa") == "NASA"
    assert readable_source("bbc-news") == "BBC News"
    assert readable_source("the-verge") == "The Verge"
    assert readable_source("new-york-times") == "New York Times"
    assert readable_source(None) == ""


def named_store(store_path: Any) -> Store:
    store = Store.open(store_path)
    feed = store.add_feed("https://example.org/space.rss", "Space Weekly")
    store.add_articles(
        [
            Article(source="bbc-news", title="One", body="Text one.", published=BASE_DATE),
            Article(source="new-york-times", title="Two", body="Text two.", published=BASE_DATE),
            Article(
                source="example.org",
                title="Three",
                body="Text three.",
                published=BASE_DATE,
                feed_id=feed.id,
                key=f"feed:{feed.id}:three",
            ),
        ]
    )
    return store


def test_sidebar_list_and_pane_show_source_names(qtbot: Any, window_factory: Any, tmp_path: Any) -> None:
    store = named_store(tmp_path / "names.sqlite")
    try:
        window = window_factory(store)
        with wait_job(qtbot, window, JobKind.COUNTS):
            window.counting.refresh()
        labels = [window.sidebar.item(i).text() for i in range(window.sidebar.count())]
        assert any(t.startswith("BBC News") for t in labels), labels
        assert any(t.startswith("New York Times") for t in labels), labels
        assert not any(t.startswith("bbc-news") for t in labels), labels

        model, delegate = window.model, window.list.delegate
        metas = {
            model.index(r, 0).data(ArticleRole.item).title: delegate.meta_text(model.index(r, 0).data(ArticleRole.item))
            for r in range(model.rowCount())
        }
        assert metas["One"].startswith("BBC News · ")
        assert metas["Two"].startswith("New York Times · ")
        assert metas["Three"].startswith("Space Weekly · ")  # the feed's title, not the host it was stored with

        row = next(r for r in range(model.rowCount()) if model.index(r, 0).data(ArticleRole.item).title == "One")
        window.list.select_row(row)
        qtbot.waitUntil(lambda: window.pane.article is not None and window.pane.article.title == "One")
        assert "BBC News" in window.pane.toPlainText()
        assert "bbc-news" not in window.pane.toPlainText()

        sidebar = window.sidebar
        entry = next(i for i in range(sidebar.count()) if sidebar.item(i).text().startswith("BBC News"))
        sidebar.setCurrentRow(entry)
        assert window.model.query == Query(view="all", source="bbc-news")  # the filter keeps the id
    finally:
        store.close()
