"""The application's theme: the platform's palette, or a light or a dark one forced.

Every widget takes its colours from the palette (the list's delegate, the reading pane's HTML, the
placeholders), so setting the application's palette is the whole of a theme: the pane re-renders
on the PaletteChange it is sent.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

#: The platform's style, as it was before a theme was first forced (System puts it back).
_system_style: str | None = None
#: Styles that draw with the platform's own colours and ignore a palette: a forced theme uses
#: Fusion there, which follows it.
_NATIVE_STYLES = ("windowsvista", "windows11")

Role = QPalette.ColorRole
Group = QPalette.ColorGroup


def _palette(colors: dict[QPalette.ColorRole, str], disabled: dict[QPalette.ColorRole, str]) -> QPalette:
    palette = QPalette()
    for role, color in colors.items():
        palette.setColor(role, QColor(color))
    for role, color in disabled.items():
        palette.setColor(Group.Disabled, role, QColor(color))
    return palette


def dark_palette() -> QPalette:
    """Light text on dark grey; links a light blue that reads on it."""
    return _palette(
        {
            Role.Window: "#2b2b2b",
            Role.WindowText: "#e6e6e6",
            Role.Base: "#1e1e1e",
            Role.AlternateBase: "#262626",
            Role.Text: "#e6e6e6",
            Role.PlaceholderText: "#8c8c8c",
            Role.Button: "#353535",
            Role.ButtonText: "#e6e6e6",
            Role.BrightText: "#ff6b6b",
            Role.Highlight: "#2f65ca",
            Role.HighlightedText: "#ffffff",
            Role.ToolTipBase: "#353535",
            Role.ToolTipText: "#e6e6e6",
            Role.Link: "#7ab4ff",
            Role.LinkVisited: "#b59cff",
            Role.Light: "#4a4a4a",
            Role.Midlight: "#3f3f3f",
            Role.Mid: "#303030",
            Role.Dark: "#1a1a1a",
            Role.Shadow: "#000000",
        },
        {Role.WindowText: "#7f7f7f", Role.Text: "#7f7f7f", Role.ButtonText: "#7f7f7f", Role.HighlightedText: "#bfbfbf"},
    )


def light_palette() -> QPalette:
    """Dark text on white, whatever the platform's scheme."""
    return _palette(
        {
            Role.Window: "#efefef",
            Role.WindowText: "#1a1a1a",
            Role.Base: "#ffffff",
            Role.AlternateBase: "#f5f5f5",
            Role.Text: "#1a1a1a",
            Role.PlaceholderText: "#7f7f7f",
            Role.Button: "#efefef",
            Role.ButtonText: "#1a1a1a",
            Role.BrightText: "#ffffff",
            Role.Highlight: "#308cc6",
            Role.HighlightedText: "#ffffff",
            Role.ToolTipBase: "#ffffdc",
            Role.ToolTipText: "#000000",
            Role.Link: "#0b57d0",
            Role.LinkVisited: "#6f3fb5",
            Role.Light: "#ffffff",
            Role.Midlight: "#cacaca",
            Role.Mid: "#b8b8b8",
            Role.Dark: "#9f9f9f",
            Role.Shadow: "#767676",
        },
        {Role.WindowText: "#9a9a9a", Role.Text: "#9a9a9a", Role.ButtonText: "#9a9a9a"},
    )


def apply_theme(theme: str) -> None:
    """Give the application the palette of ``theme`` ("system", "light" or "dark"). Called before
    the window is first painted, and when the Preferences change it."""
    global _system_style
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    if _system_style is None:
        if theme == "system":
            return  # nothing forced yet: the platform's palette is already there
        _system_style = app.style().name()
    if theme == "system":
        if app.style().name() != _system_style:
            app.setStyle(_system_style)
        # A palette with no role set: every colour the platform's again, following its scheme
        # when that changes (a copy of its palette would stay as it was).
        app.setPalette(QPalette())
        return
    if app.style().name().lower() in _NATIVE_STYLES:
        app.setStyle("Fusion")
    app.setPalette(dark_palette() if theme == "dark" else light_palette())
