"""Settings that persist between runs: one place, typed, over QSettings (an INI file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from reader import paths

DEFAULT_REFRESH_MINUTES = 30
#: The themes (the value stored): the platform's palette, or one forced light or dark.
THEMES = ("system", "light", "dark")
#: The reading pane's body fonts (the value stored).
READING_FONTS = ("sans", "serif")
#: What the window lists when it opens (the value stored): a view, or the last one the person chose.
START_VIEWS = ("all", "unread", "starred", "last")
#: The reading pane's body text size in points (0: the default, BODY_SCALE times the UI font).
MIN_TEXT_SIZE = 8
MAX_TEXT_SIZE = 36


def default_settings_path() -> Path:
    return paths.user_config_dir() / "reader.ini"


class Settings:
    """Typed access to the window's settings. Tests pass their own file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_settings_path()
        self._qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    def _get(self, key: str, default: Any, kind: type) -> Any:
        value = self._qs.value(key, default)
        if value is None:
            return default
        try:
            if kind is bool:
                return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
            return kind(value)
        except (TypeError, ValueError):
            return default

    def _bytes(self, key: str) -> QByteArray | None:
        value = self._qs.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    @property
    def geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    @geometry.setter
    def geometry(self, value: QByteArray) -> None:
        self._qs.setValue("window/geometry", value)

    @property
    def splitter(self) -> QByteArray | None:
        return self._bytes("window/splitter")

    @splitter.setter
    def splitter(self, value: QByteArray) -> None:
        self._qs.setValue("window/splitter", value)

    @property
    def text_zoom(self) -> int:
        return int(self._get("reading/zoom", 0, int))

    @text_zoom.setter
    def text_zoom(self, value: int) -> None:
        self._qs.setValue("reading/zoom", int(value))

    @property
    def last_article(self) -> int | None:
        value = int(self._get("reading/last_article", 0, int))
        return value or None

    @last_article.setter
    def last_article(self, value: int | None) -> None:
        self._qs.setValue("reading/last_article", int(value or 0))

    @property
    def remote_images(self) -> bool:
        return bool(self._get("privacy/remote_images", True, bool))

    @remote_images.setter
    def remote_images(self, value: bool) -> None:
        self._qs.setValue("privacy/remote_images", bool(value))

    @property
    def sidebar_shown(self) -> bool:
        return bool(self._get("window/sidebar_shown", True, bool))

    @sidebar_shown.setter
    def sidebar_shown(self, value: bool) -> None:
        self._qs.setValue("window/sidebar_shown", bool(value))

    @property
    def compact_list(self) -> bool:
        return bool(self._get("window/compact_list", False, bool))

    @compact_list.setter
    def compact_list(self, value: bool) -> None:
        self._qs.setValue("window/compact_list", bool(value))

    @property
    def refresh_minutes(self) -> int:
        return max(0, int(self._get("feeds/refresh_minutes", DEFAULT_REFRESH_MINUTES, int)))

    @refresh_minutes.setter
    def refresh_minutes(self, value: int) -> None:
        self._qs.setValue("feeds/refresh_minutes", int(value))

    @property
    def theme(self) -> str:
        value = str(self._get("window/theme", "system", str)).lower()
        return value if value in THEMES else "system"

    @theme.setter
    def theme(self, value: str) -> None:
        self._qs.setValue("window/theme", value if value in THEMES else "system")

    @property
    def reading_font(self) -> str:
        value = str(self._get("reading/font", "sans", str)).lower()
        return value if value in READING_FONTS else "sans"

    @reading_font.setter
    def reading_font(self, value: str) -> None:
        self._qs.setValue("reading/font", value if value in READING_FONTS else "sans")

    @property
    def start_view(self) -> str:
        value = str(self._get("window/start_view", "all", str)).lower()
        return value if value in START_VIEWS else "all"

    @start_view.setter
    def start_view(self, value: str) -> None:
        self._qs.setValue("window/start_view", value if value in START_VIEWS else "all")

    @property
    def last_view(self) -> str:
        """The sidebar entry last chosen, as :func:`reader.ui.preferences.view_name` spells it."""
        return str(self._get("window/last_view", "all", str))

    @last_view.setter
    def last_view(self, value: str) -> None:
        self._qs.setValue("window/last_view", value)

    @property
    def text_size(self) -> int:
        """The body text size in points, 0 for the default (a size out of range is the default)."""
        value = int(self._get("reading/text_size", 0, int))
        return value if MIN_TEXT_SIZE <= value <= MAX_TEXT_SIZE else 0

    @text_size.setter
    def text_size(self, value: int) -> None:
        self._qs.setValue("reading/text_size", int(value) if MIN_TEXT_SIZE <= value <= MAX_TEXT_SIZE else 0)

    @property
    def cleanup_days(self) -> int:
        """After each refresh, read articles older than this many days are removed (0: never)."""
        return max(0, int(self._get("feeds/cleanup_days", 0, int)))

    @cleanup_days.setter
    def cleanup_days(self, value: int) -> None:
        self._qs.setValue("feeds/cleanup_days", max(0, int(value)))

    @property
    def tray_icon(self) -> bool:
        """An icon in the system tray, where the platform has one."""
        return bool(self._get("window/tray_icon", True, bool))

    @tray_icon.setter
    def tray_icon(self, value: bool) -> None:
        self._qs.setValue("window/tray_icon", bool(value))

    @property
    def close_to_tray(self) -> bool:
        """Closing the window keeps Reader running in the tray (while its icon is there)."""
        return bool(self._get("window/close_to_tray", False, bool))

    @close_to_tray.setter
    def close_to_tray(self, value: bool) -> None:
        self._qs.setValue("window/close_to_tray", bool(value))

    def sync(self) -> None:
        self._qs.sync()
