"""How the store packs long text: every form gives the text back exactly, and is smaller."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reader import textpack
from reader.textpack import PackError, pack, pack_raw, unpack, unpack_raw

# Any code point, surrogates included (Python strings may hold them; the store must give back
# what it was given).
TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=300)
PROSE = "The council met on Tuesday and agreed the budget for the new library. " * 20


@given(TEXT)
def test_any_text_comes_back_exactly(text: str) -> None:
    assert unpack(pack(text)) == text


@given(TEXT, TEXT, TEXT, TEXT)
def test_any_raw_record_comes_back_exactly_with_its_body(before: str, body: str, after: str, other: str) -> None:
    around = before + body + after
    assert unpack_raw(pack_raw(around, body), body) == around
    assert unpack_raw(pack_raw(other, body), body) == other


def test_empty_text_packs_to_nothing() -> None:
    assert pack("") == b"" and unpack(b"") == "" and unpack(None) == ""
    assert pack_raw("", "body") == b"" and unpack_raw(b"", "body") == ""


def test_short_text_is_kept_as_it_is_and_long_text_deflated() -> None:
    assert pack("Hi") == bytes((textpack.PLAIN,)) + b"Hi"
    packed = pack(PROSE)
    assert packed[0] == textpack.DEFLATED and len(packed) < len(PROSE) / 10


def test_a_raw_record_around_its_body_costs_only_what_is_around_it() -> None:
    raw = "['https://news.example/1', 'Budget agreed']\nBy Ann Lee\n" + PROSE + "\nSPONSORED CONTENT\n"
    packed = pack_raw(raw, PROSE)
    assert packed[0] == textpack.AROUND_BODY and len(packed) < 100
    assert unpack_raw(packed, PROSE) == raw


def test_a_raw_record_that_is_not_around_its_body_uses_it_as_a_dictionary() -> None:
    raw = "<p>" + PROSE.replace(". ", ".</p><p>") + "</p>"  # a feed entry's markup
    packed = pack_raw(raw, PROSE)
    assert packed[0] == textpack.BODY_DICTIONARY and len(packed) < len(pack(raw))
    assert unpack_raw(packed, PROSE) == raw


@pytest.mark.parametrize(
    "blob",
    [
        bytes((textpack.DEFLATED,)) + b"\xff\xfe not deflate",
        bytes((textpack.PLAIN,)) + b"\xff",  # not UTF-8
        bytes((9,)) + b"x",  # a tag no version wrote
    ],
)
def test_damaged_text_is_an_error_not_garbage(blob: bytes) -> None:
    with pytest.raises(PackError):
        unpack(blob)


def test_a_damaged_raw_record_is_an_error_not_garbage() -> None:
    packed = pack_raw("<p>" + PROSE.replace(". ", ".</p><p>") + "</p>", PROSE)
    with pytest.raises(PackError):
        unpack_raw(packed[:-5], PROSE)  # cut off
    with pytest.raises(PackError):
        unpack_raw(bytes((textpack.AROUND_BODY,)) + b"\x80\x80", PROSE)  # its offset cut off
    with pytest.raises(PackError):
        unpack_raw(bytes((textpack.AROUND_BODY, 50, textpack.PLAIN)) + b"ab", "x")  # offset past the end
