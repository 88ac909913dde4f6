"""Benchmarks: ``python -m reader.benchmark NAME`` runs ``reader/benchmark/NAME.py``'s ``main(argv)``."""
