"""feedparser's own test corpus (well-formed, ill-formed, odd encodings, entities) imports as local feeds.

Every file parses without an exception within :data:`PER_DOCUMENT_SECONDS` (each in a worker
process, so even a hang in C code is caught, and named), then subscribes and imports; the ones that
hold nothing to read come back as one-line problems; sanitised HTML never keeps a script, an event handler or a
``javascript:`` URL. A 41-file sample lives in tests/data; the whole corpus (2,106 files) is checked
too when ``../shared/corpora/feedparser`` is there.
"""

from __future__ import annotations

import multiprocessing
import re
import select
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest
from conftest import FEEDPARSER_CORPUS, FEEDPARSER_SAMPLE, import_inputs

from reader import feed_pipeline, feedparse
from reader.store import Store

SAMPLE = FEEDPARSER_SAMPLE
FULL = FEEDPARSER_CORPUS

#: Each document must parse within this (the slowest takes milliseconds): a document that takes
#: longer is reported as a hang.
PER_DOCUMENT_SECONDS = 10.0

_UNSAFE = re.compile(r"<script|<style|<iframe|\son[a-z]+\s*=|javascript:", re.IGNORECASE)


def local_path(url: str) -> Path:
    return Path(url2pathname(urlsplit(url).path))


def corpus_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.xml"))


def each_within(function: Callable[..., Any], calls: Sequence[tuple[str, tuple[Any, ...]]], seconds: float) -> None:
    """Run ``function(*args)`` for each ``(name, args)`` in worker processes; fail naming the first
    call that raises or does not return within ``seconds`` of its turn (the calls are taken in
    order, so by the time the wait for one starts, every earlier one has returned and it is
    running, or next). The workers are killed when one hangs."""
    context = multiprocessing.get_context(feed_pipeline.START_METHOD)
    with context.Pool(feed_pipeline.PARSE_PROCESSES) as pool:  # terminated on leaving, hung worker or not
        pending = [(name, pool.apply_async(function, args)) for name, args in calls]
        for name, result in pending:
            try:
                result.get(seconds)
            except multiprocessing.TimeoutError:
                pytest.fail(f"{name}: still not done after {seconds:g} s (a hang)")
            except Exception as exc:
                pytest.fail(f"{name}: raised {type(exc).__name__}: {exc}")


def parse_each_within(files: list[Path], seconds: float) -> None:
    """Each file parsed on its own, as a local feed is (the headers _fetch_file gives), within ``seconds``."""
    calls = []
    for path in files:
        url = path.resolve().as_uri()
        headers = {"content-location": url, "content-type": "application/xml"}
        calls.append((str(path), (path.read_bytes(), headers, url, 1)))
    each_within(feedparse.parse, calls, seconds)


def test_a_document_that_hangs_is_named_and_the_run_does_not_wait_for_it() -> None:
    # select.select with nothing to wait for: a stand-in that returns at once, or blocks 60 s.
    calls = [("quick.xml", ([], [], [], 0)), ("hangs.xml", ([], [], [], 60)), ("never-reached.xml", ([], [], [], 0))]
    with pytest.raises(pytest.fail.Exception, match=r"^hangs\.xml: still not done after 1 s \(a hang\)$"):
        each_within(select.select, calls, 1.0)


def import_corpus(folder: Path, store: Store) -> None:
    files = corpus_files(folder)
    assert files, f"no XML files under {folder}"
    parse_each_within(files, PER_DOCUMENT_SECONDS)
    ticks: list[tuple[int, int]] = []
    result, problems = import_inputs(
        store, [("feed", str(f)) for f in files], progress=lambda done, total: ticks.append((done, total))
    )

    assert ticks[-1] == (len(files), len(files))  # every file finished: none hung, none was dropped
    # Files that are no feed (malformed without entries, not RSS/Atom) are reported, not subscribed.
    refused = {Path(p.input).resolve() for p in problems if p.reason.endswith("(not subscribed)")}
    assert {local_path(f.url) for f in store.feeds()} == {f.resolve() for f in files} - refused
    names = {str(f) for f in files}
    for problem in problems:
        assert problem.input in names
        assert problem.reason and "\n" not in problem.reason
        assert "internal error" not in problem.reason and "cannot parse" not in problem.reason, problem
        assert "parser failed" not in problem.reason, problem
    imported = len(files) - len(problems)
    assert result.added > 0 and imported > 0
    reported = {Path(p.input).resolve() for p in problems}
    for feed in store.feeds():
        # Each file gave articles, or its problem was reported (and kept as the feed's last error
        # unless the feed is simply empty).
        assert feed.total > 0 or local_path(feed.url) in reported, feed
    for row in store.iter_rows():
        article = store.get(row.id)
        assert article is not None
        assert not _UNSAFE.search(article.body_html or ""), (article.origin, article.body_html)
        assert article.key and article.key.startswith(f"feed:{article.feed_id}:")


def test_the_sample_corpus_imports_as_local_feeds(tmp_path: Path) -> None:
    assert (SAMPLE / "LICENSE").is_file()
    with Store.open(tmp_path / "reader.sqlite") as store:
        import_corpus(SAMPLE, store)
        by_file = {local_path(f.url).name: f for f in store.feeds()}
        # An event handler on the only element of an entry: the image stays, the handler goes.
        onclick = by_file["entry_content_onclick.xml"]
        (row,) = [r for r in store.iter_rows() if r.feed_id == onclick.id]
        article = store.get(row.id)
        assert article is not None
        assert article.body_html == '<img src="http://www.ragingplatypus.com/i/cam-full.jpg">'
        assert article.image_url == "http://www.ragingplatypus.com/i/cam-full.jpg"
        # Windows-1252 quotes declared as ISO-8859-1 ("demoronize") come out as the quotes meant.
        demoronize = by_file["demoronize-1.xml"]
        (row,) = [r for r in store.iter_rows() if r.feed_id == demoronize.id]
        assert "’" in (store.get(row.id).body or "")  # type: ignore[union-attr]


@pytest.mark.skipif(not FULL.is_dir(), reason=f"the full corpus is not at {FULL}")
@pytest.mark.timeout(180)
def test_the_whole_feedparser_corpus_imports_as_local_feeds(tmp_path: Path) -> None:
    assert len(corpus_files(FULL)) > 2000
    with Store.open(tmp_path / "reader.sqlite") as store:
        import_corpus(FULL, store)
