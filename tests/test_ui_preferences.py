"""File > Preferences…: theme, reading font, remote images, refresh interval; each applied at once
and remembered; the theme applied before the first paint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import KNOWN_COUNT, OFFSCREEN_SIZE_HINTS
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


def with_flags(store: Store) -> tuple[list[int], int]:
    """The known store with its newest three articles read and the fifth starred: (ids newest
    first, the starred one's id)."""
    from reader.records import Query

    ids = [row.id for row in store.page(Query(), None, 100).rows]
    store.set_read(ids[:3], True)
    store.set_starred(ids[4], True)
    return ids, ids[4]


def test_start_up_view_unread_lists_the_unread_and_marks_nothing_read(
    qtbot: Any, window_factory: Any, known_store: Store, tmp_path: Path
) -> None:
    ids, _starred = with_flags(known_store)
    path = tmp_path / "start.ini"
    settings = Settings(path)
    settings.start_view = "unread"
    settings.last_article = ids[0]  # read: the Unread list does not hold it
    settings.sync()
    window = window_factory(known_store, path)
    model = window.model
    assert model.query.view == "unread"
    assert all(not model.is_read(r) for r in range(model.rowCount()))
    assert model.article_id(0) == ids[3]
    # The pane shows what the list selected (its first article), not the read one it does not list.
    assert window.pane.article is not None and window.pane.article.id == ids[3]
    assert window.list.current_row() == 0 and not model.is_read(0), "the window's own pick is not read"
    # The sidebar highlights Unread once its entries are in (the counts come after the first paint).
    qtbot.waitUntil(lambda: window.sidebar.count() > 3)
    assert window.sidebar.currentItem().text().startswith("Unread")
    assert window.sidebar.current_key.view == "unread"
    flags_stored_in(qtbot, window)
    assert known_store.get(ids[3]).read is False


def flags_stored_in(qtbot: Any, window: Any) -> None:
    from conftest import flags_stored

    flags_stored(qtbot, window)


def test_start_up_view_starred(qtbot: Any, window_factory: Any, known_store: Store, tmp_path: Path) -> None:
    _ids, starred = with_flags(known_store)
    path = tmp_path / "start.ini"
    settings = Settings(path)
    settings.start_view = "starred"
    settings.sync()
    window = window_factory(known_store, path)
    assert window.model.query.view == "starred" and window.model.rowCount() == 1
    assert window.pane.article.id == starred


def test_start_up_view_last_used_reopens_the_sidebar_entry_chosen_last(
    qtbot: Any, window_factory: Any, known_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "start.ini"
    first = window_factory(known_store, path)
    dialog = open_preferences(first)
    assert dialog.start_view.currentText() == "All articles"
    choose(dialog.start_view, "Last view used")
    assert stored(first).start_view == "last"
    qtbot.waitUntil(lambda: first.sidebar.count() > 3)
    beta = next(i for i in range(first.sidebar.count()) if first.sidebar.item(i).text().lower().startswith("beta"))
    first.sidebar.on_item_clicked(first.sidebar.item(beta))
    assert first.model.query.source == "beta"
    assert stored(first).last_view == "source:beta"
    first.close()

    second = window_factory(known_store, path)
    assert second.model.query.source == "beta" and second.model.rowCount() == KNOWN_COUNT // 2
    assert {second.model.row(r).source for r in range(second.model.rowCount())} == {"beta"}
    qtbot.waitUntil(lambda: second.sidebar.count() > 3)
    assert second.sidebar.currentItem().text().lower().startswith("beta")


def test_a_start_up_feed_that_is_gone_falls_back_to_all_articles(
    qtbot: Any, window_factory: Any, known_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "start.ini"
    settings = Settings(path)
    settings.start_view = "last"
    settings.last_view = "feed:999"
    settings.sync()
    window = window_factory(known_store, path)
    qtbot.waitUntil(lambda: window.sidebar.count() > 3)
    qtbot.waitUntil(lambda: window.model.query.feed_id is None)
    assert window.model.rowCount() > 0 and window.sidebar.currentItem().text().startswith("All articles")


def test_text_size_from_the_dialog_persists_and_the_zoom_keys_work_on_top(
    qtbot: Any, window_factory: Any, known_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "size.ini"
    window = window_factory(known_store, path)
    pane = window.pane
    default = pane.body_font().pointSizeF()
    dialog = open_preferences(window)
    assert dialog.text_size.text() == "Default"
    dialog.text_size.setValue(16)
    assert pane.body_font().pointSizeF() == 16.0
    assert "font-size:16.0pt" in pane.render_html(pane.article)
    assert stored(window).text_size == 16
    window.action_registry[Action.ZOOM_IN].trigger()
    assert pane.body_font().pointSizeF() > 16.0
    assert window.statusBar().currentMessage().startswith("Text size 1")  # against the chosen size
    zoomed = pane.body_font().pointSizeF()
    window.close()

    again = window_factory(known_store, path)
    assert again.pane.body_font().pointSizeF() == zoomed, "the size and the zoom on it both persist"
    dialog = open_preferences(again)
    assert dialog.text_size.value() == 16
    again.action_registry[Action.ZOOM_RESET].trigger()
    assert again.pane.body_font().pointSizeF() == 16.0
    dialog.text_size.setValue(dialog.text_size.minimum())  # "Default"
    assert again.pane.body_font().pointSizeF() == default
    assert stored(again).text_size == 0
