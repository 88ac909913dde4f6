"""Benchmarks: ``python -m reader.benchmark NAME`` runs ``reader/benchmark/NAME.py``'s ``main(argv)``."""

from __future__ import annotations

import compileall
import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path


def compile_reader() -> None:
    """Byte-compile the ``reader`` package, as ``pip install`` does, before timing commands that
    start a new interpreter. From a checkout (an editable install) with ``PYTHONDONTWRITEBYTECODE``
    set, every start would otherwise compile Reader's modules from source again: about 25 ms a
    process that no installed copy pays. The files go to ``__pycache__`` folders, as Python's own."""
    compileall.compile_dir(Path(__file__).resolve().parent.parent, quiet=1)


@contextlib.contextmanager
def second_core_busy(enabled: bool) -> Iterator[None]:
    """``--busy``: with ``enabled``, a second process keeps one core busy (pure Python, no I/O)
    for as long as the block runs."""
    if not enabled:
        yield
        return
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        burner.kill()
        burner.wait()


def remove_store(path: Path) -> Path:
    """Delete a benchmark's SQLite store with its -wal and -shm, if they exist; returns ``path``."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def timed_ms(call: Callable[[], object], repeat: int) -> list[float]:
    """``call`` once to warm the cache (the figures are for a person using an open store, not a
    cold disk), then ``repeat`` times: each run's milliseconds."""
    call()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    return samples
