"""Daily features benchmark: ``python -m reader.benchmark daily [--articles N] [--pages N] [--db PATH]``.

- *Rules*: 20 rules (two words each, from the corpus's words; read, star, hide and labels)
  applied to every article of the store (goal: under 2 s at 100,000 articles).
- *Cleanup*: a store of N synthetic articles (or a copy of ``--db``), half of them old and read;
  ``Store.cleanup`` removing that half (articles/s), then the compaction (index merge + VACUUM),
  with the store's size before and after.
- *Full articles*: N news pages served over loopback (nav, sidebar, footer around 8 paragraphs),
  each fetched, read by readability-lxml, sanitised and stored (pages/s; goal >= 20).

Figures only; the machine's load is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from reader.records import Article, Query
from reader.store import Store

GOAL_PAGES_PER_S = 20.0


def _words(rng: random.Random, vocabulary: list[str], n: int) -> str:
    return " ".join(rng.choice(vocabulary) for _ in range(n))


def _vocabulary() -> list[str]:
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 10))) for _ in range(20_000)]


def build_store(path: Path, articles: int) -> None:
    """``articles`` synthetic articles, dated over two years: the older half read."""
    rng = random.Random(11)
    vocabulary = _vocabulary()
    now = datetime.now(UTC)
    with Store.open(path) as store:
        batch: list[Article] = []
        for i in range(articles):
            when = now - timedelta(days=730 * (articles - i) / articles)
            paragraphs = "\n".join(_words(rng, vocabulary, 60) for _ in range(6))
            batch.append(Article(f"Source {i % 40}", _words(rng, vocabulary, 8), published=when, body=paragraphs))
            if len(batch) == 2000:
                store.add_articles(batch)
                batch = []
        store.add_articles(batch)
        with store.transaction() as conn:  # as if each had come when it was published
            conn.execute("UPDATE articles SET imported_at = published")
        ids = [row.id for row in store.iter_rows(Query())]
        store.set_read(ids[len(ids) // 2 :])  # newest first: the older half


def _size(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


GOAL_RULES_S = 2.0


def time_rules(path: Path, copy: Path) -> None:
    shutil.copy2(path, copy)
    rng = random.Random(3)
    vocabulary = _vocabulary()
    actions = ["read", "star", "hide", "label:One", "label:Two"]
    with Store.open(copy) as store:
        total = store.totals()[0]
        for i in range(20):
            store.add_rule(f"rule {i}", " ".join(rng.sample(vocabulary[:400], 2)), actions[i % len(actions)])
        started = time.perf_counter()
        applied = store.apply_rules()
        elapsed = time.perf_counter() - started
    print(
        f"rules: 20 rules applied to {total:,} articles in {elapsed:.2f} s "
        f"({sum(applied.values()):,} changed; goal < {GOAL_RULES_S:.0f} s at 100,000)"
    )


def time_cleanup(path: Path) -> None:
    with Store.open(path) as store:
        total = store.totals()[0]
        cutoff = datetime.now(UTC) - timedelta(days=365)
        before = _size(path)
        started = time.perf_counter()
        result = store.cleanup(cutoff)
        removed_s = time.perf_counter() - started
        started = time.perf_counter()
        _, after = store.compact()
        compact_s = time.perf_counter() - started
    rate = result.removed / removed_s if removed_s else 0.0
    print(
        f"cleanup: removed {result.removed:,} of {total:,} articles in {removed_s:.2f} s ({rate:,.0f} articles/s); "
        f"compacted in {compact_s:.2f} s: {before / 1e6:,.1f} MB -> {after / 1e6:,.1f} MB"
    )


def _page(i: int, rng: random.Random, vocabulary: list[str]) -> bytes:
    paragraphs = "".join(f"<p>{_words(rng, vocabulary, 70)}.</p>" for _ in range(8))
    links = " ".join(f'<a href="/section/{n}">{_words(rng, vocabulary, 1)}</a>' for n in range(12))
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Story {i}</title>"
        "<script>var tracker = 1;</script><style>p { margin: 0 }</style></head><body>"
        f"<header><nav>{links}</nav></header><aside><h3>Most read</h3><ul>"
        + "".join(f"<li><a href='/s/{n}'>{_words(rng, vocabulary, 5)}</a></li>" for n in range(8))
        + f"</ul></aside><main><article><h1>Story {i}</h1><p class='byline'>By A. Writer</p>"
        f"<img src='/img/{i}.jpg' width='800' height='450'>{paragraphs}</article></main>"
        "<footer><p>All rights reserved.</p></footer></body></html>"
    ).encode()


def time_full_articles(folder: Path, pages: int) -> float:
    rng = random.Random(5)
    vocabulary = _vocabulary()
    bodies = {f"/story/{i}": _page(i, rng, vocabulary) for i in range(pages)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            """Override: quiet."""

        def do_GET(self) -> None:
            body = bodies.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    from reader import fullcontent

    try:
        with Store.open(folder / "full.db") as store:
            store.add_articles(
                [Article("Gazette", f"Story {i}", url=f"{base}/story/{i}", body="A summary.") for i in range(pages)]
            )
            targets = [(row.id, row.url or "") for row in store.iter_rows(Query())]
            started = time.perf_counter()
            kept, failed = fullcontent.store_all(store, fullcontent.fetch_many(targets))
            elapsed = time.perf_counter() - started
    finally:
        server.shutdown()
        server.server_close()
    rate = kept / elapsed if elapsed else 0.0
    print(
        f"full articles: {kept} of {pages} pages fetched, read and stored in {elapsed:.2f} s "
        f"({rate:,.1f} pages/s; goal >= {GOAL_PAGES_PER_S:.0f}){f', {len(failed)} failed' if failed else ''}"
    )
    return rate


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m reader.benchmark daily", description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=20_000, help="synthetic articles for the cleanup")
    parser.add_argument("--db", type=Path, help="time the cleanup on a copy of this store instead")
    parser.add_argument("--pages", type=int, default=200, help="loopback pages for full articles")
    parser.add_argument("--runs", type=int, default=1, help="full-article runs (the median is printed)")
    args = parser.parse_args(argv)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    work = Path(tempfile.mkdtemp(prefix="reader-bench-daily-"))
    try:
        store_path = work / "store.db"
        if args.db is not None:
            shutil.copy2(args.db, store_path)
        else:
            build_store(store_path, args.articles)
        time_rules(store_path, work / "rules.db")
        time_cleanup(store_path)
        rates = []
        for _ in range(args.runs):
            for leftover in work.glob("full.db*"):
                leftover.unlink()
            rates.append(time_full_articles(work, args.pages))
        if args.runs > 1:
            print(f"full articles: median {statistics.median(rates):,.1f} pages/s over {args.runs} runs")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0
