"""Writes tests/data/seeds/ and tests/data/mixed/ (run once; the resulting files are committed).

Each sample ``NAME`` in seeds/ has ``NAME.json`` beside it with what the parser must make of it
(lemon24/reader style). The expected values here are written by hand from DESIGN.md's rules, not
taken from the parser's output. The bytes matter (cp1252, BOM, CRLF, NULs), so they are written
from this script rather than by an editor.

    python tests/data/make_seed_fixtures.py
"""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEEDS = HERE / "seeds"
MIXED = HERE / "mixed"
GIVEN = HERE.parent.parent / "seeds" / "000_3fd0e19bd5f7f8e2.txt"

BAD_HEADER = "header is not an 8-string list literal"


def header(*fields: str) -> str:
    """A header line exactly as the scraper wrote them: repr() of the list."""
    return repr(list(fields))


def article(
    *,
    source: str | None,
    title: str | None,
    author: str | None = None,
    description: str | None = None,
    url: str | None = None,
    image_url: str | None = None,
    published: str | None = None,
    body: str = "",
) -> dict[str, object]:
    return {
        "source": source,
        "title": title,
        "author": author,
        "description": description,
        "url": url,
        "image_url": image_url,
        "published": published,
        "body": body,
    }


def problem(reason: str, line: int | None = None) -> dict[str, object]:
    """``reason`` must appear in the problem's reason."""
    return {"reason": reason, "line": line}


SAMPLES: dict[str, tuple[bytes, dict[str, object]]] = {}


def sample(name: str, data: bytes | str, articles=(), problems=(), encoding: str = "utf-8-sig") -> None:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    SAMPLES[name] = (raw, {"encoding": encoding, "articles": list(articles), "problems": list(problems)})


# --- good records ------------------------------------------------------------------------------

GOOD_HEADER = header(
    "reuters",
    "7",
    "Jane Doe",
    "Central bank holds rates steady",
    "The bank kept its main rate at 1.5 percent.",
    "https://www.reuters.com/article/rates-idUSKBN1HR2",
    "https://s1.reutersmedia.net/resources/r/rates.jpg",
    "2018-04-19T14:05:00Z",
)
sample(
    "good.txt",
    GOOD_HEADER + "\nThe central bank held interest rates steady on Thursday.\n\n"
    "  Officials said inflation was close to target.  \n",
    [
        article(
            source="reuters",
            title="Central bank holds rates steady",
            author="Jane Doe",
            description="The bank kept its main rate at 1.5 percent.",
            url="https://www.reuters.com/article/rates-idUSKBN1HR2",
            image_url="https://s1.reutersmedia.net/resources/r/rates.jpg",
            published="2018-04-19T14:05:00+00:00",
            body="The central bank held interest rates steady on Thursday.\n"
            "Officials said inflation was close to target.",
        )
    ],
)

sample(
    "header_double_quotes.txt",
    header(
        "fortune",
        "175",
        "Conan O'Brien",
        "Kaspersky's ads banned",
        'It\'s "official", Twitter says',
        "http://fortune.com/2018/04/21/kaspersky-ads/",
        "NOVALUE",
        "2018-04-21T09:00:00Z",
    )
    + "\nTwitter's ban took effect on Friday.\n",
    [
        article(
            source="fortune",
            title="Kaspersky's ads banned",
            author="Conan O'Brien",
            description='It\'s "official", Twitter says',
            url="http://fortune.com/2018/04/21/kaspersky-ads/",
            published="2018-04-21T09:00:00+00:00",
            body="Twitter's ban took effect on Friday.",
        )
    ],
)

# --- malformed headers ---------------------------------------------------------------------------

sample(
    "header_7_strings.txt",
    header("fortune", "176", "NOVALUE", "Seven fields only", "", "http://fortune.com/seven", "2018-04-20T22:49:08Z")
    + "\nA body that must not be imported.\n",
    problems=[problem(BAD_HEADER, 1)],
)
sample(
    "header_code.txt",
    "['a', __import__('os').system('touch PWNED'), 'c', 'd', 'e', 'f', 'g', 'h']\nA body after a hostile header.\n",
    problems=[problem(BAD_HEADER, 1)],
)
sample("header_ints.txt", "[1, 2, 3, 4, 5, 6, 7, 8]\nNumbers are not a header.\n", problems=[problem(BAD_HEADER, 1)])
sample(
    "header_truncated.txt",
    "['fortune', '177', 'NOVALUE', 'A title cut off in the midd\nle of the header line.\n",
    problems=[problem(BAD_HEADER, 1)],
)
sample(
    "garbage_before_header.txt",
    "\nExported by scrape-tool 0.3\n['only', 'three', 'strings']\n"
    + header(
        "ap",
        "12",
        "NOVALUE",
        "Record after junk",
        "NOVALUE",
        "https://apnews.com/record-after-junk",
        "NOVALUE",
        "2018-04-18T12:00:00Z",
    )
    + "\nThe record after the junk is still imported.\n",
    [
        article(
            source="ap",
            title="Record after junk",
            url="https://apnews.com/record-after-junk",
            published="2018-04-18T12:00:00+00:00",
            body="The record after the junk is still imported.",
        )
    ],
    [problem(BAD_HEADER, 2)],
)

# --- not text at all -----------------------------------------------------------------------------


def png_1x1() -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


sample("binary.png", png_1x1(), problems=[problem("binary")])
sample("empty.txt", b"", problems=[problem("empty")])
sample("whitespace.txt", b" \n\t\r\n   \r\n\n", problems=[problem("empty")])
sample("bom_only.txt", b"\xef\xbb\xbf\r\n", problems=[problem("empty")])

# --- encodings and line endings -----------------------------------------------------------------

sample(
    "cp1252.txt",
    (
        header(
            "lemonde",
            "3",
            "Amélie Dupré",
            "“Café” culture returns",
            "",
            "https://www.lemonde.fr/cafe-culture",
            "NOVALUE",
            "2018-04-20T08:00:00Z",
        )
        + "\nThe “café” reopened in Orléans.\n"
    ).encode("cp1252"),
    [
        article(
            source="lemonde",
            title="“Café” culture returns",
            author="Amélie Dupré",
            url="https://www.lemonde.fr/cafe-culture",
            published="2018-04-20T08:00:00+00:00",
            body="The “café” reopened in Orléans.",
        )
    ],
    encoding="cp1252",
)
sample(
    "bom_crlf.txt",
    b"\xef\xbb\xbf"
    + (
        header(
            "nzz",
            "9",
            "NOVALUE",
            "Zürich opens a new tram line",
            "NOVALUE",
            "https://www.nzz.ch/zuerich/tram",
            "https://img.nzz.ch/tram.jpg",
            "2018-04-20T10:00:00Z",
        )
        + "\r\nBy Anna Müller\r\nApril 20, 2018\r\nZürich opened its new tram line on Friday.\r\n"
        "Passengers rode for free.\r\n"
    ).encode("utf-8"),
    [
        article(
            source="nzz",
            title="Zürich opens a new tram line",
            author="Anna Müller",
            url="https://www.nzz.ch/zuerich/tram",
            image_url="https://img.nzz.ch/tram.jpg",
            published="2018-04-20T10:00:00+00:00",
            body="Zürich opened its new tram line on Friday.\nPassengers rode for free.",
        )
    ],
)

# --- several records in one file ----------------------------------------------------------------

sample(
    "multi.txt",
    header(
        "bbc",
        "1",
        "NOVALUE",
        "First of three",
        "NOVALUE",
        "https://www.bbc.com/news/first",
        "NOVALUE",
        "2018-04-17T06:00:00Z",
    )
    + "\nFirst body.\n['not', 'a', 'header']\n"
    + header("bbc", "2", "NOVALUE", "Second of three", "NOVALUE", "NOVALUE", "NOVALUE", "2018-04-17T07:00:00Z")
    + "\nSecond body, a record without a URL.\n\n"
    + header(
        "bbc",
        "3",
        "NOVALUE",
        "Third of three",
        "NOVALUE",
        "https://www.bbc.com/news/third",
        "NOVALUE",
        "2018-04-17T08:00:00Z",
    )
    + "\nThird body.",
    [
        article(
            source="bbc",
            title="First of three",
            url="https://www.bbc.com/news/first",
            published="2018-04-17T06:00:00+00:00",
            body="First body.\n['not', 'a', 'header']",
        ),
        article(
            source="bbc",
            title="Second of three",
            published="2018-04-17T07:00:00+00:00",
            body="Second body, a record without a URL.",
        ),
        article(
            source="bbc",
            title="Third of three",
            url="https://www.bbc.com/news/third",
            published="2018-04-17T08:00:00+00:00",
            body="Third body.",
        ),
    ],
)

# --- no value ------------------------------------------------------------------------------------

sample(
    "novalue.txt",
    header(*["NOVALUE"] * 8)
    + "\nEvery field says NOVALUE.\n"
    + header(*[""] * 8)
    + "\n"
    + header("   ", "4", "NOVALUE", "", " NOVALUE ", "", "NOVALUE", "  ")
    + "\nBlank and padded fields.\n",
    [
        article(source=None, title=None, body="Every field says NOVALUE."),
        article(source=None, title=None, body=""),
        article(source=None, title=None, body="Blank and padded fields."),
    ],
)

# --- dates ---------------------------------------------------------------------------------------


def dated(name: str, published_at: str, expected: str | None, title: str) -> None:
    sample(
        name,
        header("wire", "1", "NOVALUE", title, "NOVALUE", f"https://wire.example/{name}", "NOVALUE", published_at)
        + "\nA dated story.\n",
        [
            article(
                source="wire",
                title=title,
                url=f"https://wire.example/{name}",
                published=expected,
                body="A dated story.",
            )
        ],
    )


dated("date_offset.txt", "2018-04-20T18:49:08-04:00", "2018-04-20T22:49:08+00:00", "Offset date")
dated("date_naive.txt", "2018-04-20T22:49:08", "2018-04-20T22:49:08+00:00", "Naive date")
dated("date_unparsable.txt", "sometime in April", None, "Unparsable date")
dated("date_impossible.txt", "2018-02-30T10:00:00Z", None, "Impossible date")

# --- bylines and date lines ------------------------------------------------------------------------


def story(name: str, body: str, *, author: str | None, kept: str, published_at: str = "2018-04-20T22:49:08Z") -> None:
    published = published_at.replace("Z", "+00:00") if published_at != "NOVALUE" else None
    sample(
        name,
        header("fortune", "1", "NOVALUE", name, "", f"http://fortune.com/{name}", "NOVALUE", published_at)
        + "\n"
        + body,
        [
            article(
                source="fortune",
                title=name,
                author=author,
                url=f"http://fortune.com/{name}",
                published=published,
                body=kept,
            )
        ],
    )


PARAS = "Twitter has banned ads from Kaspersky Lab.\nThe company denies any wrongdoing.\n"
KEPT = "Twitter has banned ads from Kaspersky Lab.\nThe company denies any wrongdoing."

story("byline_one.txt", "By Sarah Gray\n" + PARAS, author="Sarah Gray", kept=KEPT)
story("byline_two.txt", "By Sarah Gray and John Smith\n" + PARAS, author="Sarah Gray and John Smith", kept=KEPT)
story(
    "byline_prose.txt",
    "By the end of the day, the market had recovered.\n" + PARAS,
    author=None,
    kept="By the end of the day, the market had recovered.\n" + KEPT,
)
story(
    "byline_prose_capital.txt",
    "By Monday, officials said the vote would be delayed.\n" + PARAS,
    author=None,
    kept="By Monday, officials said the vote would be delayed.\n" + KEPT,
)
sample(
    "byline_header_author.txt",
    header(
        "fortune",
        "2",
        "Jane Doe",
        "Header author wins",
        "",
        "http://fortune.com/header-author",
        "NOVALUE",
        "2018-04-20T22:49:08Z",
    )
    + "\nBy Sarah Gray\n"
    + PARAS,
    [
        article(
            source="fortune",
            title="Header author wins",
            author="Jane Doe",
            url="http://fortune.com/header-author",
            published="2018-04-20T22:49:08+00:00",
            body=KEPT,
        )
    ],
)
story("dateline_mdy.txt", "By Sarah Gray\nApril 20, 2018\n" + PARAS, author="Sarah Gray", kept=KEPT)
story("dateline_weekday.txt", "Friday, April 20, 2018\n" + PARAS, author=None, kept=KEPT)
story("dateline_dmy.txt", "By Sarah Gray\n20 April 2018\n" + PARAS, author="Sarah Gray", kept=KEPT)
story(
    "dateline_other_day.txt",
    "By Sarah Gray\nMarch 3, 2017\n" + PARAS,
    author="Sarah Gray",
    kept="March 3, 2017\n" + KEPT,
)
story(
    "dateline_unknown_published.txt",
    "April 20, 2018\n" + PARAS,
    author=None,
    kept="April 20, 2018\n" + KEPT,
    published_at="NOVALUE",
)

# --- trailing boilerplate ------------------------------------------------------------------------

story(
    "boilerplate.txt",
    "Critics say SPONSORED FINANCIAL CONTENT blurs the line with news.\n" + PARAS + "SPONSORED FINANCIAL CONTENT\n",
    author=None,
    kept="Critics say SPONSORED FINANCIAL CONTENT blurs the line with news.\n" + KEPT,
)
story(
    "boilerplate_block.txt",
    PARAS + "SPONSORED FINANCIAL CONTENT\nYou May Like\nThese 10 Stocks Are Soaring\n",
    author=None,
    kept=KEPT,
)


# --- the mixed folder of issue 2's "Done when" -------------------------------------------------

MIXED_FROM_SEEDS = [
    "good.txt",
    "cp1252.txt",
    "bom_crlf.txt",
    "multi.txt",
    "header_7_strings.txt",
    "header_ints.txt",
    "header_truncated.txt",
    "header_code.txt",
    "binary.png",
    "empty.txt",
]

MIXED_README = """\
# Mixed import folder

Issue 2's "Done when" folder: good records, malformed headers, a header with code in it, a binary
file, an empty file, cp1252 and BOM/CRLF files, a multi-record file and a duplicate (duplicate_of_good.txt
is good.txt under another name). Written by tests/data/make_seed_fixtures.py; this README itself must
be skipped by the importer (documentation files in folders are not records).
"""

NESTED = (
    header(
        "nasa",
        "21",
        "NOVALUE",
        "Nested folders are imported too",
        "NOVALUE",
        "https://www.nasa.gov/press-release/nested",
        "NOVALUE",
        "2021-06-22T20:52:00Z",
    )
    + "\nA record two folders down.\n"
)


def main() -> None:
    for folder in (SEEDS, MIXED):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    for name, (data, expected) in SAMPLES.items():
        (SEEDS / name).write_bytes(data)
        (SEEDS / (name + ".json")).write_text(json.dumps(expected, indent=2, ensure_ascii=False) + "\n", "utf-8")
    for name in MIXED_FROM_SEEDS:
        (MIXED / name).write_bytes(SAMPLES[name][0])
    (MIXED / "duplicate_of_good.txt").write_bytes(SAMPLES["good.txt"][0])
    (MIXED / GIVEN.name).write_bytes(GIVEN.read_bytes())
    (MIXED / "README.md").write_text(MIXED_README, "utf-8")
    nested = MIXED / "nested" / "deeper"
    nested.mkdir(parents=True)
    (nested / "nasa_nested.txt").write_text(NESTED, "utf-8")


if __name__ == "__main__":
    main()
