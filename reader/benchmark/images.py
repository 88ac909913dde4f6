"""Image benchmark: scrolling a list of articles whose thumbnails come from a loopback server.

``python -m reader.benchmark images [--articles 500] [--screenshot PATH]`` (needs a display: it starts
Xvfb itself when ``DISPLAY`` is unset).

A loopback HTTP server serves generated JPEG and PNG photos (800x533 to 1600x1067); a store holds
``--articles`` articles pointing at them. The window scrolls the whole list one step per frame
(16 ms), as a person dragging the scroll bar would, then waits for every thumbnail. Reported:

- paint time per row (the delegate's ``paint``: median, p95, max);
- the longest gap between two ticks of a 5 ms heartbeat timer on the GUI thread while scrolling and
  loading (the worst stall a person could feel);
- thumbnails delivered, requests made, memory (RSS) after scrolling, the image memory cache's bytes
  against its bound; and a screenshot of the window with real thumbnails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from reader.benchmark.window import display, rss_mb


def make_images(folder: Path, count: int) -> list[Path]:
    """``count`` photo-like images (gradients and shapes), alternating JPEG and PNG."""
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        width = 800 + (i % 5) * 200
        height = width * 2 // 3
        image = QImage(width, height, QImage.Format.Format_RGB32)
        painter = QPainter(image)
        gradient = QLinearGradient(QPointF(0, 0), QPointF(width, height))
        gradient.setColorAt(0, QColor.fromHsv((i * 37) % 360, 160, 230))
        gradient.setColorAt(1, QColor.fromHsv((i * 37 + 120) % 360, 200, 90))
        painter.fillRect(image.rect(), gradient)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor.fromHsv((i * 53) % 360, 120, 250, 180))
        painter.drawEllipse(QRectF(width * 0.2, height * 0.2, width * 0.45, height * 0.5))
        painter.setPen(QColor("white"))
        font = painter.font()
        font.setPixelSize(height // 6)
        painter.setFont(font)
        painter.drawText(image.rect(), int(Qt.AlignmentFlag.AlignCenter), str(i + 1))
        painter.end()
        path = folder / (f"{i}.jpg" if i % 2 == 0 else f"{i}.png")
        image.save(str(path), quality=85)
        paths.append(path)
    return paths


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    folder: Path
    requests = 0
    lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests += 1
        path = self.server.folder / Path(self.path).name
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg" if path.suffix == ".jpg" else "image/png")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "max-age=86400")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m reader.benchmark images")
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--screenshot", type=Path, default=Path(tempfile.gettempdir()) / "reader-thumbnails.png")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="reader-bench-images-"))
    try:
        with display() as disp:
            os.environ["DISPLAY"] = disp
            os.environ["QT_QPA_PLATFORM"] = "xcb"
            return _run(work, args.articles, args.screenshot)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(work: Path, count: int, screenshot: Path) -> int:
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from reader.article import Article
    from reader.store import Store
    from reader.ui import article_delegate
    from reader.ui.main_window import MainWindow
    from reader.ui.settings import Settings
    from reader.ui.thumbnails import ImageService

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Reader benchmark")  # the application must exist (and live) from here on
    t0 = time.perf_counter()
    make_images(work / "images", count)
    print(f"made {count} images in {time.perf_counter() - t0:.1f} s", flush=True)

    server = _Server(("127.0.0.1", 0), _Handler)
    server.folder = work / "images"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]

    db = work / "store.sqlite"
    start = datetime(2024, 6, 1, tzinfo=UTC)
    sources = ["Harbour Times", "Mountain Post", "Valley News", "City Ledger"]
    with Store.open(db) as store:
        store.add_articles(
            Article(
                source=sources[i % len(sources)],
                title=f"Article {i + 1}: the council opens a new bridge across the river",
                author="A. Reporter" if i % 3 else None,
                url=f"https://news.example/{i}",
                image_url=f"http://127.0.0.1:{port}/{i}.{'jpg' if i % 2 == 0 else 'png'}",
                published=start - timedelta(hours=i),
                body="The council opened the bridge on Monday after two years of work. " * 12,
            )
            for i in range(count)
        )

    # Time every row the delegate paints.
    paint_ms: list[float] = []
    original_paint = article_delegate.ArticleDelegate.paint

    def timed_paint(self, painter, option, index):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        original_paint(self, painter, option, index)
        paint_ms.append((time.perf_counter() - started) * 1000)

    article_delegate.ArticleDelegate.paint = timed_paint  # type: ignore[method-assign]

    store = Store.open(db, cache_mb=4)
    images = ImageService(work / "cache")
    window = MainWindow(store, Settings(work / "settings.ini"), images=images)
    window.resize(1280, 800)
    window.show()
    window.start()
    QTest.qWaitForWindowExposed(window)

    # The heartbeat: the longest gap between ticks is the longest the GUI thread was unavailable.
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def beat() -> None:
        now = clock.nsecsElapsed()
        gaps.append((now - last[0]) / 1e6)
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(beat)
    heartbeat.start()

    bar = window.list.verticalScrollBar()
    step = max(1, window.list.sizeHintForRow(0) // 2)
    t_scroll = time.perf_counter()
    while True:
        bar.setValue(bar.value() + step)
        QTest.qWait(16)
        if bar.value() >= bar.maximum() and not window.model.canFetchMore(window.model.index(-1, -1).parent()):
            break
    scroll_s = time.perf_counter() - t_scroll
    # Back to the top, and wait for the visible thumbnails (and anything still in flight) to land.
    bar.setValue(0)
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline:
        QTest.qWait(50)
        stats = images.stats()
        if stats.pending == 0 and stats.in_flight == 0 and stats.decoding == 0:
            break
    QTest.qWait(200)
    heartbeat.stop()
    stats = images.stats()
    rss = rss_mb()
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(screenshot))
    window.close()
    images.shutdown()  # a service passed in is the caller's to stop
    store.close()
    server.shutdown()

    paint_sorted = sorted(paint_ms)
    print()
    print(f"{count} articles, images from http://127.0.0.1:{port}/ (JPEG and PNG, 800-1600 px wide)")
    print(f"scrolled the whole list in {scroll_s:.1f} s ({len(paint_ms)} row paints)")
    print(
        f"paint time per row: median {statistics.median(paint_sorted):.3f} ms, "
        f"p95 {paint_sorted[int(len(paint_sorted) * 0.95) - 1]:.3f} ms, max {paint_sorted[-1]:.2f} ms"
    )
    print(
        f"GUI heartbeat (5 ms timer): median gap {statistics.median(gaps):.1f} ms, "
        f"p99 {sorted(gaps)[int(len(gaps) * 0.99) - 1]:.1f} ms, max gap {max(gaps):.1f} ms"
    )
    print(
        f"images: {server.requests} HTTP requests for {count} URLs, {stats.replies} replies, "
        f"{stats.failed} failed, {stats.memory_items} in the memory cache "
        f"({stats.memory_bytes / 1e6:.1f} MB of {stats.memory_limit / 1e6:.0f} MB allowed)"
    )
    print(f"memory (RSS) after scrolling: {rss:.0f} MB")
    print(f"screenshot: {screenshot}")
    return 0
