"""The search field: type to filter, throttled so one query runs per pause (the latest wins)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLineEdit, QWidget

#: Pause after the last key press before the search runs.
THROTTLE_MS = 180


class SearchBar(QLineEdit):
    """Signals:
    search_changed(str): the text to search for, once typing pauses (or at once on Enter).
    escaped(): Esc was pressed; the field is cleared and the list should take focus.
    accepted(): Enter was pressed; the search has run and the list should take focus.
    """

    search_changed = Signal(str)
    escaped = Signal()
    accepted = Signal()

    def __init__(self, parent: QWidget | None = None, throttle_ms: int = THROTTLE_MS) -> None:
        super().__init__(parent)
        self.setObjectName("searchBar")
        self.setPlaceholderText("Search all articles  (/)")
        self.setToolTip(
            'Every word must match. "a phrase": its words together. title:, author:, body: or source:'
            ' before a word or a phrase: only there (source:"le monde" title:rocket)'
        )
        # (The clear button, about 10 ms of icon lookup, comes with the window's second stage: it
        # shows only once there is text.)
        self._emitted = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(throttle_ms)
        self._timer.timeout.connect(self.on_timeout)
        self.textEdited.connect(self.on_text_edited)
        self.returnPressed.connect(self.on_return_pressed)
        # The clear button edits the text without textEdited; catch it too.
        self.textChanged.connect(self.on_text_changed)

    def on_text_edited(self, _text: str) -> None:
        self._timer.start()  # restarting keeps only the latest text

    def on_text_changed(self, text: str) -> None:
        if not text and self._emitted:
            self._timer.start()

    def on_return_pressed(self) -> None:
        self.flush()
        self.accepted.emit()

    def on_timeout(self) -> None:
        self.flush()

    def flush(self) -> None:
        self._timer.stop()
        text = self.text().strip()
        if text != self._emitted:
            self._emitted = text
            self.search_changed.emit(text)

    def clear_search(self) -> None:
        self.clear()
        self.flush()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Override QLineEdit.keyPressEvent: Esc clears and hands focus back."""
        if event.key() == Qt.Key.Key_Escape:
            self.clear_search()
            self.escaped.emit()
            return
        super().keyPressEvent(event)

    def event(self, event: QEvent) -> bool:
        """Override QLineEdit.event: claim Esc and Enter before any window shortcut sees them (Enter
        would open the current article, Esc would only clear)."""
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            event.accept()
            return True
        return super().event(event)


def is_text_input(widget: QObject | None) -> bool:
    """True for widgets where a single letter is typing, not a command."""
    from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QPlainTextEdit, QTextEdit

    if isinstance(widget, QLineEdit | QAbstractSpinBox):
        return True
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    if isinstance(widget, QTextEdit | QPlainTextEdit):
        return not widget.isReadOnly()
    return False
