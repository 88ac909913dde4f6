"""The daily-features benchmark runs end to end on a tiny corpus and prints its figures (the
figures themselves are for the closing note, not asserted: speed is not a test)."""

from __future__ import annotations

import re

import pytest

from reader.benchmark import daily


def test_it_prints_the_cleanup_and_full_article_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert daily.main(["--articles", "200", "--pages", "6"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^load average: ", out, re.M)
    assert re.search(r"^cleanup: removed 100 of 200 articles in [\d.]+ s \([\d,]+ articles/s\); compacted", out, re.M)
    assert re.search(r"^full articles: 6 of 6 pages fetched, read and stored in [\d.]+ s \([\d.,]+ pages/s", out, re.M)
