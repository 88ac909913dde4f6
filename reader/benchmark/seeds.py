"""Seed import and search benchmark: ``python -m reader.benchmark seeds [--records N] [--runs N] [--busy]``.

Generates the synthetic corpus (:mod:`reader.benchmark.corpus`), imports it into a fresh store with
:func:`reader.importer.import_paths` (FTS index built as it goes, as in real use) and reports
records/s, store size and peak memory. Beside them, in the same run, a naive one-thread import of
the same files (:func:`naive_import`: read a file, ``ast.literal_eval`` the header, ``executemany``
5,000 rows at a time into one table with an FTS5 external-content index kept by a trigger) and the
ratios: Reader's records/s over the naive loop's, and the store's bytes over the records' bytes.
``--busy`` runs a second process that burns a core during both imports (the machine has two).
``--runs N`` imports N times, Reader and the naive loop in turn (which goes first alternates), and
prints each run's figures and their medians: records/s, the ratio, the store-size ratio.
Then it times the first page of searches as a person types them, newest first and ranked by
relevance, for common, middling and rare words and for a name typed letter by letter, and checks
the figures against the budgets in DESIGN.md.

Timings are wall-clock on a shared machine: run it a few times and look at ``uptime``.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from reader.benchmark import corpus, remove_store, second_core_busy, timed_ms
from reader.importer import import_paths, read_seed_file
from reader.store import Query, Store

IMPORT_BUDGET = 3000.0  # records/s, at least
#: Reader's import against the naive one-thread loop in the same run (issue 16), at least.
IMPORT_RATIO_BUDGET = 1.5
#: Store bytes over the bytes of the records it holds (issue 16), at most.
SIZE_RATIO_BUDGET = 1.5
NEWEST_BUDGET_MS = 30.0  # first page newest first, p95 below
RELEVANCE_BUDGET_MS = 150.0  # first page by relevance, p95 below
PAGE = 50

#: Frequency ranks (1 = most frequent) of the words searched for, by class. Searches are typed
#: text, so a last word of 3 letters or more is a prefix: middling and rare words are taken at or
#: after their rank with 4 letters or more, so the prefix does not widen them. Rank 5 is a 4-letter
#: word in every article: the costliest common prefix (the store's prefix index is for 3 letters;
#: longer prefixes merge every word that starts so).
WORD_RANKS = {
    "common": (1, 3, 5, 8),
    "middling": (300, 700, 1000, 2000),
    "rare": (20000, 30000, 40000, 49000),
}
MIN_LETTERS = {"common": 1, "middling": 4, "rare": 4}
#: A name as a person types it, one keystroke at a time (rank 1500 in the corpus vocabulary). One
#: and two letters are whole words; from three on, prefixes.
TYPED = ("k", "ka", "kas", "kasp", "kaspersky")


@dataclass
class Timing:
    label: str
    word: str
    matches: int
    newest: list[float]
    relevance: list[float]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m reader.benchmark seeds", description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=corpus.DEFAULT_RECORDS, help="records to generate")
    parser.add_argument("--seed", type=int, default=corpus.DEFAULT_SEED, help="corpus seed")
    parser.add_argument("--repeat", type=int, default=50, help="timed runs of each search")
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="keep corpus and store in DIR (a kept corpus is reused)"
    )
    parser.add_argument(
        "--search-only", action="store_true", help="with --keep: time searches on the kept store, no import"
    )
    parser.add_argument(
        "--baseline",
        type=int,
        default=0,
        metavar="N",
        help="also time the first N records parsed and stored in turn on one thread (no overlap)",
    )
    parser.add_argument("--busy", action="store_true", help="a second process burns a CPU core during both imports")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive reference import")
    parser.add_argument("--no-search", action="store_true", help="skip the search timings")
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        metavar="N",
        help="import N times, Reader and the naive loop in turn (alternating which goes first); medians too",
    )
    args = parser.parse_args(argv)
    if args.search_only and args.keep is None:
        parser.error("--search-only needs --keep DIR")
    if args.runs < 1:
        parser.error(f"--runs {args.runs}: at least 1")

    work = args.keep or Path(tempfile.mkdtemp(prefix="reader-bench-seeds-"))
    try:
        return _run(args, work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, work: Path) -> int:
    work.mkdir(parents=True, exist_ok=True)
    folder = work / "corpus"
    store_path = work / "store.sqlite"
    print(f"machine: {os.cpu_count()} cores, load average {_load()}")
    failures: list[str] = []

    if not args.search_only:
        _ensure_corpus(folder, args.records, args.seed)
        _imports(args, folder, store_path, work / "previous", failures)

    timings = [] if args.no_search else _searches(store_path, args.seed, args.repeat)
    shutil.rmtree(work / "previous", ignore_errors=True)  # after the searches: its discard would disturb them
    if timings:
        _print_searches(timings, args.repeat)
        for name, pick, budget in (
            ("newest-first", lambda t: t.newest, NEWEST_BUDGET_MS),
            ("relevance", lambda t: t.relevance, RELEVANCE_BUDGET_MS),
        ):
            worst = max(timings, key=lambda t: _p95(pick(t)))
            if _p95(pick(worst)) >= budget:
                failures.append(f"{name} p95 {_p95(pick(worst)):.1f} ms for {worst.word!r} >= {budget:.0f} ms")
        print(f"peak RSS    {_peak_rss_mb():,.0f} MB (after searches)")
    print(f"load average {_load()}")
    if failures:
        for failure in failures:
            print(f"FAIL  {failure}")
        return 1
    passed = [] if args.search_only else [f"import >= {IMPORT_BUDGET:,.0f} records/s"]
    if timings:
        passed += [f"newest-first p95 < {NEWEST_BUDGET_MS:.0f} ms", f"relevance p95 < {RELEVANCE_BUDGET_MS:.0f} ms"]
    print(f"PASS  {', '.join(passed)}")
    return 0


@dataclass
class ImportRun:
    """One run's figures: Reader's import and, unless skipped, the naive loop's in the same run."""

    rate: float  # records/s
    size_ratio: float  # store bytes over record bytes
    naive_rate: float | None = None
    naive_size_ratio: float | None = None

    @property
    def ratio(self) -> float | None:
        """Reader's records/s over the naive loop's."""
        return None if self.naive_rate is None else self.rate / self.naive_rate


def _imports(args: argparse.Namespace, folder: Path, store_path: Path, previous: Path, failures: list[str]) -> None:
    """``args.runs`` imports of ``folder``, Reader's and (unless ``--no-naive``) the naive loop's in
    turn, the one that goes first alternating from run to run (a change in the machine's load falls
    on both alike); each run's figures, then their medians, which the budgets are checked against.
    The last run's store is left at ``store_path`` for the searches."""
    record_bytes = _record_bytes(folder)
    # A kept store from an earlier run (or run) is moved aside and deleted after the figures:
    # deleting a file of a gigabyte and more makes the file system busy for a while (discard),
    # which would slow the next import down.
    previous.mkdir(exist_ok=True)
    runs: list[ImportRun] = []
    for number in range(1, args.runs + 1):
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{store_path}{suffix}").exists():
                Path(f"{store_path}{suffix}").replace(previous / f"store-{number}.sqlite{suffix}")
        prefix = f"run {number}/{args.runs}  " if args.runs > 1 else ""
        run = ImportRun(0.0, 0.0)
        reader = functools.partial(_reader_run, args, folder, store_path, record_bytes, run, prefix)
        naive_path = store_path.with_name("naive.sqlite")
        naive = functools.partial(_naive_run, args, folder, naive_path, record_bytes, run, prefix)
        steps = [reader] if args.no_naive else [reader, naive] if number % 2 else [naive, reader]
        for step in steps:
            step()
        if run.ratio is not None:
            print(f"{prefix}ratio       Reader {run.ratio:.2f}x the naive import (budget >= {IMPORT_RATIO_BUDGET}x)")
        runs.append(run)
    rate = statistics.median(r.rate for r in runs)
    size_ratio = statistics.median(r.size_ratio for r in runs)
    ratios = [r.ratio for r in runs if r.ratio is not None]
    ratio = statistics.median(ratios) if ratios else None
    if args.runs > 1:
        naive_rates = [r.naive_rate for r in runs if r.naive_rate is not None]
        naive_sizes = [r.naive_size_ratio for r in runs if r.naive_size_ratio is not None]
        print(f"medians of {args.runs} runs (load average {_load()})")
        print(f"  Reader      {rate:,.0f} records/s, store {size_ratio:.2f}x the records")
        if ratio is not None:
            print(
                f"  naive       {statistics.median(naive_rates):,.0f} records/s, "
                f"store {statistics.median(naive_sizes):.2f}x the records"
            )
            print(f"  ratio       Reader {ratio:.2f}x the naive import (budget >= {IMPORT_RATIO_BUDGET}x)")
    if rate < IMPORT_BUDGET:
        failures.append(f"import {rate:,.0f} records/s < {IMPORT_BUDGET:,.0f}")
    if size_ratio > SIZE_RATIO_BUDGET:
        failures.append(f"store {size_ratio:.2f}x the records > {SIZE_RATIO_BUDGET}x")
    if ratio is not None and ratio < IMPORT_RATIO_BUDGET:
        failures.append(f"import {ratio:.2f}x the naive reference < {IMPORT_RATIO_BUDGET}x")
    if args.baseline:
        _baseline(folder, store_path.with_name("baseline.sqlite"), args.baseline)


def _reader_run(
    args: argparse.Namespace, folder: Path, store_path: Path, record_bytes: int, run: ImportRun, prefix: str
) -> None:
    with second_core_busy(args.busy):
        began = time.perf_counter()
        report = import_paths(store_path, [str(folder)])
        seconds = time.perf_counter() - began
    run.rate = report.records / seconds
    store_bytes = _store_bytes(store_path)
    run.size_ratio = store_bytes / record_bytes
    print(
        f"{prefix}import      {report.records:,} records from {report.files:,} files in {seconds:.1f} s: "
        f"{run.rate:,.0f} records/s  (added {report.result.added:,}, unchanged {report.result.unchanged:,}, "
        f"problems {len(report.problems)}){'  [second core busy]' if args.busy else ''}"
    )
    print(
        f"{prefix}store       {store_bytes / 1e6:,.0f} MB for {record_bytes / 1e6:,.0f} MB of records: "
        f"{run.size_ratio:.2f}x the records (budget <= {SIZE_RATIO_BUDGET}x)"
    )
    print(f"{prefix}peak RSS    {_peak_rss_mb():,.0f} MB (import, this process)")


def _naive_run(
    args: argparse.Namespace, folder: Path, naive_path: Path, record_bytes: int, run: ImportRun, prefix: str
) -> None:
    with second_core_busy(args.busy):
        naive_records, naive_seconds = naive_import(folder, naive_path)
    run.naive_rate = naive_records / naive_seconds
    run.naive_size_ratio = _store_bytes(naive_path) / record_bytes
    print(
        f"{prefix}naive       {naive_records:,} records in {naive_seconds:.1f} s: {run.naive_rate:,.0f} records/s "
        f"(one thread, literal_eval, executemany 5,000, FTS5 trigger; "
        f"store {run.naive_size_ratio:.2f}x the records)"
    )
    remove_store(naive_path)


def _ensure_corpus(folder: Path, records: int, seed: int) -> None:
    marker = folder / ".corpus"
    wanted = f"records={records} seed={seed}\n"
    if marker.is_file() and marker.read_text() == wanted:
        print(f"corpus      reusing {folder}")
        return
    shutil.rmtree(folder, ignore_errors=True)
    # A separate process, so the generator's memory does not count in this process's peak RSS.
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "reader.benchmark.corpus", str(folder), "--records", str(records), "--seed", str(seed)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    size = sum(p.stat().st_size for p in folder.rglob("*.txt"))
    print(f"corpus      {records:,} records, {size / 1e6:,.0f} MB, generated in {time.perf_counter() - began:.1f} s")
    marker.write_text(wanted)  # dot files are skipped by the importer
    os.sync()  # the corpus on disk before the import starts, not written back while it runs


#: The naive reference's table and index, as issue 16 describes it: the four columns Reader indexes,
#: with its tokenizer, and FTS5's defaults otherwise (no prefix index: Reader builds one more index
#: than this loop, for search as you type, and is still measured against it).
NAIVE_SCHEMA = (
    "CREATE TABLE records (id INTEGER PRIMARY KEY, source TEXT, idx TEXT, author TEXT, title TEXT, "
    "description TEXT, url TEXT, image_url TEXT, published TEXT, body TEXT, raw TEXT)",
    "CREATE VIRTUAL TABLE records_fts USING fts5(title, author, description, body, content='records', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER records_fts_insert AFTER INSERT ON records BEGIN "
    "INSERT INTO records_fts(rowid, title, author, description, body) "
    "VALUES (new.id, new.title, new.author, new.description, new.body); END",
)
NAIVE_BATCH = 5000


def naive_import(folder: Path, store_path: Path) -> tuple[int, float]:
    """The reference of issue 16, as anyone would first write it: one thread; read each file,
    ``ast.literal_eval`` each header, keep the record's text and its body, ``executemany``
    :data:`NAIVE_BATCH` rows at a time into one table whose FTS5 external-content index a trigger
    keeps; WAL, ``synchronous=NORMAL``. Returns (records, seconds)."""
    remove_store(store_path)
    began = time.perf_counter()
    conn = sqlite3.connect(store_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    for statement in NAIVE_SCHEMA:
        conn.execute(statement)
    insert = "INSERT INTO records VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    rows: list[tuple[str, ...]] = []
    count = 0

    def flush() -> None:
        conn.execute("BEGIN")
        conn.executemany(insert, rows)
        conn.execute("COMMIT")
        rows.clear()

    for path in sorted(folder.rglob("*.txt")):
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
        header: list[str] | None = None
        lines: list[str] = []
        for line in [*text.splitlines(keepends=True), None]:
            fields = None
            if line is not None and line.startswith("["):
                with contextlib.suppress(ValueError, SyntaxError):
                    fields = ast.literal_eval(line.strip())
            if line is None or (isinstance(fields, list) and len(fields) == 8):
                if header is not None:
                    raw = "".join(lines)
                    body = "".join(lines[1:]).strip()
                    rows.append((*header, body, raw))
                    count += 1
                    if len(rows) >= NAIVE_BATCH:
                        flush()
                header, lines = fields, []
            if line is not None:
                lines.append(line)
    if rows:
        flush()
    conn.close()
    return count, time.perf_counter() - began


def _record_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*.txt"))


def _store_bytes(path: Path) -> int:
    return sum(os.path.getsize(f"{path}{s}") for s in ("", "-wal") if os.path.exists(f"{path}{s}"))


def _baseline(folder: Path, store_path: Path, records: int) -> None:
    """For context: the same parser and store on one thread, parsing and storing in turn."""
    remove_store(store_path)
    files = sorted(str(p) for p in folder.rglob("*.txt"))
    done = 0
    batch = []
    began = time.perf_counter()
    with Store.open(store_path) as store:
        for path in files:
            articles = read_seed_file(path).articles
            batch.extend(articles)
            done += len(articles)
            if len(batch) >= 2000 or done >= records:
                store.add_articles(batch)
                batch = []
            if done >= records:
                break
    seconds = time.perf_counter() - began
    print(
        f"baseline    one thread, parse then store in turn (no overlap), first {done:,} records: "
        f"{done / seconds:,.0f} records/s"
    )
    remove_store(store_path)


def _searches(store_path: Path, seed: int, repeat: int) -> list[Timing]:
    words = corpus.vocabulary(seed)
    queries = [
        (label, next(w for w in words[rank - 1 :] if len(w) >= MIN_LETTERS[label]))
        for label, ranks in WORD_RANKS.items()
        for rank in ranks
    ]
    queries += [("typed", text) for text in TYPED]
    timings = []
    # A fresh connection with the default cache, as the window has.
    with Store.open(store_path, create=False) as store:
        for label, word in queries:
            newest = Query(search=word)
            relevance = Query(search=word, order="relevance")
            matches = store.count(newest)
            timings.append(
                Timing(
                    label,
                    word,
                    matches,
                    timed_ms(functools.partial(store.page, newest, None, PAGE), repeat),
                    timed_ms(functools.partial(store.page, relevance, None, PAGE), repeat),
                )
            )
    return timings


def _print_searches(timings: list[Timing], repeat: int) -> None:
    print(f"\nsearch, first page of {PAGE}, {repeat} runs each (ms)")
    head = f"  {'class':9s} {'query':20s} {'matches':>8s}"
    print(f"{head}   {'newest p50':>10s} {'p95':>6s}   {'relevance p50':>13s} {'p95':>6s}")
    for t in timings:
        print(
            f"  {t.label:9s} {t.word:20s} {t.matches:8,d}   {_p50(t.newest):10.1f} {_p95(t.newest):6.1f}   "
            f"{_p50(t.relevance):13.1f} {_p95(t.relevance):6.1f}"
        )
    print("  per class (all runs of its queries):")
    for label in dict.fromkeys(t.label for t in timings):
        group = [t for t in timings if t.label == label]
        newest = [s for t in group for s in t.newest]
        relevance = [s for t in group for s in t.relevance]
        print(
            f"  {label:9s} {'':20s} {'':8s}   {_p50(newest):10.1f} {_p95(newest):6.1f}   "
            f"{_p50(relevance):13.1f} {_p95(relevance):6.1f}"
        )


def _p50(samples: list[float]) -> float:
    return statistics.median(samples)


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[-1] if len(samples) > 1 else samples[0]


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux; child processes (a parsing pool, if any) are counted apart.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return own / 1024


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"
