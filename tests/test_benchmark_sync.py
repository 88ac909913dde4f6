"""``python -m reader.benchmark sync`` (issue 10) runs end to end: a tiny run on the tests' FreshRSS
(``--server``: the session's server, so the test costs its few commands, not a server start)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent


def benchmark(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "reader.benchmark", "sync", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_a_tiny_run_subscribes_syncs_twice_and_prints_each_figure_beside_its_reference(freshrss: Any) -> None:
    done = benchmark("--server", str(freshrss.work / "env.sh"), "--feeds", "2", "--items", "3", "--runs", "1")

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "2 feeds x 3 items subscribed" in out
    assert re.search(r"the account holds \d+ \(\d+ read, \d+ starred\)", out)
    assert re.search(r"^first sync, accounts add \+ sync on a fresh store \(load [\d. ]+\)$", out, re.M)
    assert re.search(r"^  reader +\d+\.\d\d s +\d+ items/s .*(Newsboat)", out, re.M)
    assert re.search(r"peak RSS +\d+ MB +reference: \d+ MB for the no-change sync", out)
    assert re.search(r"^no-change sync \(load [\d. ]+\)$", out, re.M)
    assert re.search(r"^  reader +\d+\.\d\d s .*budget < 1 s for 10,000 items \(DESIGN\.md\)", out, re.M)
    if shutil.which("newsboat"):  # on the server, or (one line saying why not) on the feeds themselves
        timed = re.findall(r"^  newsboat (feedhq|direct) +\d+\.\d\d s", out, re.M)
        assert len(timed) == 2  # its first reload and a no-change one
        if timed[0] == "direct":
            assert re.search(r"^newsboat \S+ feedhq urls-source: .+; as a stand-in, Newsboat reads the same", out, re.M)
        assert re.search(r"\d+\.\d\dx Newsboat's .*first reload", out)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--runs", "0"], "--runs must be at least 1"),
        (["--server", "/nonexistent/env.sh"], "/nonexistent/env.sh: no such file"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(args: list[str], said: str) -> None:
    done = benchmark(*args)

    assert done.returncode == 2
    assert said in done.stderr
    assert "Traceback" not in done.stderr


def test_help_says_what_it_times() -> None:
    done = benchmark("--help")

    assert done.returncode == 0
    assert "--server ENV_SH" in done.stdout
    assert "FreshRSS" in done.stdout
