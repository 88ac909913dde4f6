"""The store benchmark (issue 11) runs on both engines and prints every figure it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from postgres import missing_requirements

ROOT = Path(__file__).resolve().parent.parent


def test_the_store_benchmark_prints_each_figure_for_both_engines(tmp_path: Path) -> None:
    if (why := missing_requirements()) is not None:
        pytest.fail(why)  # (CI installs the server: never skipped)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "reader.benchmark", "store", "--backend", "both", "--articles", "40"]
    done = subprocess.run(
        [*command, "--repeat", "2", "--keep", str(tmp_path)], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "40 records made, parsed and prepared" in out
    table = {line.split("  ")[1].strip(): line for line in out.splitlines() if line.startswith("  ") and "  " in line}
    assert "sqlite" in out and "postgres    throwaway server" in out
    assert table["import (records/s)"].split()[-2:][0].replace(",", "").isdigit()
    for row in ("first page newest", "common newest", "common ranked", "rare ranked", "prefix ranked"):
        # p50 / p95 for each engine
        assert table[row].count("/") == 2, table[row]
    for row in ("unread count", "mark all read", "unread list after"):
        assert row in table
    assert "mark all read: 40 articles" in out
    assert "budgets are for 1,000,000 articles; this ran 40" in out
    # The prepared corpus is kept and reused; the throwaway server was stopped.
    again = subprocess.run(
        [*command, "--backend", "sqlite", "--repeat", "1", "--keep", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    assert "reusing 40 prepared records" in again.stdout
