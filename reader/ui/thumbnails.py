"""The image service: every picture the window shows comes through one :class:`ImageService`.

Thumbnails for the article list and images for the reading pane are fetched with one
``QNetworkAccessManager`` (a size-capped ``QNetworkDiskCache`` in the user cache folder) that lives on
its own thread, so neither the network nor the cache's file I/O touches the GUI thread. The service,
on the GUI thread, keeps the queue: priorities, a cap on requests in flight overall and per host; each
request has a whole-transfer timeout and a cap on bytes. Images are decoded and scaled in a
``QThreadPool`` job (``QImageReader.setScaledSize``, so a JPEG is decoded at the size it is shown);
only ``QPixmap.fromImage`` happens on the GUI thread, once, and the result is kept in a memory cache
bounded in bytes. Nothing here ever blocks the GUI thread.

Two kinds of key, both ``(url, QSize)``:

* ``QSize(w, h)`` with ``h > 0``: a **thumbnail**, exactly ``w`` x ``h`` logical pixels, scaled to fill the
  box and centre-cropped (aspect kept). Served as a ``QPixmap`` by :meth:`ImageService.pixmap`.
* ``QSize(w, 0)``: a **document image** for the reading pane, at most ``w`` wide, natural aspect, never
  enlarged. Served as a ``QImage`` (what ``QTextDocument.loadResource`` wants) by
  :meth:`ImageService.document_image`, which rounds ``w`` down to a multiple of :data:`DOCUMENT_WIDTH_STEP`
  so that resizing the pane does not decode a new image per pixel.

A picture in the disk cache never waits for a network slot: every remote URL is first looked up in
the cache (on the network thread) and only a miss joins the queue for the network. A transfer that
has not answered within :data:`SLOW_AFTER_MS` stops counting against its host's limit, so one slow
picture does not hold back the others from the same CDN; requests for rows scrolled away are
cancelled, and a transfer nobody wants any more that has not answered yet is aborted.

Failures (bad scheme, HTTP error, timeout, not an image, too large) are remembered with an expiry that
fits them (days for a 404 or "not an image", minutes for a timeout or a 5xx), across starts, in
:data:`FAILURES_FILE` beside the disk cache: until then the URL is not requested again and the caller
paints the placeholder. Only ``http``, ``https`` and ``file``
URLs are loaded. With remote images turned off (privacy) no request leaves the machine; ``file:`` images
still load, since they involve no network.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import json
import logging
import math
import os
import time
import xml.etree.ElementTree as ET
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QCoreApplication,
    QDateTime,
    QFileInfo,
    QIODevice,
    QMetaObject,
    QObject,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    QThread,
    QThreadPool,
    QTimer,
    QUrl,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QImage,
    QImageIOHandler,
    QImageReader,
    QPainter,
    QPixmap,
    QPolygonF,
)
from PySide6.QtNetwork import QNetworkAccessManager, QNetworkDiskCache, QNetworkReply, QNetworkRequest
from PySide6.QtSvg import QSvgRenderer

from reader import paths
from reader.ui.names import source_key

log = logging.getLogger(__name__)

MiB = 1024 * 1024

#: Document images are decoded at widths that are multiples of this (rounded down).
DOCUMENT_WIDTH_STEP = 32
#: A document image is shrunk further if it would exceed this many device pixels (a 1200 x 3300 strip).
MAX_DOCUMENT_PIXELS = 4_000_000
#: When the server gives no expiry, a cached image stays fresh this long (images at a URL rarely change).
DEFAULT_FRESHNESS_DAYS = 30
#: Priority given by :meth:`ImageService.deprioritise`: behind anything requested normally.
LOWEST_PRIORITY = -(2**31)
#: A transfer with no response yet after this long stops counting against its host's limit (and the
#: overall one): one slow picture must not hold back the fast ones from the same host.
SLOW_AFTER_MS = 400
#: Slow transfers kept open per host beyond its limit: with the limit, at most six connections to a
#: host, which is as many as Qt opens to one (more would only queue inside Qt, out of our order).
MAX_SLOW_PER_HOST = 4
#: How long a failure is remembered: for good reasons (404, not an image) days, for passing ones
#: (a timeout, a server error, no connection) minutes. Kept across starts beside the disk cache.
LASTING_FAILURE_S = 3 * 24 * 3600
PASSING_FAILURE_S = 10 * 60
#: Failures kept on disk at most (the ones that expire last are kept).
MAX_REMEMBERED_FAILURES = 5000
FAILURES_FILE = "failures.json"

_USER_AGENT = b"Reader/0.1 (desktop news reader; image previews)"
_ACCEPT = b"image/webp,image/png,image/jpeg,image/gif,image/svg+xml,image/*;q=0.8,*/*;q=0.2"
_PLACEHOLDER_CACHE_ENTRIES = 512

_Box = tuple[int, int]  # (width, height) in logical pixels; height 0 = document image
_Key = tuple[str, int, int]  # (url, width, height)


def default_cache_dir() -> Path:
    """Where the disk cache lives: ``<user cache dir>/images``."""
    return paths.user_cache_dir() / "images"


def document_size(max_width: int) -> QSize:
    """The key :meth:`ImageService.document_image` uses for a pane ``max_width`` wide: ``QSize(w, 0)``."""
    return QSize(max(DOCUMENT_WIDTH_STEP, max_width // DOCUMENT_WIDTH_STEP * DOCUMENT_WIDTH_STEP), 0)


def source_hue(name: str) -> int | None:
    """The hue (0-359) of a source's placeholders, the same in every run (a CRC of the name, not
    Python's per-process ``hash``) and for every spelling of it (``www.nasa.gov`` = ``nasa.gov``);
    None without a name (the neutral placeholder)."""
    key = source_key(name)
    return zlib.crc32(key.encode("utf-8")) % 360 if key else None


def source_tint(hue: int, dark: bool) -> tuple[QColor, QColor]:
    """(background, ink) of a tinted placeholder. Only the hue varies between sources: saturation
    and lightness are fixed per palette, pale behind dark ink in a light one and the reverse in a
    dark one, so every source's letter reads alike, and none shouts beside a real thumbnail."""
    if dark:
        return QColor.fromHslF(hue / 360, 0.28, 0.26), QColor.fromHslF(hue / 360, 0.45, 0.74)
    return QColor.fromHslF(hue / 360, 0.42, 0.86), QColor.fromHslF(hue / 360, 0.38, 0.36)


@dataclass(frozen=True)
class ImageStats:
    """A snapshot of the service, for the benchmark, the tests and a debug status line."""

    pending: int  # waiting for a network slot
    in_flight: int  # network replies open (slow ones included)
    decoding: int  # decode jobs queued or running
    replies: int  # network replies started since creation
    from_disk_cache: int  # images the disk cache answered (looked up first, without a network slot)
    failed: int  # URLs whose failure is remembered now
    memory_items: int
    memory_bytes: int
    memory_limit: int
    looking_up: int = 0  # disk cache lookups on the network thread
    slow: int = 0  # replies open that stopped counting against their host's limit (no answer yet)


@dataclass
class _Wanted:
    """A URL waiting for a network slot, with the boxes wanted from it: box -> (priority, sequence)."""

    url: str
    host: tuple[str, str, int] | None  # None: a file, which needs no network slot
    boxes: dict[_Box, tuple[int, int]] = field(default_factory=dict)
    looked_up: bool = False  # the disk cache did not have it: it waits for the network

    def rank(self) -> tuple[int, int]:
        return max(self.boxes.values())


@dataclass
class _Flight:
    """A URL handed to the network thread (GUI side): a disk cache lookup, or a transfer, which
    counts against the limits until it reports or turns out slow."""

    ticket: int
    url: str
    host: tuple[str, str, int]
    boxes: dict[_Box, int]  # box -> priority (for the decode queue)
    lookup: bool = False  # a disk cache lookup: never counted against the limits
    counted: bool = False  # counts against the overall and the host's limits
    responded: bool = False  # the server has answered (headers or bytes)
    slow: bool = False  # no answer within SLOW_AFTER_MS: no longer counted
    checked: bool = False  # found without an answer when SLOW_AFTER_MS was up
    queued: dict[_Box, tuple[int, int]] = field(default_factory=dict)  # a lookup's places in the queue


@dataclass
class _Transfer:
    """One open reply (network thread side)."""

    ticket: int
    reply: QNetworkReply
    timer: QTimer  # the whole-transfer timeout
    data: QByteArray = field(default_factory=QByteArray)
    failure: str | None = None  # set when we abort it for a reason that is the URL's fault
    lasting: bool = True  # the failure will not pass by itself (404, not an image), unlike a timeout
    dropped: bool = False  # aborted because the GUI side no longer wants it: report nothing
    responded: bool = False


class _Fetcher(QObject):
    """The network side, on its own thread: one QNetworkAccessManager and its disk cache.

    It fetches bytes and reports them; it never decodes and keeps no queue (the service decides what
    to fetch and when). On its own thread, the disk cache's file writes and reads and the reply
    bookkeeping stay off the GUI thread: measured there, they stalled it 30-70 ms at a time under load.

    Signals:
        fetched(int, QByteArray, bool): ticket, the body, whether the disk cache answered.
        fetch_failed(int, str, bool): ticket, the reason, whether it lasts (see LASTING_FAILURE_S).
        missed(int): the disk cache does not hold a fresh copy for this lookup's ticket.
        responding(int): the server has started to answer the transfer with this ticket.
        failures_loaded(object): the failures remembered on disk, ``{url: (expires, reason)}``.
    """

    fetched = Signal(int, QByteArray, bool)
    fetch_failed = Signal(int, str, bool)
    missed = Signal(int)
    responding = Signal(int)
    failures_loaded = Signal(object)

    def __init__(self, cache_dir: Path | None, disk_cache_bytes: int, timeout_ms: int, max_bytes: int) -> None:
        super().__init__()
        self._cache_dir = cache_dir
        self._disk_cache_bytes = disk_cache_bytes
        self._timeout_ms = timeout_ms
        self._max_bytes = max_bytes
        self._manager: QNetworkAccessManager | None = None
        self._disk_cache: QNetworkDiskCache | None = None
        self._transfers: dict[int, _Transfer] = {}
        self._of_reply: dict[QNetworkReply, _Transfer] = {}

    def _network(self) -> QNetworkAccessManager:
        """Made on first use, so on the network thread, with everything it creates."""
        if self._manager is None:
            self._manager = QNetworkAccessManager(self)
            if self._cache_dir is not None:
                try:
                    self._cache_dir.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    log.warning("image cache %s: cannot create it (%s); not kept on disk", self._cache_dir, exc)
                else:
                    self._disk_cache = QNetworkDiskCache(self._manager)
                    self._disk_cache.setCacheDirectory(str(self._cache_dir))
                    self._disk_cache.setMaximumCacheSize(self._disk_cache_bytes)
                    self._manager.setCache(self._disk_cache)
        return self._manager

    @Slot(int, str)
    def lookup(self, ticket: int, url: str) -> None:
        """Answer from the disk cache alone (a fresh copy), or say it missed. No network."""
        self._network()
        cache = self._disk_cache
        if cache is not None:
            qurl = QUrl(url)
            meta = cache.metaData(qurl)
            expires = meta.expirationDate() if meta.isValid() else None
            if expires is not None and expires.isValid() and expires > QDateTime.currentDateTimeUtc():
                device = cache.data(qurl)
                if device is not None:
                    data = device.read(self._max_bytes + 1)
                    device.close()
                    if 0 < data.size() <= self._max_bytes:
                        self.fetched.emit(ticket, data, True)
                        return
        self.missed.emit(ticket)

    @Slot()
    def load_failures(self) -> None:
        """Read the failures remembered beside the disk cache (see ImageService)."""
        entries: dict[str, tuple[float, str]] = {}
        if self._cache_dir is not None:
            path = self._cache_dir / FAILURES_FILE
            try:
                with open(path, "rb") as fh:
                    raw = json.loads(fh.read(8 * MiB))
            except FileNotFoundError:
                raw = {}
            except (OSError, ValueError) as exc:
                log.warning("image failures %s: cannot read them (%s); starting afresh", path, exc)
                raw = {}
            if isinstance(raw, dict):
                for url, value in raw.items():
                    if (
                        isinstance(url, str)
                        and isinstance(value, list)
                        and len(value) == 2
                        and isinstance(value[0], (int, float))
                        and isinstance(value[1], str)
                    ):
                        entries[url] = (float(value[0]), value[1])
        self.failures_loaded.emit(entries)

    @Slot(object)
    def save_failures(self, entries: dict[str, tuple[float, str]]) -> None:
        if self._cache_dir is None:
            return
        path = self._cache_dir / FAILURES_FILE
        temporary = path.with_name(f".{FAILURES_FILE}.{os.getpid()}")
        try:
            self._cache_dir.mkdir(parents=True, exist_ok=True)
            with open(temporary, "w", encoding="utf-8") as fh:
                json.dump({url: [expires, reason] for url, (expires, reason) in entries.items()}, fh)
            os.replace(temporary, path)
        except OSError as exc:
            log.warning("image failures %s: cannot save them (%s)", path, exc)

    @Slot(int, str)
    def fetch(self, ticket: int, url: str) -> None:
        request = QNetworkRequest(QUrl(url))
        request.setAttribute(
            QNetworkRequest.Attribute.CacheLoadControlAttribute, QNetworkRequest.CacheLoadControl.PreferCache
        )
        request.setAttribute(
            QNetworkRequest.Attribute.RedirectPolicyAttribute, QNetworkRequest.RedirectPolicy.NoLessSafeRedirectPolicy
        )
        request.setMaximumRedirectsAllowed(5)
        request.setRawHeader(b"User-Agent", _USER_AGENT)
        request.setRawHeader(b"Accept", _ACCEPT)
        reply = self._network().get(request)
        # The timeout is for the whole transfer, not for silence: a server trickling bytes is no better.
        # An abort with no reason recorded (see _abort) is this timer's.
        timer = QTimer(reply)
        timer.setSingleShot(True)
        timer.timeout.connect(reply.abort)
        timer.start(self._timeout_ms)
        transfer = _Transfer(ticket, reply, timer)
        self._transfers[ticket] = transfer
        self._of_reply[reply] = transfer
        # Plain slots that find their reply through sender(): a closure over self would keep this
        # object alive from inside the reply, to be deleted during the reply's own deletion.
        reply.metaDataChanged.connect(self._on_meta_data)
        reply.readyRead.connect(self._on_ready_read)
        reply.finished.connect(self._on_finished)

    @Slot(int)
    def drop(self, ticket: int) -> None:
        transfer = self._transfers.get(ticket)
        if transfer is not None:
            self._abort(transfer, None)

    @Slot()
    def stop(self) -> None:
        """Abort everything and end the thread; the manager is deleted as the thread finishes."""
        for transfer in list(self._transfers.values()):
            self._abort(transfer, None)
        if self._manager is not None:
            self._manager.deleteLater()  # deferred deletes run when the thread finishes
            self._manager = self._disk_cache = None
        self.thread().quit()

    def _abort(self, transfer: _Transfer, failure: str | None) -> None:
        """Abort a reply: for ``failure`` (the URL's fault), or, with None, dropped (nobody wants it)."""
        if transfer.failure is None and not transfer.dropped:
            transfer.failure = failure
            transfer.dropped = failure is None
        transfer.reply.abort()  # emits finished, which cleans up

    def _answered(self, transfer: _Transfer) -> None:
        if not transfer.responded:
            transfer.responded = True
            self.responding.emit(transfer.ticket)

    def _sender_transfer(self) -> _Transfer | None:
        sender = self.sender()
        return self._of_reply.get(sender) if isinstance(sender, QNetworkReply) else None

    @Slot()
    def _on_meta_data(self) -> None:
        transfer = self._sender_transfer()
        if transfer is None:
            return
        self._answered(transfer)
        reply = transfer.reply
        status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
        if isinstance(status, int) and not 200 <= status < 300:
            return  # an error or a redirect: finished() reports errors
        length = reply.header(QNetworkRequest.KnownHeaders.ContentLengthHeader)
        if isinstance(length, int) and length > self._max_bytes:
            self._abort(transfer, f"too large ({length} bytes, limit {self._max_bytes})")
            return
        kind = reply.header(QNetworkRequest.KnownHeaders.ContentTypeHeader)
        if isinstance(kind, str) and kind.split(";")[0].strip().lower().startswith("text/"):
            # An HTML page where an image was promised: no point downloading it.
            self._abort(transfer, f"not an image ({kind.split(';')[0].strip()})")

    @Slot()
    def _on_ready_read(self) -> None:
        transfer = self._sender_transfer()
        if transfer is None:
            return
        self._answered(transfer)
        transfer.data.append(transfer.reply.readAll())
        if transfer.data.size() > self._max_bytes:
            self._abort(transfer, f"too large (more than {self._max_bytes} bytes)")

    @Slot()
    def _on_finished(self) -> None:
        transfer = self._sender_transfer()
        if transfer is None:
            return
        reply = transfer.reply
        del self._of_reply[reply]
        del self._transfers[transfer.ticket]
        transfer.timer.stop()
        reply.deleteLater()
        if transfer.dropped:
            return
        error = reply.error()
        if transfer.failure is None and error == QNetworkReply.NetworkError.OperationCanceledError:
            transfer.failure = f"timed out after {self._timeout_ms / 1000:g} s"
            transfer.lasting = False
        if transfer.failure is None and error != QNetworkReply.NetworkError.NoError:
            status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
            if isinstance(status, int) and status >= 400:
                transfer.failure = f"HTTP {status}"
                # A server error or "too many requests" passes; "not found", "gone", "forbidden" last.
                transfer.lasting = status < 500 and status not in (408, 425, 429)
            else:
                transfer.failure = reply.errorString()  # no connection, no such host, reset: may pass
                transfer.lasting = False
        if transfer.failure is None:
            transfer.data.append(reply.readAll())
            if transfer.data.size() > self._max_bytes:
                transfer.failure = f"too large (more than {self._max_bytes} bytes)"
            elif transfer.data.isEmpty():
                transfer.failure = "empty response"
        if transfer.failure is not None:
            self.fetch_failed.emit(transfer.ticket, transfer.failure, transfer.lasting)
            return
        from_cache = bool(reply.attribute(QNetworkRequest.Attribute.SourceIsFromCacheAttribute))
        if not from_cache:
            self._keep_fresh(reply.url())
        self.fetched.emit(transfer.ticket, transfer.data, from_cache)

    def _keep_fresh(self, url: QUrl) -> None:
        """Give a cached image without an expiry date one, so the next session uses the disk cache
        instead of asking the server again (Qt would treat it as stale at once)."""
        if self._disk_cache is None:
            return
        meta = self._disk_cache.metaData(url)
        if meta.isValid() and not meta.expirationDate().isValid():
            meta.setExpirationDate(QDateTime.currentDateTimeUtc().addDays(DEFAULT_FRESHNESS_DAYS))
            self._disk_cache.updateMetaData(meta)


class _Relay(QObject):
    """Carries results from pool threads to the GUI thread (a queued connection)."""

    decoded = Signal(str, int, int, QImage, str)  # url, width, height, image (null on failure), reason


class _LruCache:
    """Pixmaps and images by key, least recently used dropped first, bounded by their size in bytes.

    The newest entry is always kept, even if it alone is over the bound: dropping what was just made
    would make the caller ask for it again, in a loop.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.total = 0
        self._items: OrderedDict[_Key, tuple[QPixmap | QImage, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: _Key) -> bool:
        return key in self._items

    def get(self, key: _Key) -> QPixmap | QImage | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        self._items.move_to_end(key)
        return entry[0]

    def put(self, key: _Key, value: QPixmap | QImage) -> None:
        if isinstance(value, QPixmap):
            cost = value.width() * value.height() * max(1, value.depth()) // 8
        else:
            cost = value.sizeInBytes()
        old = self._items.pop(key, None)
        if old is not None:
            self.total -= old[1]
        self._items[key] = (value, cost)
        self.total += cost
        while self.total > self.limit and len(self._items) > 1:
            _, (_, dropped) = self._items.popitem(last=False)
            self.total -= dropped

    def clear(self) -> None:
        self._items.clear()
        self.total = 0


class ImageService(QObject):
    """Loads, decodes, scales and caches every image the window shows. One per application.

    Signals:
        image_ready(str, QSize): the image for (url, size) is now cached: :meth:`pixmap` (thumbnail keys)
            or :meth:`document_image` (document keys, ``QSize(w, 0)``) returns it.
        image_failed(str): the URL failed (reason: :meth:`failure_reason`); it will not be requested
            again until the failure expires. Emitted once per failure, never from inside a call into
            the service.

    Priorities: a larger number starts first; among equal priorities the most recent request starts
    first, so rows painted last (the ones on screen now) win over rows scrolled past a moment ago.
    Requesting a key again refreshes its place in the queue.
    """

    image_ready = Signal(str, QSize)
    image_failed = Signal(str)
    _fetch_requested = Signal(int, str)  # to the network thread: ticket, url
    _lookup_requested = Signal(int, str)  # to the network thread: ticket, url (disk cache only)
    _drop_requested = Signal(int)  # to the network thread: ticket
    _load_failures_requested = Signal()
    _save_failures_requested = Signal(object)

    def __init__(
        self,
        cache_dir: Path | None,
        parent: QObject | None = None,
        *,
        max_in_flight: int = 6,
        max_per_host: int = 2,
        timeout_ms: int = 15_000,
        max_bytes: int = 10 * MiB,
        disk_cache_bytes: int = 100 * MiB,
        memory_cache_bytes: int = 32 * MiB,
        device_pixel_ratio: float | None = None,
        decode_threads: int | None = None,
        slow_after_ms: int = SLOW_AFTER_MS,
    ) -> None:
        """``cache_dir`` None: no disk cache (every new session fetches again). See :func:`default_cache_dir`."""
        super().__init__(parent)
        if max_in_flight < 1 or max_per_host < 1:
            raise ValueError("max_in_flight and max_per_host must be at least 1")
        self._max_in_flight = max_in_flight
        self._max_per_host = max_per_host
        self._timeout_ms = timeout_ms
        self._max_bytes = max_bytes
        self._slow_after_ms = slow_after_ms
        if device_pixel_ratio is None:
            app = QGuiApplication.instance()
            device_pixel_ratio = app.devicePixelRatio() if isinstance(app, QGuiApplication) else 1.0
        self._dpr = max(1.0, float(device_pixel_ratio))

        # The network side runs on its own thread (see _Fetcher); these signals reach it queued.
        self._net_thread = QThread()
        self._net_thread.setObjectName("reader-image-network")
        self._fetcher = _Fetcher(cache_dir, disk_cache_bytes, timeout_ms, max_bytes)
        self._fetcher.moveToThread(self._net_thread)
        self._fetch_requested.connect(self._fetcher.fetch)
        self._lookup_requested.connect(self._fetcher.lookup)
        self._drop_requested.connect(self._fetcher.drop)
        self._load_failures_requested.connect(self._fetcher.load_failures)
        self._save_failures_requested.connect(self._fetcher.save_failures)
        self._fetcher.fetched.connect(self._on_fetched)
        self._fetcher.fetch_failed.connect(self._on_fetch_failed)
        self._fetcher.missed.connect(self._on_missed)
        self._fetcher.responding.connect(self._on_responding)
        self._fetcher.failures_loaded.connect(self._on_failures_loaded)
        self._net_thread.start()
        self._uses_disk_cache = cache_dir is not None

        # Our own pool, not the global one: shutdown() can wait for exactly our jobs. Decoding is short
        # (a scaled JPEG decode is a few ms), so a couple of threads keep up with any network.
        self._pool = QThreadPool()
        self._pool.setObjectName("reader-image-decode")
        threads = decode_threads if decode_threads is not None else min(4, max(2, QThread.idealThreadCount() - 1))
        self._pool.setMaxThreadCount(max(1, threads))
        self._relay = _Relay()  # no parent: pool jobs hold it, so it outlives any job that emits on it
        self._relay.decoded.connect(self._on_decoded)

        self._memory = _LruCache(memory_cache_bytes)
        self._pending: dict[str, _Wanted] = {}
        self._flights: dict[str, _Flight] = {}  # url -> with the network thread
        self._tickets: dict[int, _Flight] = {}
        self._next_ticket = itertools.count(1)
        self._per_host: dict[tuple[str, str, int], int] = {}  # counted transfers
        self._slow_per_host: dict[tuple[str, str, int], int] = {}
        self._counted = 0  # transfers counted against max_in_flight
        self._decoding: set[_Key] = set()
        self._failed: dict[str, tuple[str, float]] = {}  # url -> (reason, expires: time.time())
        self._unannounced: list[str] = []
        self._sequence = itertools.count(1)
        self._remote_enabled = True
        self._closed = False
        self._unsaved = False
        self._replies = 0
        self._from_disk_cache = 0
        self._placeholders: dict[tuple[int, int, str, bool, int, str], QPixmap] = {}
        self._placeholder_art: dict[bool, tuple[QSvgRenderer | None, QColor]] = {}

        #: Test hook: called in the decode thread as ``decode_hook(url, QSize)`` before each decode.
        self.decode_hook: Callable[[str, QSize], None] | None = None

        # One coalesced pass per event-loop turn starts requests and announces failures, so a paint pass
        # that asks for 30 thumbnails costs one queue sort, and no signal is emitted inside a caller's call.
        self._pump_timer = QTimer(self)
        self._pump_timer.setSingleShot(True)
        self._pump_timer.setInterval(0)
        self._pump_timer.timeout.connect(self._pump)
        # New failures are written out a little later, all at once (and at shutdown).
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(5000)
        self._save_timer.timeout.connect(self._save_failures)
        if self._uses_disk_cache:
            self._load_failures_requested.emit()

        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        # If the owner (say a window) deletes us without shutdown(), stop the pool right then, from a
        # callable that does not reference self. Otherwise the pool's destructor would wait for running
        # jobs later, from a Python dealloc that holds the GIL those jobs need to finish.
        self.destroyed.connect(functools.partial(_stop_workers, self._pool, self._fetcher, self._net_thread))

    # --- asking for images ---

    def pixmap(self, url: str, size: QSize) -> QPixmap | None:
        """The cached thumbnail for (url, size), or None. Never blocks, never fetches."""
        if not self._remote_enabled and _is_remote(url):
            return None
        found = self._memory.get((url, size.width(), size.height()))
        return found if isinstance(found, QPixmap) else None

    def thumbnail(self, url: str, size: QSize, priority: int = 0) -> QPixmap | None:
        """:meth:`pixmap`, and when it is not cached yet, :meth:`request` it. What a model's ``data()`` calls."""
        found = self.pixmap(url, size)
        if found is None:
            self.request(url, size, priority)
        return found

    def document_image(self, url: str, max_width: int, priority: int = 0) -> QImage | None:
        """The reading pane's image: at most ``max_width`` wide (rounded down, see :func:`document_size`),
        natural aspect, never enlarged. Returns it if cached, else requests it and returns None;
        ``image_ready(url, document_size(max_width))`` follows. For ``QTextDocument.loadResource``."""
        size = document_size(max_width)
        if not (not self._remote_enabled and _is_remote(url)):
            found = self._memory.get((url, size.width(), 0))
            if isinstance(found, QImage):
                return found
        self.request(url, size, priority)
        return None

    def request(self, url: str, size: QSize, priority: int = 0) -> None:
        """Load (url, size) in the background; ``image_ready`` or ``image_failed`` follows.

        Cheap and idempotent: call it on every paint. Does nothing when the key is cached, already
        being decoded, the URL failed before, or it is remote and remote images are off. A second
        request for a queued key moves it to the front of its priority.
        """
        if self._closed:
            return
        box = _box(size)
        if (url, *box) in self._memory or (url, *box) in self._decoding or self.is_failed(url):
            return
        scheme, problem = _classify(url)
        if problem:
            self._fail(url, problem)
            return
        if scheme != "file" and not self._remote_enabled:
            return
        flight = self._flights.get(url)
        if flight is not None:
            flight.boxes.setdefault(box, priority)
            return
        wanted = self._pending.get(url)
        if wanted is None:
            wanted = self._pending[url] = _Wanted(url, None if scheme == "file" else _host_key(url))
        wanted.boxes[box] = (priority, next(self._sequence))
        self._schedule_pump()

    def cancel(self, url: str, size: QSize) -> None:
        """Forget a request: its row scrolled away. A transfer that is receiving is left to finish (it
        lands in the disk cache) but is not decoded for this size; one whose server has not answered
        yet is aborted once nobody wants it."""
        box = _box(size)
        wanted = self._pending.get(url)
        if wanted is not None:
            wanted.boxes.pop(box, None)
            if not wanted.boxes:
                del self._pending[url]
        flight = self._flights.get(url)
        if flight is not None:
            flight.boxes.pop(box, None)
            if not flight.boxes and not flight.lookup and not flight.responded:
                self._end_flight(flight.ticket)
                self._drop_requested.emit(flight.ticket)

    def deprioritise(self, url: str, size: QSize) -> None:
        """Keep a not-yet-started request, but behind everything requested normally."""
        wanted = self._pending.get(url)
        box = _box(size)
        if wanted is not None and box in wanted.boxes:
            wanted.boxes[box] = (LOWEST_PRIORITY, wanted.boxes[box][1])

    def cancel_all(self) -> None:
        """Forget every request that has not started (e.g. the list was reset for a new query)."""
        self._pending.clear()
        for flight in self._flights.values():
            if flight.lookup:
                flight.boxes.clear()  # what the disk cache has is still decoded for nobody; a miss ends there

    # --- privacy ---

    def remote_images_enabled(self) -> bool:
        return self._remote_enabled

    def set_remote_images_enabled(self, enabled: bool) -> None:
        """Off: no request leaves the machine from now on. Queued remote requests are dropped and open
        ones aborted (not counted as failures), and :meth:`pixmap` / :meth:`document_image` return None
        for remote URLs even if cached, so every remote image shows the placeholder consistently.
        ``file:`` images are unaffected. After turning it on, repaint: requests come from painting."""
        enabled = bool(enabled)
        if enabled == self._remote_enabled:
            return
        self._remote_enabled = enabled
        if not enabled:
            for url in [u for u in self._pending if _is_remote(u)]:
                del self._pending[url]
            self._drop_flights()

    # --- failures ---

    def is_failed(self, url: str) -> bool:
        """Whether the URL failed and its failure has not expired yet (then it is not requested)."""
        return self.failure_reason(url) is not None

    def failure_reason(self, url: str) -> str | None:
        """Why the URL failed (``"HTTP 404"``, ``"timed out after 15 s"``, ...), or None."""
        found = self._failed.get(url)
        if found is None:
            return None
        if found[1] <= time.time():
            del self._failed[url]  # expired: it may be tried again
            return None
        return found[0]

    def failure_expiry(self, url: str) -> float | None:
        """When the URL's failure expires (``time.time()`` seconds), or None."""
        return self._failed[url][1] if self.is_failed(url) else None

    def clear_failures(self) -> None:
        """Allow failed URLs to be tried again, now and after a restart. Only for an explicit user
        action (never automatic)."""
        self._failed.clear()
        self._save_failures()

    # --- placeholders ---

    def placeholder(
        self, size: QSize, initial: str = "", dark: bool = False, source: str = "", caption: str = ""
    ) -> QPixmap:
        """A neutral image the size of ``size`` from ``resources/placeholder-{light,dark}.svg``, with
        ``initial`` (one letter, see :func:`reader.ui.names.source_initial`) drawn on it, else the picture glyph.
        With a ``source`` name the tile is tinted with that source's hue (:func:`source_hue`), so a
        screen of one source is not one grey wall and two sources look apart.
        With a ``caption`` (the reading pane's band for a lead image that will not come) it is a
        band instead: a small picture glyph and the caption, centred, in the ink of the tint.
        Made once per (size, initial, dark, hue, caption) and cached: safe to call from ``paint()``."""
        initial = initial[:1].upper()
        hue = source_hue(source)
        key = (size.width(), size.height(), initial, bool(dark), -1 if hue is None else hue, caption)
        found = self._placeholders.get(key)
        if found is None:
            if len(self._placeholders) >= _PLACEHOLDER_CACHE_ENTRIES:
                self._placeholders.clear()
            if caption:
                found = self._paint_band(size, caption, bool(dark), hue)
            else:
                found = self._paint_placeholder(size, initial, bool(dark), hue)
            self._placeholders[key] = found
        return found

    # --- lifecycle ---

    def stats(self) -> ImageStats:
        flights = list(self._flights.values())
        return ImageStats(
            pending=sum(len(w.boxes) for w in self._pending.values()),
            in_flight=sum(1 for f in flights if not f.lookup),
            decoding=len(self._decoding),
            replies=self._replies,
            from_disk_cache=self._from_disk_cache,
            failed=sum(1 for url in list(self._failed) if self.is_failed(url)),
            memory_items=len(self._memory),
            memory_bytes=self._memory.total,
            memory_limit=self._memory.limit,
            looking_up=sum(1 for f in flights if f.lookup),
            slow=sum(1 for f in flights if f.slow),
        )

    def clear_memory_cache(self) -> None:
        self._memory.clear()

    def shutdown(self) -> None:
        """Stop: drop queued requests, abort open replies, wait for running decode jobs. Idempotent;
        called on ``aboutToQuit``. Call it before the service is deleted if the application lives on."""
        if self._closed:
            return
        self._pump_timer.stop()
        if self._save_timer.isActive() or self._unsaved:
            self._save_failures()  # queued before the network thread's stop: written before it ends
        self._closed = True
        self._save_timer.stop()
        self._pending.clear()
        self._drop_flights()
        _stop_workers(self._pool, self._fetcher, self._net_thread)
        self._decoding.clear()

    # --- the queue ---

    def _schedule_pump(self) -> None:
        if not self._pump_timer.isActive() and not self._closed:
            self._pump_timer.start()

    def _pump(self) -> None:
        """Announce new failures, then start the most wanted requests the limits allow."""
        announce, self._unannounced = self._unannounced, []
        for url in announce:
            self.image_failed.emit(url)
        if self._closed or not self._pending:
            return
        for wanted in [w for w in self._pending.values() if w.host is None]:
            del self._pending[wanted.url]
            path = QUrl(wanted.url).toLocalFile()
            for box, (priority, _) in wanted.boxes.items():
                self._start_decode(wanted.url, box, path, priority)
        # The disk cache first, for every request, most wanted first: a cached picture needs no slot.
        fresh = [w for w in self._pending.values() if not w.looked_up]
        if fresh:
            for wanted in sorted(fresh, key=_Wanted.rank, reverse=True):
                del self._pending[wanted.url]
                if self.is_failed(wanted.url):  # known to fail since it was asked for (loaded from disk)
                    self._unannounced.append(wanted.url)
                    self._schedule_pump()
                elif self._uses_disk_cache:
                    self._start_lookup(wanted)
                else:
                    wanted.looked_up = True
                    self._pending[wanted.url] = wanted
        free = self._max_in_flight - self._counted
        if free <= 0 or not self._pending:
            return  # the common case while a screenful is loading: nothing to sort
        ranked: list[tuple[int, int, str]] = []
        for w in self._pending.values():
            priority, sequence = w.rank()
            ranked.append((-priority, -sequence, w.url))
        heapq.heapify(ranked)  # O(n), then one pop per started request (or per busy host skipped)
        while ranked and free > 0:
            wanted = self._pending[heapq.heappop(ranked)[2]]
            host = wanted.host
            if host is None or not wanted.looked_up or self._per_host.get(host, 0) >= self._max_per_host:
                continue
            del self._pending[wanted.url]
            self._start_fetch(wanted, host)
            free -= 1

    def _start_lookup(self, wanted: _Wanted) -> None:
        assert wanted.host is not None
        ticket = next(self._next_ticket)
        boxes = {b: p for b, (p, _) in wanted.boxes.items()}
        flight = _Flight(ticket, wanted.url, wanted.host, boxes, lookup=True, queued=dict(wanted.boxes))
        self._flights[wanted.url] = flight
        self._tickets[ticket] = flight
        self._lookup_requested.emit(ticket, wanted.url)

    def _on_missed(self, ticket: int) -> None:
        """The disk cache does not have it: it waits for a network slot, where it was in the queue."""
        flight = self._end_flight(ticket)
        if flight is None or self._closed or not flight.boxes:
            return
        boxes = {
            box: flight.queued.get(box) or (priority, next(self._sequence)) for box, priority in flight.boxes.items()
        }
        self._pending[flight.url] = _Wanted(flight.url, flight.host, boxes, looked_up=True)
        self._schedule_pump()

    def _start_fetch(self, wanted: _Wanted, host: tuple[str, str, int]) -> None:
        ticket = next(self._next_ticket)
        flight = _Flight(ticket, wanted.url, host, {box: p for box, (p, _) in wanted.boxes.items()}, counted=True)
        self._flights[wanted.url] = flight
        self._tickets[ticket] = flight
        self._per_host[host] = self._per_host.get(host, 0) + 1
        self._counted += 1
        self._replies += 1
        self._fetch_requested.emit(ticket, wanted.url)
        QTimer.singleShot(self._slow_after_ms, self, functools.partial(self._check_slow, ticket))

    def _on_responding(self, ticket: int) -> None:
        flight = self._tickets.get(ticket)
        if flight is not None:
            flight.responded = True

    def _check_slow(self, ticket: int) -> None:
        """No answer yet: stop counting the transfer against its host (it goes on, up to its
        timeout), so the next pictures of that host start; if nobody wants it any more, abort it."""
        flight = self._tickets.get(ticket)
        if flight is None or flight.responded or not flight.counted or self._closed:
            return
        flight.checked = True
        if not flight.boxes:
            self._end_flight(ticket)
            self._drop_requested.emit(ticket)
            return
        if self._slow_per_host.get(flight.host, 0) >= MAX_SLOW_PER_HOST:
            return  # as many connections to this host as are useful: it keeps its slot
        self._uncount(flight)
        flight.slow = True
        self._slow_per_host[flight.host] = self._slow_per_host.get(flight.host, 0) + 1
        self._schedule_pump()

    def _uncount(self, flight: _Flight) -> None:
        if not flight.counted:
            return
        flight.counted = False
        self._counted -= 1
        self._per_host[flight.host] -= 1
        if not self._per_host[flight.host]:
            del self._per_host[flight.host]

    def _end_flight(self, ticket: int) -> _Flight | None:
        """Stop counting a flight against the limits; None if it was dropped meanwhile."""
        flight = self._tickets.pop(ticket, None)
        if flight is None:
            return None
        del self._flights[flight.url]
        self._uncount(flight)
        if flight.slow:
            self._slow_per_host[flight.host] -= 1
            if not self._slow_per_host[flight.host]:
                del self._slow_per_host[flight.host]
        self._schedule_pump()
        return flight

    def _drop_flights(self) -> None:
        """Forget every flight now (privacy, shutdown); the network thread aborts them soon after."""
        for ticket in list(self._tickets):
            self._end_flight(ticket)
            self._drop_requested.emit(ticket)

    def _on_fetched(self, ticket: int, data: QByteArray, from_cache: bool) -> None:
        flight = self._end_flight(ticket)
        if flight is None or self._closed:
            return
        if from_cache:
            self._from_disk_cache += 1
        for box, priority in flight.boxes.items():
            self._start_decode(flight.url, box, data, priority)

    def _on_fetch_failed(self, ticket: int, reason: str, lasting: bool) -> None:
        flight = self._end_flight(ticket)
        if flight is not None and not self._closed:
            self._fail(flight.url, reason, lasting)

    # --- failures, remembered ---

    def _on_failures_loaded(self, entries: dict[str, tuple[float, str]]) -> None:
        now = time.time()
        for url, (expires, reason) in entries.items():
            if expires > now and url not in self._failed:
                self._failed[url] = (reason, expires)

    def _save_failures(self) -> None:
        if not self._uses_disk_cache or self._closed:
            return
        self._unsaved = False
        now = time.time()
        live = [(expires, url, reason) for url, (reason, expires) in self._failed.items() if expires > now]
        if len(live) > MAX_REMEMBERED_FAILURES:
            live = heapq.nlargest(MAX_REMEMBERED_FAILURES, live)  # the ones that expire last
        self._save_failures_requested.emit({url: (expires, reason) for expires, url, reason in live})

    # --- decoding ---

    def _start_decode(self, url: str, box: _Box, source: QByteArray | str, priority: int) -> None:
        key = (url, *box)
        if key in self._decoding or key in self._memory:
            return
        self._decoding.add(key)
        job = functools.partial(
            _decode_job, self._relay, url, box, source, self._dpr, self._max_bytes, self.decode_hook
        )
        self._pool.start(job, max(-(2**31), min(2**31 - 1, priority)))

    def _on_decoded(self, url: str, width: int, height: int, image: QImage, reason: str) -> None:
        key = (url, width, height)
        if self._closed or key not in self._decoding:
            return
        self._decoding.discard(key)
        if image.isNull():
            self._fail(url, reason or "cannot decode")
            return
        # The one conversion on the GUI thread; the image is already in the pixmap's native format.
        self._memory.put(key, image if height == 0 else QPixmap.fromImage(image))
        self.image_ready.emit(url, QSize(width, height))

    def _fail(self, url: str, reason: str, lasting: bool = True) -> None:
        if self.is_failed(url):
            return
        expires = time.time() + (LASTING_FAILURE_S if lasting else PASSING_FAILURE_S)
        self._failed[url] = (reason, expires)
        self._pending.pop(url, None)
        log.info("image %s: %s", url, reason)
        self._unannounced.append(url)
        self._schedule_pump()
        if self._uses_disk_cache and _is_remote(url):
            self._unsaved = True
            if not self._save_timer.isActive():
                self._save_timer.start()

    # --- placeholder painting ---

    def _placeholder_source(self, dark: bool) -> tuple[QSvgRenderer | None, QColor]:
        found = self._placeholder_art.get(dark)
        if found is None:
            path = paths.resources_dir() / ("placeholder-dark.svg" if dark else "placeholder-light.svg")
            renderer: QSvgRenderer | None = QSvgRenderer(str(path))
            ink = QColor("#9aa1ab" if dark else "#7b8390")
            if renderer is None or not renderer.isValid():
                log.warning("placeholder %s: not a valid SVG; painting a plain one", path)
                renderer = None
            else:
                try:
                    for element in ET.parse(path).getroot().iter():
                        if element.get("id") == "ink" and element.get("fill"):
                            ink = QColor(element.get("fill"))
                except (OSError, ET.ParseError):
                    pass
            found = (renderer, ink)
            self._placeholder_art[dark] = found
        return found

    def _canvas(self, size: QSize, dark: bool, hue: int | None) -> tuple[QPixmap, int, int, QColor]:
        """A placeholder's pixmap filled with its background (the source's tint, neutral without
        one): (pixmap, width, height, the ink to draw on it)."""
        width, height = max(1, size.width()), max(1, size.height())
        pixmap = QPixmap(round(width * self._dpr), round(height * self._dpr))
        pixmap.setDevicePixelRatio(self._dpr)
        _renderer, ink = self._placeholder_source(dark)
        if hue is None:
            pixmap.fill(QColor("#2e3035" if dark else "#e6e8eb"))
        else:
            background, ink = source_tint(hue, dark)
            pixmap.fill(background)
        return pixmap, width, height, ink

    def _paint_placeholder(self, size: QSize, initial: str, dark: bool, hue: int | None = None) -> QPixmap:
        pixmap, width, height, ink = self._canvas(size, dark, hue)
        renderer, _ink = self._placeholder_source(dark)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        box = QRectF(0, 0, width, height)
        if hue is None and renderer is not None and renderer.elementExists("background"):
            renderer.render(painter, "background", box)
        if initial:
            font = QFont(QGuiApplication.font())
            font.setBold(True)
            font.setPixelSize(max(6, round(min(width, height) * 0.5)))
            painter.setFont(font)
            painter.setPen(ink)
            painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), initial)
        elif renderer is not None and renderer.elementExists("glyph"):
            # The glyph keeps its aspect, centred, 60% of the shorter side (its bounds carry the margin).
            bounds = renderer.boundsOnElement("glyph")
            side = min(width, height) * 0.6
            scale = side / max(bounds.width(), bounds.height(), 1e-6)
            w, h = bounds.width() * scale, bounds.height() * scale
            renderer.render(painter, "glyph", QRectF((width - w) / 2, (height - h) / 2, w, h))
        painter.end()
        return pixmap

    def _paint_band(self, size: QSize, caption: str, dark: bool, hue: int | None) -> QPixmap:
        """A slim band: the tint (neutral without a source), a picture glyph of a few pixels drawn
        in its ink, and ``caption`` beside it, elided to the band. A tile with one giant letter the
        height of a picture looked heavier than the article it stood in for."""
        pixmap, width, height, ink = self._canvas(size, dark, hue)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(QGuiApplication.font())
        font.setPixelSize(max(6, min(round(height * 0.32), 15)))
        painter.setFont(font)
        metrics = painter.fontMetrics()
        glyph_h = max(6, min(round(height * 0.4), 18))
        glyph_w = round(glyph_h * 4 / 3)
        gap = max(4, glyph_h // 2)
        text = metrics.elidedText(caption, Qt.TextElideMode.ElideMiddle, max(0, width - glyph_w - gap - 16))
        group = glyph_w + gap + metrics.horizontalAdvance(text)
        left = max(8.0, (width - group) / 2)
        top = (height - glyph_h) / 2
        # The glyph: a framed picture, a hill and a sun, outlined in the ink.
        pen_width = max(1.0, glyph_h / 12)
        pen = painter.pen()
        pen.setColor(ink)
        pen.setWidthF(pen_width)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        half = pen_width / 2
        frame = QRectF(left, top, glyph_w, glyph_h).adjusted(half, half, -half, -half)
        painter.drawRoundedRect(frame, glyph_h / 8, glyph_h / 8)
        painter.setBrush(ink)
        painter.setPen(Qt.PenStyle.NoPen)
        sun = glyph_h / 6
        painter.drawEllipse(QRectF(frame.right() - 2.6 * sun, frame.top() + 0.8 * sun, sun * 1.2, sun * 1.2))
        base = frame.bottom() - pen_width
        painter.drawPolygon(
            QPolygonF(
                [
                    QPointF(frame.left() + pen_width, base),
                    QPointF(frame.left() + frame.width() * 0.38, frame.top() + frame.height() * 0.42),
                    QPointF(frame.left() + frame.width() * 0.62, frame.top() + frame.height() * 0.68),
                    QPointF(frame.left() + frame.width() * 0.74, frame.top() + frame.height() * 0.56),
                    QPointF(frame.right() - pen_width, base),
                ]
            )
        )
        painter.setPen(ink)
        painter.drawText(
            QRectF(left + glyph_w + gap, 0, width - left - glyph_w - gap, height),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            text,
        )
        painter.end()
        return pixmap


# --- helpers (pure functions; the decode job runs in a pool thread) ---


def _stop_workers(pool: QThreadPool, fetcher: _Fetcher, thread: QThread, *_: object) -> None:
    """Stop the network thread and the decode pool and wait for both (the GIL is released while
    waiting). Takes no service: it also runs from the service's destroyed() signal."""
    try:
        if thread.isRunning():
            QMetaObject.invokeMethod(fetcher, "stop", Qt.ConnectionType.QueuedConnection)
            thread.wait()
        pool.clear()
        pool.waitForDone()
    except RuntimeError:  # at interpreter exit these may go first; then they have stopped already
        pass


def _box(size: QSize) -> _Box:
    if size.width() <= 0 or size.height() < 0:
        raise ValueError(f"image size must have a positive width and a height >= 0, not {size}")
    return size.width(), size.height()


def _is_remote(url: str) -> bool:
    return not url[:5].lower().startswith("file:")


def _classify(url: str) -> tuple[str, str]:
    """(scheme, "") for a URL we may load, else ("", the reason it fails)."""
    if not url:
        return "", "empty URL"
    qurl = QUrl(url)
    scheme = qurl.scheme().lower()
    if not qurl.isValid():
        return "", f"not a valid URL ({qurl.errorString()})"
    if scheme in ("http", "https"):
        return (scheme, "") if qurl.host() else ("", "URL has no host")
    if scheme == "file":
        return (scheme, "") if qurl.toLocalFile() else ("", "file URL has no path")
    return "", f"unsupported URL scheme {scheme + ':' if scheme else '(none)'}; only http, https and file load"


def _host_key(url: str) -> tuple[str, str, int]:
    qurl = QUrl(url)
    scheme = qurl.scheme().lower()
    return scheme, qurl.host().lower(), qurl.port(443 if scheme == "https" else 80)


def _decode_job(
    relay: _Relay,
    url: str,
    box: _Box,
    source: QByteArray | str,
    dpr: float,
    max_bytes: int,
    hook: Callable[[str, QSize], None] | None,
) -> None:
    """Runs in a pool thread: decode and scale one image, hand it to the GUI thread."""
    try:
        if hook is not None:
            hook(url, QSize(*box))
        image, reason = decode_image(source, box, dpr, max_bytes)
    except Exception as exc:  # an exception must not vanish inside a pool thread
        image, reason = QImage(), f"decoder error: {exc}"
    try:
        relay.decoded.emit(url, box[0], box[1], image, reason)
    except RuntimeError:  # the service is gone (deleted without shutdown()); nobody is waiting
        pass


#: Magic bytes of the raster formats we decode, and the reader format each names. Nothing else is
#: handed to QImageReader: see ``_sniffed_format``.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", b"png"),
    (b"\xff\xd8\xff", b"jpeg"),
    (b"GIF87a", b"gif"),
    (b"GIF89a", b"gif"),
    (b"BM", b"bmp"),
    (b"\x00\x00\x01\x00", b"ico"),
    (b"II*\x00", b"tiff"),
    (b"MM\x00*", b"tiff"),
)

#: How many leading bytes ``_sniffed_format`` needs.
_HEAD_BYTES = 12


def _sniffed_format(head: bytes) -> bytes | None:
    """The format of image bytes that start with ``head``, when their magic says it, else None.

    Bytes whose magic names none of these are not decoded at all, and the reader is told the format
    and not to guess: guessing asks every plugin whether it can read the bytes, and one of those
    questions, the SVG plugin's, builds a QTextStream, which connects a signal under one of Qt's
    shared signal-slot mutexes while this Python decode thread holds the GIL. The network thread,
    deleting a reply with Python slots, holds such a mutex and waits for the GIL: a deadlock that
    froze the image service and the GUI thread (waiting for the GIL too). The binary raster
    handlers named here read their device and connect nothing.
    """
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return b"webp"
    return None


def _unsupported(head: bytes) -> str:
    """Why bytes with no known magic are not decoded: one short reason for the failure cache."""
    text = head.lstrip()[:5].lower()
    if text.startswith((b"<svg", b"<?xml", b"<!--")):
        return "SVG images are not shown (only PNG, JPEG, GIF, WebP, BMP, ICO and TIFF)"
    if text.startswith((b"<!doc", b"<html", b"<head", b"<body")):
        return "not an image (an HTML page)"
    return "not an image (not PNG, JPEG, GIF, WebP, BMP, ICO or TIFF)"


def decode_image(
    source: QByteArray | str, box: _Box, dpr: float = 1.0, max_bytes: int = 10 * MiB
) -> tuple[QImage, str]:
    """Decode ``source`` (bytes, or a local file path) for ``box``. Returns (image, "") or (null image,
    reason). Thread-safe: QImage and QImageReader only. Thumbnails (height > 0) are scaled to fill the
    box and centre-cropped; document images (height 0) are at most the box's width, never enlarged."""
    if isinstance(source, str):
        info = QFileInfo(source)
        if not info.isFile():
            return QImage(), "file not found"
        if info.size() > max_bytes:
            return QImage(), f"too large ({info.size()} bytes, limit {max_bytes})"
        try:
            with open(source, "rb") as file:
                head = file.read(_HEAD_BYTES)
        except OSError as exc:
            return QImage(), f"cannot read ({exc.strerror or exc})"
        sniffed = _sniffed_format(head)
        if sniffed is None:
            return QImage(), _unsupported(head)
        reader = QImageReader(source, sniffed)
        buffer = None
    else:
        head = source[:_HEAD_BYTES] if isinstance(source, bytes) else bytes(source.left(_HEAD_BYTES).data())
        sniffed = _sniffed_format(head)
        if sniffed is None:
            return QImage(), _unsupported(head)
        buffer = QBuffer()
        buffer.setData(source)
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        reader = QImageReader(buffer, sniffed)
    reader.setAutoDetectImageFormat(False)  # the named handler or nothing: no plugin is asked to guess
    reader.setAutoTransform(True)
    if not reader.canRead():
        return QImage(), "not an image"
    raw = reader.size()
    target_w = max(1, round(box[0] * dpr))
    target_h = round(box[1] * dpr)
    if raw.isValid() and not raw.isEmpty():
        # setScaledSize applies before the EXIF rotation: work in the stored orientation.
        turned = bool(reader.transformation() & QImageIOHandler.Transformation.TransformationRotate90)
        w, h = raw.width(), raw.height()
        if target_h > 0:
            tw, th = (target_h, target_w) if turned else (target_w, target_h)
            scale = max(tw / w, th / h)
            sw, sh = max(tw, math.ceil(w * scale)), max(th, math.ceil(h * scale))
            reader.setScaledSize(QSize(sw, sh))
            reader.setScaledClipRect(QRect((sw - tw) // 2, (sh - th) // 2, tw, th))
        else:
            shown_w = h if turned else w
            scale = min(1.0, target_w / shown_w, math.sqrt(MAX_DOCUMENT_PIXELS / (w * h)))
            if scale < 1.0:
                reader.setScaledSize(QSize(max(1, round(w * scale)), max(1, round(h * scale))))
    image = reader.read()
    if buffer is not None:
        buffer.close()
    if image.isNull():
        return QImage(), f"cannot decode ({reader.errorString()})"
    if not (raw.isValid() and not raw.isEmpty()):
        image = _scale_decoded(image, target_w, target_h)  # a format that cannot tell its size up front
    # Convert here, not on the GUI thread: QPixmap.fromImage of these formats is a plain copy.
    wanted = QImage.Format.Format_ARGB32_Premultiplied if image.hasAlphaChannel() else QImage.Format.Format_RGB32
    if image.format() != wanted:
        image = image.convertToFormat(wanted)
    image.setDevicePixelRatio(dpr)
    return image, ""


def _scale_decoded(image: QImage, target_w: int, target_h: int) -> QImage:
    mode = Qt.TransformationMode.SmoothTransformation
    if target_h > 0:
        image = image.scaled(target_w, target_h, Qt.AspectRatioMode.KeepAspectRatioByExpanding, mode)
        return image.copy((image.width() - target_w) // 2, (image.height() - target_h) // 2, target_w, target_h)
    if image.width() > target_w:
        return image.scaledToWidth(target_w, mode)
    return image
