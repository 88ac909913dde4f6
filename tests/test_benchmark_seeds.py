"""The seed benchmark's naive reference (issue 16) does the work it is compared with."""

from __future__ import annotations

import re
import sqlite3
import statistics
from pathlib import Path

import pytest

from reader.benchmark import corpus, seeds
from reader.benchmark.seeds import naive_import
from reader.importer import import_paths


def test_the_naive_reference_stores_and_indexes_every_record_reader_reads(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    # Enough records for multi-record and CRLF files and duplicates to appear (the corpus has ~2% of each).
    corpus.generate(folder, records=300, jobs=1)
    report = import_paths(tmp_path / "store.sqlite", [str(folder)])
    naive_path = tmp_path / "naive.sqlite"

    records, seconds = naive_import(folder, naive_path)

    assert records == report.records == 300
    assert seconds > 0
    conn = sqlite3.connect(naive_path)
    try:
        assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == 300
        word = corpus.vocabulary()[0]  # in every article: the trigger indexed each row
        assert conn.execute("SELECT count(*) FROM records_fts WHERE records_fts MATCH ?", (word,)).fetchone()[0] == 300
        raws = [r[0] for r in conn.execute("SELECT raw FROM records")]
    finally:
        conn.close()
    assert all(raw.startswith("[") for raw in raws)
    assert sum(len(raw.encode()) for raw in raws) > 0.95 * sum(p.stat().st_size for p in folder.rglob("*.txt"))


def test_runs_alternate_reader_and_the_naive_loop_and_report_the_medians(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeds.main(["--records", "120", "--runs", "3", "--no-search", "--keep", str(tmp_path)])

    lines = capsys.readouterr().out.splitlines()
    firsts = [line.split()[2] for line in lines if re.match(r"run \d/3  (import|naive) ", line)]
    assert firsts == ["import", "naive", "naive", "import", "import", "naive"]  # who goes first alternates
    rates = [_number(line, r"([\d,]+) records/s") for line in lines if re.match(r"run \d/3  import ", line)]
    naive_rates = [_number(line, r"([\d,]+) records/s") for line in lines if re.match(r"run \d/3  naive ", line)]
    sizes = [_number(line, r"([\d.]+)x the records") for line in lines if re.match(r"run \d/3  store ", line)]
    ratios = [_number(line, r"Reader ([\d.]+)x") for line in lines if re.match(r"run \d/3  ratio ", line)]
    assert len(rates) == len(naive_rates) == len(sizes) == len(ratios) == 3
    medians = lines[lines.index(next(line for line in lines if line.startswith("medians of 3 runs"))) :]
    assert _number(medians[1], r"([\d,]+) records/s") == pytest.approx(statistics.median(rates), abs=1)
    assert _number(medians[1], r"([\d.]+)x the records") == pytest.approx(statistics.median(sizes), abs=0.01)
    assert _number(medians[2], r"([\d,]+) records/s") == pytest.approx(statistics.median(naive_rates), abs=1)
    assert _number(medians[3], r"Reader ([\d.]+)x") == pytest.approx(statistics.median(ratios), abs=0.01)
    assert (tmp_path / "store.sqlite").exists()  # the last run's store, for the searches
    assert not (tmp_path / "previous").exists()  # the earlier runs' stores are deleted
    assert not (tmp_path / "naive.sqlite").exists()


def _number(line: str, pattern: str) -> float:
    found = re.search(pattern, line)
    assert found is not None, f"{pattern!r} not in {line!r}"
    return float(found.group(1).replace(",", ""))
