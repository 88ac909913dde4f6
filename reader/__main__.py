"""``python -m reader`` does what the ``reader`` command does."""

import sys

from reader.cli import main

sys.exit(main())
