"""``python -m reader`` does what the ``reader`` command does."""

import sys

from reader.cli import main

if __name__ == "__main__":
    sys.exit(main())
