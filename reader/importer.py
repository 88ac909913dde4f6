"""Paths and URLs -> records -> store, with progress and a list of problems. No Qt.

Seed files are read and parsed on the calling thread while a writer thread stores the previous
batch: sqlite3 releases the GIL while SQLite works (FTS tokenising included), so parsing and
writing overlap. Feed files, OPML files and feed URLs go to :mod:`reader.feeds`.
"""

from __future__ import annotations

import os
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reader import localfile, seedfile
from reader.records import AddResult, Article, Problem
from reader.store import MAX_ROWS_PER_INSERT, Store, StoreError

#: Articles per write transaction: large enough to amortise the commit, small enough to show progress.
#: Batches are cut to exactly this size: it is the store's largest INSERT (MAX_ROWS_PER_INSERT), so a
#: batch is one statement and FTS5 writes it as one index segment.
BATCH_SIZE = MAX_ROWS_PER_INSERT
#: Feed and OPML files are recognised by these endings (and by their first bytes).
FEED_SUFFIXES = frozenset({".xml", ".rss", ".atom", ".rdf", ".feed"})
OPML_SUFFIXES = frozenset({".opml"})
#: In folders, documentation files (a corpus's README or licence notice) are not records.
SKIPPED_SUFFIXES = frozenset({".md", ".markdown", ".rst", ".html", ".htm", ".json", ".csv", ".pdf"})
#: Seed files larger than this are refused rather than read into memory.
MAX_SEED_FILE_BYTES = 256 * 1024 * 1024

Progress = Callable[[int, int], None]
"""progress(done, total): inputs (files or feeds) finished so far, out of total. ``total`` starts
as the number of inputs and grows when an OPML file turns out to list several feeds (each is
counted), so ``done`` never exceeds it."""


@dataclass
class ImportReport:
    files: int = 0
    records: int = 0
    result: AddResult = field(default_factory=AddResult)
    problems: list[Problem] = field(default_factory=list)
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


#: A host name with at least one dot whose last label is letters (example.com, news.example.org:8080),
#: or a dotted IPv4 address.
_HOST = re.compile(
    r"^(?:(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*|\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?$", re.I
)
#: Endings of files, not of host names: "feed.xml" that does not exist is a missing file, not a site.
_FILE_ENDINGS = FEED_SUFFIXES | OPML_SUFFIXES | SKIPPED_SUFFIXES | frozenset({".txt", ".gz", ".zip", ".sqlite"})


def feed_address(text: str) -> str | None:
    """The URL ``text`` stands for, or None when it is (or may be) a local path.

    The one place that decides, for ``reader import``, ``reader feeds add`` and "Add feed":

    - ``http://``, ``https://`` and ``file:`` URLs are taken as they are;
    - ``feed://host/path`` is ``http://host/path``, ``feed:https://...`` is ``https://...``;
    - an existing file or folder is a path;
    - other text without a scheme that reads like ``host/path`` (a dot in the first segment,
      e.g. ``example.com/rss``, but not a file name such as ``feed.xml``) is ``https://host/path``.
    """
    stripped = text.strip()
    lower = stripped.lower()
    if lower.startswith("feed://"):
        return "http://" + stripped[len("feed://") :]
    if lower.startswith(("feed:http://", "feed:https://")):
        return stripped[len("feed:") :]
    if lower.startswith(("http://", "https://", "file:")):
        return stripped
    if not stripped or os.path.lexists(text) or os.path.lexists(stripped):
        return None
    if any(c.isspace() for c in stripped) or "\\" in stripped or stripped.startswith((".", "~")):
        return None
    host = stripped.split("/", 1)[0]
    if not _HOST.match(host) or os.path.splitext(host.split(":", 1)[0])[1].lower() in _FILE_ENDINGS:
        return None
    return "https://" + stripped


def is_url(text: str) -> bool:
    """Whether ``text`` is a feed address rather than a local path (see :func:`feed_address`)."""
    return feed_address(text) is not None


@dataclass(frozen=True, slots=True)
class _Input:
    kind: str  # "seed" | "feed" | "opml"
    target: str  # path or URL


def collect(inputs: Sequence[str], problems: list[Problem]) -> list[_Input]:
    """Expand folders (recursively, sorted) and classify each input; missing paths are problems."""
    found: list[_Input] = []
    for text in inputs:
        address = feed_address(text)
        if address is not None:
            why = _local_refusal(address)
            if why is not None:
                problems.append(Problem(text, why))
            else:
                found.append(_Input("feed", address))
            continue
        path = Path(text)
        if path.is_dir():
            for file in _walk(path):
                # A FIFO, a device or a socket in the folder is named and left alone (never opened).
                why = localfile.not_regular_reason(file)
                if why is not None:
                    problems.append(Problem(str(file), why))
                else:
                    found.append(_classify(file))
        elif path.is_file():
            found.append(_classify(path, explicit=True))
        elif path.exists():
            problems.append(Problem(text, localfile.not_regular_reason(path) or "not a regular file"))
        else:
            problems.append(Problem(text, "no such file or folder"))
    return [i for i in found if i.kind != "skip"]


def _local_refusal(address: str) -> str | None:
    """Why the file a ``file:`` URL names on this machine is not read (a FIFO, a device, a socket,
    a folder), or None (other URLs; a missing file is left to the feed import, which says so)."""
    if not address.lower().startswith("file:"):
        return None
    import urllib.parse
    import urllib.request

    try:
        parts = urllib.parse.urlsplit(address)
        if parts.netloc not in ("", "localhost"):
            return None  # the fetch says it cannot read files on another host
        return localfile.not_regular_reason(urllib.request.url2pathname(parts.path))
    except ValueError:
        return None


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root, name)


def _classify(path: Path, explicit: bool = False) -> _Input:
    suffix = path.suffix.lower()
    if suffix in OPML_SUFFIXES:
        return _Input("opml", str(path))
    if suffix in FEED_SUFFIXES:
        return _Input("feed", str(path))
    if not explicit and suffix in SKIPPED_SUFFIXES:
        return _Input("skip", str(path))
    try:
        head = localfile.read_head(path, 1024)
    except OSError:
        return _Input("seed", str(path))  # the read below reports why
    sniff = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if sniff.startswith(b"<"):
        return _Input("opml" if b"<opml" in head.lower() else "feed", str(path))
    return _Input("seed", str(path))


def import_paths(
    store_path: Path | str,
    inputs: Sequence[str],
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    report: ImportReport | None = None,
) -> ImportReport:
    """Import seed files, folders, feed files, OPML files and feed URLs into the store at ``store_path``.

    Every input that can be read is imported; every one that cannot is a :class:`Problem` in the
    report. Store errors (a damaged store, a full disk) raise :class:`StoreError`; batches already
    committed stay, and nothing already stored is changed. Pass ``report`` to have it filled in as
    the import goes: it still counts what was stored when a store error ends the import.
    """
    report = ImportReport() if report is None else report
    items = collect(inputs, report.problems)
    seeds = [i.target for i in items if i.kind == "seed"]
    feeds = [i for i in items if i.kind != "seed"]
    total = len(items)
    done = 0

    def step(n: int = 1) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    def grow(n: int) -> None:
        # An OPML file (one input) lists n + 1 feeds, each of which will report when it is done.
        nonlocal total
        total += n
        if progress is not None and n:
            progress(done, total)

    if progress is not None:
        progress(0, total)
    if seeds:
        _import_seeds(store_path, seeds, report, step, cancel)
    if feeds and not (cancel is not None and cancel.is_set()):
        _import_feeds(store_path, feeds, report, step, cancel, grow)
    report.cancelled = cancel is not None and cancel.is_set()
    return report


def _import_seeds(
    store_path: Path | str,
    paths: Sequence[str],
    report: ImportReport,
    step: Callable[[int], None],
    cancel: threading.Event | None,
) -> None:
    writer = _BatchWriter(store_path)
    writer.start()
    batch: list[Article] = []
    try:
        for path in paths:
            if cancel is not None and cancel.is_set():
                break
            if writer.error is not None:
                break
            articles, problems = read_seed_file(path)
            report.files += 1
            report.records += len(articles)
            report.problems.extend(problems)
            batch.extend(articles)
            while len(batch) >= BATCH_SIZE:
                writer.put(batch[:BATCH_SIZE])
                batch = batch[BATCH_SIZE:]
            # Progress counts files whose records are parsed; the writer is at most two batches behind.
            step(1)
        if batch:
            writer.put(batch)
    finally:
        result = writer.finish()
    report.result = report.result + result
    if writer.error is not None:
        raise writer.error


def read_seed_file(path: str) -> tuple[list[Article], list[Problem]]:
    try:
        size = os.path.getsize(path)
        if size > MAX_SEED_FILE_BYTES:
            return [], [Problem(path, f"file too large ({size // (1024 * 1024)} MiB) for a seed record")]
        data = localfile.read_regular(path, MAX_SEED_FILE_BYTES)
    except localfile.NotRegularFileError as exc:
        return [], [Problem(path, exc.reason)]
    except localfile.FileTooLargeError as exc:  # it grew after its size was read
        return [], [Problem(path, f"{exc.reason} for a seed record")]
    except OSError as exc:
        return [], [Problem(path, f"cannot read ({exc.strerror or exc})")]
    parsed = seedfile.parse(data, path)
    return parsed.articles, parsed.problems


class _BatchWriter(threading.Thread):
    """Stores batches of articles on its own connection while the caller parses the next batch."""

    def __init__(self, store_path: Path | str) -> None:
        super().__init__(name="reader-import-writer", daemon=True)
        self._store_path = store_path
        # Two batches in flight: enough to keep both sides busy, bounded so memory stays flat.
        self._queue: queue.Queue[list[Article] | None] = queue.Queue(maxsize=2)
        self.result = AddResult()
        self.error: StoreError | None = None
        self._store: Store | None = None
        self._opened = threading.Event()

    def run(self) -> None:
        try:
            self._store = Store.open(self._store_path, cache_mb=64)
        except StoreError as exc:
            self.error = exc
        finally:
            self._opened.set()
        try:
            while True:
                batch = self._queue.get()
                if batch is None:
                    return
                if self.error is not None or self._store is None:
                    continue  # drain: the caller sees the error and stops feeding us
                try:
                    self.result = self.result + self._store.add_articles(batch)
                except StoreError as exc:
                    self.error = exc
                except Exception as exc:
                    # Anything else is a bug, but it must not leave the caller blocked on a full
                    # queue: report it as a store error (one line) and drain.
                    self.error = StoreError(f"{self._store_path}: import stopped: {type(exc).__name__}: {exc}")
        finally:
            if self._store is not None:
                self._store.close()

    def put(self, batch: list[Article]) -> None:
        self._queue.put(batch)

    def finish(self) -> AddResult:
        self._queue.put(None)
        self.join()
        return self.result


def _import_feeds(
    store_path: Path | str,
    items: Iterable[_Input],
    report: ImportReport,
    step: Callable[[int], None],
    cancel: threading.Event | None,
    grow: Callable[[int], None] | None = None,
) -> None:
    from reader import feeds  # feedparser is only imported when feeds are involved

    items = list(items)
    with Store.open(store_path) as store:
        result, problems = feeds.import_inputs(
            store, [(i.kind, i.target) for i in items], progress=step, cancel=cancel, grow=grow
        )
    report.result = report.result + result
    report.problems.extend(problems)
