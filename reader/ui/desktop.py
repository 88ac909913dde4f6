"""Handing URLs to the system browser: the one place that does it.

The keys, the reading pane's links and ``reader open ID`` all come here. Only ``http``, ``https`` and
``mailto`` URLs are ever handed over; anything else (``javascript:``, ``file:``, ``data:``) is refused.
"""

from __future__ import annotations

import os
import shutil

from PySide6.QtCore import QProcess, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})


def refusal(url: str | QUrl) -> str | None:
    """Why ``url`` may not be opened, or None when it may."""
    qurl = url if isinstance(url, QUrl) else QUrl(url.strip())
    text = qurl.toString() if isinstance(url, QUrl) else url
    if not qurl.isValid() or not qurl.scheme():
        return f"not opening {text!r}: not a valid web address"
    if qurl.scheme().lower() not in SAFE_SCHEMES:
        return f"not opening {qurl.scheme()}: link (only http, https and mailto open in the browser)"
    if qurl.scheme().lower() in ("http", "https") and not qurl.host():
        return f"not opening {text!r}: no host"
    return None


def open_url(url: str | QUrl) -> str | None:
    """Open ``url`` in the system browser. Returns None on success, else a one-line reason."""
    reason = refusal(url)
    if reason is not None:
        return reason
    qurl = url if isinstance(url, QUrl) else QUrl(url.strip())
    if QDesktopServices.openUrl(qurl):
        return None
    return f"the system could not open {qurl.toString()}"


def open_url_standalone(url: str) -> str | None:
    """``reader open``: the same :func:`open_url`, from a command line without a window.

    Qt needs a GUI application object for :class:`QDesktopServices`. Without a display (a plain
    terminal, ssh), Qt's offscreen platform has no desktop services, so ``xdg-open`` is launched
    directly, after the same check.
    """
    reason = refusal(url)
    if reason is not None:
        return reason
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if not has_display:
        opener = shutil.which("xdg-open")
        if opener is None:
            return "no display and no xdg-open: cannot reach a browser"
        ok, _pid = QProcess.startDetached(
            opener, [QUrl(url.strip()).toString(QUrl.ComponentFormattingOption.FullyEncoded)]
        )
        return None if ok else f"could not start {opener}"
    app = QGuiApplication.instance() or QGuiApplication([])
    try:
        return open_url(url)
    finally:
        del app
