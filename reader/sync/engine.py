"""One sync of one account: the server (:mod:`reader.sync.greader`) and the store, in this order:

1. push: the changes queued in ``pending_changes`` (read, unread, star, unstar, a label given or
   taken: the server's user label ``user/-/label/NAME``), batched by kind
   into ``edit-tag`` calls; each batch leaves the queue only after the server answered ``OK``.
   A batch the server refuses for good (HTTP 400, 403, 404, 410, or an answer that is not ``OK``)
   is split in halves until the refused changes are found, so that the others still land; those
   leave the queue for ``refused_changes`` with the server's reason (counted in the report, the
   local flag left as it was set) and the sync goes on. Anything else (401 after a new token,
   429, 503, other 5xx, no answer) ends the sync with the queue as it is: the next one resumes;
2. subscriptions and folders: the account's feeds become the server's list;
3. new items: the reading list's ids since the last complete sync (``ot``, the server's clock),
   page by page; the ids the store lacks are fetched (``stream/items/contents``) a batch at a
   time, the next one asked for while this one is stored, each committed on its own; with many
   batches, worker processes make the answers into articles (sanitised, packed) while this
   process writes, two batches ahead (bounded memory, three batches at most; a ``kill -9``
   loses at most the three batches not yet committed, which the next sync fetches again);
4. state: the unread and starred id lists, taken as the truth for every article of the account,
   except where a local change still waits in the queue (the server has not heard of it: its
   state is older; see :meth:`reader.store.Store.reconcile_flags`).

Only a sync that got through all four moves ``since`` on: an interrupted one is simply done again,
and known ids are skipped (an item's key is unique per account: nothing is stored twice).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reader import sanitize
from reader.records import Account, Article, Enclosure, Progress, counted
from reader.store import PreparedRemoteArticles, StoreProtocol, prepare_remote_articles
from reader.sync.greader import (
    ITEMS_CALL,
    ITEMS_PER_REQUEST,
    LABEL,
    READ,
    STARRED,
    GReaderClient,
    SyncError,
    decimal_id,
    decode_items,
    folder_of,
)

#: ``ot`` is this much before the server's clock at the start of the last complete sync: an item
#: the server stored in the same second (or while that sync ran) is asked for again, not missed.
SINCE_MARGIN_S = 120
#: Characters of an item's summary kept as its description.
DESCRIPTION_CHARS = 600

#: kind -> (add, remove) for edit-tag.
_EDITS = {"read": (READ, None), "unread": (None, READ), "star": (STARRED, None), "unstar": (None, STARRED)}


def _edit(kind: str) -> tuple[str | None, str | None]:
    """What ``edit-tag`` adds and removes for a queued change: a state (:data:`_EDITS`), or for
    'label:NAME' and 'unlabel:NAME' the user label ``user/-/label/NAME``."""
    if kind in _EDITS:
        return _EDITS[kind]
    action, _, name = kind.partition(":")
    return (LABEL + name, None) if action == "label" else (None, LABEL + name)


@dataclass(frozen=True, slots=True)
class SyncReport:
    account: str
    pushed: int = 0
    feeds_added: int = 0
    feeds_removed: int = 0
    new_items: int = 0
    read_changed: int = 0
    star_changed: int = 0
    ids_seen: int = 0
    #: Changes the server refused in this sync (out of the queue, kept in ``refused_changes``),
    #: and the server's reason for the first of them.
    refused: int = 0
    refused_reason: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.refused:
            parts.append(
                f"{counted(self.refused, 'change')} refused by the server (first: {self.refused_reason or 'no reason'})"
            )
        parts.append(f"{counted(self.new_items, 'new article')}")
        if self.pushed:
            parts.append(f"{counted(self.pushed, 'change')} sent")
        if self.read_changed or self.star_changed:
            parts.append(f"{counted(self.read_changed + self.star_changed, 'flag')} taken from the server")
        if self.feeds_added or self.feeds_removed:
            parts.append(f"feeds +{self.feeds_added} -{self.feeds_removed}")
        return f"{self.account}: " + ", ".join(parts)


def article_key(account: Account, remote_id: str) -> str:
    return f"greader:{account.name}:{remote_id}"


def item_article(item: Mapping[str, Any], account: Account, feed_ids: Mapping[str, int]) -> tuple[str, Article]:
    """A server's item as an article (its remote id, decimal), through the sanitising path feed
    entries take (:mod:`reader.sanitize`): HTML cleaned, text derived, links only http(s)."""
    remote_id = decimal_id(str(item["id"]))
    content = item.get("content") or item.get("summary") or {}
    raw_html = content.get("content") if isinstance(content, Mapping) else None
    link = _first_href(item.get("canonical")) or _first_href(item.get("alternate"))
    origin = item.get("origin") if isinstance(item.get("origin"), Mapping) else {}
    assert isinstance(origin, Mapping)
    base = link or _text(origin.get("htmlUrl"))
    body_html = sanitize.clean_html(raw_html, base) if isinstance(raw_html, str) else ""
    body = sanitize.html_to_text(body_html)
    summary = item.get("summary")
    description = None
    if isinstance(summary, Mapping) and summary is not content and isinstance(summary.get("content"), str):
        description = sanitize.shorten(sanitize.fragment_to_text(summary["content"], base), DESCRIPTION_CHARS) or None
    title = sanitize.fragment_to_text(item["title"]) if isinstance(item.get("title"), str) else None
    author = sanitize.fragment_to_text(item["author"]) if isinstance(item.get("author"), str) else None
    published = item.get("published")
    when = _when(published)
    stream = _text(origin.get("streamId"))
    image = sanitize.first_image(body_html)
    article = Article(
        source=_text(origin.get("title")),
        title=title or None,
        author=author or None,
        description=description,
        url=link,
        image_url=image if image and image.split(":", 1)[0].lower() in ("http", "https") else None,
        published=when,
        body=body,
        body_html=body_html or None,
        raw=json.dumps(item, ensure_ascii=False),  # the record as it came (its keys in order), never lost
        origin=f"{account.url}#{stream}" if stream else account.url,
        key=article_key(account, remote_id),
        feed_id=feed_ids.get(stream) if stream else None,
        enclosures=_item_enclosures(item.get("enclosure")),
    )
    return remote_id, article


def _item_enclosures(links: Any) -> tuple[Enclosure, ...]:
    """An item's ``enclosure`` list (href, type, length), http(s) only, images left out (as feeds')."""
    found: list[Enclosure] = []
    for link in links if isinstance(links, list) else ():
        href = _first_href([link])
        kind = _text(link.get("type")) if isinstance(link, Mapping) else None
        if href is None or (kind or "").lower().startswith("image/") or any(e.url == href for e in found):
            continue
        length = link.get("length")
        text = str(length) if isinstance(length, int | str) else ""
        size = int(text) if text.isascii() and text.isdigit() and int(text) > 0 else None
        found.append(Enclosure(href, kind.lower() if kind else None, size))
    return tuple(found)


def _when(published: Any) -> datetime | None:
    """An item's ``published`` (seconds since 1970) as a date; None when it is missing or beyond
    what a date can hold (a server that gave milliseconds): the item is kept, without its date."""
    if not isinstance(published, int | float) or isinstance(published, bool) or published <= 0:
        return None
    try:
        return datetime.fromtimestamp(published, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _first_href(links: Any) -> str | None:
    if isinstance(links, list):
        for link in links:
            href = link.get("href") if isinstance(link, Mapping) else None
            if isinstance(href, str) and href.split(":", 1)[0].lower() in ("http", "https"):
                return href
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _flags(item: Mapping[str, Any]) -> tuple[bool, bool]:
    categories = [c for c in item.get("categories") or [] if isinstance(c, str)]
    read = any(c.endswith("/state/com.google/read") for c in categories)
    starred = any(c.endswith("/state/com.google/starred") for c in categories)
    return read, starred


def _chunks(values: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass(slots=True)
class Pushed:
    """What :func:`push` did: changes acknowledged, changes refused and the first refusal."""

    sent: int = 0
    refused: int = 0
    reason: str | None = None


def push(store: StoreProtocol, account: Account, client: GReaderClient) -> Pushed:
    """Send the queued changes (see the module's docstring, step 1)."""
    pending = store.pending_changes(account.id)
    by_kind: dict[str, list[tuple[int, str]]] = {}
    for change_id, remote_id, kind in pending:
        by_kind.setdefault(kind, []).append((change_id, remote_id))
    pushed = Pushed()
    for kind, changes in by_kind.items():
        for start in range(0, len(changes), ITEMS_PER_REQUEST):
            _push_batch(store, client, kind, changes[start : start + ITEMS_PER_REQUEST], pushed)
    return pushed


def _push_batch(
    store: StoreProtocol, client: GReaderClient, kind: str, batch: Sequence[tuple[int, str]], pushed: Pushed
) -> None:
    """One edit-tag of ``batch``; refused for good, its halves each on their own (a refused
    change alone is set aside): ``2k log n`` more requests for ``k`` refused changes of ``n``."""
    add, remove = _edit(kind)
    try:
        client.edit_tag([rid for _, rid in batch], add=add, remove=remove)
    except SyncError as exc:
        if not exc.refused:
            raise  # the server's trouble for now, or the network's: all of it stays queued
        if len(batch) > 1:
            middle = len(batch) // 2
            _push_batch(store, client, kind, batch[:middle], pushed)
            _push_batch(store, client, kind, batch[middle:], pushed)
            return
        store.refuse_pending([batch[0][0]], exc.refusal or exc.reason)
        pushed.refused += 1
        pushed.reason = pushed.reason or exc.refusal
        return
    store.drop_pending([cid for cid, _ in batch])  # only now: the server said OK
    pushed.sent += len(batch)


def sync(
    store: StoreProtocol,
    account: Account,
    client: GReaderClient,
    *,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    now: Callable[[], float] = time.time,
) -> SyncReport:
    """One sync of ``account`` (see the module's docstring). Raises :class:`SyncError` (one line)
    and records it on the account; what was stored before the error stays stored. ``progress``
    hears (item ids looked at, item ids seen so far) after each batch is stored."""
    say = progress or (lambda done, total: None)
    if account.retry_at is not None and account.retry_at.timestamp() > now():
        until = account.retry_at.astimezone().strftime("%H:%M:%S")
        raise SyncError(account.name, f"the server asked us to wait until {until}; not asked again before")
    try:
        report = _sync(store, account, client, say, stop)
    except SyncError as exc:
        retry = datetime.fromtimestamp(now() + exc.retry_after, UTC) if exc.retry_after else None
        store.update_account(account.id, last_error=str(exc), retry_at=retry)
        raise
    return report


def _sync(
    store: StoreProtocol, account: Account, client: GReaderClient, say: Progress, stop: threading.Event | None
) -> SyncReport:
    pushed = push(store, account, client)

    subscriptions = client.subscriptions()
    started = client.server_time or time.time()  # the server's clock: ot is compared with it
    feeds_added, feeds_removed = store.sync_subscriptions(
        account.id, [(s.stream_id, s.title, s.url, s.html_url, s.folder) for s in subscriptions]
    )
    feed_ids = {rid: feed.id for rid, feed in store.remote_feeds(account.id).items()}

    since = account.since
    new_items = ids_seen = 0
    done = 0
    with Workers() as workers:
        for page in client.item_id_pages(since=since):
            ids_seen += len(page)
            say(done, ids_seen)
            for added, looked_at in _fetch_unknown(store, account, client, feed_ids, page, stop, workers):
                new_items += added
                done += looked_at
                say(done, ids_seen)
            done = ids_seen
            say(done, ids_seen)

        unread = client.unread_ids()
        starred = client.starred_ids()
        # Starred or unread items older than ``since`` that the store lacks (purged here, or older
        # than the reading list reaches on this server): fetched too, so that their state has a row.
        extra = store.unknown_remote_ids(account.id, sorted(unread | starred))
        fetched = _fetch_unknown(store, account, client, feed_ids, extra, stop, workers)
        new_items += sum(added for added, _ in fetched)
    read_changed, star_changed = store.reconcile_flags(account.id, unread, starred)
    store.update_account(
        account.id,
        since=int(started) - SINCE_MARGIN_S,
        last_sync=datetime.now(UTC),
        last_error=None,
        retry_at=None,
    )
    return SyncReport(
        account.name,
        pushed=pushed.sent,
        refused=pushed.refused,
        refused_reason=pushed.reason,
        feeds_added=feeds_added,
        feeds_removed=feeds_removed,
        new_items=new_items,
        read_changed=read_changed,
        star_changed=star_changed,
        ids_seen=ids_seen,
    )


#: With at least this many batches to fetch, worker processes make the items into articles;
#: with fewer, this process does (starting the workers, about 0.2 s, would cost more than they save).
WORKERS_FOR_BATCHES = 3
#: Batches asked for ahead of the one being stored when workers make them ready.
WORKERS_AHEAD = 2


def prepare_answer(data: bytes, account: Account, feed_ids: Mapping[str, int]) -> PreparedRemoteArticles | str:
    """A ``stream/items/contents`` answer made ready to store: decoded, each item through the
    sanitising path (:func:`item_article`), its text packed (:func:`prepare_remote_articles`).
    Or, when the answer has no items to give, why (one line, for a :class:`SyncError`). What a
    sync's worker process runs (pure: no store, no network)."""
    try:
        items = decode_items(data)
    except ValueError as exc:
        return str(exc)
    return prepare_remote_articles(_rows(items, account, feed_ids))


def _fetch_unknown(
    store: StoreProtocol,
    account: Account,
    client: GReaderClient,
    feed_ids: Mapping[str, int],
    ids: Sequence[str],
    stop: threading.Event | None,
    workers: Workers | None = None,
) -> Iterator[tuple[int, int]]:
    """Fetch and store the items of ``ids`` the store lacks, a batch at a time: (new articles,
    ids of the batch) after each batch is committed.

    The next batch is asked for while this one is made ready and stored, on one helper thread
    (the only user of ``client`` until it is done): the server's answer time and our own work
    overlap, and no more than two batches (three with workers) are ever held. From
    :data:`WORKERS_FOR_BATCHES` batches on, each answer goes from that thread to a worker process
    (:func:`prepare_answer`: sanitising and packing were two thirds of a first sync's CPU, all on
    one core), so that this process only writes, while the next batches are made ready beside it."""
    batches = list(_chunks(store.unknown_remote_ids(account.id, ids), ITEMS_PER_REQUEST))
    if not batches:
        return
    pool = workers.pool() if workers is not None and len(batches) >= WORKERS_FOR_BATCHES else None

    def fetch(batch: Sequence[str]) -> bytes | Future[PreparedRemoteArticles | str]:
        data = client.items_answer(batch)
        if pool is not None:
            with contextlib.suppress(RuntimeError, BrokenExecutor):  # (else made ready here)
                return pool.submit(prepare_answer, data, account, feed_ids)
        return data

    # Batches asked for ahead of the one being stored: one, or with workers two, so that two
    # workers each have a batch to make ready while this process writes (storing is then the
    # slower part: more ahead would only hold more batches).
    ahead = 1 if pool is None else WORKERS_AHEAD
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-fetch") as fetcher:
        coming: deque[Future[bytes | Future[PreparedRemoteArticles | str]]] = deque(
            fetcher.submit(fetch, batch) for batch in batches[:ahead]
        )
        try:
            for number, batch in enumerate(batches):
                if stop is not None and stop.is_set():
                    raise SyncError(account.name, "cancelled")
                fetched = coming.popleft().result()  # a SyncError of the fetch is raised here, in order
                if number + ahead < len(batches):
                    coming.append(fetcher.submit(fetch, batches[number + ahead]))
                prepared = _prepared(fetched, account, feed_ids)
                if isinstance(prepared, str):
                    raise SyncError(account.name, f"{ITEMS_CALL}: {prepared}")
                yield store.add_remote_articles(account.id, prepared), len(batch)
        finally:
            for future in coming:
                future.cancel()
            for future in coming:
                with contextlib.suppress(Exception):
                    future.result()  # wait for a fetch in flight: the client is ours again after


def _prepared(
    fetched: bytes | Future[PreparedRemoteArticles | str], account: Account, feed_ids: Mapping[str, int]
) -> PreparedRemoteArticles | str:
    if isinstance(fetched, bytes):
        return prepare_answer(fetched, account, feed_ids)
    try:
        return fetched.result()
    except BrokenExecutor as exc:  # a worker process died: its answer is fetched again next sync
        return f"a worker process failed ({type(exc).__name__})"


class Workers:
    """Worker processes for :func:`prepare_answer`, for one sync: started when first wanted, as
    the feed parsers are (from a clean fork server, never forked from this process, which may be
    the window's; each exits with this process, even killed), and stopped at the end."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=exc[0] is None, cancel_futures=True)
            self._pool = None

    def pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            from reader.feed_pipeline import PARSE_PROCESSES, START_METHOD, start_worker_server
            from reader.feedparse import exit_with_parent

            # The process has one fork server, shared with the feed parsers: it preloads what
            # they need (feedparser, nh3), never the store; each sync worker imports the rest.
            start_worker_server()
            context = multiprocessing.get_context(START_METHOD)
            self._pool = ProcessPoolExecutor(PARSE_PROCESSES, mp_context=context, initializer=exit_with_parent)
        return self._pool


def _rows(
    items: Sequence[Mapping[str, Any]], account: Account, feed_ids: Mapping[str, int]
) -> list[tuple[str, Article, bool, bool]]:
    rows = []
    for item in items:
        try:
            remote_id, article = item_article(item, account, feed_ids)
        except (KeyError, TypeError, ValueError):
            continue  # an item without a usable id: nothing to key it by
        read, starred = _flags(item)
        rows.append((remote_id, article, read, starred))
    return rows


def subscribe(store: StoreProtocol, account: Account, client: GReaderClient, feed_url: str) -> tuple[str, int]:
    """Subscribe on the server (``subscription/quickadd``; the server fetches the feed), then take
    the server's list and the new feed's items: (its stream id, new articles)."""
    stream_id = client.quickadd(feed_url)
    subscriptions = client.subscriptions()
    store.sync_subscriptions(account.id, [(s.stream_id, s.title, s.url, s.html_url, s.folder) for s in subscriptions])
    feed_ids = {rid: feed.id for rid, feed in store.remote_feeds(account.id).items()}
    added = 0
    for page in client.item_id_pages(stream_id):
        added += sum(n for n, _ in _fetch_unknown(store, account, client, feed_ids, page, None))
    return stream_id, added


def unsubscribe(store: StoreProtocol, account: Account, client: GReaderClient, stream_id: str) -> tuple[int, int]:
    """Unsubscribe on the server (``subscription/edit``, ``ac=unsubscribe``), then here: the
    feed's articles go, starred ones are kept. (articles removed, starred kept)."""
    client.unsubscribe(stream_id)
    feed = store.remote_feeds(account.id).get(stream_id)
    if feed is None:
        return 0, 0
    return store.unsubscribe(feed.id) or (0, 0)


def describe_subscriptions(client: GReaderClient) -> tuple[int, int]:
    """(feeds, folders) on the server: what ``accounts add`` reports after logging in."""
    subscriptions = client.subscriptions()
    folders = {s.folder for s in subscriptions if s.folder} | set(client.folders())
    return len(subscriptions), len(folders)


__all__ = [
    "SyncError",
    "SyncReport",
    "describe_subscriptions",
    "folder_of",
    "item_article",
    "push",
    "subscribe",
    "sync",
    "unsubscribe",
]
