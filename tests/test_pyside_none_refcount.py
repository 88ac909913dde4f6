"""Guards the PySide6 pin: some releases drop a reference to None when a Python override returns
None (as every model's data() does for roles it does not serve). On Python 3.11, where None is not
immortal, the interpreter then aborts ("none_dealloc") after a few thousand calls: PySide6 6.12.0
did this. This test makes enough such calls that a leaking release crashes it."""

from __future__ import annotations

import sys

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from reader.ui.article_model import ArticleRole


class _NoneModel(QAbstractListModel):
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 1

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> None:
        return None


def test_returning_none_from_data_keeps_none_alive(qapp: object) -> None:
    model = _NoneModel()
    index = model.index(0)
    before = sys.getrefcount(None)
    for _ in range(50_000):
        assert index.data(ArticleRole.thumbnail) is None
    # A leaking binding loses one reference per call; a sound one keeps the count (or adds a few).
    assert sys.getrefcount(None) >= before - 100
