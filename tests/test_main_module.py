"""``python -m reader`` runs the command line; importing ``reader.__main__`` does not."""

from __future__ import annotations

import subprocess
import sys


def test_importing_reader_main_runs_nothing() -> None:
    # multiprocessing's spawn start method imports the parent's __main__ module by name in each
    # child: without the __name__ guard that import would run the command line (and exit).
    done = subprocess.run(
        [sys.executable, "-c", "import reader.__main__; print('imported')", "--db", "/nonexistent/x", "list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "imported\n", "")


def test_python_dash_m_reader_still_runs_the_command_line() -> None:
    done = subprocess.run([sys.executable, "-m", "reader", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "usage" in done.stdout.lower()
