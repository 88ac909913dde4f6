"""Full articles: for feeds that ship only a summary, fetch each article's page and keep its main
text (readability-lxml finds it), sanitised like feed HTML, beside the feed's own text, and in the
search index with it. No Qt; the store is written on the caller's thread only.

Fetched through :mod:`reader.http` with the feeds' deadlines and a size cap; at most
:data:`PER_HOST` pages of one host at a time, :data:`WORKERS` in all. A page that cannot be had
(an error, not HTML, no article text found) leaves a one-line reason on the article, and the
window shows the feed's text with that note; the rest go on.
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from reader import sanitize
from reader.http import FETCH_TIMEOUT, default_client
from reader.records import Progress
from reader.store import StoreProtocol

#: Pages fetched and read at once, in all, and of one host.
WORKERS = 8
PER_HOST = 2
#: A page larger than this is not read (a news page is some hundreds of KB).
MAX_PAGE_BYTES = 5 * 1024 * 1024
#: Less text than this is not an article (a cookie wall, a login page, a video page).
MIN_TEXT_CHARS = 200

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_LOOKS_LIKE_HTML = re.compile(rb"<\s*(!doctype\s+html|html|head|body|article|p)\b", re.IGNORECASE)


class ExtractError(Exception):
    """Why a page gave no article text (one line)."""


@dataclass(frozen=True, slots=True)
class Extracted:
    """An article's page, read: sanitised HTML for the pane, its text for the index; or why not."""

    article_id: int
    html: str | None
    text: str | None
    #: "" when it was read, else why not (one line).
    status: str
    #: Why not is the network's or the server's for now (a timeout, a 5xx, cancelled): the page is
    #: tried again with the next refresh rather than kept as a failure.
    transient: bool = False


def extract(data: bytes, content_type: str | None, url: str) -> tuple[str, str]:
    """The main text of an HTML page as (sanitised HTML, plain text). Raises ExtractError."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind and kind not in _HTML_TYPES:
        raise ExtractError(f"not an HTML page ({kind})")
    if not kind and not _LOOKS_LIKE_HTML.search(data[:4096]):
        raise ExtractError("not an HTML page")
    from readability import Document  # (lxml: loaded with the first page, not before)

    try:
        summary = Document(data, url=url).summary(html_partial=True)
    except Exception as exc:  # lxml and readability raise many kinds on broken pages
        raise ExtractError(f"could not read the page ({type(exc).__name__})") from None
    html = sanitize.clean_html(summary, url)
    text = sanitize.html_to_text(html)
    if len(text) < MIN_TEXT_CHARS:
        raise ExtractError("found no article text on the page")
    return html, text


def fetch_one(article_id: int, url: str, stop: threading.Event | None = None) -> Extracted:
    """Fetch and read one article's page (never raises for the page's or the network's trouble)."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        return Extracted(article_id, None, None, f"cannot fetch {scheme or 'scheme-less'} pages (only http, https)")
    got = default_client().get(url, timeout=FETCH_TIMEOUT, max_bytes=MAX_PAGE_BYTES, stop=stop)
    if got.error is not None:
        stopped = stop is not None and stop.is_set()
        return Extracted(article_id, None, None, got.error, transient=got.transient or stopped)
    try:
        html, text = extract(got.data, got.headers.get("content-type"), url)
    except ExtractError as exc:
        return Extracted(article_id, None, None, str(exc))
    return Extracted(article_id, html, text, "")


def fetch_many(
    targets: Sequence[tuple[int, str]],
    *,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    fetch: Callable[[int, str, threading.Event | None], Extracted] = fetch_one,
) -> Iterator[Extracted]:
    """Each (article id, page URL) fetched and read, yielded as it is done (in no set order): at
    most :data:`WORKERS` at once and :data:`PER_HOST` of one host. ``stop`` ends it early."""
    say = progress or (lambda done, total: None)
    waiting = list(targets)
    busy: dict[str, int] = {}
    running: dict[Future[Extracted], str] = {}
    done = 0
    say(0, len(waiting))
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="reader-full") as pool:
        while waiting or running:
            if stop is not None and stop.is_set():
                for future in running:
                    future.cancel()
                return
            for item in list(waiting):  # start what the limits allow, in order
                if len(running) >= WORKERS:
                    break
                host = (urllib.parse.urlsplit(item[1]).hostname or "").lower()
                if busy.get(host, 0) >= PER_HOST:
                    continue
                waiting.remove(item)
                busy[host] = busy.get(host, 0) + 1
                running[pool.submit(fetch, item[0], item[1], stop)] = host
            finished, _ = wait(list(running), timeout=0.2, return_when=FIRST_COMPLETED)
            for future in finished:
                host = running.pop(future)
                busy[host] -= 1
                done += 1
                say(done, done + len(waiting) + len(running))
                yield future.result()


def store_all(
    store: StoreProtocol, results: Iterator[Extracted], *, asked: bool = False
) -> tuple[int, list[tuple[int, str]]]:
    """Keep each page's text (or why not) as it comes; (pages kept, [(article id, why not)]). A
    failure for now (:attr:`Extracted.transient`) is not kept: the page is tried again next time.
    ``asked``: the person asked for these pages (they stay when their feed is turned off)."""
    kept = 0
    failed: list[tuple[int, str]] = []
    for result in results:
        if not result.transient:
            store.set_full_content(result.article_id, result.html, result.text, result.status, asked=asked)
        if result.html is None:
            failed.append((result.article_id, result.status))
        else:
            kept += 1
    return kept, failed


def fetch_pending(
    store: StoreProtocol, *, limit: int = 500, progress: Progress | None = None, stop: threading.Event | None = None
) -> tuple[int, list[tuple[int, str]]]:
    """The pages of the articles whose feed asks for full articles and that were not tried yet
    (newest first, at most ``limit``)."""
    return store_all(store, fetch_many(store.wanting_full_content(limit), progress=progress, stop=stop))


def fetch_articles(
    store: StoreProtocol, ids: Sequence[int], *, progress: Progress | None = None, stop: threading.Event | None = None
) -> tuple[int, list[tuple[int, str]]]:
    """The pages of these articles, fetched again if they were before (``g`` in the window,
    ``reader fetch-full ID``): asked for, so they stay when their feed is turned off."""
    targets: list[tuple[int, str]] = []
    failed: list[tuple[int, str]] = []
    for article_id in ids:
        article = store.get(article_id)
        if article is None:
            failed.append((article_id, "no article with this id"))
        elif not article.url:
            failed.append((article_id, "the article has no page to fetch (no link)"))
        else:
            targets.append((article_id, article.url))
    kept, more = store_all(store, fetch_many(targets, progress=progress, stop=stop), asked=True)
    return kept, failed + more
