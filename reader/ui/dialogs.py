"""Modal dialogs, each reached through a small ``ask()``-style classmethod that tests replace."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from reader.records import Problem
from reader.ui.settings import MAX_TEXT_SIZE, MIN_TEXT_SIZE

if TYPE_CHECKING:
    from reader.ui.preferences import Appearance, RefreshInterval, RemoteImages, StartView, TextSize
    from reader.ui.retention import Retention
    from reader.ui.tray import Tray


def row_table(object_name: str, columns: Sequence[str]) -> QTableWidget:
    """A read-only table of rows, one picked at a time (the Accounts and Rules dialogs' lists)."""
    table = QTableWidget(0, len(columns))
    table.setObjectName(object_name)
    table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().hide()
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class Ask:
    """Questions the window asks the person. Tests monkeypatch these classmethods."""

    @classmethod
    def files(cls, parent: QWidget | None) -> list[str]:
        names, _ = QFileDialog.getOpenFileNames(
            parent, "Import files", "", "News records and feeds (*.txt *.xml *.rss *.atom *.opml);;All files (*)"
        )
        return list(names)

    @classmethod
    def folder(cls, parent: QWidget | None) -> str | None:
        name = QFileDialog.getExistingDirectory(parent, "Import a folder (recursively)")
        return name or None

    @classmethod
    def opml_file(cls, parent: QWidget | None) -> str | None:
        """Where to write the subscriptions (File > Export OPML…), or None when cancelled."""
        name, _ = QFileDialog.getSaveFileName(
            parent, "Export subscriptions as OPML", "subscriptions.opml", "OPML files (*.opml);;All files (*)"
        )
        return name or None

    @classmethod
    def feed_url(cls, parent: QWidget | None) -> str | None:
        text, ok = QInputDialog.getText(parent, "Add feed", "Feed address (RSS or Atom), or a feed file:")
        text = text.strip()
        return text if ok and text else None


class KeysDialog(QDialog):
    """Every key, generated from the action registry: one short table per menu, in two columns,
    each table as tall as its rows, so that the whole list is seen at once without scrolling."""

    def __init__(self, groups: Sequence[tuple[str, Sequence[tuple[str, str]]]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("keysDialog")
        self.setWindowTitle("Keys")
        columns = [QVBoxLayout(), QVBoxLayout()]
        filled = [0, 0]  # lines in each column so far (a group's title counts as one)
        for menu, rows in groups:
            column = filled.index(min(filled))  # the shorter column: the two end about level
            filled[column] += len(rows) + 1
            title = QLabel(f"<b>{html.escape(menu)}</b>", self)
            columns[column].addWidget(title)
            columns[column].addWidget(self._table(menu, rows))
        grid = QHBoxLayout()
        for box in columns:
            box.addStretch(1)
            grid.addLayout(box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Single-letter keys do nothing while you type in the search field."))
        layout.addLayout(grid)
        layout.addWidget(buttons)

    def _table(self, menu: str, rows: Sequence[tuple[str, str]]) -> QTableWidget:
        """Key | what it does, sized to its content: no scroll bars, no empty space."""
        table = QTableWidget(len(rows), 2, self)
        table.setObjectName(f"keysTable{menu}")
        table.horizontalHeader().setVisible(False)
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        table.setShowGrid(False)
        table.setAlternatingRowColors(True)
        for i, (keys, text) in enumerate(rows):
            table.setItem(i, 0, QTableWidgetItem(keys))
            table.setItem(i, 1, QTableWidgetItem(text))
        table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        table.resizeColumnsToContents()
        table.resizeRowsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        frame = 2 * table.frameWidth()
        table.setFixedHeight(sum(table.rowHeight(i) for i in range(len(rows))) + frame)
        table.setMinimumWidth(table.columnWidth(0) + table.columnWidth(1) + frame)
        return table


class AboutDialog(QDialog):
    """Help > About Reader: the name, the version, what it is, the store this window is on, and the
    Qt and PySide versions (what a bug report asks for)."""

    def __init__(self, store_path: Path | str, parent: QWidget | None = None) -> None:
        import PySide6
        from PySide6.QtCore import qVersion

        from reader import __version__

        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About Reader")
        lines = [
            f"<b>Reader</b> {html.escape(__version__)}",
            "A fast, keyboard-first desktop news reader.",
            f"Store: {html.escape(str(store_path))}",
            f"Qt {html.escape(qVersion())}, PySide {html.escape(PySide6.__version__)}",
        ]
        label = QLabel("<br>".join(lines), self)
        label.setObjectName("aboutText")
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # to paste in a report
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(buttons)


class ProblemsDialog(QDialog):
    """What an import could not take, one line per input."""

    def __init__(self, summary: str, problems: Sequence[Problem], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("problemsDialog")
        self.setWindowTitle("Import problems")
        text = QPlainTextEdit(self)
        text.setReadOnly(True)
        text.setPlainText("\n".join(str(p) for p in problems))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(summary))
        layout.addWidget(text)
        layout.addWidget(buttons)
        self.resize(640, 360)


class PreferencesDialog(QDialog):
    """File > Preferences…: the theme, the reading font and text size, remote images, the refresh
    interval and the start-up view.
    Each change is applied at once and remembered (no OK to forget): the dialog only shows and sets
    what the owners of those preferences hold."""

    THEMES = (("System", "system"), ("Light", "light"), ("Dark", "dark"))
    FONTS = (("Sans", "sans"), ("Serif", "serif"))
    START_VIEWS = (("All articles", "all"), ("Unread", "unread"), ("Starred", "starred"), ("Last view used", "last"))

    def __init__(
        self,
        appearance: Appearance,
        remote_images: RemoteImages,
        refresh: RefreshInterval,
        retention: Retention,
        text_size: TextSize,
        start_view: StartView,
        tray: Tray,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("preferencesDialog")
        self.setWindowTitle("Preferences")
        self.theme = self._choices("themeChoice", self.THEMES, appearance.theme, appearance.set_theme)
        self.reading_font = self._choices(
            "readingFontChoice", self.FONTS, appearance.reading_font, appearance.set_reading_font
        )
        self.text_size = QSpinBox(self)
        self.text_size.setObjectName("textSize")
        # Its lowest value stands for the default (BODY_SCALE times the UI font): 0 in the settings.
        self.text_size.setRange(MIN_TEXT_SIZE - 1, MAX_TEXT_SIZE)
        self.text_size.setSuffix(" pt")
        self.text_size.setSpecialValueText("Default")
        self.text_size.setValue(text_size.points or MIN_TEXT_SIZE - 1)
        self.text_size.valueChanged.connect(lambda v: text_size.set_points(0 if v < MIN_TEXT_SIZE else v))
        self.start_view = self._choices("startViewChoice", self.START_VIEWS, start_view.choice, start_view.set_choice)
        self.remote_images = QCheckBox("Load images from the network", self)
        self.remote_images.setObjectName("remoteImagesCheck")
        self.remote_images.setChecked(remote_images.enabled)
        self.remote_images.toggled.connect(remote_images.set_enabled)
        # The View menu's entry may change it while the dialog is open.
        remote_images.changed.connect(self.remote_images.setChecked)
        self.refresh_minutes = QSpinBox(self)
        self.refresh_minutes.setObjectName("refreshMinutes")
        self.refresh_minutes.setRange(0, 24 * 60)
        self.refresh_minutes.setSuffix(" min")
        self.refresh_minutes.setSpecialValueText("Never")
        self.refresh_minutes.setValue(refresh.minutes)
        self.refresh_minutes.valueChanged.connect(refresh.set_minutes)
        self.cleanup_days = QSpinBox(self)
        self.cleanup_days.setObjectName("cleanupDays")
        self.cleanup_days.setRange(0, 3650)
        self.cleanup_days.setSuffix(" days")
        self.cleanup_days.setSpecialValueText("Never")
        self.cleanup_days.setValue(retention.days)
        self.cleanup_days.setToolTip("After each refresh; starred and unread articles always stay")
        self.cleanup_days.valueChanged.connect(retention.set_days)
        self.tray_icon = QCheckBox("Show an icon in the system tray", self)
        self.tray_icon.setObjectName("trayIconCheck")
        self.tray_icon.setChecked(tray.shown)
        self.close_to_tray = QCheckBox("Closing the window keeps Reader in the tray", self)
        self.close_to_tray.setObjectName("closeToTrayCheck")
        self.close_to_tray.setChecked(tray.close_to_tray)
        self.close_to_tray.setEnabled(tray.shown)
        self.tray_icon.toggled.connect(tray.set_shown)
        self.tray_icon.toggled.connect(self.close_to_tray.setEnabled)
        self.close_to_tray.toggled.connect(tray.set_close_to_tray)
        if not tray.has_tray:
            for box in (self.tray_icon, self.close_to_tray):
                box.setEnabled(False)
                box.setToolTip("This desktop shows no tray icons")
        form = QFormLayout()
        form.addRow("Theme:", self.theme)
        form.addRow("Reading font:", self.reading_font)
        form.addRow("Reading text size:", self.text_size)
        form.addRow("Open with:", self.start_view)
        form.addRow("Remote images:", self.remote_images)
        form.addRow("Refresh feeds every:", self.refresh_minutes)
        form.addRow("Remove read articles older than:", self.cleanup_days)
        form.addRow("Tray:", self.tray_icon)
        form.addRow("", self.close_to_tray)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _choices(
        self, name: str, choices: Sequence[tuple[str, str]], current: str, choose: Callable[[str], None]
    ) -> QComboBox:
        box = QComboBox(self)
        box.setObjectName(name)
        for label, value in choices:
            box.addItem(label, value)
        box.setCurrentIndex(max(0, box.findData(current)))
        box.currentIndexChanged.connect(lambda _i: choose(str(box.currentData())))
        return box
