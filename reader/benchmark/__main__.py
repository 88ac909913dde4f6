"""``python -m reader.benchmark NAME [ARGS...]``: run the benchmark module ``reader.benchmark.NAME``."""

import importlib
import sys


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print(
            "usage: python -m reader.benchmark NAME [ARGS...]  "
            "(NAME: seeds, feeds, sync, window, images, daily, store)",
            file=sys.stderr,
        )
        return 2
    name = argv[0]
    try:
        module = importlib.import_module(f"reader.benchmark.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"reader.benchmark.{name}":
            raise
        print(f"no benchmark named {name!r}", file=sys.stderr)
        return 2
    return int(module.main(argv[1:]) or 0)


sys.exit(main(sys.argv[1:]))
