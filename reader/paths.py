"""Where the bundled data and the user's files live.

``resources/`` and ``seeds/`` sit at the top of the repository. An installed wheel carries them inside
the package as ``reader/_data/`` (see ``[tool.hatch.build.targets.wheel.force-include]``); a checkout or
an editable install finds them beside the package. This module is the one place that knows both.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
APP_NAME = "reader-desktop"


def data_dir(name: str) -> Path:
    """Return the bundled folder ``name`` (``"resources"`` or ``"seeds"``)."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bundled folder {name!r} not found beside {_PACKAGE}")


def seeds_dir() -> Path:
    return data_dir("seeds")


def resources_dir() -> Path:
    return data_dir("resources")


def _user_dir(kind: str, xdg_variable: str, xdg_default: str) -> Path:
    """The user's ``kind`` folder for Reader. On Linux the XDG rule itself (what platformdirs does
    there): the variable when set and not blank, else its default under the home folder. Importing
    platformdirs costs about 10 ms, which the window's start would pay before its first paint."""
    if sys.platform.startswith("linux"):
        base = os.environ.get(xdg_variable, "")
        if not base.strip():
            base = os.path.expanduser(xdg_default)
        return Path(base) / APP_NAME
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")(APP_NAME, appauthor=False))


def user_data_dir() -> Path:
    """The user's data folder (``$XDG_DATA_HOME/reader-desktop`` on Linux)."""
    return _user_dir("data", "XDG_DATA_HOME", "~/.local/share")


def user_cache_dir() -> Path:
    return _user_dir("cache", "XDG_CACHE_HOME", "~/.cache")


def user_config_dir() -> Path:
    """The user's config folder (``$XDG_CONFIG_HOME/reader-desktop`` on Linux): settings and sync tokens."""
    return _user_dir("config", "XDG_CONFIG_HOME", "~/.config")


def default_db_path() -> Path:
    override = os.environ.get("READER_DB")
    if override:
        return Path(override)
    return user_data_dir() / "reader.sqlite"


def default_store() -> Path | str:
    """The store used without --db: ``READER_DB`` (a file path, or a PostgreSQL URL, kept as text:
    a Path would fold its "//"), else the file in the user data folder."""
    override = os.environ.get("READER_DB", "")
    if "://" in override and override.split("://", 1)[0].lower() in ("postgresql", "postgres"):
        return override
    return default_db_path()
