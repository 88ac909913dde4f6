"""Enclosures: a podcast's audio, a video, a file an entry carries. Read from RSS ``<enclosure>``
and Atom ``<link rel="enclosure">`` on both parsing paths (Reader's fast one and feedparser's),
with ``itunes:duration``; stored with the article; listed by ``reader show`` (and ``--json``);
shown in the reading pane as a link handed to the system (http/https only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import OFFSCREEN_SIZE_HINTS, import_inputs, older_store
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor
from test_cli import reader

from reader import feedparse
from reader.records import Account, Article, Enclosure, describe_enclosure
from reader.store import SCHEMA_VERSION, Store
from reader.sync.engine import item_article

PODCAST = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel><title>Harbour Radio</title><link>https://radio.example/</link><description>x</description>
<item><title>Episode one</title><guid>ep1</guid><link>https://radio.example/1</link>
  <description>The first episode.</description>
  <enclosure url="https://cdn.radio.example/ep1.mp3" type="audio/mpeg" length="42100000"/>
  <itunes:duration>1:02:03</itunes:duration></item>
<item><title>Episode two</title><guid>ep2</guid>
  <enclosure url="/media/ep2.ogg" type="Audio/Ogg" length="0"/>
  <enclosure url="https://cdn.radio.example/cover.jpg" type="image/jpeg" length="5000"/>
  <enclosure url="javascript:alert(1)" type="audio/mpeg"/>
  <enclosure url="https://cdn.radio.example/notes.pdf" type="application/pdf" length="abc"/>
  <enclosure url="https://cdn.radio.example/notes.pdf" type="application/pdf"/>
  <itunes:duration>95</itunes:duration></item>
<item><title>Episode three</title><guid>ep3</guid><description>No file.</description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Harbour Video</title><id>urn:hv</id>
<updated>2024-03-02T08:00:00Z</updated>
<entry><title>Clip</title><id>urn:clip</id><updated>2024-03-02T08:00:00Z</updated>
  <link rel="alternate" href="https://video.example/clip"/>
  <link rel="enclosure" href="https://video.example/clip.mp4" type="video/mp4" length="2048"/></entry>
</feed>"""

EP1 = Enclosure("https://cdn.radio.example/ep1.mp3", "audio/mpeg", 42_100_000, 3723)
EP2 = (
    Enclosure("https://radio.example/media/ep2.ogg", "audio/ogg", None, 95),
    Enclosure("https://cdn.radio.example/notes.pdf", "application/pdf", None, None),
)


def parsed(text: str, fast: bool) -> dict[str, Article]:
    doc = feedparse.parse(text.encode(), {}, "https://radio.example/feed.xml", 1, fast=fast)
    assert doc.problem is None
    return {a.title or "": a for a in doc.articles}


@pytest.mark.parametrize("fast", [True, False], ids=["fast path", "feedparser"])
def test_rss_enclosures_are_read_with_their_type_size_and_duration(fast: bool) -> None:
    articles = parsed(PODCAST, fast)
    assert articles["Episode one"].enclosures == (EP1,)
    # Relative resolved; the type folded; a length of 0 or junk is unknown; an image is the lead
    # image instead; javascript: is no file; the same file twice is once; the duration is the first's.
    assert articles["Episode two"].enclosures == EP2
    assert articles["Episode two"].image_url == "https://cdn.radio.example/cover.jpg"
    assert articles["Episode three"].enclosures == ()


@pytest.mark.parametrize("fast", [True, False], ids=["fast path", "feedparser"])
def test_atom_enclosure_links_are_read(fast: bool) -> None:
    assert parsed(ATOM, fast)["Clip"].enclosures == (Enclosure("https://video.example/clip.mp4", "video/mp4", 2048),)


def test_an_entry_with_only_a_file_is_kept() -> None:
    only = PODCAST.replace("<title>Episode one</title>", "").replace("<link>https://radio.example/1</link>", "")
    only = only.replace("<description>The first episode.</description>", "")
    assert parsed(only, True)[""].enclosures == (EP1,)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3723", 3723), ("62:03", 3723), ("1:02:03", 3723), ("0:45", 45), (" 95 ", 95), ("", None), ("1h", None),
     ("1:2:3:4", None), ("-5", None), ("0", None), (None, None)],
)  # fmt: skip
def test_itunes_durations(text: str | None, seconds: int | None) -> None:
    assert feedparse.duration_seconds(text) == seconds


def test_described_as_a_person_reads_them() -> None:
    assert describe_enclosure(EP1) == "audio/mpeg, 1:02:03, 42.1 MB"
    assert describe_enclosure(EP2[0]) == "audio/ogg, 1:35"
    assert describe_enclosure(Enclosure("https://x.example/f", None, 2048)) == "2 KB"
    assert describe_enclosure(Enclosure("https://x.example/f")) == ""


def test_stored_with_the_article_and_updated_with_its_feed(store: Store, tmp_path: Path) -> None:
    feed = tmp_path / "radio.rss"
    feed.write_text(PODCAST, encoding="utf-8")
    import_inputs(store, [("feed", str(feed))])
    by_title = {row.title: row.id for row in store.iter_rows()}
    assert store.get(by_title["Episode one"]).enclosures == (EP1,)
    # A local feed's relative file is a file: address, which is never handed on.
    assert store.get(by_title["Episode two"]).enclosures == EP2[1:]
    assert store.get(by_title["Episode three"]).enclosures == ()

    from reader import subscriptions

    feed.write_text(PODCAST.replace("ep1.mp3", "ep1-fixed.mp3"), encoding="utf-8")
    subscriptions.refresh(store, force=True)
    assert store.get(by_title["Episode one"]).enclosures[0].url == "https://cdn.radio.example/ep1-fixed.mp3"


def test_a_damaged_enclosures_value_reads_as_none(store: Store) -> None:
    store.add_articles([Article("Desk", "t", enclosures=(EP1,))])
    (article_id,) = [row.id for row in store.iter_rows()]
    with store.transaction() as conn:
        conn.execute("UPDATE articles SET enclosures = 'not json' WHERE id = ?", (article_id,))
    assert store.get(article_id).enclosures == ()


def test_a_store_of_the_previous_schema_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with older_store(path, SCHEMA_VERSION - 1) as old:
        old.add_articles([Article("Desk", "before")])
    with Store.open(path) as store:
        (row,) = list(store.iter_rows())
        assert store.get(row.id).enclosures == ()
        store.add_articles([Article("Desk", "after", enclosures=(EP1,))])
        after = next(r.id for r in store.iter_rows() if r.title == "after")
        assert store.get(after).enclosures == (EP1,)


def test_reader_show_lists_them(db: Path, tmp_path: Path) -> None:
    feed = tmp_path / "radio.rss"
    feed.write_text(PODCAST, encoding="utf-8")
    assert reader("--db", str(db), "import", str(feed)).returncode == 0
    listed = json.loads(reader("--db", str(db), "list", "--json").stdout)
    ep1 = next(a["id"] for a in listed if a["title"] == "Episode one")
    shown = json.loads(reader("--db", str(db), "show", str(ep1), "--json").stdout)
    assert shown["enclosures"] == [
        {"url": "https://cdn.radio.example/ep1.mp3", "type": "audio/mpeg", "length": 42100000, "duration": 3723}
    ]
    text = reader("--db", str(db), "show", str(ep1)).stdout
    assert "enclosure: https://cdn.radio.example/ep1.mp3 (audio/mpeg, 1:02:03, 42.1 MB)" in text


def test_a_synced_item_keeps_its_enclosures() -> None:
    account = Account(1, "alice", "https://rss.example/api/greader.php", "alice")
    item = {
        "id": "tag:google.com,2005:reader/item/000000000000001f",
        "title": "Episode",
        "origin": {"streamId": "feed/1", "title": "Radio"},
        "enclosure": [
            {"href": "https://cdn.radio.example/ep.mp3", "type": "audio/mpeg", "length": "1000000"},
            {"href": "https://cdn.radio.example/c.png", "type": "image/png"},
            {"href": "ftp://cdn.radio.example/ep.mp3", "type": "audio/mpeg"},
        ],
    }
    _, article = item_article(item, account, {"feed/1": 7})
    assert article.enclosures == (Enclosure("https://cdn.radio.example/ep.mp3", "audio/mpeg", 1_000_000),)


@OFFSCREEN_SIZE_HINTS
def test_the_pane_links_each_file_and_hands_it_to_the_system(
    qtbot: Any, window_factory: Any, store: Store, opened_urls: list[str]
) -> None:
    store.add_articles([Article("Harbour Radio", "Episode two", body="Notes.", enclosures=EP2)])
    window = window_factory(store)
    window.list.select_row(0)
    pane = window.pane
    text = pane.toPlainText()
    assert "Play audio (audio/ogg, 1:35)" in text
    assert "Download notes.pdf (application/pdf)" in text

    found = pane.document().find("Play audio")
    cursor = QTextCursor(pane.document())
    cursor.setPosition(found.selectionStart() + 2)
    point = pane.cursorRect(cursor).center() - QPoint(2, 0)
    assert pane.anchorAt(point) == "https://radio.example/media/ep2.ogg"
    qtbot.mouseClick(pane.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert opened_urls == ["https://radio.example/media/ep2.ogg"]


def test_the_duration_is_the_playable_files_even_when_a_document_comes_first() -> None:
    text = PODCAST.replace(
        '<enclosure url="https://cdn.radio.example/ep1.mp3" type="audio/mpeg" length="42100000"/>',
        '<enclosure url="https://cdn.radio.example/ep1.pdf" type="application/pdf"/>'
        '<enclosure url="https://cdn.radio.example/ep1.mp3" type="audio/mpeg" length="42100000"/>',
    )
    pdf, mp3 = parsed(text, True)["Episode one"].enclosures
    assert (pdf.duration, mp3.duration) == (None, 3723)


def test_digits_that_are_not_ascii_are_unknown_and_the_feed_still_parses() -> None:
    text = PODCAST.replace('length="42100000"', 'length="\u00b2"').replace("1:02:03", "1:\u00b2")
    articles = parsed(text, True)
    assert articles["Episode one"].enclosures == (Enclosure("https://cdn.radio.example/ep1.mp3", "audio/mpeg"),)
    assert len(articles) == 3
