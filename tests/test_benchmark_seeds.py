"""The seed benchmark's naive reference (issue 16) does the work it is compared with."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from reader.benchmark import corpus
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
