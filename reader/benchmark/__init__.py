"""Benchmarks: ``python -m reader.benchmark NAME`` runs ``reader/benchmark/NAME.py``'s ``main(argv)``."""

from __future__ import annotations

import compileall
from pathlib import Path


def compile_reader() -> None:
    """Byte-compile the ``reader`` package, as ``pip install`` does, before timing commands that
    start a new interpreter. From a checkout (an editable install) with ``PYTHONDONTWRITEBYTECODE``
    set, every start would otherwise compile Reader's modules from source again: about 25 ms a
    process that no installed copy pays. The files go to ``__pycache__`` folders, as Python's own."""
    compileall.compile_dir(Path(__file__).resolve().parent.parent, quiet=1)
