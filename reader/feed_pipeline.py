"""Many feeds at once: fetch (:mod:`reader.fetching`), parse in worker processes
(:mod:`reader.feedparse`), and hand the parsed documents back in batches. Never stores anything:
its caller (:mod:`reader.subscriptions`) writes each batch. No Qt, no store.

- fetching in a thread pool, at most :data:`reader.http.MAX_CONNECTIONS_PER_HOST` connections
  to one host;
- parsing in :data:`PARSE_PROCESSES` worker processes (feedparser is pure Python, so threads would
  queue on the GIL), started from a clean "forkserver" process, never forked from the caller (a Qt
  application has threads); a document larger than :data:`SPLIT_BYTES` is cut into runs of whole
  entries parsed side by side; a few small feeds, and the first documents while the workers start,
  are parsed in this process; the workers also pack each article's text as the store keeps it
  (:func:`reader.feedparse.parse_and_pack`), so the storing process only writes;
- batching: parsed documents are handed over a few hundred articles at a time, as soon as there
  are that many (the full-text index makes storing the slowest single step, so it starts as early
  as it can).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass

from reader.feedparse import ParsedFeed, exit_with_parent, parse, parse_and_pack, ready, split_document
from reader.fetching import FetchResult, fetch
from reader.records import Feed

#: Feeds fetched at once (threads); per host, :data:`reader.http.MAX_CONNECTIONS_PER_HOST`.
FETCH_THREADS = 16


def _cores() -> int:
    """CPUs this process may run on (its affinity, which containers and taskset narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 2


def parse_processes(cores: int) -> int:
    """Worker processes that parse: one per core but the one that stores, and at least two (on
    two cores the storing process leaves room: it keeps a core busy about half the time). At most 8."""
    return max(2, min(8, cores - 1))


PARSE_PROCESSES = parse_processes(_cores())
#: With fewer feeds than this to fetch, worker processes start only for a document larger than
#: WORKERS_FOR_BYTES (smaller ones parse here faster than the workers start, about 0.2 s).
POOL_MIN_FEEDS = 8
WORKERS_FOR_BYTES = 2 * 1024 * 1024
#: Documents larger than this are split into runs of whole entries (about this size each, smaller
#: when that gives fewer than two pieces a worker), parsed in parallel and stored a batch at a
#: time (small pieces: the first are stored early, the last soon after the others).
SPLIT_BYTES = 512 * 1024
#: Parsed feeds are stored together, in one transaction, until about this many articles are
#: waiting (or :data:`BATCH_WAIT` seconds have passed since the first): each transaction writes
#: its own index segment and commit, so storing 5,000 entries 50 at a time took 20% longer than
#: 200 or more at a time.
BATCH_ARTICLES = 256
BATCH_WAIT = 0.05
#: At most this many parsed documents (or pieces), and about this many articles, go into one
#: transaction: the window's own writes (marking an article read) wait for it, so it stays short
#: (1,000 feed articles: about 0.1 s) even when the store has fallen behind the parsers. (One
#: document is never cut in two: a small one with thousands of entries is one transaction.)
MAX_BATCH_OUTCOMES = 256
MAX_BATCH_ARTICLES = 1024
#: How worker processes start. "forkserver": each worker is forked from a clean server process
#: that has feedparser and nh3 imported, never from the caller (which may be a Qt application
#: with threads running: fork there is unsafe). The server starts once per process.
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


@dataclass(frozen=True, slots=True)
class FeedJob:
    feed: Feed
    #: What a problem names: the input as the person gave it, or the feed's URL.
    label: str
    #: On import, a feed without entries is a problem; on refresh it is just a quiet feed.
    empty_is_problem: bool
    #: Subscribed by this import: if its first fetch shows it is not a feed, it is unsubscribed.
    new: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    job: FeedJob
    fetched: FetchResult
    parsed: ParsedFeed | None = None
    #: False for the pieces of a split document before the last one: store their articles only.
    final: bool = True


Delivery = Callable[[ParsedFeed, bool], None]
"""delivery(parsed, final): a parsed piece of a document; ``final`` for the last one."""


def start_worker_server() -> None:
    if START_METHOD == "forkserver":
        from multiprocessing import forkserver

        # The workers need only the parsing module (a smaller import than this one's, sooner ready)
        # and the pool's worker loop, which each of them would otherwise import on its own.
        multiprocessing.get_context("forkserver").set_forkserver_preload(
            ["reader.feedparse", "concurrent.futures.process"]
        )
        # Starts once per process (then a no-op): it imports feedparser and nh3 while we fetch.
        forkserver.ensure_running()


class _Task:
    """One fetched document, perhaps in pieces; each parsed piece is delivered (from whichever
    thread parsed it) with ``final`` on the last one."""

    def __init__(self, headers: dict[str, str], url: str, feed_id: int, deliver: Delivery, pieces: int) -> None:
        self.headers = headers
        self.url = url
        self.feed_id = feed_id
        self._deliver = deliver
        self._left = pieces
        self._articles = 0
        self._lock = threading.Lock()

    def parse_here(self, document: bytes) -> None:
        self.done(parse(document, self.headers, self.url, self.feed_id))

    def done(self, piece: ParsedFeed) -> None:
        # Delivered under the lock: pieces finish on several threads (pool callbacks, fetch
        # threads), and the final one must never overtake another, or the caller, counting
        # finished feeds, would stop before storing it. (Delivery only puts on a queue.)
        with self._lock:
            self._left -= 1
            self._articles += len(piece.articles)
            final = self._left == 0
            if final and self._articles > 0 and piece.problem is not None:
                # Earlier pieces had entries: the feed as a whole is fine.
                piece = dataclasses.replace(piece, problem=None)
            self._deliver(piece, final)


class _Parsing:
    """Where fetched documents are parsed: worker processes, or this process when that is sooner.

    Starting the workers takes about 0.2 s the first time (a fresh interpreter imports feedparser),
    so a starter thread starts them in the background: at once for :data:`POOL_MIN_FEEDS` feeds or
    more, else only when a document is big enough to split. Until they are up, documents (or pieces)
    are parsed right here on a fetch thread, one at a time (several would only slow each other on
    the GIL), and the rest wait for the workers while the fetch threads go on fetching. A document
    larger than :data:`SPLIT_BYTES` is split into runs of entries; each piece is delivered as soon
    as it is parsed, so storing the first pieces overlaps with parsing the rest.
    """

    def __init__(self, expected_feeds: int) -> None:
        self._lock = threading.Lock()
        self._pool: cf.ProcessPoolExecutor | None = None
        self._closed = False
        self._eager = expected_feeds >= POOL_MIN_FEEDS
        self._ready = False
        self._pending: list[tuple[_Task, list[bytes]]] = []
        self._inline = threading.Lock()
        self._starter: threading.Thread | None = None
        start_worker_server()  # returns at once; the server imports feedparser meanwhile
        if self._eager:
            self._start_workers()

    def _start_workers(self) -> None:
        with self._lock:
            if self._starter is None and not self._closed:
                self._starter = threading.Thread(target=self._start, name="reader-parse-workers", daemon=True)
                self._starter.start()

    def _start(self) -> None:
        with self._lock:
            if not self._closed:
                # exit_with_parent: killed (kill -9), this process would otherwise leave its
                # workers, and so the fork server, waiting for work for good.
                self._pool = cf.ProcessPoolExecutor(
                    PARSE_PROCESSES, mp_context=multiprocessing.get_context(START_METHOD), initializer=exit_with_parent
                )
            pool = self._pool
        if pool is not None:
            try:
                # Spawning waits for the worker server (its imports); then wait for every worker.
                cf.wait([pool.submit(ready) for _ in range(PARSE_PROCESSES)])
            except (RuntimeError, cf.BrokenExecutor):  # closed meanwhile (cancelled), or broken
                pass
        with self._lock:
            self._ready = True
            pending, self._pending = self._pending, []
        for task, documents in pending:
            self._submit(pool, task, documents)

    def parse(self, fetched: FetchResult, feed_id: int, deliver: Delivery) -> None:
        """Parse ``fetched`` and hand each parsed piece to ``deliver``."""
        data = fetched.data
        # With the workers not wanted yet, only a document worth their start-up is split.
        threshold = SPLIT_BYTES if self._eager else WORKERS_FOR_BYTES
        parts = min(64, max(2 * PARSE_PROCESSES, len(data) // SPLIT_BYTES))
        documents = [data]
        if len(data) > threshold:
            self._start_workers()  # they start while it is split (about 0.05 s for 18 MB)
            documents = split_document(data, parts) or documents
        task = _Task(dict(fetched.headers), fetched.url, feed_id, deliver, len(documents))
        if len(documents) == 1 and not self._eager:
            task.parse_here(documents[0])
            return
        self._start_workers()
        while documents:
            with self._lock:
                if self._ready:
                    pool = self._pool
                    break
                if not self._inline.acquire(blocking=False):
                    self._pending.append((task, documents))
                    return
            try:
                task.parse_here(documents.pop(0))
            finally:
                self._inline.release()
        else:
            return
        self._submit(pool, task, documents)

    @staticmethod
    def _submit(pool: cf.ProcessPoolExecutor | None, task: _Task, documents: list[bytes]) -> None:
        futures: list[cf.Future[ParsedFeed]] = []
        if pool is not None:
            try:
                for document in documents:
                    futures.append(pool.submit(parse_and_pack, document, task.headers, task.url, task.feed_id))
            except (RuntimeError, cf.BrokenExecutor):  # closed (cancelled), or a worker died: the rest here
                documents = documents[len(futures) :]
            else:
                documents = []
        for document in documents:
            task.parse_here(document)

        def finished(future: cf.Future[ParsedFeed]) -> None:
            try:
                piece = future.result()
            except cf.CancelledError:
                piece = ParsedFeed(None, None, [], "cancelled")
            except Exception as exc:  # a worker process died (BrokenProcessPool)
                piece = ParsedFeed(None, None, [], f"the parser failed ({type(exc).__name__}: {exc})")
            task.done(piece)

        for future in futures:
            future.add_done_callback(finished)

    def close(self, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
            starter = self._starter
        if starter is not None and wait:
            starter.join()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)


def run(
    jobs: Sequence[FeedJob], cancel: threading.Event | None, timeout: float, max_bytes: int
) -> Generator[list[Outcome], None, None]:
    """Fetch and parse ``jobs``, yielding what is parsed in batches (see :data:`BATCH_ARTICLES`)
    for the caller to store, as it arrives; every job ends with exactly one ``final`` outcome. Stops
    early once ``cancel`` is set. Close the generator (``contextlib.closing``) if you stop reading
    it: that ends the fetches and the workers."""
    if not jobs or (cancel is not None and cancel.is_set()):
        return
    outcomes: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
    stop = threading.Event()
    parsing = _Parsing(len(jobs))

    def work(job: FeedJob) -> None:
        feed = job.feed
        try:
            if stop.is_set():
                return
            fetched = fetch(feed.url, feed.etag, feed.last_modified, timeout=timeout, max_bytes=max_bytes, stop=stop)
            if not fetched.has_document or stop.is_set():
                outcomes.put(Outcome(job, fetched))
                return
            parsing.parse(fetched, feed.id, lambda parsed, final: outcomes.put(Outcome(job, fetched, parsed, final)))
        except Exception as exc:  # a bug here must not leave the loop below waiting for ever
            outcomes.put(Outcome(job, FetchResult(feed.url, 0, error=f"internal error ({type(exc).__name__}: {exc})")))

    # Daemon threads, not a ThreadPoolExecutor: the executor's threads are joined when the
    # interpreter exits, so after a cancel (or the window closing) fetches still in flight kept the
    # process alive until their socket timeouts (20 s a read, 40 s against a trickling server).
    # These stop at their next chunk once ``stop`` is set, and never hold the process.
    waiting: queue.SimpleQueue[FeedJob] = queue.SimpleQueue()
    for job in jobs:
        waiting.put(job)

    def fetcher() -> None:
        while not stop.is_set():
            try:
                job = waiting.get_nowait()
            except queue.Empty:
                return
            work(job)

    fetchers = [
        threading.Thread(target=fetcher, name=f"reader-fetch-{i}", daemon=True)
        for i in range(min(FETCH_THREADS, len(jobs)))
    ]
    finished_all = False
    try:
        for thread in fetchers:
            thread.start()
        remaining = len(jobs)
        while remaining:
            if cancel is not None and cancel.is_set():
                return
            try:
                batch = [outcomes.get(timeout=0.1)]
            except queue.Empty:
                continue
            _gather(batch, outcomes, remaining, time.monotonic() + BATCH_WAIT)
            remaining -= sum(1 for outcome in batch if outcome.final)
            yield batch
        finished_all = True
    finally:
        stop.set()
        # Cancelled (or closed early): fetches in flight give up at their next chunk (daemon
        # threads, not waited for); nothing they do after this reaches the caller.
        if finished_all:
            for thread in fetchers:
                if thread.is_alive():
                    thread.join()
        parsing.close(wait=finished_all)


def _gather(batch: list[Outcome], outcomes: queue.SimpleQueue[Outcome], remaining: int, deadline: float) -> None:
    """Add to ``batch`` what else has arrived, and wait for more (until ``deadline``) while it holds
    fewer than :data:`BATCH_ARTICLES` articles and more feeds are still to come; up to
    :data:`MAX_BATCH_OUTCOMES` outcomes and :data:`MAX_BATCH_ARTICLES` articles."""
    articles = sum(len(o.parsed.articles) for o in batch if o.parsed is not None)
    finals = sum(1 for o in batch if o.final)
    while len(batch) < MAX_BATCH_OUTCOMES and articles < MAX_BATCH_ARTICLES and finals < remaining:
        wait = deadline - time.monotonic() if articles < BATCH_ARTICLES else 0.0
        try:
            outcome = outcomes.get(timeout=wait) if wait > 0 else outcomes.get_nowait()
        except queue.Empty:
            return
        batch.append(outcome)
        articles += len(outcome.parsed.articles) if outcome.parsed is not None else 0
        finals += outcome.final
