"""Paths and URLs -> records -> store, with progress and a list of problems. No Qt.

Seed files are read and parsed on the calling thread while a writer thread stores the previous
batch: sqlite3 releases the GIL while SQLite works (FTS tokenising included), so parsing and
writing overlap. The calling thread also packs each batch (store.prepare_articles; zlib lets go
of the GIL too), so the writer only writes. What each input is comes from
:mod:`reader.addresses`; feed files, OPML files and feed URLs go to :mod:`reader.subscriptions`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reader import localfile, seedfile, subscriptions
from reader.addresses import SNIFF_BYTES, Input, InputKind, classify, sniffed, store_files
from reader.records import AddResult, Article, Problem, Progress
from reader.store import MAX_ROWS_PER_INSERT, PreparedArticles, StoreError, StoreProtocol, open_store, prepare_articles

#: Articles per write transaction: large enough to amortise the commit, small enough to show progress.
#: Batches are cut to exactly this size: it is the store's largest INSERT (MAX_ROWS_PER_INSERT), so a
#: batch is one statement and FTS5 writes it as one index segment.
BATCH_SIZE = MAX_ROWS_PER_INSERT
#: Seed files larger than this are refused rather than read into memory.
MAX_SEED_FILE_BYTES = 256 * 1024 * 1024


@dataclass
class ImportReport:
    files: int = 0
    records: int = 0
    result: AddResult = field(default_factory=AddResult)
    problems: list[Problem] = field(default_factory=list)
    #: Imported, with a caveat (a record that was not UTF-8, read as Windows-1252): not rejected.
    warnings: list[Problem] = field(default_factory=list)
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def import_paths(
    store_path: Path | str,
    inputs: Sequence[str],
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    report: ImportReport | None = None,
    feeds_only: bool = False,
) -> ImportReport:
    """Import seed files, folders, feed files, OPML files and feed URLs into the store at ``store_path``.

    Every input that can be read is imported; every one that cannot is a :class:`Problem` in the
    report. Store errors (a damaged store, a full disk) raise :class:`StoreError`; batches already
    committed stay, and nothing already stored is changed. Pass ``report`` to have it filled in as
    the import goes: it still counts what was stored when a store error ends the import.
    ``feeds_only``: the inputs are meant as feeds (``reader feeds add``; see :func:`classify`).
    """
    report = ImportReport() if report is None else report
    # Files told apart by their first bytes are read once, by the seed import (see _read_seed).
    items = classify(inputs, report.problems, skip=store_files(store_path), feeds_only=feeds_only, defer_sniff=True)
    seeds = [(n, i) for n, i in enumerate(items) if i.kind is InputKind.SEED]
    feeds = [(n, i) for n, i in enumerate(items) if i.kind is not InputKind.SEED]
    # Progress counts files, then feeds (an OPML file counts the feeds it lists, once it is read).
    done = 0

    def step(n: int = 1) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, len(items))

    if progress is not None:
        progress(0, len(items))
    if seeds:
        # Feed and OPML files found among them join the feeds, in the order they were named.
        feeds = sorted(feeds + _import_seeds(store_path, seeds, report, step, cancel), key=lambda f: f[0])
    if feeds and not (cancel is not None and cancel.is_set()):
        _import_feeds(store_path, [i for _, i in feeds], report, progress, done, len(items) - len(feeds), cancel)
    report.cancelled = cancel is not None and cancel.is_set()
    return report


def _import_seeds(
    store_path: Path | str,
    seeds: Sequence[tuple[int, Input]],
    report: ImportReport,
    step: Callable[[int], None],
    cancel: threading.Event | None,
) -> list[tuple[int, Input]]:
    """Import the seed files ``seeds`` ((position among the inputs, input)); returns those whose
    first bytes said they are feed or OPML files (with their positions), not imported here."""
    writer = _BatchWriter(store_path)
    writer.start()
    batch: list[Article] = []
    others: list[tuple[int, Input]] = []
    try:
        for n, item in seeds:
            if cancel is not None and cancel.is_set():
                break
            if writer.error is not None:
                break
            parsed = _read_seed(item)
            if isinstance(parsed, Input):
                others.append((n, parsed))
                continue
            report.files += 1
            report.records += len(parsed.articles)
            report.problems.extend(parsed.problems)
            report.warnings.extend(parsed.warnings)
            batch.extend(parsed.articles)
            while len(batch) >= BATCH_SIZE:
                writer.put(prepare_articles(batch[:BATCH_SIZE]))
                batch = batch[BATCH_SIZE:]
            # Progress counts files whose records are parsed; the writer is at most two batches behind.
            step(1)
        if batch:
            writer.put(prepare_articles(batch))
    finally:
        result = writer.finish()
    report.result = report.result + result
    if writer.error is not None:
        raise writer.error
    return others


def read_seed_file(path: str) -> seedfile.ParseResult:
    """The records of one seed file, the ones rejected (problems) and the caveats (warnings)."""
    parsed = _read_seed(Input(InputKind.SEED, path, path))
    return parsed if isinstance(parsed, seedfile.ParseResult) else seedfile.ParseResult()  # (never: no sniff)


def _read_seed(item: Input) -> seedfile.ParseResult | Input:
    """What :func:`read_seed_file` gives for ``item``'s file, read once; or, for a file
    :func:`classify` left to be sniffed (:attr:`Input.sniff`) whose first bytes say it is a feed
    or OPML file, that input instead (as classify would have given it)."""
    path = item.target

    def refused(reason: str) -> seedfile.ParseResult:
        return seedfile.ParseResult(problems=[Problem(path, reason)])

    def other(head: bytes) -> Input | None:
        found = sniffed(item, head) if item.sniff else item
        return None if found.kind is InputKind.SEED else found

    try:
        # One open: the size is the open file's (no stat of the path before it), the sniff is
        # the data's first bytes.
        with localfile.RegularFile(path) as file:
            size = file.stat.st_size
            if size > MAX_SEED_FILE_BYTES:
                if (feed := other(file.read_head(SNIFF_BYTES))) is not None:
                    return feed
                return refused(f"file too large ({size // (1024 * 1024)} MiB) for a seed record")
            data = file.read(MAX_SEED_FILE_BYTES)
    except localfile.NotRegularFileError as exc:
        return refused(exc.reason)
    except localfile.FileTooLargeError as exc:  # it grew after its size was read
        return refused(f"{exc.reason} for a seed record")
    except OSError as exc:
        return refused(f"cannot read ({exc.strerror or exc})")
    if (feed := other(data)) is not None:
        return feed
    return seedfile.parse(data, path)


class _BatchWriter(threading.Thread):
    """Stores batches of articles on its own connection while the caller parses the next batch."""

    def __init__(self, store_path: Path | str) -> None:
        super().__init__(name="reader-import-writer", daemon=True)
        self._store_path = store_path
        # Two batches in flight: enough to keep both sides busy, bounded so memory stays flat.
        self._queue: queue.Queue[PreparedArticles | None] = queue.Queue(maxsize=2)
        self.result = AddResult()
        self.error: StoreError | None = None
        self._store: StoreProtocol | None = None
        self._opened = threading.Event()

    def run(self) -> None:
        try:
            self._store = open_store(self._store_path, cache_mb=64)
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

    def put(self, batch: PreparedArticles) -> None:
        self._queue.put(batch)

    def finish(self) -> AddResult:
        self._queue.put(None)
        self.join()
        return self.result


def _import_feeds(
    store_path: Path | str,
    items: Sequence[Input],
    report: ImportReport,
    progress: Progress | None,
    done_before: int,
    seed_files: int,
    cancel: threading.Event | None,
) -> None:
    def step(done: int, total: int) -> None:
        if progress is not None:
            progress(done_before + done, seed_files + total)

    with open_store(store_path) as store:
        result, problems = subscriptions.subscribe(store, items, progress=step, cancel=cancel)
    report.result = report.result + result
    report.problems.extend(problems)
