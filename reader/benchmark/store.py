"""Store benchmark on both engines: ``python -m reader.benchmark store --backend sqlite|postgres|both
--articles N [--keep DIR] [--pg URL] [--repeat R]``.

Builds the synthetic seed corpus (:mod:`reader.benchmark.corpus`: the same vocabulary, records and
generator seeds) in memory, parses and prepares it (:func:`reader.store.prepare_articles`: keys and
packed text) in worker processes and caches the prepared rows on disk (``DIR/prepared-N-SEED``,
reused by a later run with the same ``--keep``), so a million articles take minutes, not an hour of
parsing. Then, for each engine, into a new store: the import rate (``add_articles`` in the
importer's batches, nothing else timed), the first page newest first, searches newest first and by
relevance (p50/p95 over several common and rare words and 3-letter prefixes), the unread count,
the sidebar's counts (``counts()``), mark-all-read and the unread list and counts after it. Both
engines run in one run so their figures are compared side by side; the PostgreSQL budgets of issue
11 are checked at the end.

Without ``--pg`` a throwaway PostgreSQL server is started (:mod:`reader.benchmark.pgserver`); with
it, a database ``reader_bench`` is made on that server (dropped again unless ``--keep``; the
throwaway server is always stopped, its data kept in ``DIR/pg`` with ``--keep``).
Timings are wall-clock on a shared machine: run it a few times and look at ``uptime``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import pickle
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reader import seedfile
from reader.benchmark import corpus, remove_store, timed_ms
from reader.records import Query
from reader.store.sqlite import MAX_ROWS_PER_INSERT, PreparedArticles, prepare_articles

#: Issue 11's budgets at 1,000,000 articles on PostgreSQL.
NEWEST_BUDGET_MS = 50.0
RANKED_BUDGET_MS = 300.0
IMPORT_BUDGET = 5000.0
#: Rows a list page holds (the window asks for 100 at a time).
PAGE = 100
#: Records in one file of the prepared-rows cache.
CHUNK = 10_000
#: Frequency ranks of the words searched for (1 = most frequent), and of the words whose first
#: three letters are typed (a 3-letter last word is a prefix).
COMMON_RANKS = (1, 3, 5, 8)
RARE_RANKS = (20000, 30000, 40000, 49000)
PREFIX_RANKS = (300, 700, 1000, 2000, 1500)
DATABASE = "reader_bench"


@dataclass
class Figures:
    engine: str
    rate: float = 0.0
    import_s: float = 0.0
    after_import: str = ""
    samples: dict[str, list[float]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m reader.benchmark store", description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--articles", type=int, default=100_000, help="records in the corpus")
    parser.add_argument("--seed", type=int, default=corpus.DEFAULT_SEED)
    parser.add_argument("--repeat", type=int, default=20, help="timed runs of each query")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the prepared corpus and the stores in DIR")
    parser.add_argument("--pg", metavar="URL", help="a PostgreSQL server to use (default: start a throwaway one)")
    args = parser.parse_args(argv)
    if args.articles < 1:
        parser.error("--articles must be at least 1")
    work = args.keep or Path(tempfile.mkdtemp(prefix="reader-store-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        return _run(args, work)
    except RuntimeError as exc:  # (the server would not start: one line, not a traceback)
        print(f"store benchmark: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, work: Path) -> int:
    print(f"machine     {os.cpu_count()} cores, load average {_load()}")
    chunks = _prepared(work, args.articles, args.seed)
    engines = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = []
    for engine in engines:
        if engine == "sqlite":
            path = remove_store(work / "store.sqlite")
            results.append(_measure("sqlite", str(path), chunks, args))
            if args.keep is None:
                remove_store(path)
        else:
            with _postgres(args, work) as url:
                results.append(_measure("postgres", url, chunks, args))
    _print(results, args)
    print(f"load        {_load()} (other work on this machine counts in every figure)")
    return _check(results, args.articles)


# --- the corpus -------------------------------------------------------------------------------


def _prepared(work: Path, records: int, seed: int) -> list[Path]:
    """The cache files of the prepared corpus, made where missing (each file is written whole or
    not at all, so an interrupted run goes on from where it stopped)."""
    folder = work / f"prepared-{records}-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    count = -(-records // CHUNK)
    paths = [folder / f"{n:05d}.pickle" for n in range(count)]
    spans = [(paths[n], seed, n * CHUNK, min(CHUNK, records - n * CHUNK)) for n in range(count)]
    missing = [span for span in spans if not span[0].is_file()]
    if not missing:
        print(f"corpus      reusing {records:,} prepared records in {folder}")
        return paths
    began = time.perf_counter()
    jobs = max(1, min(os.cpu_count() or 1, len(missing)))
    if jobs == 1:
        made = [_prepare_chunk(*span) for span in missing]
    else:
        with concurrent.futures.ProcessPoolExecutor(jobs) as pool:
            made = list(pool.map(_prepare_chunk, *zip(*missing, strict=True)))
    print(f"corpus      {sum(made):,} records made, parsed and prepared in {time.perf_counter() - began:.1f} s")
    return paths


def _prepare_chunk(path: Path, seed: int, first: int, records: int) -> int:
    """Records ``first`` .. ``first + records`` of the corpus (each folder of
    :data:`corpus.RECORDS_PER_FOLDER` from its own generator, as :func:`corpus.generate` draws
    them), parsed and prepared, pickled to ``path``."""
    writer = corpus._writers.get(seed)
    if writer is None:
        writer = corpus._writers[seed] = corpus._Writer(seed)
    rows: list[tuple[Any, ...]] = []
    index = first
    while index < first + records:
        number = index // corpus.RECORDS_PER_FOLDER
        writer.rng = random.Random(f"corpus:{seed}:{number}")
        end = min(first + records, (number + 1) * corpus.RECORDS_PER_FOLDER)
        articles = []
        for i in range(index, end):
            articles.extend(seedfile.parse(writer.record(i).encode("utf-8"), f"corpus/{i:07d}.txt").articles)
        rows.extend(prepare_articles(articles).rows)
        index = end
    part = path.with_suffix(".part")
    with open(part, "wb") as fh:
        pickle.dump(rows, fh, protocol=pickle.HIGHEST_PROTOCOL)
    part.replace(path)
    return len(rows)


def _batches(chunks: list[Path]) -> Iterator[PreparedArticles]:
    for path in chunks:
        with open(path, "rb") as fh:
            rows = pickle.load(fh)
        for start in range(0, len(rows), MAX_ROWS_PER_INSERT):
            yield PreparedArticles(rows[start : start + MAX_ROWS_PER_INSERT])


# --- the engines ------------------------------------------------------------------------------


class _postgres:
    """The URL of a new database ``reader_bench``: on ``--pg``'s server, or on a throwaway one."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args, self.work = args, work
        self.server: Any = None

    def __enter__(self) -> str:
        import psycopg

        from reader.benchmark import pgserver

        if self.args.pg:
            base = self.args.pg
            print(f"postgres    on the server of {urlsplit(base).hostname or 'localhost'} (given)")
        else:
            self.server = pgserver.Server(self.work / "pg").start()
            base = self.server.url
            settings = ", ".join(f"{k}={v}" for k, v in pgserver.SETTINGS.items())
            print(f"postgres    throwaway server ({settings})")
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DATABASE}")
            (version,) = conn.execute("SHOW server_version").fetchone() or ("?",)
        print(f"postgres    server version {version}")
        self.base = base
        return urlsplit(base)._replace(path=f"/{DATABASE}").geturl()

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.stop(keep=self.args.keep is not None)
            return
        if self.args.keep is None:
            import psycopg

            with psycopg.connect(self.base, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def _measure(engine: str, target: str, chunks: list[Path], args: argparse.Namespace) -> Figures:
    from reader.store.protocol import open_store

    figures = Figures(engine)
    print(f"{engine:11s} importing {args.articles:,} records ...", flush=True)
    with open_store(target) as store:
        seconds = 0.0
        added = 0
        for batch in _batches(chunks):
            began = time.perf_counter()
            added += store.add_articles(batch).added
            seconds += time.perf_counter() - began
        figures.rate = added / seconds
        figures.import_s = seconds
        if engine == "postgres":
            began = time.perf_counter()
            with store.transaction() as conn:
                conn.execute("ANALYZE articles")
            figures.after_import = f"then ANALYZE {time.perf_counter() - began:.1f} s"
        print(f"{engine:11s} {added:,} added in {seconds:.1f} s: {figures.rate:,.0f} records/s", flush=True)
        _searches(store, figures, args)
    return figures


def _queries(seed: int) -> dict[str, list[str]]:
    words = corpus.vocabulary(seed)

    def at(rank: int, letters: int) -> str:
        return next(w for w in words[rank - 1 :] if len(w) >= letters)

    return {
        "common": [at(r, 1) for r in COMMON_RANKS],
        "rare": [at(r, 4) for r in RARE_RANKS],
        "prefix": [at(r, 4)[:3] for r in PREFIX_RANKS],
    }


def _searches(store: Any, figures: Figures, args: argparse.Namespace) -> None:
    repeat = args.repeat
    samples = figures.samples
    samples["first page newest"] = timed_ms(lambda: store.page(Query(), None, PAGE), repeat)
    for label, texts in _queries(args.seed).items():
        for order in ("newest", "relevance"):
            key = f"{label} {'ranked' if order == 'relevance' else 'newest'}"
            samples[key] = []
            for text in texts:
                query = Query(search=text, order=order)
                samples[key] += timed_ms(lambda q=query: store.page(q, None, PAGE), repeat)  # type: ignore[misc]
        figures.notes[label] = ", ".join(f"{t} ({store.count(Query(search=t)):,})" for t in texts)
    samples["unread count"] = timed_ms(lambda: store.count(Query(view="unread")), max(3, repeat // 4))
    samples["sidebar counts"] = timed_ms(store.counts, max(3, repeat // 4))
    began = time.perf_counter()
    marked = store.mark_all_read()
    samples["mark all read"] = [(time.perf_counter() - began) * 1000]
    figures.notes["mark all read"] = f"{marked:,} articles"
    samples["unread list after"] = timed_ms(lambda: store.page(Query(view="unread"), None, PAGE), repeat)
    samples["sidebar counts after"] = timed_ms(store.counts, max(3, repeat // 4))


# --- the report -------------------------------------------------------------------------------


def _print(results: list[Figures], args: argparse.Namespace) -> None:
    print(f"\n{args.articles:,} articles, first page of {PAGE}, {args.repeat} runs of each query (ms, p50 / p95)")
    head = "".join(f"{f.engine:>22s}" for f in results)
    print(f"  {'':28s}{head}")
    print(f"  {'import (records/s)':28s}" + "".join(f"{f'{f.rate:,.0f}':>22s}" for f in results))
    for key in results[0].samples:
        cells = []
        for f in results:
            s = f.samples[key]
            cells.append(f"{_p50(s):>10,.1f} / {_p95(s):>9,.1f}" if len(s) > 1 else f"{s[0]:>22,.1f}")
        print(f"  {key:28s}" + "".join(cells))
    for f in results:
        if f.after_import:
            print(f"  {f.engine}: {f.after_import}")
    for label, text in results[0].notes.items():
        print(f"  {label}: {text}")


def _check(results: list[Figures], articles: int) -> int:
    pg = next((f for f in results if f.engine == "postgres"), None)
    if pg is None:
        return 0
    ranked = [s for k, s in pg.samples.items() if k.endswith("ranked")]
    checks = [
        (f"import {pg.rate:,.0f} records/s >= {IMPORT_BUDGET:,.0f}", pg.rate >= IMPORT_BUDGET),
        (
            f"first page newest p95 {_p95(pg.samples['first page newest']):.1f} ms < {NEWEST_BUDGET_MS:.0f} ms",
            _p95(pg.samples["first page newest"]) < NEWEST_BUDGET_MS,
        ),
        (
            f"ranked p95 {max(_p95(s) for s in ranked):.1f} ms < {RANKED_BUDGET_MS:.0f} ms",
            max(_p95(s) for s in ranked) < RANKED_BUDGET_MS,
        ),
    ]
    scale = "" if articles >= 1_000_000 else f" (budgets are for 1,000,000 articles; this ran {articles:,})"
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  postgres {text}{scale}")
    return 0 if all(ok for _, ok in checks) or articles < 1_000_000 else 1


def _p50(samples: list[float]) -> float:
    return statistics.median(samples)


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[-1] if len(samples) > 1 else samples[0]


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
