"""The search syntax the search field and rules share: words (all must match, the last a prefix
while typing), "a phrase" (its words next to each other, in order) and field prefixes
(``title:``, ``author:``, ``body:``: FTS5 column filters, on PostgreSQL the vectors' weights;
``source:``: the sources stored). On both engines."""

from __future__ import annotations

import pytest
from conftest import all_pages, both_engines

from reader.records import Article, Query
from reader.store import Store, fts_query, search_words
from reader.store.sqlite import parse_search

#: These tests run on SQLite and on PostgreSQL (tests/conftest.py).
db, store = both_engines()


def story(title: str, body: str, source: str | None = "Desk", author: str | None = None) -> Article:
    return Article(source, title, author=author, body=body, url=f"https://x.example/{title.replace(' ', '-')}")


@pytest.fixture
def filled(store: Store) -> Store:
    store.add_articles(
        [
            story("harbour reopens", "the ferry is back", source="Ars Technica", author="Ann Lee"),
            story("ferry strike", "no boats to the harbour today", source="Le Monde", author="Lee Ann"),
            story("black hole imaged", "astronomers saw it", source="Süddeutsche Zeitung"),
            story("black cat", "a hole in the fence", source="Ars Technica"),
            story("no source", "harbour and ferry", source=None),
        ]
    )
    return store


def found(store: Store, search: str) -> list[str]:
    rows = sorted(row.title or "" for row in store.iter_rows(Query(search=search)))
    # The count, a relevance-ordered page and every newest-first page size agree with the list.
    assert store.count(Query(search=search)) == len(rows)
    relevance = store.page(Query(search=search, order="relevance"), limit=100).rows
    assert sorted(r.title or "" for r in relevance) == rows
    assert len(all_pages(store, Query(search=search), 1)) == len(rows)
    return rows


def test_plain_words_mean_what_they_meant(filled: Store) -> None:
    assert fts_query("ai") == '"ai"' and fts_query("air") == '"air"*' and fts_query("air ") == '"air"'
    assert fts_query("black hole") == '"black" "hole"*'
    assert found(filled, "black hole") == ["black cat", "black hole imaged"]  # each word, anywhere
    assert found(filled, "harb") == ["ferry strike", "harbour reopens", "no source"]


def test_a_phrase_needs_its_words_together_in_order(filled: Store) -> None:
    assert found(filled, '"black hole"') == ["black hole imaged"]
    assert found(filled, '"hole black"') == []
    assert found(filled, '"reopens ann"') == [] and found(filled, '"imaged astronomers"') == []  # not across fields
    assert found(filled, '"black ho') == []  # typing: still open, its last word a whole word...
    assert found(filled, '"black hol') == ["black hole imaged"]  # ... and from 3 letters a prefix
    assert found(filled, '"harb"') == []  # a closed quote ends the word: no prefix
    # A quote just typed opens nothing yet: the term before it stays as it was.
    assert fts_query('"black hole" "') == '"black hole"' and fts_query('harb "') == '"harb"*'
    assert search_words('"black hole" imaged') == (["black", "hole", "imaged"], True)


def test_title_author_and_body_limit_a_term_to_them(filled: Store) -> None:
    assert found(filled, "harbour") == ["ferry strike", "harbour reopens", "no source"]
    assert found(filled, "title:harbour") == ["harbour reopens"]
    assert found(filled, "body:harbour") == ["ferry strike", "no source"]
    assert found(filled, 'author:"ann lee"') == ["harbour reopens"]
    assert found(filled, "author:lee ferry") == ["ferry strike", "harbour reopens"]
    assert found(filled, 'TITLE:"black hole" body:astronomers') == ["black hole imaged"]
    # Only the fields above are prefixes: anything else with a colon is text, as before.
    assert parse_search("note:harbour").terms == parse_search("note harbour").terms
    assert found(filled, "http://harbour") == []


def test_source_matches_the_stored_sources_words(filled: Store) -> None:
    assert found(filled, "source:ars") == ["black cat", "harbour reopens"]  # a prefix while typing
    assert found(filled, 'source:"le monde"') == ["ferry strike"]
    assert found(filled, 'source:"monde le"') == []
    assert found(filled, "source:sudd") == ["black hole imaged"]  # diacritics folded as the index folds them
    assert found(filled, "source:ars ferry") == ["harbour reopens"]
    assert found(filled, "ferry source:monde") == ["ferry strike"]
    assert found(filled, "source:nowhere") == []
    assert fts_query("source:ars") is None and search_words("source:ars") == ([], False)  # not the index's
    assert filled.mark_all_read_ids(Query(search="source:technica")) and found(filled, "source:technica")
    assert {r.title for r in filled.iter_rows(Query(view="unread"))} == {
        "ferry strike",
        "black hole imaged",
        "no source",
    }
