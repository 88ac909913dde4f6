"""ArticleListModel: keyset pages under the model tester, and read/star state reaching the store."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import KNOWN_COUNT, TOPICS, known_title
from PySide6.QtCore import QModelIndex, Qt

from reader.store import Query, Store
from reader.ui.article_model import ArticleListModel, ArticleRole, Flag

PAGE = 7  # 40 rows -> pages of 7, 7, 7, 7, 7, 5


@pytest.fixture
def model(known_store: Store, qapp: Any) -> ArticleListModel:
    model = ArticleListModel(known_store, page_size=PAGE)
    model.set_query(Query())
    return model


def model_ids(model: ArticleListModel) -> list[int]:
    return [model.index(r).data(ArticleRole.id) for r in range(model.rowCount())]


def store_ids(store: Store, query: Query | None = None) -> list[int]:
    return [row.id for row in store.iter_rows(query or Query(), page_size=1000)]


def fetch_all(model: ArticleListModel) -> int:
    pages = 0
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
        pages += 1
        assert pages < 100, "fetchMore never ends"
    return pages


@pytest.mark.parametrize("force_py", [False, True], ids=["qt-tester", "py-tester"])
def test_model_tester_through_pages_and_reset(
    model: ArticleListModel, known_store: Store, qtmodeltester: Any, force_py: bool
) -> None:
    qtmodeltester.check(model, force_py=force_py)
    assert 0 < model.rowCount() < KNOWN_COUNT, "the first page only, not everything at once"
    assert model.rowCount() % PAGE == 0
    # The tester stays attached: every page inserted and every reset below is checked as it happens.
    model.fetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    fetch_all(model)
    assert not model.canFetchMore(QModelIndex())
    assert model.rowCount() == KNOWN_COUNT
    # Newest first, exactly the store's listing: no gaps, no duplicates.
    assert model_ids(model) == store_ids(known_store)
    assert len(set(model_ids(model))) == KNOWN_COUNT
    assert [model.index(r).data(Qt.ItemDataRole.DisplayRole) for r in range(KNOWN_COUNT)] == [
        known_title(i) for i in range(KNOWN_COUNT)
    ]
    published = [model.index(r).data(ArticleRole.published) for r in range(KNOWN_COUNT)]
    assert published == sorted(published, reverse=True)
    assert len(set(published)) == KNOWN_COUNT

    # A new query resets the model; pages again, under the tester.
    search = Query(search=TOPICS[1])
    with_reset = []
    model.modelReset.connect(lambda: with_reset.append(True))
    model.set_query(search)
    assert with_reset
    assert model.query == search
    fetch_all(model)
    assert not model.canFetchMore(QModelIndex())
    assert model_ids(model) == store_ids(known_store, search)
    assert model.rowCount() == KNOWN_COUNT // len(TOPICS)

    # Back to everything, and reload keeps the query.
    model.set_query(Query())
    fetch_all(model)
    model.reload()
    assert model.query == Query()
    fetch_all(model)
    assert model_ids(model) == store_ids(known_store)


def test_page_size_multiple_of_rows_ends_cleanly(known_store: Store, qtmodeltester: Any) -> None:
    """40 rows in pages of 8: the last fetch finds an empty page and must stop without inserting."""
    model = ArticleListModel(known_store, page_size=8)
    qtmodeltester.check(model)
    model.set_query(Query())
    fetch_all(model)
    assert model.rowCount() == KNOWN_COUNT
    assert not model.canFetchMore(QModelIndex())
    assert model_ids(model) == store_ids(known_store)


def test_empty_query_result(known_store: Store, qtmodeltester: Any) -> None:
    model = ArticleListModel(known_store, page_size=PAGE)
    model.set_query(Query(search="nosuchwordanywhere"))
    qtmodeltester.check(model)
    assert model.rowCount() == 0
    assert not model.canFetchMore(QModelIndex())


def test_roles(model: ArticleListModel, known_store: Store) -> None:
    index = model.index(5)
    item = index.data(ArticleRole.item)
    stored = known_store.get(item.id)
    assert stored is not None
    assert index.data(ArticleRole.id) == stored.id
    assert index.data(ArticleRole.source) == stored.source
    assert index.data(ArticleRole.author) == stored.author
    assert index.data(ArticleRole.url) == stored.url
    assert index.data(ArticleRole.published) == stored.published
    assert index.data(ArticleRole.read) is False
    assert index.data(ArticleRole.starred) is False
    assert index.data(Qt.ItemDataRole.DisplayRole) == stored.title
    assert index.data(Qt.ItemDataRole.EditRole) is None  # roles it does not serve
    with pytest.raises(AttributeError):
        item.read = True  # type: ignore[misc]  # the whole record, frozen
    assert {ArticleRole.item.name.encode(), b"read", b"starred"} <= {v.data() for v in model.roleNames().values()}
    assert ArticleRole.item >= Qt.ItemDataRole.UserRole


def data_changed_recorder(model: ArticleListModel) -> list[tuple[int, int, set[int]]]:
    seen: list[tuple[int, int, set[int]]] = []
    model.dataChanged.connect(lambda tl, br, roles: seen.append((tl.row(), br.row(), {int(r) for r in roles})))
    return seen


def test_set_read_emits_precise_roles_and_writes_store(
    model: ArticleListModel, known_store: Store, qtbot: Any, qtmodeltester: Any
) -> None:
    qtmodeltester.check(model)
    row = 3
    article_id = model.row(row).id
    expected = {int(ArticleRole.read), int(ArticleRole.item)}

    def precise(top_left: QModelIndex, bottom_right: QModelIndex, roles: list[int]) -> bool:
        return top_left.row() == bottom_right.row() == row and {int(r) for r in roles} == expected

    with qtbot.waitSignal(model.dataChanged, timeout=1000, check_params_cb=precise):
        model.set_read(row, True)
    assert known_store.get(article_id).read is True
    assert model.index(row).data(ArticleRole.read) is True
    assert model.index(row).data(ArticleRole.item).read is True

    # Setting the same state again changes nothing and says nothing.
    with qtbot.assertNotEmitted(model.dataChanged):
        model.set_read(row, True)

    seen = data_changed_recorder(model)
    model.toggle_read(row)
    assert seen == [(row, row, expected)]
    assert known_store.get(article_id).read is False
    assert model.index(row).data(ArticleRole.read) is False


def test_toggle_starred_emits_precise_roles_and_writes_store(
    model: ArticleListModel, known_store: Store, qtbot: Any, qtmodeltester: Any
) -> None:
    qtmodeltester.check(model)
    row = 2
    article_id = model.row(row).id
    expected = {int(ArticleRole.starred), int(ArticleRole.item)}
    seen = data_changed_recorder(model)
    model.toggle_starred(row)
    assert seen == [(row, row, expected)]
    assert known_store.get(article_id).starred is True
    assert model.index(row).data(ArticleRole.starred) is True
    assert known_store.get(article_id).read is False, "starring does not mark read"
    model.toggle_starred(row)
    assert seen[1] == (row, row, expected)
    assert known_store.get(article_id).starred is False
    assert model.index(row).data(ArticleRole.starred) is False


def test_mark_rows_read_after_bulk_write(model: ArticleListModel, known_store: Store) -> None:
    model.set_read(1, True)
    seen = data_changed_recorder(model)
    model.mark_rows_read({model.row(0).id, model.row(4).id, model.row(1).id})
    assert len(seen) == 1
    first, last, roles = seen[0]
    assert (first, last) == (0, 4)
    assert int(ArticleRole.read) in roles
    assert int(ArticleRole.starred) not in roles
    assert [model.row(r).read for r in range(6)] == [True, True, False, False, True, False]


def test_thumbnail_arrived_repaints_only_the_thumbnail(model: ArticleListModel) -> None:
    seen = data_changed_recorder(model)
    model.thumbnail_arrived(4)
    assert seen == [(4, 4, {int(ArticleRole.thumbnail)})]


def test_find_row_fetches_pages_until_found(model: ArticleListModel, known_store: Store) -> None:
    last_id = store_ids(known_store)[-1]
    assert model.row_of(last_id) is None
    assert model.find_row(last_id) == KNOWN_COUNT - 1
    assert model.find_row(10**9) is None


class RecordingSink:
    """A FlagSink that only records: every write stays pending."""

    def __init__(self) -> None:
        self.writes: list[tuple[Flag, int, bool, bool]] = []
        self.queued: dict[tuple[Flag, int], bool] = {}

    def write(self, flag: Flag, article_id: int, value: bool, *, was: bool) -> None:
        self.writes.append((flag, article_id, value, was))
        self.queued[(flag, article_id)] = value

    def pending(self, flag: Flag, article_id: int) -> bool | None:
        return self.queued.get((flag, article_id))

    def any_pending(self, flag: Flag | None = None) -> bool:
        return any(flag is None or key[0] is flag for key in self.queued)


def test_with_a_flag_sink_flags_show_at_once_and_pending_ones_over_reloads(
    known_store: Store, qapp: Any, qtmodeltester: Any
) -> None:
    sink = RecordingSink()
    model = ArticleListModel(known_store, page_size=PAGE, flags=sink)
    model.set_query(Query())
    qtmodeltester.check(model)
    first, second = model.row(0).id, model.row(1).id
    seen = data_changed_recorder(model)
    model.set_read(0, True)
    model.toggle_starred(1)
    assert seen == [
        (0, 0, {int(ArticleRole.read), int(ArticleRole.item)}),
        (1, 1, {int(ArticleRole.starred), int(ArticleRole.item)}),
    ]
    assert sink.writes == [(Flag.READ, first, True, False), (Flag.STARRED, second, True, False)]
    assert known_store.get(first).read is False, "the model wrote nothing itself"
    assert model.row(0).read and model.row(1).starred

    model.reload()  # read back from the store: the pending flags still show
    assert model.index(0).data(ArticleRole.read) is True and model.row(0).read is True
    assert model.index(1).data(ArticleRole.starred) is True
    assert not model.reload_owed, "the All view's rows do not depend on flags"
    model.set_query(Query(view="starred"))
    assert model.rowCount() == 0 and model.reload_owed, "the star is not stored yet: read again later"

    model.set_query(Query())
    model.show_flags(Flag.READ, {first: False})  # a refused write, taken back
    assert model.index(0).data(ArticleRole.read) is False
    fetch_all(model)
    assert model.rowCount() == KNOWN_COUNT


@pytest.mark.parametrize("force_py", [False, True], ids=["qt-tester", "py-tester"])
def test_a_short_first_page_then_the_rest_of_it_then_whole_pages(
    known_store: Store, qtmodeltester: Any, qapp: Any, force_py: bool
) -> None:
    """The window's start: only the rows it shows before the first paint (issue 16); the next
    fetch reads the rest of that page, and pages stay whole after it."""
    model = ArticleListModel(known_store, page_size=PAGE)
    model.set_query(Query(), first_page=3)
    assert model.rowCount() == 3
    model.fetchMore(QModelIndex())
    assert model.rowCount() == PAGE
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 2 * PAGE
    qtmodeltester.check(model, force_py=force_py)  # (it fetches too; it stays attached from here)
    model.set_query(Query(), first_page=3)
    fetch_all(model)
    assert model_ids(model) == store_ids(known_store)
    model.set_query(Query(), first_page=100)  # (never more than a page)
    assert model.rowCount() == PAGE
