"""Images in the window: thumbnails arrive row by row through the model, a slow image holds nothing
up, failures stay placeholders and are not asked for again, a second window is served from the disk
cache, and with remote images off nothing is requested at all."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import BASE_DATE, OFFSCREEN_SIZE_HINTS
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt, QUrl
from PySide6.QtGui import QTextDocument
from test_thumbnails import ImageServer, Route, make_image

from reader.records import Article
from reader.store import Store
from reader.ui.actions import Action
from reader.ui.article_model import ArticleRole
from reader.ui.reading_pane import PLACEHOLDER_SCHEME, inline_images
from reader.ui.settings import Settings

pytestmark = OFFSCREEN_SIZE_HINTS

PATHS = ["/a.png", "/b.jpg", "/slow.png", "/missing.png", "/page.png"]


def encoded(fmt: str) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    assert make_image(320, 240).save(buffer, fmt)
    buffer.close()
    return bytes(data.data())


@pytest.fixture
def image_server(qapp: object) -> Iterator[ImageServer]:
    server = ImageServer()
    server.routes.update(
        {
            "/a.png": Route(encoded("PNG")),
            "/b.jpg": Route(encoded("JPEG"), "image/jpeg"),
            "/slow.png": Route(encoded("PNG"), gate=server.gate()),
            "/page.png": Route(b"<html><body>not a picture</body></html>", "text/html"),
        }
    )  # /missing.png: the server's 404
    yield server
    server.close()


@pytest.fixture
def image_store(store_path: Path, image_server: ImageServer) -> Iterator[Store]:
    store = Store.open(store_path)
    store.add_articles(
        Article(
            source="Harbour Times",
            title=f"Article {i}",
            url=f"https://news.example/{i}",
            image_url=image_server.url(path),
            published=BASE_DATE - timedelta(hours=i),
            body="Text.",
        )
        for i, path in enumerate(PATHS)
    )
    yield store
    store.close()


def thumbnail(window: Any, row: int) -> Any:
    return window.model.data(window.model.index(row), ArticleRole.thumbnail)


def test_thumbnails_arrive_row_by_row_and_failures_stay_placeholders(
    qtbot: Any, window_factory: Any, image_store: Store, image_server: ImageServer
) -> None:
    window = window_factory(image_store)
    changes: list[tuple[int, int, list[int]]] = []
    window.model.dataChanged.connect(lambda tl, br, roles: changes.append((tl.row(), br.row(), list(roles))))

    qtbot.waitUntil(lambda: thumbnail(window, 0) is not None and thumbnail(window, 1) is not None, timeout=15000)
    only_thumbnail = [int(ArticleRole.thumbnail)]
    assert (0, 0, only_thumbnail) in changes and (1, 1, only_thumbnail) in changes

    # The slow image is on the wire and unanswered: the keys still work meanwhile.
    qtbot.waitUntil(lambda: image_server.count("/slow.png") == 1, timeout=15000)
    window.list.setFocus()
    qtbot.keyClick(window.list, Qt.Key.Key_J)
    assert window.list.current_row() == 1
    assert thumbnail(window, 2) is None

    # 404 and a page that is no image: failed once, placeholders, never asked for again.
    missing, page = image_server.url("/missing.png"), image_server.url("/page.png")
    qtbot.waitUntil(lambda: window.images.is_failed(missing) and window.images.is_failed(page), timeout=15000)
    for _ in range(3):
        window.list.viewport().repaint()
    assert thumbnail(window, 3) is None and thumbnail(window, 4) is None
    assert image_server.count("/missing.png") == 1 and image_server.count("/page.png") == 1

    image_server.routes["/slow.png"].gate.set()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: thumbnail(window, 2) is not None, timeout=15000)


def test_a_second_window_is_served_from_the_disk_cache(
    qtbot: Any, window_factory: Any, image_store: Store, image_server: ImageServer
) -> None:
    image_server.routes["/slow.png"].gate.set()  # type: ignore[union-attr]
    first = window_factory(image_store)
    qtbot.waitUntil(lambda: all(thumbnail(first, r) is not None for r in range(3)), timeout=15000)
    first.close()
    loaded = ["/a.png", "/b.jpg", "/slow.png"]
    assert [image_server.count(p) for p in loaded] == [1, 1, 1]

    second = window_factory(image_store)
    qtbot.waitUntil(lambda: all(thumbnail(second, r) is not None for r in range(3)), timeout=15000)
    # Images that loaded come from the disk cache; failures are remembered for one session only.
    assert [image_server.count(p) for p in loaded] == [1, 1, 1]


def test_with_remote_images_off_nothing_is_requested(
    qtbot: Any, window_factory: Any, image_store: Store, image_server: ImageServer, tmp_path: Path
) -> None:
    settings_path = tmp_path / "private.ini"
    settings = Settings(settings_path)
    settings.remote_images = False
    settings.sync()
    window = window_factory(image_store, settings_path)
    qtbot.waitUntil(lambda: window.list_images.active, timeout=5000)  # images would load from here on
    window.list.viewport().repaint()  # paints ask for thumbnails synchronously
    window.pane.refresh_images()
    stats = window.images.stats()
    assert stats.pending == 0 and stats.in_flight == 0
    assert image_server.total() == 0
    assert not window.action_registry[Action.TOGGLE_REMOTE_IMAGES].isChecked()


def test_rows_scrolled_far_away_cancel_their_requests_before_they_start(
    qtbot: Any, window_factory: Any, store_path: Path, qapp: object
) -> None:
    server = ImageServer()
    gate = server.gate()  # every image waits: requests pile up behind the in-flight limit
    body = encoded("PNG")
    count = 120
    for i in range(count):
        server.routes[f"/p{i}.png"] = Route(body, gate=gate)
    store = Store.open(store_path)
    store.add_articles(
        Article(
            source="Valley News",
            title=f"Story {i}",
            url=f"https://news.example/s{i}",
            image_url=server.url(f"/p{i}.png"),
            published=BASE_DATE - timedelta(hours=i),
        )
        for i in range(count)
    )
    try:
        window = window_factory(store)
        qtbot.waitUntil(lambda: window.images.stats().pending > 0, timeout=10000)
        # Both per-host slots are taken by requests the server holds at the gate: every other row
        # of the first screen is queued, not on the wire.
        qtbot.waitUntil(lambda: server.active == 2, timeout=10000)
        # (Not the pane's article: its image is the pane's too, which no scrolling cancels.)
        shown = window.model.row_of(window.pane.article.id)
        waiting = [i for i in range(10) if image_server_count(server, i) == 0 and i != shown]
        assert waiting, "some top rows are queued, not yet on the wire"

        window.list.scrollToBottom()
        top_row = lambda: window.list.indexAt(window.list.viewport().rect().topLeft()).row()  # noqa: E731
        qtbot.waitUntil(lambda: top_row() > 60)
        window.list_images.cancel_scrolled_away()  # what the scroll throttle runs once scrolling pauses
        gate.set()
        last = window.model.rowCount() - 1
        qtbot.waitUntil(lambda: thumbnail(window, last) is not None, timeout=15000)
        idle = window.images.stats
        qtbot.waitUntil(lambda: idle().pending == 0 and idle().in_flight == 0 and idle().decoding == 0, timeout=15000)
        # Nothing is left to fetch, and the top rows that were still queued when they scrolled
        # away were never fetched (without the cancel they would be, after the visible ones).
        assert all(image_server_count(server, i) == 0 for i in waiting)
    finally:
        server.close()
        store.close()


def image_server_count(server: ImageServer, i: int) -> int:
    return server.count(f"/p{i}.png")


# --- the reading pane ---


def pane_article(url: str, body_html: str | None = None) -> Article:
    return Article(
        source="Harbour Times",
        title="With a picture",
        url="https://news.example/picture",
        image_url=url,
        published=BASE_DATE,
        body="Text.",
        body_html=body_html,
    )


def img_count(html_text: str) -> int:
    return html_text.lower().count("<img")


def test_the_lead_image_shows_once_when_the_body_has_it_too(qtbot: Any, window_factory: Any, store_path: Path) -> None:
    store = Store.open(store_path)
    try:
        window = window_factory(store)
        pane = window.pane
        lead = "https://cdn.example/photos/harbour.jpg?w=1200"
        same = pane_article(lead, '<p>Intro.</p><p><img src="http://cdn.example/photos/harbour.jpg"></p><p>More.</p>')
        other = pane_article(lead, '<p>Intro.</p><p><img src="https://cdn.example/photos/crane.jpg"></p>')
        # A stand-in for an image that has arrived: the pane adds the lead image only when it has one.
        pane.images = type("Arrived", (), {"document_image": lambda self, url, width: make_image(10, 10)})()
        assert img_count(pane.render_html(same)) == 1, "the enclosure is the inline picture: shown once"
        assert img_count(pane.render_html(other)) == 2, "a different inline picture: both"
    finally:
        store.close()


def test_pane_images_refit_when_the_pane_gets_narrower(
    qtbot: Any, window_factory: Any, store_path: Path, image_server: ImageServer
) -> None:
    image_server.routes["/wide.png"] = Route(encoded_size(1600, 900))
    store = Store.open(store_path)
    try:
        store.add_articles([pane_article(image_server.url("/wide.png"))])
        window = window_factory(store)
        window.resize(1400, 800)
        pane = window.pane
        qtbot.waitUntil(lambda: pane.article is not None, timeout=15000)
        qtbot.waitUntil(lambda: "<img" in pane.toHtml(), timeout=15000)
        wide = pane.document().idealWidth()
        assert pane.horizontalScrollBar().maximum() == 0
        window.splitter.setSizes([200, 400, 300])  # the pane gets narrower
        qtbot.waitUntil(
            lambda: pane.horizontalScrollBar().maximum() == 0 and pane.document().idealWidth() < wide, timeout=15000
        )
        assert pane.document().idealWidth() <= pane.viewport().width()
    finally:
        store.close()


def encoded_size(width: int, height: int) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    assert make_image(width, height).save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def test_a_lead_image_that_fails_shows_a_placeholder_box(
    qtbot: Any, window_factory: Any, store_path: Path, image_server: ImageServer
) -> None:
    store = Store.open(store_path)
    try:
        store.add_articles([pane_article(image_server.url("/missing.png"))])
        window = window_factory(store)
        pane = window.pane
        qtbot.waitUntil(lambda: pane.article is not None, timeout=15000)
        qtbot.waitUntil(lambda: window.images.is_failed(image_server.url("/missing.png")), timeout=15000)
        qtbot.waitUntil(lambda: PLACEHOLDER_SCHEME in pane.toHtml(), timeout=15000)
        src = next(s for s in inline_images(pane.render_html(pane.article)) if s.startswith(PLACEHOLDER_SCHEME))
        box = pane.loadResource(QTextDocument.ResourceType.ImageResource.value, QUrl(src))
        assert not box.isNull() and box.width() >= 120 and box.height() > 40, "a box, not nothing"
        assert "With a picture" in pane.toPlainText() and "Text." in pane.toPlainText()
    finally:
        store.close()
