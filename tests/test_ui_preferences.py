"""File > Preferences…: theme, reading font, remote images, refresh interval; each applied at once
and remembered; the theme applied before the first paint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import OFFSCREEN_SIZE_HINTS
from PySide6.QtGui import QColor, QKeySequence, QPalette
from PySide6.QtWidgets import QApplication

from reader.store import Store
from reader.ui.actions import Action
from reader.ui.dialogs import PreferencesDialog
from reader.ui.settings import Settings
from reader.ui.theme import apply_theme

pytestmark = OFFSCREEN_SIZE_HINTS


@pytest.fixture(autouse=True)
def system_theme_after() -> Iterator[None]:
    """A forced palette would follow every later test: the platform's comes back."""
    yield
    apply_theme("system")


def open_preferences(window: Any) -> PreferencesDialog:
    window.action_registry[Action.PREFERENCES].trigger()
    dialog = window.preferences.dialog
    assert isinstance(dialog, PreferencesDialog) and dialog.isVisible()
    return dialog


def choose(box: Any, label: str) -> None:
    index = box.findText(label)
    assert index >= 0, label
    box.setCurrentIndex(index)


def stored(window: Any) -> Settings:
    window.settings.sync()
    return Settings(window.settings.path)


def pane_text(window: Any) -> QColor:
    return window.pane.palette().color(QPalette.ColorRole.Text)


def app_window_color() -> QColor:
    return QApplication.palette().color(QPalette.ColorRole.Window)


def test_file_menu_has_preferences_on_ctrl_comma(window: Any) -> None:
    action = window.action_registry[Action.PREFERENCES]
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "File")
    assert action in file_menu.actions()
    assert action.text() == "Preferences…"
    assert QKeySequence("Ctrl+,") in action.shortcuts()


def test_dark_theme_darkens_the_application_and_the_pane_text_is_light(qtbot: Any, window: Any) -> None:
    platform = app_window_color()
    dialog = open_preferences(window)
    choose(dialog.theme, "Dark")
    assert app_window_color().lightness() < 80
    # Widgets are told of the application's palette by an event: wait for it.
    qtbot.waitUntil(lambda: pane_text(window).lightness() > 180)
    assert window.list.palette().color(QPalette.ColorRole.Base).lightness() < 80
    html = window.pane.render_html(window.pane.article)
    dim = window.pane._dim_color()
    assert f"color:{dim}" in html and QColor(dim).lightness() > 128
    assert stored(window).theme == "dark"

    choose(dialog.theme, "Light")
    assert app_window_color().lightness() > 200
    qtbot.waitUntil(lambda: pane_text(window).lightness() < 80)
    assert stored(window).theme == "light"

    choose(dialog.theme, "Dark")
    choose(dialog.theme, "System")
    assert app_window_color() == platform
    assert stored(window).theme == "system"


def test_the_empty_pane_renders_again_in_the_new_colours(qtbot: Any, window: Any) -> None:
    window.pane.show_empty("Nothing here.")
    light = window.pane._dim_color()
    dialog = open_preferences(window)
    choose(dialog.theme, "Dark")
    qtbot.waitUntil(lambda: pane_text(window).lightness() > 180)
    dark = window.pane._dim_color()
    qtbot.waitUntil(lambda: dark in window.pane.toHtml())
    assert light not in window.pane.toHtml() and "Nothing here." in window.pane.toPlainText()


def test_the_pane_renders_again_in_the_new_colours(qtbot: Any, window: Any) -> None:
    """The meta line's dim colour is written into the HTML: a theme change must re-render it."""
    dialog = open_preferences(window)
    choose(dialog.theme, "Light")
    qtbot.waitUntil(lambda: pane_text(window).lightness() < 80)
    light = window.pane._dim_color()
    assert light in window.pane.toHtml()
    choose(dialog.theme, "Dark")
    qtbot.waitUntil(lambda: pane_text(window).lightness() > 180)
    dark = window.pane._dim_color()
    assert light != dark
    qtbot.waitUntil(lambda: dark in window.pane.toHtml())
    assert light not in window.pane.toHtml()


def test_serif_changes_the_body_font_family(qtbot: Any, window: Any) -> None:
    pane = window.pane
    sans = pane.body_font()
    dialog = open_preferences(window)
    choose(dialog.reading_font, "Serif")
    serif = pane.body_font()
    assert serif.families() != sans.families()
    from PySide6.QtGui import QFontInfo

    family = QFontInfo(serif).family()
    assert family != QFontInfo(sans).family()
    assert f"font-family:'{family}'" in pane.render_html(pane.article)
    assert stored(window).reading_font == "serif"
    choose(dialog.reading_font, "Sans")
    assert QFontInfo(pane.body_font()).family() == QFontInfo(sans).family()
    assert stored(window).reading_font == "sans"


def test_remote_images_from_the_dialog_follow_the_menu(qtbot: Any, window: Any) -> None:
    dialog = open_preferences(window)
    menu_entry = window.action_registry[Action.TOGGLE_REMOTE_IMAGES]
    assert dialog.remote_images.isChecked() and menu_entry.isChecked()
    dialog.remote_images.setChecked(False)
    assert not window.images.remote_images_enabled()
    assert not menu_entry.isChecked()
    assert stored(window).remote_images is False
    menu_entry.trigger()  # the View menu turns them back on: the dialog shows it
    assert dialog.remote_images.isChecked()
    assert stored(window).remote_images is True


def test_refresh_interval_from_the_dialog(qtbot: Any, window: Any) -> None:
    dialog = open_preferences(window)
    dialog.refresh_minutes.setValue(7)
    assert window.refreshing.timer.isActive() and window.refreshing.timer.interval() == 7 * 60_000
    assert stored(window).refresh_minutes == 7
    dialog.refresh_minutes.setValue(0)
    assert not window.refreshing.timer.isActive()
    assert stored(window).refresh_minutes == 0


def test_the_theme_and_font_are_applied_before_the_first_paint(qtbot: Any, tmp_path: Path, known_store: Store) -> None:
    from reader.ui.main_window import MainWindow

    path = tmp_path / "dark.ini"
    settings = Settings(path)
    settings.theme = "dark"
    settings.reading_font = "serif"
    settings.sync()
    window = MainWindow(known_store, Settings(path))
    qtbot.addWidget(window)
    # Built, not shown yet: nothing painted in the other colours.
    assert not window.isVisible()
    assert app_window_color().lightness() < 80
    assert window.pane.serif


def test_dark_list_rows_paint_light_text_on_dark(qtbot: Any, window: Any) -> None:
    dialog = open_preferences(window)
    choose(dialog.theme, "Dark")
    view = window.list
    qtbot.waitUntil(lambda: view.palette().color(QPalette.ColorRole.Base).lightness() < 80)
    rect = view.visualRect(window.model.index(1, 0))  # not the selected row: the plain colours
    image = view.viewport().grab(rect).toImage()
    lightness = [image.pixelColor(x, y).lightness() for x in range(image.width()) for y in range(image.height())]
    assert sum(v < 80 for v in lightness) > len(lightness) // 2  # a dark row
    assert max(lightness) > 180  # with light text on it
