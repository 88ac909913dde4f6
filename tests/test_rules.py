"""Rules: a saved search (the search field's syntax) and an action (read, star, hide, a label),
applied to new articles as they are stored (import, refresh, sync) and on request to every stored
one, each as one full-text query; synced articles' changes are queued for their server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import both_engines, import_inputs, older_store
from test_cli import reader

from reader import subscriptions
from reader.records import Article, Query
from reader.store import SCHEMA_VERSION, Store, StoreError, open_store

#: These tests run on SQLite and on PostgreSQL (tests/conftest.py).
db, store = both_engines()


def story(title: str, body: str = "", source: str = "Desk", **fields: object) -> Article:
    return Article(
        source, title, body=body or f"{title} text", url=f"https://x.example/{title.replace(' ', '-')}", **fields
    )  # type: ignore[arg-type]


def titles(store: Store, query: Query = Query()) -> list[str]:
    return sorted(row.title or "" for row in store.iter_rows(query))


def flags(store: Store) -> dict[str, tuple[bool, bool]]:
    return {row.title or "": (row.read, row.starred) for row in store.iter_rows(Query(view="all"))}


@pytest.mark.parametrize(
    ("name", "query", "action", "reason"),
    [
        ("", "harbour", "read", "a rule needs a name"),
        ("r", "  ", "read", "has no word to match"),
        ("r", "!!", "read", "has no word to match"),
        ("r", "harbour", "delete", "unknown action 'delete'"),
        ("r", "harbour", "label:", "unknown action 'label:'"),
        ("r", "harbour", "read:x", "unknown action 'read:x'"),
    ],
)
def test_a_bad_rule_is_refused_with_its_reason(store: Store, name: str, query: str, action: str, reason: str) -> None:
    with pytest.raises(StoreError, match=reason):
        store.add_rule(name, query, action)
    assert store.rules() == []


def test_a_rule_acts_on_new_articles_as_they_are_stored(store: Store) -> None:
    store.add_articles([story("harbour before")])
    store.add_rule("quiet harbour", "harbour", "read")
    with pytest.raises(StoreError, match="one by that name already"):
        store.add_rule("quiet harbour", "ferry", "star")
    store.add_articles([story("harbour news"), story("valley news"), story("harbour before")])
    assert flags(store) == {
        "harbour before": (False, False),  # stored before the rule: left for `rules apply`
        "harbour news": (True, False),
        "valley news": (False, False),
    }
    assert store.apply_rules() == {"quiet harbour": 1}
    assert flags(store)["harbour before"] == (True, False)
    assert store.apply_rules() == {"quiet harbour": 0}  # done once


def test_star_hide_and_label(store: Store) -> None:
    store.add_rule("ferries", "ferry timetable", "star")
    store.add_rule("no sport", "football", "hide")
    store.add_rule("weather", "storm", "label:Weather")
    store.add_rule("harb prefix", "harb", "label:Harbour")  # the last word from its third letter: a prefix
    store.add_articles(
        [
            story("new ferry timetable"),
            story("football results"),
            story("storm warning", "A storm over the harbour"),
            story("ferry only"),
        ]
    )
    assert flags(store)["new ferry timetable"] == (False, True)
    assert flags(store)["ferry only"] == (False, False)  # every word must match
    # Hidden: kept (and read), not listed unless asked; search does not list it either.
    assert "football results" not in titles(store)
    assert titles(store, Query(view="hidden")) == ["football results"]
    assert store.count(Query(search="football")) == 0
    assert store.get(next(r.id for r in store.iter_rows(Query(view="hidden")))).read
    assert titles(store, Query(label="Weather")) == ["storm warning"]
    assert titles(store, Query(label="Harbour")) == ["storm warning"]
    assert [(c.source, c.total, c.unread) for c in store.labels()] == [("Harbour", 1, 1), ("Weather", 1, 1)]


def test_a_rule_limited_to_a_feed_leaves_the_others(store: Store, tmp_path: Path) -> None:
    def feed(name: str) -> str:
        path = tmp_path / f"{name}.rss"
        path.write_text(
            '<?xml version="1.0"?><rss version="2.0"><channel><title>'
            + name
            + "</title><link>https://x.example/</link>"
            f"<description>x</description><item><title>{name} harbour story</title><guid>{name}-1</guid>"
            f"<link>https://x.example/{name}/1</link></item></channel></rss>",
            encoding="utf-8",
        )
        return str(path)

    gazette, herald = feed("gazette"), feed("herald")
    import_inputs(store, [("feed", gazette), ("feed", herald)])
    target = next(f for f in store.feeds() if f.title == "gazette")
    store.add_rule("gazette harbour", "harbour", "read", feed_id=target.id)
    assert store.apply_rules() == {"gazette harbour": 1}
    assert flags(store) == {"gazette harbour story": (True, False), "herald harbour story": (False, False)}

    # And on a refresh, what the feed brings is met by the rule as it is stored.
    Path(gazette).write_text(
        Path(gazette).read_text().replace("</channel>", "<item><title>second harbour story</title><guid>g2</guid>"
        "<link>https://x.example/g/2</link></item></channel>"), encoding="utf-8",
    )  # fmt: skip
    subscriptions.refresh(store, force=True)
    assert flags(store)["second harbour story"] == (True, False)


def test_a_synced_articles_change_is_queued_for_its_server(store: Store) -> None:
    account = store.add_account("alice", "https://rss.example/api/greader.php", "alice")
    store.sync_subscriptions(account.id, [("feed/1", "Remote", "https://r.example/feed", None, None)])
    feed = store.remote_feeds(account.id)["feed/1"]
    store.add_rule("star ferries", "ferry", "star")
    store.add_rule("read storms", "storm", "read")
    items = [
        (
            f"tag:google.com,2005:reader/item/{i}",
            Article(None, title, key=f"greader:alice:{i}", feed_id=feed.id),
            False,
            False,
        )
        for i, title in ((1, "ferry news"), (2, "storm news"))
    ]
    store.add_remote_articles(account.id, items)
    assert sorted(kind for _, _, kind in store.pending_changes(account.id)) == ["read", "star"]


def test_a_label_given_to_a_synced_article_is_queued_for_its_server(store: Store) -> None:
    account = store.add_account("alice", "https://rss.example/api/greader.php", "alice")
    store.sync_subscriptions(account.id, [("feed/1", "Remote", "https://r.example/feed", None, None)])
    feed = store.remote_feeds(account.id)["feed/1"]
    store.add_rule("ferries", "ferry", "label:Boats")
    store.add_remote_articles(
        account.id,
        [
            ("item/1", Article(None, "ferry news", key="greader:alice:1", feed_id=feed.id), False, False),
            ("item/2", Article(None, "storm news", key="greader:alice:2", feed_id=feed.id), False, False),
        ],
    )
    store.add_articles([story("ferry here")])  # a local article: labelled, nothing to tell a server
    assert titles(store, Query(label="Boats")) == ["ferry here", "ferry news"]
    assert [(rid, kind) for _, rid, kind in store.pending_changes(account.id)] == [("item/1", "label:Boats")]
    ids = {row.title: row.id for row in store.iter_rows()}
    # Taken away before the server heard of it: the server is told the newest, once.
    assert store.remove_label([ids["ferry news"], ids["ferry here"]], "Boats") == 2
    assert [(rid, kind) for _, rid, kind in store.pending_changes(account.id)] == [("item/1", "unlabel:Boats")]
    assert store.add_label([ids["storm news"], ids["ferry news"]], " Weather ") == 2
    assert store.add_label([ids["storm news"]], "Weather") == 0  # had it
    assert sorted((rid, kind) for _, rid, kind in store.pending_changes(account.id)) == [
        ("item/1", "label:Weather"),
        ("item/1", "unlabel:Boats"),
        ("item/2", "label:Weather"),
    ]
    with pytest.raises(StoreError, match="a label needs a name"):
        store.add_label([ids["storm news"]], " ")


def test_a_rule_limited_to_a_sync_folder(store: Store) -> None:
    account = store.add_account("alice", "https://rss.example/api/greader.php", "alice")
    store.sync_subscriptions(
        account.id,
        [
            ("feed/1", "Port", "https://r.example/1", None, "News"),
            ("feed/2", "Other", "https://r.example/2", None, None),
        ],
    )
    feeds = store.remote_feeds(account.id)
    store.add_rule("news storms", "storm", "star", folder="News")
    items = [
        (f"item/{i}", Article(None, f"storm {i}", key=f"greader:alice:{i}", feed_id=feed), False, False)
        for i, feed in ((1, feeds["feed/1"].id), (2, feeds["feed/2"].id))
    ]
    store.add_remote_articles(account.id, items)
    assert flags(store) == {"storm 1": (False, True), "storm 2": (False, False)}
    assert store.rules()[0].folder == "News"


def test_a_store_of_the_previous_schema_gains_rules(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with older_store(path, SCHEMA_VERSION - 1) as old:
        old.add_articles([story("harbour before")])
    with Store.open(path) as store:
        store.add_rule("r", "harbour", "label:Harbour")
        assert store.apply_rules() == {"r": 1}
        assert titles(store, Query(label="Harbour")) == ["harbour before"]


def test_reader_rules_from_the_command_line(db: Path) -> None:
    with open_store(db) as store:
        store.add_articles([story("harbour crane"), story("football final"), story("valley walk")])
    added = reader("--db", str(db), "rules", "add", "no sport", "--match", "football", "--action", "hide")
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("added rule no sport: 'football' -> hide")
    assert (
        reader("--db", str(db), "rules", "add", "cranes", "--match", "crane", "--action", "label:Port").returncode == 0
    )
    listed = json.loads(reader("--db", str(db), "rules", "list", "--json").stdout)
    assert listed == [
        {"name": "cranes", "match": "crane", "action": "label:Port", "feed": None, "folder": None},
        {"name": "no sport", "match": "football", "action": "hide", "feed": None, "folder": None},
    ]
    applied = reader("--db", str(db), "rules", "apply")
    assert applied.stdout == "cranes: 1 article changed\nno sport: 1 article changed\n"
    shown = [a["title"] for a in json.loads(reader("--db", str(db), "list", "--json").stdout)]
    assert sorted(shown) == ["harbour crane", "valley walk"]
    assert [a["title"] for a in json.loads(reader("--db", str(db), "list", "--hidden", "--json").stdout)] == [
        "football final"
    ]
    assert [a["title"] for a in json.loads(reader("--db", str(db), "list", "--label", "Port", "--json").stdout)] == [
        "harbour crane"
    ]
    removed = reader("--db", str(db), "rules", "remove", "cranes")
    assert removed.stdout == "removed rule cranes\n", removed.stderr
    assert "cranes" not in reader("--db", str(db), "rules", "list").stdout


def test_a_rule_matches_the_source_a_phrase_and_a_field_as_the_search_field_does(store: Store) -> None:
    store.add_articles([story("harbour crane", source="Ars Technica"), story("black hole", source="Le Monde")])
    store.add_rule("ars", "source:ars", "label:Tech")  # sources only: no full-text query at all
    store.add_rule("monde harbour", 'source:"le monde" title:harbour', "star")
    store.add_rule("holes", '"black hole"', "read")
    assert store.apply_rules() == {"ars": 1, "holes": 1, "monde harbour": 0}
    store.add_articles(
        [
            story("harbour light", source="Ars Technica"),
            story("harbour fog", source="Le Monde"),
            story("hole in the black fence", source="Le Monde"),  # both words, not the phrase
            story("fog", body="harbour words", source="Le Monde"),  # harbour, not in the title
        ]
    )
    assert titles(store, Query(label="Tech")) == ["harbour crane", "harbour light"]
    assert {t for t, (_, starred) in flags(store).items() if starred} == {"harbour fog"}
    assert {t for t, (read, _) in flags(store).items() if read} == {"black hole"}
    for query in ("source:!!", '""', 'title:""'):
        with pytest.raises(StoreError, match="has no word to match"):
            store.add_rule("x", query, "read")


def test_a_rule_on_a_source_from_the_command_line(db: Path) -> None:
    with open_store(db) as store:
        store.add_articles([story("crane one", source="Ars Technica"), story("crane two", source="Le Monde")])
    added = reader("--db", str(db), "rules", "add", "t", "--match", 'source:"ars technica"', "--action", "hide")
    assert added.returncode == 0, added.stderr
    assert reader("--db", str(db), "rules", "apply").stdout == "t: 1 article changed\n"
    shown = json.loads(reader("--db", str(db), "list", "--json").stdout)
    assert [a["source"] for a in shown] == ["Le Monde"]
    listed = json.loads(reader("--db", str(db), "list", "--search", "source:monde crane", "--json").stdout)
    assert [a["source"] for a in listed] == ["Le Monde"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "x", "--match", "", "--action", "read"], "has no word to match"),
        (["add", "x", "--match", "storm", "--action", "burn"], "unknown action 'burn'"),
        (["add", "x", "--match", "storm", "--action", "read", "--feed", "https://nowhere.example/f"], "not subscribed"),
        (["add", "x", "--match", "storm", "--action", "read", "--folder", "Nowhere"], "no feed is in a folder"),
        (["remove", "nope"], "nope: no such rule"),
        (["apply", "nope"], "nope: no such rule"),
    ],
)
def test_a_bad_rules_command_is_one_line_and_changes_nothing(db: Path, args: list[str], message: str) -> None:
    with open_store(db) as store:
        store.add_articles([story("storm")])
    done = reader("--db", str(db), "rules", *args)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr and "Traceback" not in done.stderr
    with open_store(db) as store:
        assert store.rules() == [] and flags(store) == {"storm": (False, False)}


def test_star_and_hide_act_on_stored_articles_too_and_the_totals_leave_the_hidden_out(store: Store) -> None:
    store.add_articles([story("ferry one"), story("ferry two"), story("football final"), story("valley")])
    store.add_rule("ferries", "ferry", "star")
    store.add_rule("no sport", "football", "hide")
    assert store.apply_rules() == {"ferries": 2, "no sport": 1}
    assert flags(store)["ferry one"] == (False, True)
    assert store.totals() == (3, 3, 2)  # the hidden one is listed under Hidden only
    assert store.hidden_count() == 1
    hidden = next(store.iter_rows(Query(view="hidden")))
    store.set_read([hidden.id], False)  # the person unread it: Apply to all leaves it so
    assert store.apply_rules() == {"ferries": 0, "no sport": 0}
    assert not store.get(hidden.id).read


def test_a_rule_meets_what_an_import_brings(db: Path, tmp_path: Path) -> None:
    from reader.importer import import_paths

    with open_store(db) as store:
        store.add_rule("cranes", "crane", "label:Port")
    seed = tmp_path / "cranes.txt"
    seed.write_text(
        "['https://x.example/crane', 'Gazette', 'New cranes at the port', 'A. Writer', '', '', '2024-03-02', '']\n"
        "The port's new cranes arrived on Tuesday.\n",
        encoding="utf-8",
    )
    report = import_paths(db, [str(seed)])
    assert report.problems == []
    with open_store(db) as store:
        assert store.count(Query(label="Port")) == 1 == store.totals()[0]


def test_what_a_rule_did_can_be_undone_from_the_command_line(db: Path) -> None:
    with open_store(db) as store:
        store.add_articles([story("football final"), story("harbour crane")])
        store.add_rule("no sport", "football", "hide")
        store.add_rule("cranes", "crane", "label:Port")
        store.apply_rules()
        hidden = next(store.iter_rows(Query(view="hidden"))).id
        labelled = next(store.iter_rows(Query(label="Port"))).id
    done = reader("--db", str(db), "mark", str(hidden), "--unhide")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "1 article marked unhidden\n"
    done = reader("--db", str(db), "mark", str(labelled), "--unlabel", "Port")
    assert done.stdout == "1 article marked without label Port\n"
    with open_store(db) as store:
        assert store.hidden_count() == 0 and store.labels() == []
        assert titles(store) == ["football final", "harbour crane"]
        assert store.get(hidden).read  # (hiding marked it read; listing it again leaves that)
