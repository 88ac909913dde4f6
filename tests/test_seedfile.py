"""Seed record parser: every rule of DESIGN.md's format, on real files under tests/data/seeds/.

Each sample there has ``NAME.json`` beside it with the expected articles and problems (written by
hand in tests/data/make_seed_fixtures.py, not copied from the parser's output).
"""

from __future__ import annotations

import json
import os
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reader import seedfile
from reader.article import Article

DATA = Path(__file__).parent / "data" / "seeds"
REPO = Path(__file__).resolve().parent.parent
GIVEN = REPO / "seeds" / "000_3fd0e19bd5f7f8e2.txt"
SAMPLES = sorted(p for p in DATA.iterdir() if p.suffix != ".json")
FIELDS = ("source", "title", "author", "description", "url", "image_url")


def expected(sample: Path) -> dict:
    return json.loads(sample.with_name(sample.name + ".json").read_text("utf-8"))


def as_dict(a: Article) -> dict[str, object]:
    return {
        **{f: getattr(a, f) for f in FIELDS},
        "published": a.published.isoformat() if a.published else None,
        "body": a.body,
    }


def test_every_sample_has_an_expected_result() -> None:
    assert len(SAMPLES) >= 30
    for sample in SAMPLES:
        assert sample.with_name(sample.name + ".json").is_file(), sample


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_parses_as_expected(sample: Path) -> None:
    want = expected(sample)
    result = seedfile.parse(sample.read_bytes(), str(sample))

    assert [as_dict(a) for a in result.articles] == want["articles"]
    assert len(result.problems) == len(want["problems"]), result.problems
    for got, exp in zip(result.problems, want["problems"], strict=True):
        assert got.input == str(sample)
        assert exp["reason"] in got.reason
        assert got.line == exp["line"]
    for a in result.articles:
        assert a.origin == str(sample)
        if a.published is not None:
            assert a.published.utcoffset() == timedelta(0)


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_raw_is_the_exact_record_text_and_nothing_is_lost(sample: Path) -> None:
    """Each article's ``raw`` is its record as written (header line, line endings and blank lines
    included); the records together are the whole file after whatever preceded the first header."""
    want = expected(sample)
    data = sample.read_bytes()
    result = seedfile.parse(data, sample.name)
    if not result.articles:
        return
    text = data.decode(want["encoding"])
    joined = "".join(a.raw for a in result.articles)
    assert text.endswith(joined)
    before = text[: len(text) - len(joined)]
    # Only text reported as a problem may precede the first record.
    assert not before.strip() or result.problems
    for a in result.articles:
        first_line = a.raw.splitlines()[0]
        assert seedfile.parse_header(first_line) is not None


def test_crlf_is_kept_in_raw_but_not_in_fields() -> None:
    result = seedfile.parse((DATA / "bom_crlf.txt").read_bytes(), "bom_crlf.txt")
    (a,) = result.articles
    assert "\r\n" in a.raw
    assert a.raw.count("\r\n") == 5
    assert not a.raw.startswith("\ufeff")  # the BOM is the encoding's, not the record's
    assert "\r" not in a.body and "\r" not in (a.title or "")


def test_multi_record_file_splits_into_three_exact_records() -> None:
    data = (DATA / "multi.txt").read_bytes()
    result = seedfile.parse(data, "multi.txt")
    assert [a.title for a in result.articles] == ["First of three", "Second of three", "Third of three"]
    assert "".join(a.raw for a in result.articles) == data.decode("utf-8")
    assert result.articles[1].raw.endswith("without a URL.\n\n")
    assert not result.problems


def test_header_with_code_is_rejected_and_nothing_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a) or 0)
    monkeypatch.chdir(tmp_path)

    result = seedfile.parse((DATA / "header_code.txt").read_bytes(), "header_code.txt")

    assert result.articles == []
    assert [p.line for p in result.problems] == [1]
    assert calls == []
    assert not (tmp_path / "PWNED").exists()


def test_novalue_and_blank_are_none_in_every_field() -> None:
    result = seedfile.parse((DATA / "novalue.txt").read_bytes(), "novalue.txt")
    assert len(result.articles) == 3
    for a in result.articles:
        for name in (*FIELDS, "published"):
            assert getattr(a, name) is None, (name, a)
    assert "NOVALUE" not in "".join(str(as_dict(a)) for a in result.articles if a.body != "Every field says NOVALUE.")


def test_the_given_record() -> None:
    """Issue 2's "Done when": the record we were given, read from the repository's seeds/."""
    data = GIVEN.read_bytes()
    result = seedfile.parse(data, GIVEN.name)
    assert not result.problems
    (a,) = result.articles
    assert a.source == "fortune"
    assert a.title == "Twitter Bans Ads from Russian Computer Security Company Kaspersky Lab"
    assert a.author == "Sarah Gray"
    assert a.description is None
    assert (
        a.url == "http://fortune.com/2018/04/20/twitter-bans-ads-from-russian-computer-security-company-kaspersky-lab/"
    )
    assert a.image_url == "https://fortunedotcom.files.wordpress.com/2017/07/gettyimages-466845710.jpg"
    assert a.published == datetime(2018, 4, 20, 22, 49, 8, tzinfo=UTC)
    assert a.published.isoformat() == "2018-04-20T22:49:08+00:00"
    assert a.body.startswith("Twitter has banned ads on its service from Russian security software maker")
    assert a.body.endswith("will update this post if it receives a response.")
    assert "SPONSORED FINANCIAL CONTENT" not in a.body
    assert "By Sarah Gray" not in a.body
    lines = a.body.split("\n")
    assert "April 20, 2018" not in lines
    # A later line that merely ends with the date (a quoted tweet's attribution) is body text.
    assert "Eugene Kaspersky (@e_kaspersky) April 20, 2018" in lines
    assert lines[0].startswith("Twitter has banned ads")
    # Curly quotes lost upstream stay lost: no guessing.
    assert "companys" in a.body
    # The raw text is the whole file, unchanged.
    assert a.raw == data.decode("utf-8")
    assert "SPONSORED FINANCIAL CONTENT" in a.raw and "By Sarah Gray" in a.raw


def test_articles_are_frozen() -> None:
    (a,) = seedfile.parse((DATA / "good.txt").read_bytes()).articles
    with pytest.raises(FrozenInstanceError):
        a.title = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("line", "author"),
    [
        ("By Sarah Gray", "Sarah Gray"),
        ("By Sarah Gray and John Smith", "Sarah Gray and John Smith"),
        ("by Sarah Gray", "Sarah Gray"),
        ("BY SARAH GRAY", "SARAH GRAY"),
        ("By: Sarah Gray, Reuters", "Sarah Gray, Reuters"),
        ("By Jean-Luc de la Tour", "Jean-Luc de la Tour"),
        ("By the end of the day, the market had recovered.", None),
        ("By Monday, officials said the vote would be delayed.", None),
        ("By 2030, half of all cars could be electric.", None),
        ("Bystanders said the fire started at noon.", None),
    ],
)
def test_byline_author(line: str, author: str | None) -> None:
    assert seedfile.byline_author(line) == author


# --- properties ---------------------------------------------------------------------------------

_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("'\"\\\n\r\t\x00 ,[]()NOVALUE")),
        st.characters(codec="utf-8"),
    ),
    max_size=40,
)
_field = st.one_of(st.just("NOVALUE"), st.just(""), _text)
_moment = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.timezones(), allow_imaginary=False
)


def normalised(text: str) -> str | None:
    """The documented normalisation: stripped; ``NOVALUE`` and blank mean no value."""
    text = text.strip()
    return None if text in ("", "NOVALUE") else text


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fields=st.lists(_field, min_size=7, max_size=7),
    published=st.one_of(_moment, _field),
    crlf=st.booleans(),
)
def test_repr_written_headers_parse_back(fields: list[str], published: datetime | str, crlf: bool) -> None:
    published_at = published.isoformat().replace("+00:00", "Z") if isinstance(published, datetime) else published
    record = [*fields, published_at]
    eol = "\r\n" if crlf else "\n"
    text = repr(record) + eol + "A plain body paragraph." + eol
    result = seedfile.parse(text.encode("utf-8"), "prop.txt")

    assert not result.problems
    (a,) = result.articles
    source, _index, author, title, description, url, image_url, _ = record
    assert a.source == normalised(source)
    assert a.title == normalised(title)
    assert a.author == normalised(author)
    assert a.description == normalised(description)
    assert a.url == normalised(url)
    assert a.image_url == normalised(image_url)
    if isinstance(published, datetime):
        assert a.published == published
        assert a.published is not None and a.published.utcoffset() == timedelta(0)
    else:
        assert a.published is None or a.published.utcoffset() == timedelta(0)
    assert a.body == "A plain body paragraph."
    assert a.raw == text


@settings(max_examples=300, deadline=None, database=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(data: bytes) -> None:
    result = seedfile.parse(data, "random.bin")
    # Every file gives something: records, or a reason why it has none.
    assert result.articles or result.problems
    for a in result.articles:
        assert isinstance(a, Article)


_header_line = st.lists(_field, min_size=8, max_size=8).map(repr)


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.lists(st.one_of(_header_line, _text, st.binary(max_size=30).map(lambda b: b.decode("latin-1"))), max_size=8),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
)
def test_random_mixtures_never_raise_and_lose_nothing(lines: list[str], eol: str, encoding: str) -> None:
    text = eol.join(lines)
    data = text.encode(encoding, errors="replace")
    result = seedfile.parse(data, "mix.txt")
    assert result.articles or result.problems
    decoded = seedfile.decode(data)
    joined = "".join(a.raw for a in result.articles)
    assert decoded.endswith(joined)


def test_a_broken_header_mid_file_is_reported_and_not_glued_onto_the_previous_article() -> None:
    good = repr(["s", "1", "", "First", "", "https://a.example/1", "", "2020-01-01T00:00:00Z"])
    seven = repr(["s", "2", "", "Broken", "", "https://a.example/2", "2020-01-01T00:00:00Z"])
    third = repr(["s", "3", "", "Third", "", "https://a.example/3", "", "2020-01-02T00:00:00Z"])
    data = f"{good}\nbody one\n{seven}\nbody of the broken record\n{third}\nbody three\n".encode()
    result = seedfile.parse(data, "mid.txt")
    assert [(a.title, a.body) for a in result.articles] == [("First", "body one"), ("Third", "body three")]
    assert [str(p) for p in result.problems] == [f"mid.txt:3: {seedfile.BAD_HEADER}"]


def test_prose_lines_that_look_like_short_lists_stay_body_text() -> None:
    good = repr(["s", "1", "", "First", "", "https://a.example/1", "", "2020-01-01T00:00:00Z"])
    result = seedfile.parse(f'{good}\n["a", "b"] is a list\n["x", "y"]\n'.encode(), "prose.txt")
    assert [a.body for a in result.articles] == ['["a", "b"] is a list\n["x", "y"]']
    assert result.problems == []
