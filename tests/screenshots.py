"""Screenshots of the window, to look at (issue #14): not a test. It has no ``test_`` function, so
pytest collects nothing from it; run it by hand after a change to how the window looks::

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. .venv/bin/python tests/screenshots.py [--out /tmp/shots]

It opens the window offscreen on two stores: the bundled sample (``seeds/``, text records without
images) and a loopback feed (:class:`feed_server.FeedServer`) whose items carry PNG pictures drawn
here with QImage, one item a picture that is missing (its placeholder) and one a body with
headings. Each store is shot at 1600x1000 and 800x600, in the light and the dark theme, and saved
as ``<out>/<store>-<theme>-<width>x<height>.png``, with the Preferences dialog beside them
(``<out>/<store>-<theme>-preferences.png``) and, for the feeds, the item whose picture is missing
selected (``...-missing-image.png``: the pane's placeholder). Everything it writes besides the PNGs (stores,
settings, the image cache, the start-up log) goes to a temporary folder removed at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SIZES = ((1600, 1000), (800, 600))
THEMES = ("light", "dark")
#: The pictures' colours (one per item), and the feeds they belong to (two sources, two tints).
COLOURS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280", "#975a16", "#285e61", "#9b2c2c")
FEEDS = (("harbour", "Harbour Times"), ("mountain", "Mountain Post"))
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def wait_until(app: Any, condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Run the event loop until ``condition`` holds (True) or ``timeout`` seconds pass (False)."""
    from PySide6.QtTest import QTest

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        QTest.qWait(10)  # the event loop runs meanwhile: images arrive, timers fire
    return True


def settle(app: Any, seconds: float) -> None:
    """Let queued work (re-layouts after images arrive, deferred timers) run for ``seconds``, in
    the event loop."""
    from PySide6.QtTest import QTest

    QTest.qWait(round(seconds * 1000))


def picture(index: int, width: int = 1200, height: int = 675) -> bytes:
    """A PNG that reads as a photograph at thumbnail size: a gradient, a sun and a horizon."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF
    from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter, QPolygonF

    image = QImage(width, height, QImage.Format.Format_RGB32)
    base = QColor(COLOURS[index % len(COLOURS)])
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    sky = QLinearGradient(0, 0, 0, height)
    sky.setColorAt(0, base.lighter(170))
    sky.setColorAt(1, base)
    painter.fillRect(image.rect(), sky)
    painter.setBrush(QColor("#f6e05e"))
    painter.setPen(QColor(0, 0, 0, 0))
    painter.drawEllipse(QRectF(width * (0.15 + 0.08 * index), height * 0.15, height * 0.25, height * 0.25))
    painter.setBrush(base.darker(180))
    hills = [QPointF(0, height)] + [
        QPointF(width * x / 8, height * (0.55 + 0.15 * ((x + index) % 3) / 2)) for x in range(9)
    ]
    painter.drawPolygon(QPolygonF([*hills, QPointF(width, height)]))
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def feed_xml(server: Any, name: str, title: str, first: int, count: int) -> bytes:
    items = []
    for n in range(count):
        i = first + n
        when = format_datetime(NOW - timedelta(hours=3 * i + 1))
        body = (
            f"<p>The {title} reports on item {i}: harbour cranes unload the morning ships while gulls "
            "circle overhead, and the market opens along the quay.</p>"
            "<h2>What happened</h2>"
            "<p>Crews worked through the night to clear the channel before the tide turned. "
            "Nobody was hurt, and the ferries ran on time.</p>"
            "<h3>What comes next</h3>"
            "<p>The council meets on Thursday to decide on the new breakwater.</p>"
        )
        image = server.url(f"/img/{i}.png") if n != 2 else server.url(f"/img/missing-{i}.png")
        enclosure = f'<enclosure url="{escape(image)}" type="image/png" length="1"/>' if n != 4 else ""
        items.append(
            f"<item><title>{escape(title)} story {i}: the tide, the ferries and the new breakwater</title>"
            f"<link>https://news.example/{name}/{i}</link><guid>{name}-{i}</guid>"
            f"<author>desk@news.example (Desk {i})</author><pubDate>{when}</pubDate>"
            f"<description>{escape(body)}</description>{enclosure}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://news.example/{name}</link>"
        f"<description>{escape(title)}</description>{''.join(items)}</channel></rss>"
    ).encode()


@contextmanager
def loopback_feeds() -> Iterator[list[str]]:
    """The feed server with two feeds of pictured items; yields their URLs."""
    sys.path.insert(0, str(HERE))
    from feed_server import FeedServer

    server = FeedServer()
    try:
        urls = []
        for k, (name, title) in enumerate(FEEDS):
            first = k * 6
            for i in range(first, first + 6):
                server.add(f"/img/{i}.png", picture(i), content_type="image/png")
            urls.append(server.add(f"/{name}.xml", feed_xml(server, name, title, first, 6)))
        yield urls
    finally:
        server.close()


def sample_store(folder: Path) -> Path:
    from reader.importer import import_paths

    path = folder / "sample.sqlite"
    report = import_paths(path, [str(ROOT / "seeds")])
    assert report.ok, report.problems
    return path


def feed_store(folder: Path, urls: list[str]) -> Path:
    from reader import subscriptions
    from reader.addresses import Input, InputKind, feed_url
    from reader.store import Store

    path = folder / "feeds.sqlite"
    with Store.open(path) as store:
        _added, problems = subscriptions.subscribe(store, [Input(InputKind.FEED, feed_url(u), u) for u in urls])
    assert not problems, problems
    return path


def shoot(app: Any, db: Path, folder: Path, theme: str, size: tuple[int, int], out: Path) -> Path:
    from reader.store import Store
    from reader.ui.main_window import MainWindow
    from reader.ui.settings import Settings

    ini = folder / f"{db.stem}-{theme}-{size[0]}.ini"
    settings = Settings(ini)
    settings.theme = theme
    settings.sync()
    store = Store.open(db)
    window = MainWindow(store, Settings(ini))
    try:
        window.resize(*size)
        window.show()
        window.start()
        wait_until(app, lambda: window.sidebar.count() > 3)
        images = window.images

        def images_idle() -> bool:
            s = images.stats()
            return s.pending == 0 and s.in_flight == 0 and s.decoding == 0

        wait_until(app, lambda: window.list_images.active)
        settle(app, 0.3)  # the visible rows ask for their thumbnails as they paint
        wait_until(app, images_idle)
        settle(app, 0.5)  # the pane lays out again once its lead image is in; the failed one's box
        wait_until(app, images_idle)
        settle(app, 0.3)
        target = out / f"{db.stem}-{theme}-{size[0]}x{size[1]}.png"
        if not window.grab().save(str(target)):
            raise SystemExit(f"screenshots: could not write {target}")
        if db.stem == "feeds":
            # The third story's picture is missing: the pane's placeholder for it, beside the rest.
            window.list.select_row(2)
            wait_until(app, lambda: window.pane.article is not None and "story 2:" in window.pane.article.title)
            settle(app, 0.3)
            wait_until(app, images_idle)
            settle(app, 0.3)
            window.grab().save(str(out / f"{db.stem}-{theme}-{size[0]}x{size[1]}-missing-image.png"))
        if size == SIZES[-1]:
            # The Preferences dialog too, once per store and theme (its size is its own).
            window.preferences.show_preferences()
            dialog = window.preferences.dialog
            assert dialog is not None
            settle(app, 0.2)
            dialog.grab().save(str(out / f"{db.stem}-{theme}-preferences.png"))
            dialog.close()
        return target
    finally:
        window.close()
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("/tmp/shots"), help="where the PNGs go (/tmp/shots)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="reader-shots-") as temp:
        folder = Path(temp)
        # The person's own settings, cache and start-up log stay untouched.
        for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
            os.environ[name] = str(folder / name.lower())
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtWidgets import QApplication

        from reader.ui.theme import apply_theme

        app = QApplication.instance() or QApplication(["reader-screenshots"])
        with loopback_feeds() as urls:
            stores = [sample_store(folder), feed_store(folder, urls)]
            for db in stores:
                for theme in THEMES:
                    for size in SIZES:
                        print(shoot(app, db, folder, theme, size, args.out))
        apply_theme("system")
    return 0


if __name__ == "__main__":
    sys.exit(main())
