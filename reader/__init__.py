"""Reader: a fast, keyboard-first desktop news reader."""

__version__ = "0.1.0"
