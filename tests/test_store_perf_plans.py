"""The store's fast paths give the same answers as the plain ones.

Bulk writes go in as multi-row INSERT statements (one FTS5 segment per batch): compared here with
the plain row-by-row INSERTs they replace.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reader import store as store_module
from reader.article import Article
from reader.store import AddResult, Query, Store

BASE = datetime(2019, 1, 1, tzinfo=UTC)
# Words and the share of articles holding them: dense, middling and rare, some sharing prefixes.
WORDS = {"alpha": 0.9, "alpine": 0.25, "beta": 0.3, "gamma": 0.04, "zeta": 0.5}


def make_articles(n: int, seed: int = 3) -> list[Article]:
    rng = random.Random(seed)
    articles = []
    for i in range(n):
        words = [w for w, share in WORDS.items() if rng.random() < share] + ["filler"] * rng.randint(1, 5)
        if i < 12:
            words.append("omega")  # only in the oldest articles (below): a walk finds them last
        rng.shuffle(words)
        if i < 12:
            published: datetime | None = BASE - timedelta(days=400 + i)
        elif i % 37 == 0:
            published = None  # unknown dates list last
        else:
            # Whole days, so many articles share a timestamp and ids break the ties.
            published = BASE + timedelta(days=rng.randrange(60))
        articles.append(
            Article(
                source=("wire", "post", "daily")[i % 3],
                title=f"Story {i} {words[0]}",
                url=f"https://news.example/{i}",
                published=published,
                body=" ".join(words) + ".\nSecond paragraph.",
                raw=f"record {i}",
            )
        )
    rng.shuffle(articles)  # ids do not follow dates, as in a real import
    return articles


def pages(store: Store, query: Query, limit: int) -> list[int]:
    seen: list[int] = []
    after = None
    while True:
        page = store.page(query, after, limit)
        assert len(page.rows) <= limit
        seen += [r.id for r in page.rows]
        if page.next_cursor is None:
            return seen
        after = page.next_cursor


# --- bulk writes --------------------------------------------------------------------------------


def reference_add(conn: sqlite3.Connection, articles: list[Article], update: bool) -> AddResult:
    """The plain write: one INSERT per row (what the store did before multi-row statements)."""
    sql = f"INSERT INTO articles ({store_module._ARTICLE_COLUMNS}) VALUES ({', '.join('?' * 16)}) ON CONFLICT(key) DO "
    if update:
        differs = " OR ".join(
            f"articles.{c} IS NOT excluded.{c}"
            for c in ("title", "author", "description", "url", "image_url", "published", "body", "body_html")
        )
        sql += (
            "UPDATE SET source = excluded.source, title = excluded.title, author = excluded.author, "
            "description = excluded.description, url = excluded.url, image_url = excluded.image_url, "
            "published = excluded.published, sort_ts = excluded.sort_ts, snippet = excluded.snippet, "
            "body = excluded.body, body_html = excluded.body_html, raw = excluded.raw "
            f"WHERE {differs}"
        )
    else:
        sql += "NOTHING"
    rows = [store_module._article_params(a, 0) for a in articles]
    with conn:
        before = conn.execute("SELECT coalesce(max(id), 0) FROM articles").fetchone()[0]
        changed = conn.executemany(sql, rows).rowcount
        added = conn.execute("SELECT count(*) FROM articles WHERE id > ?", (before,)).fetchone()[0]
    return AddResult(added, max(0, changed - added), len(rows) - added - max(0, changed - added))


def contents(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT id, key, source, title, author, description, url, image_url, published, sort_ts, snippet, body, raw "
        "FROM articles ORDER BY id"
    ).fetchall()


def batches() -> list[tuple[list[Article], bool]]:
    """Batches with duplicates inside them and across them, changed copies, with and without update."""
    rng = random.Random(11)
    pool = make_articles(60, seed=5)
    out = []
    for n in (1, 13, 8, 40, 3, 27):
        batch = [rng.choice(pool) for _ in range(n)]
        if n > 5:  # a changed copy of an article already in this batch or an earlier one
            a = rng.choice(batch)
            batch.append(
                Article(source=a.source, title=a.title, url=a.url, published=a.published, body=a.body + " Update.")
            )
        out.append((batch, n % 2 == 0))
    return out


@pytest.mark.parametrize("largest", [1, 4, 8, 2048])
def test_multi_row_inserts_store_what_row_by_row_inserts_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, largest: int
) -> None:
    monkeypatch.setattr(store_module, "MAX_ROWS_PER_INSERT", largest)
    with Store.open(tmp_path / "fast.sqlite") as fast, Store.open(tmp_path / "plain.sqlite") as plain:
        for batch, update in batches():
            assert fast.add_articles(batch, update=update) == reference_add(plain._conn, batch, update)
        assert contents(fast._conn) == contents(plain._conn)
        # The full-text index holds exactly the stored text.
        fast._conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")
        for word in ("alpha", "update", "omega"):
            assert pages(fast, Query(search=word), 10) == pages(plain, Query(search=word), 10)


def test_statement_sizes_are_few_powers_of_two() -> None:
    for n in range(0, 5000, 7):
        sizes = list(store_module._statement_sizes(n, 1024))
        assert sum(sizes) == n
        assert all(s & (s - 1) == 0 and s <= 1024 for s in sizes)
        assert len(sizes) <= n // 1024 + 10


def fts_segments(conn: sqlite3.Connection) -> int:
    """Segments in the FTS5 index, from its structure record (fts5_index.c: 4-byte cookie, then
    varints: levels, segments, ...)."""
    block = conn.execute("SELECT block FROM articles_fts_data WHERE id = 10").fetchone()[0]
    pos = 4
    values = []
    while len(values) < 2:
        value = 0
        while True:
            byte = block[pos]
            pos += 1
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        values.append(value)
    return values[1]


def test_one_batch_becomes_one_index_segment(tmp_path: Path) -> None:
    # Row by row, FTS5 wrote a segment per article (a savepoint per statement), merged over and
    # over: the import's main cost. One statement per batch (a power of two, as the importer
    # sends them) writes one.
    with Store.open(tmp_path / "store.sqlite") as s:
        s.add_articles(make_articles(256))
        assert fts_segments(s._conn) == 1
        config = dict(s._conn.execute("SELECT k, v FROM articles_fts_config"))
        assert config["hashsize"] == store_module.FTS_WRITE_CONFIG["hashsize"]
        assert config["automerge"] == store_module.FTS_WRITE_CONFIG["automerge"]
