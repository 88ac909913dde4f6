"""The Qt user interface: the only part of Reader that imports PySide6."""
