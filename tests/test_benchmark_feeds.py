"""The feed benchmark (issue 17) times ``reader refresh`` on a second generation of every feed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from reader.benchmark import feeds
from reader.benchmark.feeds import feed_xml, generate, serve_generation


def test_the_second_generation_is_the_same_feed_with_every_item_new_and_of_the_same_size() -> None:
    first, second = (feed_xml(7, 200, shape="rss", generation=g).decode() for g in (1, 2))
    guids = [set(re.findall(r"<guid[^>]*>([^<]+)</guid>", text)) for text in (first, second)]
    titles = [set(re.findall(r"<title>([^<]+)</title>", text)) - {"Benchmark feed 7"} for text in (first, second)]

    assert len(guids[0]) == len(guids[1]) == 200 and not guids[0] & guids[1]
    assert not titles[0] & titles[1]
    assert abs(len(second) - len(first)) < 0.03 * len(first)
    assert feed_xml(7, 200, shape="rss") == feed_xml(7, 200, shape="rss", generation=1)  # as before


def test_the_server_moves_on_to_generation_2_with_a_later_last_modified(tmp_path: Path) -> None:
    generate(tmp_path, feeds=1, items=3, big_items=4, shapes=["atom"])
    served = tmp_path / "atom" / "feed-000.xml"
    before = served.stat().st_mtime
    first = served.read_bytes()

    serve_generation(tmp_path, "atom", 2)

    assert served.read_bytes() == feed_xml(0, 3, shape="atom", generation=2) != first
    assert served.stat().st_mtime > before
    assert (tmp_path / "big-atom.xml").read_bytes() == feed_xml(10_000, 4, shape="atom", generation=2)


def test_the_benchmark_prints_refresh_beside_newsboat_with_every_new_item(capsys: pytest.CaptureFixture[str]) -> None:
    with_newsboat = shutil.which("newsboat") is not None

    done = feeds.main(
        ["--feeds", "2", "--items", "3", "--big-items", "4", "--runs", "1", "--shapes", "short"]
        + ([] if with_newsboat else ["--no-newsboat"])
    )

    assert done == 0
    out = capsys.readouterr().out
    refreshes = re.findall(r"^  reader refresh .*\((\d+) entries\)(.*)$", out, re.MULTILINE)
    assert [int(entries) for entries, _ in refreshes] == [6, 4]  # every item of generation 2 is new
    if with_newsboat:
        assert all(re.fullmatch(r"\s+\d+\.\d\dx Newsboat", note) for _, note in refreshes)
        reloads = re.findall(r"^  newsboat reload .*\((\d+) entries\)$", out, re.MULTILINE)
        assert [int(entries) for entries in reloads] == [6, 6, 4, 4]  # first reload, then the refresh
