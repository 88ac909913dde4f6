"""Help > About Reader: what this is, which version, which store, on which Qt."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from reader.ui.dialogs import AboutDialog


class About:
    """Owns Help > About Reader: the small dialog saying the name, version, store and Qt versions
    (what a bug report needs, and which store this window is on)."""

    def __init__(self, parent: QWidget, store_path: Path | str) -> None:
        self._parent = parent
        self._store_path = store_path
        #: The dialog, once shown.
        self.dialog: AboutDialog | None = None

    def show_about(self) -> None:
        from reader.ui.dialogs import AboutDialog  # (dialogs are imported when first opened, not at start)

        dialog = AboutDialog(self._store_path, self._parent)
        dialog.setModal(False)
        dialog.show()
        self.dialog = dialog
