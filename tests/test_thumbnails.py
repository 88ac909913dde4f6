"""The image service against a loopback HTTP server the tests start.

The server serves real PNG and JPEG files made here with QImage.save, a slow endpoint (blocks until
released), gated endpoints (block until a test opens the gate), a 404, an HTML page, garbage bytes and
oversize images; it counts requests per path and concurrent requests.
"""

from __future__ import annotations

import collections
import http.server
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # also set by conftest; this file stands alone

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, QThread, QThreadPool, QUrl
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap

from reader.ui.names import source_initial
from reader.ui.thumbnails import (
    DOCUMENT_WIDTH_STEP,
    ImageService,
    decode_image,
    default_cache_dir,
    document_size,
)

THUMB = QSize(48, 36)
SIGNAL_TIMEOUT = 10_000


# --- the loopback server ---


@dataclass
class Route:
    body: bytes
    content_type: str = "image/png"
    status: int = 200
    cache: bool = True  # send Cache-Control: max-age
    length: bool = True  # send Content-Length (else chunked, so only the bytes received tell the size)
    gate: threading.Event | None = None  # wait for it before answering


class ImageServer:
    """A ThreadingHTTPServer on 127.0.0.1:0 with routes, per-path counts and a concurrency gauge."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.counts: collections.Counter[str] = collections.Counter()
        self.order: list[str] = []
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        self.gates: list[threading.Event] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path
                with server.lock:
                    server.counts[path] += 1
                    server.order.append(path)
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                try:
                    self._answer(server.routes.get(path))
                except OSError:
                    pass  # the client aborted (timeout, too large, privacy): expected
                finally:
                    with server.lock:
                        server.active -= 1

            def _answer(self, route: Route | None) -> None:
                if route is None:
                    route = Route(b"<h1>not found</h1>", "text/html", status=404, cache=False)
                if route.gate is not None:
                    route.gate.wait(30)
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.cache:
                    self.send_header("Cache-Control", "max-age=86400")
                if route.length:
                    self.send_header("Content-Length", str(len(route.body)))
                else:
                    self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                if route.length:
                    self.wfile.write(route.body)
                    return
                for start in range(0, len(route.body), 4096):
                    chunk = route.body[start : start + 4096]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="image-server", daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def gate(self) -> threading.Event:
        event = threading.Event()
        self.gates.append(event)
        return event

    def count(self, path: str) -> int:
        with self.lock:
            return self.counts[path]

    def total(self) -> int:
        with self.lock:
            return sum(self.counts.values())

    def close(self) -> None:
        for gate in self.gates:
            gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


def make_image(width: int, height: int, paint: Callable[[QImage], None] | None = None) -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#3366cc"))
    if paint is not None:
        paint(image)
    return image


@pytest.fixture
def images(tmp_path: Path, qapp: object) -> dict[str, bytes]:
    """Real image files written by QImage.save into tmp_path, read back as bytes."""

    def three_bands(image: QImage) -> None:
        painter = QPainter(image)
        third = image.width() // 3
        painter.fillRect(0, 0, third, image.height(), QColor("#00ff00"))
        painter.fillRect(2 * third, 0, image.width() - 2 * third, image.height(), QColor("#00ff00"))
        painter.end()

    made = {}
    for name, (w, h, fmt, paint) in {
        "photo.png": (320, 240, "PNG", None),
        "photo.jpg": (400, 300, "JPEG", None),
        "wide.png": (300, 100, "PNG", three_bands),
        "small.png": (100, 50, "PNG", None),
        "huge.png": (1500, 1500, "PNG", None),
    }.items():
        path = tmp_path / "images" / name
        path.parent.mkdir(exist_ok=True)
        assert make_image(w, h, paint).save(str(path), fmt)
        made[name] = path.read_bytes()
    return made


@pytest.fixture
def server(images: dict[str, bytes]) -> Iterator[ImageServer]:
    server = ImageServer()
    noise = bytes(range(256)) * 400  # ~100 kB that is no image
    server.routes.update(
        {
            "/photo.png": Route(images["photo.png"]),
            "/photo.jpg": Route(images["photo.jpg"], "image/jpeg"),
            "/wide.png": Route(images["wide.png"]),
            "/small.png": Route(images["small.png"]),
            "/nocache.png": Route(images["photo.png"], cache=False),
            "/page.png": Route(b"<html><body>a page, not a picture</body></html>", "text/html"),
            "/garbage.png": Route(noise[:5000]),
            "/big.png": Route(noise),
            "/big-stream.png": Route(noise, length=False),
        }
    )
    for i in range(8):
        server.routes[f"/img{i}.png"] = Route(images["photo.png"])
    yield server
    server.close()


@pytest.fixture
def make_service(tmp_path: Path, qtbot: object) -> Iterator[Callable[..., ImageService]]:
    """Services made by a test; at teardown each is shut down and must leave no reply or job behind."""
    made: list[ImageService] = []

    def make(cache_dir: Path | None = None, **options: object) -> ImageService:
        service = ImageService(cache_dir if cache_dir is not None else tmp_path / "cache", **options)  # type: ignore[arg-type]
        made.append(service)
        return service

    yield make
    for service in made:
        service.shutdown()
        stats = service.stats()
        assert stats.in_flight == 0
        assert stats.decoding == 0
        assert service._pool.activeThreadCount() == 0
        assert not service._net_thread.isRunning()
    assert QThreadPool.globalInstance().waitForDone(5000)


def wait_ready(qtbot, service: ImageService, url: str, size: QSize = THUMB) -> None:
    with qtbot.waitSignal(
        service.image_ready, timeout=SIGNAL_TIMEOUT, check_params_cb=lambda u, s: u == url and s == size
    ):
        service.request(url, size)


# --- arriving ---


@pytest.mark.parametrize("path", ["/photo.png", "/photo.jpg"])
def test_thumbnail_arrives_at_the_requested_size(qtbot, server, make_service, path):
    service = make_service()
    url = server.url(path)
    assert service.thumbnail(url, THUMB) is None
    with qtbot.waitSignal(service.image_ready, timeout=SIGNAL_TIMEOUT) as blocker:
        pass
    assert blocker.args == [url, THUMB]
    pixmap = service.pixmap(url, THUMB)
    assert isinstance(pixmap, QPixmap)
    assert pixmap.size() == THUMB
    assert server.count(path) == 1


def test_thumbnail_is_scaled_to_fill_and_centre_cropped(qtbot, server, make_service):
    # wide.png is green | blue | green in thirds: a centred square crop holds only blue.
    service = make_service()
    url = server.url("/wide.png")
    wait_ready(qtbot, service, url, QSize(30, 30))
    image = service.pixmap(url, QSize(30, 30)).toImage()
    assert image.size() == QSize(30, 30)
    for x in (1, 15, 28):
        color = image.pixelColor(x, 15)
        assert color.blue() > 150 and color.green() < 150, (x, color.name())


def test_hidpi_thumbnail_has_device_pixels_and_logical_size(qtbot, server, make_service):
    service = make_service(device_pixel_ratio=2.0)
    url = server.url("/photo.png")
    wait_ready(qtbot, service, url)
    pixmap = service.pixmap(url, THUMB)
    assert pixmap.size() == THUMB * 2
    assert pixmap.deviceIndependentSize().toSize() == THUMB


def test_document_image_fits_the_width_and_is_never_enlarged(qtbot, server, make_service):
    service = make_service()
    url = server.url("/photo.png")  # 320 x 240
    assert service.document_image(url, 200) is None
    key = document_size(200)
    with qtbot.waitSignal(service.image_ready, timeout=SIGNAL_TIMEOUT, check_params_cb=lambda u, s: s == key):
        pass
    image = service.document_image(url, 200)
    assert isinstance(image, QImage)
    assert image.width() == key.width() <= 200
    assert image.height() == key.width() * 240 // 320
    # Widening the pane pixel by pixel decodes nothing new until the next step of width: the
    # width is rounded down to a multiple of DOCUMENT_WIDTH_STEP, not kept to the pixel.
    assert key.width() % DOCUMENT_WIDTH_STEP == 0 and 200 - key.width() < DOCUMENT_WIDTH_STEP
    decoded: list[QSize] = []
    service.decode_hook = lambda u, s: decoded.append(s)
    for width in (key.width() + 1, *range(key.width(), key.width() + DOCUMENT_WIDTH_STEP)):
        same = service.document_image(url, width)
        assert same is not None and same.cacheKey() == image.cacheKey(), f"a pane {width} px wide"
    assert service.stats().pending == 0
    wider = key.width() + DOCUMENT_WIDTH_STEP
    assert service.document_image(url, wider) is None  # the next step: decoded anew, at that width
    with qtbot.waitSignal(service.image_ready, timeout=SIGNAL_TIMEOUT, check_params_cb=lambda u, s: u == url):
        pass
    assert decoded == [QSize(wider, 0)]
    assert service.document_image(url, wider).width() == wider

    small = server.url("/small.png")  # 100 x 50, narrower than the pane
    service.document_image(small, 640)
    with qtbot.waitSignal(service.image_ready, timeout=SIGNAL_TIMEOUT, check_params_cb=lambda u, s: u == small):
        pass
    assert service.document_image(small, 640).size() == QSize(100, 50)
    # A thumbnail and a document image of one URL are different keys.
    assert service.pixmap(url, THUMB) is None


def test_memory_cache_answers_without_a_request(qtbot, server, make_service):
    service = make_service()
    url = server.url("/photo.png")
    wait_ready(qtbot, service, url)
    replies = service.stats().replies
    for _ in range(3):
        assert service.thumbnail(url, THUMB) is not None
        service.request(url, THUMB)
    assert service.stats().replies == replies
    assert service.stats().pending == 0


def download_held_open(qtbot, server, make_service, images):
    """A service whose one thumbnail download has started and waits (until ``gate`` is set)."""
    gate = server.gate()
    server.routes["/gated.png"] = Route(images["photo.png"], gate=gate)
    service = make_service()
    url = server.url("/gated.png")
    service.request(url, THUMB)
    qtbot.waitUntil(lambda: service.stats().in_flight == 1, timeout=SIGNAL_TIMEOUT)
    return service, url, gate


def test_a_size_asked_for_while_its_url_downloads_joins_that_download(qtbot, server, make_service, images):
    service, url, gate = download_held_open(qtbot, server, make_service, images)
    service.request(url, QSize(96, 72))
    assert service.stats().pending == 0
    with qtbot.waitSignals([service.image_ready] * 2, timeout=SIGNAL_TIMEOUT):
        gate.set()
    assert service.pixmap(url, QSize(96, 72)) is not None
    assert server.count("/gated.png") == 1


def test_two_sizes_of_one_url_share_one_download(qtbot, server, make_service):
    service = make_service()
    url = server.url("/photo.jpg")
    big = QSize(96, 72)
    with qtbot.waitSignals([service.image_ready, service.image_ready], timeout=SIGNAL_TIMEOUT):
        service.request(url, THUMB)
        service.request(url, big)
        service.request(url, THUMB)  # a duplicate
    assert service.pixmap(url, THUMB).size() == THUMB
    assert service.pixmap(url, big).size() == big
    assert server.count("/photo.jpg") == 1


@pytest.mark.parametrize("path", ["/photo.png", "/nocache.png"])
def test_a_second_service_is_served_from_the_disk_cache(qtbot, server, make_service, tmp_path, path):
    # /nocache.png sends no Cache-Control: the service gives it a freshness date itself.
    cache_dir = tmp_path / "shared-cache"
    url = server.url(path)
    first = make_service(cache_dir)
    wait_ready(qtbot, first, url)
    assert server.count(path) == 1
    first.shutdown()

    second = make_service(cache_dir)  # fresh memory cache, same disk cache
    assert second.pixmap(url, THUMB) is None
    wait_ready(qtbot, second, url)
    assert second.pixmap(url, THUMB).size() == THUMB
    assert server.count(path) == 1
    assert second.stats().from_disk_cache == 1


def test_default_cache_dir_is_in_the_user_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    assert default_cache_dir().is_relative_to(tmp_path / "xdg-cache")
    assert default_cache_dir().name == "images"


# --- not blocking ---


def test_a_slow_endpoint_does_not_hold_up_other_images(qtbot, server, make_service, images):
    server.routes["/slow.png"] = Route(images["photo.png"], gate=server.gate())  # released at teardown
    service = make_service(max_per_host=2)
    slow = server.url("/slow.png")
    service.request(slow, THUMB, priority=10)
    qtbot.waitUntil(lambda: server.count("/slow.png") == 1, timeout=SIGNAL_TIMEOUT)
    others = [server.url(f"/img{i}.png") for i in range(4)]
    with qtbot.waitSignals([service.image_ready] * 4, timeout=SIGNAL_TIMEOUT):
        for url in others:
            service.request(url, THUMB)
    assert all(service.pixmap(url, THUMB) is not None for url in others)
    assert service.pixmap(slow, THUMB) is None
    assert service.stats().in_flight == 1  # the slow one, still pending on the server


def test_a_request_that_takes_too_long_times_out_and_is_not_retried(qtbot, server, make_service, images):
    server.routes["/slow.png"] = Route(images["photo.png"], gate=server.gate())
    service = make_service(timeout_ms=300)
    slow = server.url("/slow.png")
    with qtbot.waitSignal(service.image_failed, timeout=SIGNAL_TIMEOUT) as blocker:
        service.request(slow, THUMB)
    assert blocker.args == [slow]
    assert service.is_failed(slow)
    assert "timed out" in service.failure_reason(slow)
    assert service.stats().in_flight == 0
    service.request(slow, THUMB)  # asked again (a repaint): nothing happens
    assert service.stats().pending == 0
    wait_ready(qtbot, service, server.url("/photo.png"))  # a round trip after the repeat
    assert server.count("/slow.png") == 1


# --- failures ---


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/missing.png", "HTTP 404"),
        ("/page.png", "not an image (text/html)"),
        ("/garbage.png", "not an image"),
        ("/big.png", "too large"),
        ("/big-stream.png", "too large"),
    ],
)
def test_failures_give_a_reason_once_and_are_never_requested_again(qtbot, server, make_service, path, reason):
    service = make_service(max_bytes=20_000)
    url = server.url(path)
    failed: list[str] = []
    service.image_failed.connect(failed.append)
    with qtbot.waitSignal(service.image_failed, timeout=SIGNAL_TIMEOUT):
        assert service.thumbnail(url, THUMB) is None
    assert service.is_failed(url)
    assert service.failure_reason(url).startswith(reason)
    for _ in range(3):
        assert service.thumbnail(url, THUMB) is None
        service.request(url, QSize(96, 72))
    assert service.document_image(url, 600) is None
    wait_ready(qtbot, service, server.url("/photo.png"))  # a round trip after the repeats
    assert server.count(path) == 1
    assert failed == [url]
    assert service.stats().failed == 1


def test_a_stream_without_length_is_cut_off_at_the_byte_limit(qtbot, server, make_service):
    service = make_service(max_bytes=20_000)
    url = server.url("/big-stream.png")
    with qtbot.waitSignal(service.image_failed, timeout=SIGNAL_TIMEOUT):
        service.request(url, THUMB)
    assert service.failure_reason(url) == "too large (more than 20000 bytes)"


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1/a.png", "data:image/png;base64,iVBORw0KGgo=", "javascript:alert(1)", "", "images/a.png"],
)
def test_other_schemes_fail_at_once_without_network(qtbot, make_service, url):
    service = make_service()
    failed: list[str] = []
    service.image_failed.connect(failed.append)
    service.request(url, THUMB)
    assert service.is_failed(url)  # known at once
    assert failed == []  # but announced later, never inside the caller's call (e.g. a paint)
    qtbot.waitUntil(lambda: failed == [url], timeout=SIGNAL_TIMEOUT)
    assert service.stats().replies == 0


def test_failures_can_be_cleared_by_an_explicit_action(qtbot, server, make_service, images):
    service = make_service()
    url = server.url("/later.png")  # 404 first ...
    with qtbot.waitSignal(service.image_failed, timeout=SIGNAL_TIMEOUT):
        service.request(url, THUMB)
    server.routes["/later.png"] = Route(images["photo.png"])  # ... then it appears
    service.clear_failures()
    wait_ready(qtbot, service, url)
    assert server.count("/later.png") == 2


# --- privacy ---


def test_remote_images_off_means_zero_requests(qtbot, server, make_service, tmp_path, images):
    service = make_service()
    shown = server.url("/photo.png")
    wait_ready(qtbot, service, shown)
    before = server.total()

    service.set_remote_images_enabled(False)
    assert not service.remote_images_enabled()
    hidden = server.url("/photo.jpg")
    assert service.thumbnail(hidden, THUMB) is None
    assert service.document_image(hidden, 400) is None
    assert service.pixmap(shown, THUMB) is None  # cached, but remote: the placeholder shows instead
    assert service.stats().pending == 0
    # file: involves no network, so it still loads
    local = tmp_path / "local.png"
    local.write_bytes(images["small.png"])
    wait_ready(qtbot, service, QUrl.fromLocalFile(str(local)).toString())
    assert server.total() == before
    assert not service.is_failed(hidden)

    service.set_remote_images_enabled(True)
    assert service.pixmap(shown, THUMB) is not None
    wait_ready(qtbot, service, hidden)
    assert server.count("/photo.jpg") == 1


def test_turning_remote_images_off_aborts_open_requests_without_failing_them(qtbot, server, make_service, images):
    service, url, gate = download_held_open(qtbot, server, make_service, images)
    service.set_remote_images_enabled(False)
    assert service.stats().in_flight == 0
    assert not service.is_failed(url)
    gate.set()
    service.set_remote_images_enabled(True)
    wait_ready(qtbot, service, url)


# --- limits, order, cancelling ---


def test_requests_in_flight_are_capped(qtbot, server, make_service, images):
    gate = server.gate()
    paths = [f"/gated{i}.png" for i in range(5)]
    for path in paths:
        server.routes[path] = Route(images["photo.png"], gate=gate)
    service = make_service(max_in_flight=2, max_per_host=6, slow_after_ms=60_000)
    for path in paths:
        service.request(server.url(path), THUMB)
    qtbot.waitUntil(lambda: server.active == 2, timeout=SIGNAL_TIMEOUT)
    stats = service.stats()
    assert (stats.in_flight, stats.pending) == (2, 3)
    with qtbot.waitSignals([service.image_ready] * 5, timeout=SIGNAL_TIMEOUT):
        gate.set()
    assert server.max_active == 2
    assert all(server.count(p) == 1 for p in paths)


def test_requests_per_host_are_capped(qtbot, server, make_service, images):
    other = ImageServer()  # another port: another host for the limit
    try:
        gate = server.gate()
        for s in (server, other):
            for i in range(3):
                s.routes[f"/g{i}.png"] = Route(images["photo.png"], gate=gate)
        service = make_service(max_in_flight=6, max_per_host=1, slow_after_ms=60_000)
        for s in (server, other):
            for i in range(3):
                service.request(s.url(f"/g{i}.png"), THUMB)
        qtbot.waitUntil(lambda: server.active == 1 and other.active == 1, timeout=SIGNAL_TIMEOUT)
        assert (service.stats().in_flight, service.stats().pending) == (2, 4)
        with qtbot.waitSignals([service.image_ready] * 6, timeout=SIGNAL_TIMEOUT):
            gate.set()
        assert server.max_active == 1
        assert other.max_active == 1
    finally:
        other.close()


def test_higher_priority_first_then_the_most_recent(qtbot, server, make_service, images):
    gate = server.gate()
    server.routes["/first.png"] = Route(images["photo.png"], gate=gate)
    service = make_service(max_in_flight=1, slow_after_ms=60_000)
    service.request(server.url("/first.png"), THUMB)
    qtbot.waitUntil(lambda: server.count("/first.png") == 1, timeout=SIGNAL_TIMEOUT)
    service.request(server.url("/img0.png"), THUMB)
    service.request(server.url("/img1.png"), THUMB, priority=5)
    service.request(server.url("/img2.png"), THUMB)
    service.request(server.url("/img3.png"), THUMB)
    service.deprioritise(server.url("/img3.png"), THUMB)
    with qtbot.waitSignals([service.image_ready] * 5, timeout=SIGNAL_TIMEOUT):
        gate.set()
    assert server.order == ["/first.png", "/img1.png", "/img2.png", "/img0.png", "/img3.png"]


def test_a_cancelled_request_is_never_fetched(qtbot, server, make_service, images):
    gate = server.gate()
    server.routes["/first.png"] = Route(images["photo.png"], gate=gate)
    service = make_service(max_in_flight=1, slow_after_ms=60_000)
    service.request(server.url("/first.png"), THUMB)
    qtbot.waitUntil(lambda: server.count("/first.png") == 1, timeout=SIGNAL_TIMEOUT)
    service.request(server.url("/img0.png"), THUMB)
    service.request(server.url("/img1.png"), THUMB)
    service.request(server.url("/img2.png"), THUMB)
    service.cancel(server.url("/img1.png"), THUMB)
    with qtbot.waitSignals([service.image_ready] * 3, timeout=SIGNAL_TIMEOUT):
        gate.set()
    assert server.count("/img1.png") == 0
    assert service.pixmap(server.url("/img1.png"), THUMB) is None
    service.request(server.url("/img3.png"), THUMB)
    service.cancel_all()
    assert service.stats().pending == 0
    wait_ready(qtbot, service, server.url("/img4.png"))
    assert server.count("/img3.png") == 0


# --- threads ---


def test_decoding_happens_off_the_gui_thread(qtbot, server, make_service):
    service = make_service()
    seen: list[tuple[QThread, int]] = []
    service.decode_hook = lambda url, size: seen.append((QThread.currentThread(), threading.get_ident()))
    wait_ready(qtbot, service, server.url("/photo.jpg"))
    assert len(seen) == 1
    thread, ident = seen[0]
    assert thread is not QThread.currentThread()
    assert thread is not qtbot_app_thread()
    assert ident != threading.get_ident()


def qtbot_app_thread() -> QThread:
    from PySide6.QtCore import QCoreApplication

    return QCoreApplication.instance().thread()


def test_deleting_the_owner_while_images_decode_is_safe(qtbot, tmp_path, images):
    # A window that owns the service and is deleted without calling shutdown(): running decode jobs
    # are waited for right then (not later from a dealloc holding the GIL), and nothing crashes.
    from PySide6.QtCore import QObject

    big = tmp_path / "huge.png"
    big.write_bytes(images["huge.png"])
    owner = QObject()
    service = ImageService(None, owner)
    seen: list[str] = []
    service.decode_hook = lambda url, size: seen.append(url)
    url = QUrl.fromLocalFile(str(big)).toString()
    for width in range(40, 60):
        service.request(url, QSize(width, 30))
    qtbot.waitUntil(lambda: len(seen) >= 1, timeout=SIGNAL_TIMEOUT)
    pool, network = service._pool, service._net_thread
    owner.deleteLater()
    qtbot.waitUntil(lambda: pool.activeThreadCount() == 0, timeout=SIGNAL_TIMEOUT)
    assert len(seen) < 20  # queued jobs were dropped, not run
    assert not network.isRunning()


def test_file_urls_load_through_the_pool_and_missing_files_fail(qtbot, make_service, tmp_path, images):
    service = make_service()
    path = tmp_path / "pic.jpg"
    path.write_bytes(images["photo.jpg"])
    url = QUrl.fromLocalFile(str(path)).toString()
    wait_ready(qtbot, service, url)
    assert service.pixmap(url, THUMB).size() == THUMB
    missing = QUrl.fromLocalFile(str(tmp_path / "nope.png")).toString()
    with qtbot.waitSignal(service.image_failed, timeout=SIGNAL_TIMEOUT):
        service.request(missing, THUMB)
    assert service.failure_reason(missing) == "file not found"
    assert service.stats().replies == 0


def test_the_memory_cache_is_bounded_in_bytes(qtbot, server, make_service):
    one = THUMB.width() * THUMB.height() * 4
    service = make_service(memory_cache_bytes=int(one * 2.5))
    urls = [server.url(f"/img{i}.png") for i in range(3)]
    for url in urls:
        wait_ready(qtbot, service, url)
    stats = service.stats()
    assert stats.memory_bytes <= stats.memory_limit
    assert stats.memory_items == 2
    assert service.pixmap(urls[0], THUMB) is None  # least recently used, dropped
    assert service.pixmap(urls[2], THUMB) is not None
    # Asked for again, it comes back from the disk cache, not the server.
    wait_ready(qtbot, service, urls[0])
    assert server.count("/img0.png") == 1


def test_decode_image_shrinks_huge_documents_and_rejects_non_images(images):
    image, reason = decode_image(images["huge.png"], (4000, 0), max_bytes=len(images["huge.png"]))
    assert reason == ""
    assert image.size() == QSize(1500, 1500)  # never enlarged
    image, reason = decode_image(images["huge.png"], (1200, 0))
    assert image.width() == 1200
    image, reason = decode_image(b"\x89PNG not really", (10, 10))
    assert image.isNull() and reason


# --- placeholders ---


def test_placeholders_are_made_once_and_follow_the_theme(qtbot, make_service):
    service = make_service()
    light = service.placeholder(THUMB, "F", dark=False)
    assert light.size() == THUMB
    assert service.placeholder(THUMB, "f", dark=False).cacheKey() == light.cacheKey()
    dark = service.placeholder(THUMB, "F", dark=True)
    assert dark.cacheKey() != light.cacheKey()
    corner_light = light.toImage().pixelColor(1, 1)
    corner_dark = dark.toImage().pixelColor(1, 1)
    assert corner_light.lightness() > 160 > 100 > corner_dark.lightness()
    glyph = service.placeholder(THUMB, "", dark=False).toImage()
    letter = light.toImage()
    assert glyph != letter  # the initial is drawn, not the glyph
    assert service.placeholder(QSize(96, 72), "F").size() == QSize(96, 72)


def test_source_initial():
    assert source_initial("fortune") == "F"
    assert source_initial("www.nasa.gov") == "N"
    assert source_initial("https://www.example.org") == "E"
    assert source_initial("  ") == ""
    assert source_initial("«Le Monde»") == "L"


def test_sizes_are_checked(make_service):
    service = make_service()
    with pytest.raises(ValueError):
        service.request("http://127.0.0.1/a.png", QSize(0, 10))


# --- a slow host does not hold back the others; cached pictures need no slot ---


def test_a_picture_in_the_disk_cache_needs_no_network_slot(qtbot, server, make_service, tmp_path, images):
    cache_dir = tmp_path / "warm"
    cached = [server.url(f"/img{i}.png") for i in range(6)]
    first = make_service(cache_dir)
    with qtbot.waitSignals([first.image_ready] * len(cached), timeout=SIGNAL_TIMEOUT):
        for url in cached:
            first.request(url, THUMB)
    first.shutdown()

    server.routes["/slow.png"] = Route(images["photo.png"], gate=server.gate())  # released at teardown
    second = make_service(cache_dir, max_in_flight=1, max_per_host=1, slow_after_ms=60_000)
    second.request(server.url("/slow.png"), THUMB, priority=10)
    qtbot.waitUntil(lambda: server.count("/slow.png") == 1, timeout=SIGNAL_TIMEOUT)
    assert second.stats().in_flight == 1  # the one slot there is, held
    with qtbot.waitSignals([second.image_ready] * len(cached), timeout=SIGNAL_TIMEOUT):
        for url in cached:
            second.request(url, THUMB)
    assert all(second.pixmap(url, THUMB) is not None for url in cached)
    assert second.stats().from_disk_cache == len(cached)
    assert all(server.count(f"/img{i}.png") == 1 for i in range(6)), "no second request for a cached picture"


def test_a_transfer_with_no_answer_stops_holding_its_hosts_slot(qtbot, server, make_service, images):
    server.routes["/slow.png"] = Route(images["photo.png"], gate=server.gate())
    service = make_service(max_in_flight=6, max_per_host=1, slow_after_ms=100)
    service.request(server.url("/slow.png"), THUMB, priority=10)
    qtbot.waitUntil(lambda: service.stats().slow == 1, timeout=SIGNAL_TIMEOUT)
    fast = [server.url(f"/img{i}.png") for i in range(4)]
    with qtbot.waitSignals([service.image_ready] * len(fast), timeout=SIGNAL_TIMEOUT):
        for url in fast:
            service.request(url, THUMB)
    assert service.stats().in_flight == 1  # the slow one goes on, up to its timeout
    assert server.max_active == 2, "one slot for the host, plus the slow transfer it let go"


def test_slow_transfers_to_one_host_are_bounded(qtbot, server, make_service, images):
    from reader.ui.thumbnails import MAX_SLOW_PER_HOST

    gate = server.gate()
    paths = [f"/slow{i}.png" for i in range(MAX_SLOW_PER_HOST + 3)]
    for path in paths:
        server.routes[path] = Route(images["photo.png"], gate=gate)
    service = make_service(max_in_flight=10, max_per_host=1, slow_after_ms=50)
    for path in paths:
        service.request(server.url(path), THUMB)

    def settled() -> bool:
        transfers = [f for f in service._flights.values() if not f.lookup]
        return len(transfers) == MAX_SLOW_PER_HOST + 1 and all(f.checked for f in transfers)

    qtbot.waitUntil(settled, timeout=SIGNAL_TIMEOUT)
    stats = service.stats()
    assert (stats.slow, stats.in_flight, stats.pending) == (MAX_SLOW_PER_HOST, MAX_SLOW_PER_HOST + 1, 2)
    with qtbot.waitSignals([service.image_ready] * len(paths), timeout=SIGNAL_TIMEOUT):
        gate.set()
    assert server.max_active == MAX_SLOW_PER_HOST + 1


def test_a_row_scrolled_away_aborts_its_transfer_that_has_no_answer(qtbot, server, make_service, images):
    server.routes["/slow.png"] = Route(images["photo.png"], gate=server.gate())
    service = make_service(max_in_flight=1, max_per_host=1, slow_after_ms=60_000)
    slow = server.url("/slow.png")
    service.request(slow, THUMB)
    qtbot.waitUntil(lambda: server.count("/slow.png") == 1, timeout=SIGNAL_TIMEOUT)
    service.cancel(slow, THUMB)
    assert service.stats().in_flight == 0
    wait_ready(qtbot, service, server.url("/img0.png"))  # the slot is free at once
    assert not service.is_failed(slow)  # dropped, not failed: asked for again, it loads


def failed_once(qtbot, service: ImageService, url: str) -> None:
    with qtbot.waitSignal(service.image_failed, timeout=SIGNAL_TIMEOUT, check_params_cb=lambda u: u == url):
        service.request(url, THUMB)


def test_failures_are_remembered_across_starts_with_an_expiry_that_fits(qtbot, server, make_service, tmp_path, images):
    import time as clock

    from reader.ui.thumbnails import FAILURES_FILE, LASTING_FAILURE_S, PASSING_FAILURE_S

    server.routes["/error.png"] = Route(b"oops", "text/plain", status=503, cache=False)
    server.routes["/slow.png"] = Route(images["photo.png"], gate=server.gate())
    cache_dir = tmp_path / "cache-with-failures"
    first = make_service(cache_dir, timeout_ms=300)
    urls = {name: server.url(f"/{name}.png") for name in ("missing", "page", "error", "slow")}
    for url in urls.values():
        failed_once(qtbot, first, url)
    now = clock.time()
    lasting = {name: first.failure_expiry(url) - now for name, url in urls.items()}
    assert lasting["missing"] == pytest.approx(LASTING_FAILURE_S, abs=60)  # HTTP 404: days
    assert lasting["page"] == pytest.approx(LASTING_FAILURE_S, abs=60)  # not an image: days
    assert lasting["error"] == pytest.approx(PASSING_FAILURE_S, abs=60)  # HTTP 503: minutes
    assert lasting["slow"] == pytest.approx(PASSING_FAILURE_S, abs=60)  # timed out: minutes
    first.shutdown()
    assert (cache_dir / FAILURES_FILE).is_file()
    asked = {path: server.count(path) for path in ("/missing.png", "/page.png", "/error.png", "/slow.png")}

    second = make_service(cache_dir, timeout_ms=300)  # the next start
    qtbot.waitUntil(lambda: all(second.is_failed(url) for url in urls.values()), timeout=SIGNAL_TIMEOUT)
    assert second.failure_reason(urls["missing"]) == "HTTP 404"
    for url in urls.values():
        second.request(url, THUMB)  # a repaint asks: the placeholder stays, nothing is requested
    assert second.stats().pending == 0
    wait_ready(qtbot, second, server.url("/photo.png"))  # a round trip after them
    assert {path: server.count(path) for path in asked} == asked


def test_an_expired_failure_is_tried_again(qtbot, server, make_service, tmp_path):
    import json

    from reader.ui.thumbnails import FAILURES_FILE

    cache_dir = tmp_path / "cache-expired"
    cache_dir.mkdir()
    url = server.url("/photo.png")
    (cache_dir / FAILURES_FILE).write_text(
        json.dumps({url: [1.0, "HTTP 404"], server.url("/img0.png"): [4e9, "HTTP 404"]})
    )
    service = make_service(cache_dir)
    qtbot.waitUntil(lambda: service.is_failed(server.url("/img0.png")), timeout=SIGNAL_TIMEOUT)
    assert not service.is_failed(url)
    wait_ready(qtbot, service, url)
    assert server.count("/photo.png") == 1


def test_remembered_failures_are_bounded(qtbot, server, make_service, tmp_path, monkeypatch):
    import json

    from reader.ui import thumbnails

    monkeypatch.setattr(thumbnails, "MAX_REMEMBERED_FAILURES", 3)
    cache_dir = tmp_path / "cache-bounded"
    service = make_service(cache_dir)
    for i in range(5):
        failed_once(qtbot, service, server.url(f"/gone{i}.png"))
    service.shutdown()
    kept = json.loads((cache_dir / thumbnails.FAILURES_FILE).read_text())
    assert len(kept) == 3
    assert set(kept) == {server.url(f"/gone{i}.png") for i in (2, 3, 4)}, "the ones that expire last"


def test_a_damaged_failures_file_is_ignored(qtbot, server, make_service, tmp_path):
    from reader.ui.thumbnails import FAILURES_FILE

    cache_dir = tmp_path / "cache-damaged"
    cache_dir.mkdir()
    (cache_dir / FAILURES_FILE).write_bytes(b"\x00{not json")
    service = make_service(cache_dir)
    wait_ready(qtbot, service, server.url("/photo.png"))


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (b"\x89PNG\r\n\x1a\n\0\0\0\r", b"png"),
        (b"\xff\xd8\xff\xe0\0\x10JFIF", b"jpeg"),
        (b"GIF89a\x01\0", b"gif"),
        (b"RIFF\x10\0\0\0WEBPVP8 ", b"webp"),
        (b"BM6\0\0\0", b"bmp"),
        (b"<svg xmlns=", None),
        (b"not an image", None),
    ],
)
def test_common_raster_formats_are_named_by_their_magic_so_no_plugin_is_asked(head: bytes, name: bytes | None) -> None:
    # Named, QImageReader goes to that handler alone: the SVG plugin's probe (which deadlocked
    # against the network thread over the GIL) is never run for them.
    from reader.ui.thumbnails import _sniffed_format

    assert _sniffed_format(head) == name


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">'
    b'<rect width="8" height="8"/></svg>'
)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (SVG, "SVG images are not shown"),
        (b"  <svg xmlns='http://www.w3.org/2000/svg'/>", "SVG images are not shown"),
        (b"<!DOCTYPE html><html><body>x</body></html>", "not an image (an HTML page)"),
        (b"%PDF-1.4\n", "not an image (not PNG"),
    ],
)
def test_formats_outside_the_raster_list_are_refused_without_asking_a_plugin(qapp, tmp_path, data, reason):
    # Qt's SVG and PDF plugins would read these; asking them is what deadlocked against the network
    # thread, so they are refused by their first bytes, from memory and from a file alike.
    image, why = decode_image(QByteArray(data), (16, 16))
    assert image.isNull() and why.startswith(reason)
    path = tmp_path / "picture.svg"
    path.write_bytes(data)
    image, why = decode_image(str(path), (16, 16))
    assert image.isNull() and why.startswith(reason)


@pytest.mark.parametrize("fmt", ["ICO", "TIFF", "BMP", "WEBP", "JPEG"])
def test_raster_formats_decode_by_their_content_whatever_the_file_is_called(qapp, tmp_path, fmt):
    source = make_image(32, 32)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    assert source.save(buffer, fmt)
    buffer.close()
    image, why = decode_image(data, (16, 16))
    assert why == "" and image.size() == QSize(16, 16)
    path = tmp_path / "named-wrongly.svg"  # the name says SVG; the bytes decide
    path.write_bytes(bytes(data.data()))
    image, why = decode_image(str(path), (16, 16))
    assert why == "" and image.size() == QSize(16, 16)
