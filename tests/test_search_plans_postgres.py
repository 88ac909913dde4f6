"""PostgreSQL's newest-first search plans list what the plain query lists, page by page.

A search newest first walks the newest rows, then either collects the rest of the matches from the
GIN index or walks on (see PostgresStore._search_newest_rows). Each plan is forced here on a real
server (tests/postgres.py) and its keyset pages compared with the plain query; a cursor from one
plan goes on in another.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import all_pages
from test_store_perf_plans import SEARCHES, fill

from reader.records import Query
from reader.store.postgres import PostgresStore
from reader.store.protocol import open_store

HUGE = 10**12
#: How each plan is forced: the walk's first window (beyond the page), the share of matches
#: below which the rest is collected, and how many matches may be collected.
PLANS: dict[str, dict[str, float]] = {
    # Windows of the page and a fifth, then twice as many rows each time, never collecting.
    "walk": {"WALK_SLACK": 0, "WALK_GROWTH": 2, "WALK_DENSITY": 0},
    # One window walked, the rest from the GIN index.
    "collect": {"WALK_SLACK": 0, "WALK_DENSITY": HUGE, "COLLECT_MATCHES": HUGE},
    # One window walked, too many matches to collect: walking on.
    "collect refused, walk on": {"WALK_SLACK": 0, "WALK_DENSITY": HUGE, "COLLECT_MATCHES": 0, "WALK_GROWTH": 3},
    "as chosen": {},
}
VIEWS = [Query(), Query(view="unread"), Query(view="starred"), Query(source="post"), Query(feed_id=1)]


@pytest.fixture(scope="module")
def filled(postgres_server: Any) -> str:
    """A database with perf_plans' 420 articles (300 seed records, 120 of a feed), a third read
    and a seventh starred by the store's person: made once, only read by the tests."""
    url = str(postgres_server.new_database())  # (its own: other tests empty the shared one)
    with open_store(url) as s:
        fill(s)
    return url


@pytest.fixture
def store(filled: str) -> Iterator[Any]:
    with open_store(filled) as s:
        yield s


def reference(store: Any, query: Query) -> list[int]:
    """The plain query: every match with the filters, sorted by date (the planner's own plan)."""
    filters = store._filters_matching(query)
    if filters is None:
        return []
    where, params = filters
    sql = f"SELECT a.id FROM {store._STATE_JOIN}" + (" WHERE " + " AND ".join(where) if where else "")
    with store._reading() as conn:
        return [r[0] for r in conn.execute(sql + " ORDER BY a.sort_ts DESC, a.id DESC", [store.person, *params])]


def force(monkeypatch: pytest.MonkeyPatch, plan: str) -> None:
    for name, value in PLANS[plan].items():
        monkeypatch.setattr(PostgresStore, name, value)


def collections(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """What each collect of the GIN index found from now on (None: too many)."""
    found: list[int | None] = []
    collect = PostgresStore._collected_ids

    def counted(self: PostgresStore, *args: Any) -> list[int] | None:
        ids = collect(self, *args)
        found.append(None if ids is None else len(ids))
        return ids

    monkeypatch.setattr(PostgresStore, "_collected_ids", counted)
    return found


@pytest.mark.parametrize("plan", PLANS)
def test_every_newest_first_plan_lists_what_the_plain_query_lists(
    store: Any, monkeypatch: pytest.MonkeyPatch, plan: str
) -> None:
    force(monkeypatch, plan)
    found = collections(monkeypatch)
    listed = 0
    for view, limit in itertools.product(VIEWS, (1, 6, 50)):
        for text in SEARCHES:
            query = Query(view=view.view, source=view.source, feed_id=view.feed_id, search=text)
            expected = reference(store, query)
            assert all_pages(store, query, limit) == expected, (view, limit, text)
            listed += len(expected)
    assert listed > 10_000, "the searches must list enough for the pages to mean something"
    # The plan forced is the one taken: collecting found matches, or was refused, or never ran.
    if plan == "collect":
        assert found and all(n is not None for n in found) and max(n or 0 for n in found) > 50
    elif plan == "collect refused, walk on":
        assert None in found
    elif plan == "walk":
        assert found == []


def test_a_cursor_from_one_plan_goes_on_in_another(store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    plans = itertools.cycle(PLANS)
    for view in VIEWS:
        for text in ("alpha", "alp", "gamma", "zeta gam", "omega"):
            query = Query(view=view.view, source=view.source, feed_id=view.feed_id, search=text)
            seen: list[int] = []
            after = None
            while True:
                with monkeypatch.context() as m:
                    for name, value in PLANS[next(plans)].items():
                        m.setattr(PostgresStore, name, value)
                    page = store.page(query, after, 4)
                seen += [r.id for r in page.rows]
                if page.next_cursor is None:
                    break
                after = page.next_cursor
            assert seen == reference(store, query), (view, text)


def test_a_rare_word_is_collected_and_a_common_one_walked(store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    found = collections(monkeypatch)
    # "alpha" is in 9 articles of 10: the first window (70 rows) fills a page of 50.
    assert len(store.page(Query(search="alpha"), None, 50).rows) == 50
    assert found == []
    # "omega" is only in the 12 oldest articles: none among the newest rows, so collected.
    assert len(store.page(Query(search="omega"), None, 50).rows) == 12
    assert found == [12]
