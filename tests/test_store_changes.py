"""What a shared store's commits tell the listening windows (reader.store.changes, LISTEN/NOTIFY on
the tests' real PostgreSQL): a commit that adds, changes or removes articles, or changes a
person's flags, sends one small change; nothing changed or rolled back, nothing sent."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import pytest

from reader.records import Article
from reader.store import open_store
from reader.store.changes import ORIGIN, Change, ChangeListener


@pytest.fixture
def heard(postgres_url: str) -> Iterator[queue.Queue[Change]]:
    changes: queue.Queue[Change] = queue.Queue()
    listener = ChangeListener(postgres_url, changes.put, lambda line: None)
    listener.start()
    assert listener.listening.wait(15)
    try:
        yield changes
    finally:
        listener.stop()


def next_change(changes: queue.Queue[Change]) -> Change:
    return changes.get(timeout=10)


def seeds(n: int, start: int = 0) -> list[Article]:
    return [Article(source="wire", title=f"Story {i}", url=f"https://wire.example/{i}") for i in range(start, n)]


def test_commits_that_change_articles_or_flags_say_so_and_others_do_not(
    postgres_url: str, heard: queue.Queue[Change]
) -> None:
    with open_store(postgres_url, person="ann") as store:
        store.add_articles(seeds(3))
        change = next_change(heard)
        newest = store.page().rows[0].id
        assert change == Change("articles", 3, "ann", ORIGIN) and newest <= 3
        assert store.add_articles(seeds(3)).added == 0  # nothing new: nothing said
        store.set_read([1, 2])
        assert next_change(heard) == Change("state", 3, "ann", ORIGIN), "nothing before it: the re-import was quiet"
        assert store.set_read([1]) == 0
        with pytest.raises(RuntimeError), store.transaction():
            store.add_articles(seeds(5, 3))
            raise RuntimeError("rolled back")
        store.set_starred(3)
        assert next_change(heard).kind == "state", "the rolled-back import said nothing"
        feed = store.add_feed("https://wire.example/feed.xml", "Wire")
        store.unsubscribe(feed.id)
        assert next_change(heard).kind == "removed"
    assert heard.empty()


def test_a_change_concerns_other_processes_and_only_the_person_for_flags() -> None:
    other = "0" * 16
    assert not Change("articles", 5, "ann", ORIGIN).concerns("ann"), "this process's jobs list again themselves"
    assert Change("articles", 5, "bob", other).concerns("ann")
    assert Change("removed", 5, "bob", other).concerns("ann")
    assert Change("state", 5, "ann", other).concerns("ann")
    assert not Change("state", 5, "bob", other).concerns("ann")
    assert Change.parse("not json") is None and Change.parse('{"kind": "articles"}') is None


def test_payloads_stay_small(postgres_url: str, heard: queue.Queue[Change]) -> None:
    """However many articles a commit brings, the notification is one short line."""
    import psycopg

    got: list[Any] = []
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("LISTEN reader_articles")
        with open_store(postgres_url) as store:
            store.add_articles(seeds(500))
        got = list(conn.notifies(timeout=10, stop_after=1))
    assert len(got) == 1 and len(got[0].payload) < 200


def test_what_rules_hide_and_label_is_said_to_everyone(postgres_url: str, heard: queue.Queue[Change]) -> None:
    """Hidden articles and labels are everyone's: a change to them reloads every window's list."""
    with open_store(postgres_url, person="ann") as store:
        store.add_articles(seeds(3))
        assert next_change(heard).kind == "articles"
        store.add_rule("quiet", "story", "hide")
        assert sum(store.apply_rules().values()) == 3
        kinds = {next_change(heard).kind, next_change(heard).kind}  # (hiding marks read too: the person's)
        assert kinds == {"state", "articles"}, "hiding was not said"
        assert store.set_hidden([1], False) == 1
        assert next_change(heard).kind == "articles"
        assert store.add_label([1], "Kept") == 1
        assert next_change(heard).kind == "articles"
        assert store.remove_label([1], "Kept") == 1
        assert next_change(heard).kind == "articles"
        assert store.remove_label([1], "Kept") == 0  # nothing changed: nothing said
        store.set_starred(2)
        assert next_change(heard).kind == "state"
    assert heard.empty()
