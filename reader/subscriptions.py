"""Subscriptions: subscribe (feed addresses, OPML files), refresh, OPML export. The one place
that writes feed articles and feed state to the store; fetching and parsing are
:mod:`reader.feed_pipeline`'s. No Qt.

Budgets (issue 5, measured by ``python -m reader.benchmark feeds`` beside Newsboat): 100 feeds x 50
items from one OPML file no slower than Newsboat's first reload; one 5,000-item file within 1.5x.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from reader import localfile
from reader.addresses import Input, InputKind, local_path, opml_address
from reader.feed_pipeline import FeedJob, Outcome, run, start_worker_server
from reader.feedparse import NO_ENTRIES, ParsedFeed
from reader.fetching import FetchResult
from reader.http import FETCH_TIMEOUT, MAX_FEED_BYTES, MAX_RETRY_AFTER
from reader.opml import OpmlError, OpmlFeed, read_opml, write_opml
from reader.records import AddResult, Article, Feed, Problem, Progress
from reader.store import StoreProtocol, prepare_articles
from reader.textpack import PackedText

#: How often feeds are refreshed when the caller does not say (the window's default interval).
DEFAULT_INTERVAL_S = 3600.0
#: A feed due within this many seconds counts as due (a refresh on a timer must not miss a feed
#: whose time comes a moment after the timer's).
DUE_SLACK_S = 60.0


def due_feeds(
    store: StoreProtocol,
    feed_ids: Sequence[int] | None = None,
    *,
    interval_s: float = DEFAULT_INTERVAL_S,
    force: bool = False,
) -> list[Feed]:
    """The feeds a refresh fetches: not dead, among ``feed_ids`` if given, and (unless ``force``)
    not held back by their server: never before its Retry-After, and while its Cache-Control or
    Expires says the copy is fresh, but then never longer than ``interval_s`` after the last fetch
    (the person's refresh interval wins over a long max-age)."""
    wanted = None if feed_ids is None else set(feed_ids)
    soon = datetime.now(UTC) + timedelta(seconds=DUE_SLACK_S)
    return [
        feed
        for feed in store.feeds()
        if not feed.dead
        and feed.account_id is None  # a sync account's feed: its server fetches it (reader.sync)
        and (wanted is None or feed.id in wanted)
        and (force or _due(feed, soon, interval_s))
    ]


def _due(feed: Feed, soon: datetime, interval_s: float) -> bool:
    if feed.retry_at is not None and feed.retry_at > soon:
        return False
    if feed.fresh_until is None or feed.fresh_until <= soon:
        return True
    return feed.updated_at is None or feed.updated_at + timedelta(seconds=interval_s) <= soon


def _schedule(fetched: FetchResult, now: datetime) -> dict[str, datetime | None]:
    """What the server said about the next fetch (see :func:`due_feeds`)."""
    retry = min(fetched.retry_after, MAX_RETRY_AFTER) if fetched.retry_after else None
    return {
        "fresh_until": now + timedelta(seconds=fetched.fresh_for) if fetched.fresh_for else None,
        "retry_at": now + timedelta(seconds=retry) if retry else None,
    }


def _store(store: StoreProtocol, batch: Sequence[Outcome], problems: list[Problem]) -> AddResult:
    now = datetime.now(UTC)
    articles: list[Article] = []
    updates: list[tuple[int, dict[str, Any]]] = []
    removals: list[int] = []
    claimed: set[str] = set()
    # Text the parse workers packed already (None: the store packs that article's).
    packed: list[PackedText | None] = []

    def take(parsed: ParsedFeed) -> None:
        articles.extend(parsed.articles)
        packed.extend(parsed.packed if parsed.packed is not None else [None] * len(parsed.articles))

    for outcome in batch:
        job, fetched, parsed = outcome.job, outcome.fetched, outcome.parsed
        if not outcome.final:
            if parsed is not None:
                take(parsed)
            continue
        feed = job.feed
        fields: dict[str, Any] = {}
        if fetched.moved_to and fetched.moved_to != feed.url and fetched.moved_to not in claimed:
            # Moved for good: follow it, unless that address is already another subscription.
            other = store.get_feed(fetched.moved_to)
            if other is None or other.id == feed.id:
                fields["url"] = fetched.moved_to
                claimed.add(fetched.moved_to)
        problem: str | None = None
        if fetched.gone:
            fields.update(dead=True, last_error=fetched.error)
            problem = f"{fetched.error}; it will not be refreshed again"
        elif fetched.error is not None:
            fields["last_error"] = problem = fetched.error
        elif fetched.not_modified or parsed is None:
            fields.update(updated_at=now, last_error=None)
        elif parsed.readable:
            fields.update(
                updated_at=now, last_error=None, etag=fetched.etag, last_modified=fetched.last_modified, dead=False
            )
            if parsed.title and parsed.title != feed.title:
                fields["title"] = parsed.title
            if parsed.link and parsed.link != feed.site_url:
                fields["site_url"] = parsed.link
            take(parsed)
            if parsed.problem is not None and job.empty_is_problem:
                problem = parsed.problem
        else:
            fields["last_error"] = problem = parsed.problem or NO_ENTRIES
        if job.new and _not_a_feed(fetched, parsed):
            # A new subscription whose first fetch shows it is no feed (404, 410, an HTML page,
            # malformed XML without entries): it does not stay. A network failure keeps it.
            reason = fetched.error or (parsed.problem if parsed is not None else None) or NO_ENTRIES
            problems.append(Problem(job.label, f"{reason} (not subscribed)"))
            removals.append(feed.id)
            continue
        if problem is not None:
            problems.append(Problem(job.label, problem))
        fields.update(_schedule(fetched, now))
        updates.append((feed.id, fields))
    added = store.add_articles(prepare_articles(articles, packed), update=True) if articles else AddResult()
    for feed_id, fields in updates:
        store.update_feed(feed_id, **fields)
    for feed_id in removals:
        store.remove_feed(feed_id)
    return added


def _not_a_feed(fetched: FetchResult, parsed: ParsedFeed | None) -> bool:
    """The fetch shows for good that this address is not a feed (a temporary failure does not)."""
    if fetched.error is not None:
        return not fetched.transient
    return fetched.has_document and parsed is not None and not parsed.readable


class _Tally:
    """Progress(done, total) for one subscribe or refresh: ``total`` grows as OPML files are read."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self._progress = progress
        self.done = 0
        self.total = total

    def grow(self, n: int) -> None:
        self.total += n

    def step(self, n: int = 1) -> None:
        for _ in range(n):  # one call per feed: "3 of 10" is never skipped
            self.done += 1
            if self._progress is not None:
                self._progress(self.done, self.total)


def subscribe(
    store: StoreProtocol,
    inputs: Sequence[Input],
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    *,
    timeout: float = FETCH_TIMEOUT,
    max_bytes: int = MAX_FEED_BYTES,
) -> tuple[AddResult, list[Problem]]:
    """Subscribe to the feeds and OPML files among ``inputs`` (classified by
    :func:`reader.addresses.classify`) and fetch them all at once.

    A new address stays subscribed when its first fetch reads as a feed (even an empty one) or
    fails for now (timeout, refused, 5xx: ``last_error`` says so); when it shows the address is no
    feed (404, 410, an HTML page, malformed XML without entries) the problem is reported and the
    subscription removed. An OPML file subscribes to every feed it lists (addresses checked by
    :func:`reader.addresses.opml_address`: http/https, or a path inside the OPML file's own
    folder). Every input that cannot be read is a :class:`Problem` (so is a feed without entries);
    nothing raises for bad input. Progress counts feeds: each feed input, each feed an OPML file
    lists (duplicates included: an OPML file listing n feeds counts n, from when it is read), each
    bad input, exactly once.
    """
    start_worker_server()  # it imports feedparser while we read OPML files and subscribe
    problems: list[Problem] = []
    jobs: list[FeedJob] = []
    seen: set[int] = set()
    tally = _Tally(progress, sum(1 for i in inputs if i.kind in (InputKind.FEED, InputKind.OPML)))

    def add(url: str, label: str, title: str | None = None) -> None:
        # Subscribed now so the fetch has a feed id; unsubscribed again (in _store) when the
        # first fetch shows it is not a feed.
        new = store.get_feed(url) is None
        feed = store.add_feed(url, title)
        if feed.id not in seen:
            seen.add(feed.id)
            jobs.append(FeedJob(feed, label, empty_is_problem=True, new=new))
        else:
            tally.step()  # listed twice: fetched once, done as far as this input goes

    def reject(label: str, reason: str) -> None:
        problems.append(Problem(label, reason))
        tally.step()

    for item in inputs:
        if item.kind is InputKind.FEED:
            url = item.target
            if url.startswith("file:") and not local_path(url).is_file():
                reject(item.label, "no such file" if not local_path(url).exists() else "not a regular file")
                continue
            add(url, item.label)
        elif item.kind is InputKind.OPML:
            try:
                listed = read_opml(localfile.read_regular(item.target, max_bytes))
            except localfile.LocalFileError as exc:
                reject(item.label, exc.reason)
                continue
            except OSError as exc:
                reject(item.label, f"cannot read ({(exc.strerror or str(exc)).lower()})")
                continue
            except OpmlError as exc:
                reject(item.label, str(exc))
                continue
            if not listed:
                reject(item.label, "an OPML file that lists no feeds")
                continue
            tally.grow(len(listed) - 1)
            for entry in listed:
                address, why = opml_address(entry.xml_url, item.target)
                if address is not None and address.startswith("file:") and not local_path(address).is_file():
                    why = f"names no file in the OPML file's folder ({local_path(address)})"
                    address = None
                if address is None:
                    name = f"outline {entry.title!r}" if entry.title else "an outline"
                    reject(item.label, f"{name}: xmlUrl {entry.xml_url!r} {why}; not subscribed")
                    continue
                add(address, entry.xml_url, entry.title)
    result, more = _fetch_and_store(store, jobs, tally, cancel, timeout, max_bytes)
    return result, problems + more


def refresh(
    store: StoreProtocol,
    feed_ids: list[int] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    *,
    timeout: float = FETCH_TIMEOUT,
    max_bytes: int = MAX_FEED_BYTES,
    interval_s: float = DEFAULT_INTERVAL_S,
    force: bool = False,
) -> tuple[AddResult, list[Problem]]:
    """Fetch the feeds that are due (:func:`due_feeds`) at once, conditionally; dead feeds and
    feeds whose server asked for time are skipped (``force``: not the latter). ``interval_s`` is
    how often the caller refreshes: a server's Cache-Control or Expires can hold a feed back that
    long at most, its Retry-After longer. Progress counts feeds."""
    due = due_feeds(store, feed_ids, interval_s=interval_s, force=force)
    jobs = [FeedJob(feed, feed.url, empty_is_problem=False) for feed in due]
    return _fetch_and_store(store, jobs, _Tally(progress, len(jobs)), cancel, timeout, max_bytes)


def _fetch_and_store(
    store: StoreProtocol,
    jobs: Sequence[FeedJob],
    tally: _Tally,
    cancel: threading.Event | None,
    timeout: float,
    max_bytes: int,
) -> tuple[AddResult, list[Problem]]:
    """Run the pipeline and store each batch it yields, on this thread, one transaction a batch."""
    result = AddResult()
    problems: list[Problem] = []
    with contextlib.closing(run(jobs, cancel, timeout, max_bytes)) as batches:
        for batch in batches:
            result = result + _store(store, batch, problems)
            tally.step(sum(1 for outcome in batch if outcome.final))
    return result, problems


def export_opml(store: StoreProtocol) -> bytes:
    """Every subscription as OPML 2.0 (dead feeds too: they are still subscriptions)."""
    # A sync account's feed is written with its own address (its url here is only a unique name).
    return write_opml(OpmlFeed(feed.title, feed.remote_url or feed.url, feed.site_url) for feed in store.feeds())
