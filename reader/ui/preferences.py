"""Preferences changed from the keys and menus: the reading pane's text size, remote images.
Each is applied and saved in one place."""

from __future__ import annotations

from PySide6.QtCore import QObject

from reader.ui.list_images import ListImages
from reader.ui.reading_pane import ReadingPane
from reader.ui.settings import Settings
from reader.ui.status import Message


class TextSize(QObject):
    """Ctrl++ / Ctrl+- / Ctrl+0 on the reading pane, remembered in the settings. Each step says the
    size it arrived at ("Text size 120%"): the change itself can be too small to judge by eye."""

    def __init__(self, pane: ReadingPane, settings: Settings, message: Message, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pane = pane
        self._settings = settings
        self.message = message

    def restore(self) -> None:
        self._pane.set_zoom(self._settings.text_zoom)

    def zoom_in(self) -> None:
        self._pane.zoom_in()
        self._changed()

    def zoom_out(self) -> None:
        self._pane.zoom_out()
        self._changed()

    def zoom_reset(self) -> None:
        self._pane.zoom_reset()
        self._changed()

    def _changed(self) -> None:
        self._settings.text_zoom = self._pane.zoom
        self.message(f"Text size {self._pane.zoom_percent}%")


class RemoteImages(QObject):
    """Whether images are fetched from the network (the View menu's checkable entry)."""

    def __init__(self, images: ListImages, settings: Settings, message: Message, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._images = images
        self._settings = settings
        self.message = message

    @property
    def enabled(self) -> bool:
        return self._settings.remote_images

    def restore(self) -> None:
        self._images.set_remote_images(self._settings.remote_images)

    def toggle(self) -> None:
        """The menu entry was triggered (Qt has already flipped its check mark)."""
        enabled = not self._settings.remote_images
        self._settings.remote_images = enabled
        self._images.set_remote_images(enabled)
        self.message("Remote images " + ("on." if enabled else "off: no image is fetched from the network."))
