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

``python -m reader.benchmark images --slow-host`` runs the *slow host* case instead (about a minute):
300 articles whose pictures come from one loopback host, where every tenth image answers only after
20 s and the rest at once. A new user's first start (empty disk cache), then the next start (a
second Reader process on the same disk cache, which by then holds the fast images): each opens the
real window (``MainWindow(store, Settings())``, as ``reader.ui.app`` builds it), presses ``j`` 40
times (one key every 50 ms, the event loop running between keys), then samples which visible rows
(rows whose rect meets the list's viewport) show their picture rather than the placeholder 0.3, 0.5,
1, 1.5 and 3 s after the last key, fast and slow images counted apart. Goal (DESIGN.md): every fast
image shown within 1 s on an empty cache, within 0.3 s on a warm one. Each window process gets its
own ``XDG_CONFIG_HOME`` (fresh settings: both start on the first article) and the same
``XDG_CACHE_HOME``, which is where ``reader.ui.thumbnails.default_cache_dir()`` puts the disk cache.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
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
    daemon_threads = True  # a slow answer still being held must not hold the process's exit
    folder: Path
    requests = 0
    lock = threading.Lock()
    #: With ``slow_every`` N > 0, paths ``/photo/<i>/<file>`` with ``i % N == N - 1`` answer after ``slow_delay``.
    slow_every = 0
    slow_delay = 0.0
    #: Set when the benchmark ends: held answers are dropped at once (no answer at all).
    release: threading.Event
    #: (time.monotonic(), path) of every request, in arrival order.
    log: list[tuple[float, str]]


def _is_slow(path: str, every: int) -> bool:
    """Whether ``/photo/<i>/<file>`` (a path or a URL) is a slow one: ``i % every == every - 1``."""
    parts = path.split("/photo/", 1)[-1].split("/")
    return every > 0 and parts[0].isdigit() and int(parts[0]) % every == every - 1


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests += 1
            if hasattr(self.server, "log"):
                self.server.log.append((time.monotonic(), self.path))
        path = self.server.folder / Path(self.path).name
        if not path.is_file():
            self.send_error(404)
            return
        if _is_slow(self.path, self.server.slow_every) and self.server.release.wait(self.server.slow_delay):
            return  # the benchmark is over: close without an answer
        data = path.read_bytes()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg" if path.suffix == ".jpg" else "image/png")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "max-age=86400")
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (its timeout) before a slow answer came
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


def write_store(db: Path, image_urls: list[str]) -> None:
    """A store of one article per image URL, newest first in that order (article i is row i)."""
    from reader.records import Article
    from reader.store import Store

    start = datetime(2024, 6, 1, tzinfo=UTC)
    sources = ["Harbour Times", "Mountain Post", "Valley News", "City Ledger"]
    with Store.open(db) as store:
        store.add_articles(
            Article(
                source=sources[i % len(sources)],
                title=f"Article {i + 1}: the council opens a new bridge across the river",
                author="A. Reporter" if i % 3 else None,
                url=f"https://news.example/{i}",
                image_url=url,
                published=start - timedelta(hours=i),
                body="The council opened the bridge on Monday after two years of work. " * 12,
            )
            for i, url in enumerate(image_urls)
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m reader.benchmark images")
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--screenshot", type=Path, default=Path(tempfile.gettempdir()) / "reader-thumbnails.png")
    parser.add_argument(
        "--slow-host",
        action="store_true",
        help="instead: the slow-host case (one host, one image in ten answering after 20 s), empty then warm cache",
    )
    parser.add_argument(
        "--linger",
        type=float,
        default=SLOW_HOST_LINGER_S,
        help="--slow-host: after the 3 s sample, wait at most this long for every visible fast image (s)",
    )
    # Internal: one window process of --slow-host (the parent serves the images and reads the result).
    parser.add_argument("--slow-host-window", choices=("empty", "warm"), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.slow_host_window:
        return _slow_host_window(args.slow_host_window, args.db, args.result, args.linger)
    work = Path(tempfile.mkdtemp(prefix="reader-bench-images-"))
    try:
        with display() as disp:
            os.environ["DISPLAY"] = disp
            os.environ["QT_QPA_PLATFORM"] = "xcb"
            if args.slow_host:
                return _slow_host(work, args.linger)
            return _run(work, args.articles, args.screenshot)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(work: Path, count: int, screenshot: Path) -> int:
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

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
    write_store(db, [f"http://127.0.0.1:{port}/{i}.{'jpg' if i % 2 == 0 else 'png'}" for i in range(count)])

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


# --- the slow-host case ---

SLOW_HOST_ARTICLES = 300
SLOW_HOST_IMAGES = 30  # distinct pictures, served under SLOW_HOST_ARTICLES distinct paths
SLOW_EVERY = 10  # every tenth image is slow ...
SLOW_DELAY_S = 20.0  # ... and answers after this long
SLOW_HOST_KEYS = 40
KEY_INTERVAL_MS = 50
SAMPLES_S = (0.3, 0.5, 1.0, 1.5, 3.0)  # after the last key
SLOW_HOST_LINGER_S = 35.0
GOAL_S = {"empty": 1.0, "warm": 0.3}  # every visible fast image shown within this long after the last key
_PHASES = {"empty": "empty cache (first start)", "warm": "warm cache (next start, same disk cache)"}


def _slow_host(work: Path, linger_s: float) -> int:
    """The parent: generate the images, serve them from one loopback host, build the store, then run
    one window process per phase against it and report."""
    from PySide6.QtGui import QGuiApplication

    load_start = os.getloadavg()
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # for painting the images
    t0 = time.perf_counter()
    paths = make_images(work / "images", SLOW_HOST_IMAGES)
    print(f"made {len(paths)} images in {time.perf_counter() - t0:.1f} s", flush=True)

    server = _Server(("127.0.0.1", 0), _Handler)
    server.folder = work / "images"
    server.slow_every = SLOW_EVERY
    server.slow_delay = SLOW_DELAY_S
    server.release = threading.Event()
    server.log = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    db = work / "store.sqlite"
    # Article i is the i-th newest (row i of the list) and shows /photo/i/...: slow when i % 10 == 9.
    write_store(db, [f"{base}/photo/{i}/{paths[i % len(paths)].name}" for i in range(SLOW_HOST_ARTICLES)])
    del app  # kept alive until here only for make_images

    cache_home = work / "cache-home"  # XDG_CACHE_HOME of both window processes: the shared disk cache
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(QT_QPA_PLATFORM="xcb", XDG_CACHE_HOME=str(cache_home))
    results: dict[str, dict] = {}
    cache_before: dict[str, tuple[int, int]] = {}
    try:
        for phase in ("empty", "warm"):
            cache_before[phase] = _folder_size(cache_home)
            images_dir = cache_home / "reader-desktop" / "images"  # default_cache_dir() under this XDG_CACHE_HOME
            beside = sorted(p.name for p in images_dir.iterdir() if p.is_file()) if images_dir.is_dir() else []
            phase_db = work / f"store-{phase}.sqlite"  # the same articles, none read yet
            shutil.copyfile(db, phase_db)
            result = work / f"{phase}.json"
            first_request = len(server.log)
            print(f"{_PHASES[phase]}: starting a Reader window process ...", flush=True)
            command = [sys.executable, "-m", "reader.benchmark", "images", "--slow-host-window", phase]
            command += ["--db", str(phase_db), "--result", str(result), "--linger", str(linger_s)]
            done = subprocess.run(
                command,
                env={
                    **env,
                    # Fresh settings: the window starts on the first article, at its default size.
                    "XDG_CONFIG_HOME": str(work / f"config-{phase}"),
                    "XDG_DATA_HOME": str(work / f"data-{phase}"),
                },
                capture_output=True,
                text=True,
                timeout=180,
            )
            if done.returncode != 0 or not result.exists():
                print(done.stdout[-3000:], done.stderr[-5000:], sep="\n", file=sys.stderr)
                raise SystemExit(f"images benchmark: the {phase} window process failed ({done.returncode})")
            results[phase] = json.loads(result.read_text())
            results[phase]["beside_cache"] = beside  # files of the service's own (a failure memory, say)
            with server.lock:
                results[phase]["server_log"] = server.log[first_request:]
        cache_after = _folder_size(cache_home)
    finally:
        server.release.set()  # drop every held slow answer
        server.shutdown()
        server.server_close()
    load_end = os.getloadavg()

    print()
    print(
        f"slow host: {SLOW_HOST_ARTICLES} articles, pictures from {base}/ (one host, {SLOW_HOST_IMAGES} pictures "
        f"under {SLOW_HOST_ARTICLES} paths); every {SLOW_EVERY}th answers after {SLOW_DELAY_S:g} s, the rest at once"
    )
    print(f"'j' x{SLOW_HOST_KEYS}, one every {KEY_INTERVAL_MS} ms; samples after the last key")
    print(f"load average at start: {_load(load_start)}")
    for phase in ("empty", "warm"):
        files, size = cache_before[phase]
        print()
        beside = results[phase]["beside_cache"]
        print(
            f"== {_PHASES[phase]}: disk cache before: {files} files, {size / 1e6:.1f} MB"
            + (f" (beside it: {', '.join(beside)})" if beside else "")
        )
        _report_phase(results[phase])
    print()
    print(
        f"disk cache after both runs: {cache_after[0]} files, {cache_after[1] / 1e6:.1f} MB "
        f"({cache_home / 'reader-desktop' / 'images'})"
    )
    print()
    _summary(results)
    print(f"load average at end: {_load(load_end)}")
    return 0


def _folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
    return len(files), sum(p.stat().st_size for p in files)


def _load(load: tuple[float, float, float]) -> str:
    return f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1/5/15 min; {os.cpu_count()} CPUs)"


def _counts(sample: dict) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """(shown, visible) for all rows, for rows with a fast image, for rows with a slow image."""
    rows = sample["rows"]
    fast = [r for r in rows if not r["slow"]]
    slow = [r for r in rows if r["slow"]]
    return (
        (sum(r["shown"] for r in rows), len(rows)),
        (sum(r["shown"] for r in fast), len(fast)),
        (sum(r["shown"] for r in slow), len(slow)),
    )


def _ratio(pair: tuple[int, int]) -> str:
    return f"{pair[0]}/{pair[1]}"


def _fast_all_shown(result: dict) -> float | None:
    """Seconds after the last key until every visible fast image was shown; None: not within the run."""
    last = result["samples"][-1]["rows"]
    times = [result["first_shown"].get(str(r["row"])) for r in last if not r["slow"]]
    return None if any(t is None for t in times) else max(times, default=0.0)


def _report_phase(result: dict) -> None:
    t_last = result["t_last"]
    rows = result["samples"][-1]["rows"]
    fast = [r for r in rows if not r["slow"]]
    print(
        f"window visible {result['visible_s']:.2f} s after start; keys from {result['keys_started_s']:.2f} s, "
        f"the last at {t_last - result['t_start']:.2f} s; current row after the keys: {result['current_row']}"
    )
    print(
        f"visible rows: {rows[0]['row']}-{rows[-1]['row']} ({len(rows)}: {len(fast)} with a fast image, "
        f"{len(rows) - len(fast)} with a slow one)"
    )
    print(f"{'after the last key':<28}" + "".join(f"{s:>7g} s" for s in SAMPLES_S))
    table = [_counts(sample) for sample in result["samples"]]
    for label, column in (("visible rows showing picture", 0), ("  fast images shown", 1), ("  slow images shown", 2)):
        print(f"{label:<28}" + "".join(f"{_ratio(c[column]):>9}" for c in table))
    late = [f"{s['at']:g} s at {s['elapsed']:.2f} s" for s in result["samples"] if s["elapsed"] - s["at"] > 0.05]
    if late:
        print(f"  (samples taken late: {', '.join(late)})")
    by_time = {s["at"]: _counts(s)[1] for s in result["samples"]}
    slow_3 = _counts(result["samples"][-1])[2]
    print(
        f"visible rows with a fast image: {len(fast)}; shown at "
        + ", ".join(f"{at:g} s: {_ratio(by_time[at])}" for at in SAMPLES_S)
        + f"; slow images shown at {SAMPLES_S[-1]:g} s: {_ratio(slow_3)}"
    )
    all_fast = _fast_all_shown(result)
    goal = GOAL_S[result["phase"]]
    verdict = "PASS" if all_fast is not None and all_fast <= goal else "FAIL"
    waited = result["ended_s"] - t_last
    shown_after = f"{all_fast:.2f} s" if all_fast is not None else f"not within {waited:.0f} s"
    print(f"every visible fast image shown after: {shown_after} (goal <= {goal:g} s)  {verdict}")
    # Per visible row: when the server first saw its request, when the picture first showed (s after the last key).
    requested: dict[str, float] = {}
    for at, path in result["server_log"]:
        requested.setdefault(path, at - t_last)
    print(f"  {'row':>4} {'image':<6}{'requested':>11}{'shown':>9}")
    for r in rows:
        path = "/photo/" + r["url"].split("/photo/", 1)[1]
        asked = requested.get(path)
        shown = result["first_shown"].get(str(r["row"]))
        print(
            f"  {r['row']:>4} {'slow' if r['slow'] else 'fast':<6}"
            f"{(f'{asked:+.2f} s' if asked is not None else 'no request'):>11}"
            f"{(f'{shown:.2f} s' if shown is not None else '-'):>9}"
        )
    stats = result["stats"]
    slow_requests = sum(_is_slow(path, SLOW_EVERY) for _, path in result["server_log"])
    print(
        f"server: {len(result['server_log'])} requests ({slow_requests} for slow images); service: "
        f"{stats['replies']} replies, {stats['from_disk_cache']} from the disk cache, {stats['failed']} failed, "
        f"{stats['pending']} still queued and {stats['in_flight']} in flight at the end"
    )
    print(
        f"load average: {_load(tuple(result['load_start']))} at its start, "
        f"{_load(tuple(result['load_end']))} at its end"
    )


def _summary(results: dict[str, dict]) -> None:
    print(f"{'summary':<34}" + "".join(f"{s:>7g} s" for s in SAMPLES_S) + f"{'all fast':>11}{'goal':>10}")
    for phase in ("empty", "warm"):
        table = [_counts(sample) for sample in results[phase]["samples"]]
        all_fast = _fast_all_shown(results[phase])
        goal = GOAL_S[phase]
        shown = f"{all_fast:.2f} s" if all_fast is not None else "never"
        verdict = "PASS" if all_fast is not None and all_fast <= goal else "FAIL"
        print(f"{phase + ' cache: visible rows shown':<34}" + "".join(f"{_ratio(c[0]):>9}" for c in table))
        print(
            f"{phase + ' cache: fast images shown':<34}"
            + "".join(f"{_ratio(c[1]):>9}" for c in table)
            + f"{shown:>11}{'<= ' + format(goal, 'g') + ' s':>10}  {verdict}"
        )


def _slow_host_window(phase: str, db: Path, result_path: Path, linger_s: float) -> int:
    """One window process: the real window on ``db`` (as ``reader.ui.app.run`` builds it, so its image
    service keeps its disk cache under ``$XDG_CACHE_HOME``), ``j`` pressed, visible rows sampled."""
    from PySide6.QtCore import QRect, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from reader.store import Store
    from reader.ui.article_delegate import THUMB_SIZE
    from reader.ui.main_window import MainWindow
    from reader.ui.settings import Settings

    t_start = time.monotonic()
    load_start = os.getloadavg()
    app = QApplication(sys.argv[:1])
    app.setApplicationName("Reader")
    app.setOrganizationName("reader-desktop")
    app.setDesktopFileName("reader-desktop")
    store = Store.open(db, cache_mb=4)
    window = MainWindow(store, Settings())
    window.show()
    window.start()
    if not QTest.qWaitForWindowExposed(window):
        raise SystemExit("images benchmark: the window was not exposed")
    visible_s = time.monotonic() - t_start
    # Window shortcuts (j) need an active window; no window manager under Xvfb activates it for us.
    window.activateWindow()
    if not QTest.qWaitForWindowActive(window):
        raise SystemExit("images benchmark: the window did not become active")
    view, model, images = window.list, window.model, window.images
    QTest.qWait(300)  # a person takes a moment before the first key; the first screen starts loading
    if not window.list_images.active:
        raise SystemExit("images benchmark: the window never started loading images")

    def visible_rows() -> list[dict]:
        viewport: QRect = view.viewport().rect()
        rows = []
        for n in range(model.rowCount()):
            if view.visualRect(model.index(n)).intersects(viewport):
                row = model.row(n)
                url = row.image_url if row is not None else None
                if url:
                    # What the delegate paints: the thumbnail role is the service's cached pixmap, else
                    # it paints the placeholder. pixmap() is that lookup without queueing a request.
                    shown = images.pixmap(url, THUMB_SIZE) is not None
                    rows.append({"row": n, "url": url, "slow": _is_slow(url, SLOW_EVERY), "shown": shown})
        return rows

    state: dict = {"pressed": 0, "t_last": None, "samples": [], "first_shown": {}}
    timers: list[QTimer] = []

    def timer(interval_ms: int, slot, single: bool) -> QTimer:  # type: ignore[no-untyped-def]
        t = QTimer()
        t.setTimerType(Qt.TimerType.PreciseTimer)
        t.setInterval(interval_ms)
        t.setSingleShot(single)
        t.timeout.connect(slot)
        timers.append(t)
        return t

    def press() -> None:
        QTest.keyClick(view, Qt.Key.Key_J)
        state["pressed"] += 1
        if state["pressed"] < SLOW_HOST_KEYS:
            return
        keys.stop()
        state["t_last"] = time.monotonic()
        for at in SAMPLES_S:
            timer(round(at * 1000), lambda at=at: take_sample(at), True).start()
        check()  # pictures already shown at the last key count as shown at 0 s
        poll.start()

    def take_sample(at: float) -> None:
        state["samples"].append({"at": at, "elapsed": time.monotonic() - state["t_last"], "rows": visible_rows()})

    def check() -> None:
        elapsed = time.monotonic() - state["t_last"]
        rows = visible_rows()
        for r in rows:
            if r["shown"]:
                state["first_shown"].setdefault(str(r["row"]), elapsed)
        sampled = len(state["samples"]) == len(SAMPLES_S)
        all_fast = all(r["shown"] for r in rows if not r["slow"])
        if sampled and (all_fast or elapsed > SAMPLES_S[-1] + linger_s):
            poll.stop()
            finish()

    def finish() -> None:
        state["ended_s"] = time.monotonic() - t_start
        state["current_row"] = view.current_row()
        state["stats"] = images.stats().__dict__
        window.close()  # saves settings, stops the window's own image service (it owns it)
        app.quit()

    keys = timer(KEY_INTERVAL_MS, press, False)
    poll = timer(25, check, False)
    keys_started = time.monotonic()
    keys.start()
    app.exec()
    window.jobs.wait_for_jobs()
    store.close()
    result = {
        "phase": phase,
        "t_start": t_start,
        "visible_s": visible_s,
        "keys_started_s": keys_started - t_start,
        "t_last": state["t_last"],
        "ended_s": state["ended_s"] + t_start,
        "current_row": state["current_row"],
        "samples": state["samples"],
        "first_shown": state["first_shown"],
        "stats": state["stats"],
        "load_start": load_start,
        "load_end": os.getloadavg(),
    }
    result_path.write_text(json.dumps(result))
    return 0
