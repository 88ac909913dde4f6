"""A deterministic synthetic corpus of seed records, for the import and search benchmark. No Qt.

The records have the real seed format (see ``seeds/000_3fd0e19bd5f7f8e2.txt`` and
:mod:`reader.seedfile`) and realistic shapes: titles of 8-14 words, bodies of 300-900 words in 5-20
paragraphs, some with a ``By NAME`` byline and a date line, some with trailing boilerplate, some
with a description and an image, a dozen sources of very different sizes, a few records without a
URL or a date, a few duplicates, a few CRLF files and a few multi-record files.

Words come from a vocabulary of generated pseudo-words drawn with Zipf-like frequencies
(rank^-1.07), so the index holds what real text gives it: a handful of words in every document,
a long tail of words in very few. Short words are frequent, long words are rare, as in English.
:func:`vocabulary` gives the words in frequency-rank order, so the benchmark can pick rare,
middling and common words to search for.

Everything is drawn from one seeded :class:`random.Random`: the same arguments write the same
bytes on every run and every machine. Run as ``python -m reader.benchmark.corpus DIR [--records N]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import os
import random
import re
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEFAULT_RECORDS = 100_000
DEFAULT_SEED = 20180420
VOCABULARY_SIZE = 50_000
ZIPF_EXPONENT = 1.07
#: Records per sub-folder (a folder of 100,000 files is unkind to every tool that lists it).
RECORDS_PER_FOLDER = 1000
#: A real name at a middling rank, so prefix queries can be typed as a person types them.
NAMED_WORDS = {1500: "kaspersky", 900: "twitter", 4000: "zürich", 12000: "café"}

# Sampling with ``random.choices(cum_weights=...)`` costs a bisection per word; 60 million words
# would take 15 s. Instead every word gets slots in a table in proportion to its probability and
# words are drawn uniformly from the table (4x faster). With 2**22 slots the rarest word still
# gets about 5 slots, so the quantisation error is small.
_TABLE_SLOTS = 1 << 22


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_ONSETS = _words("b c d f g h j k l m n p r s t v w z b c d f g l m n p r s t br ch cl cr dr fl gr pl pr sh st th tr")
_NUCLEI = _words("a e i o u a e i o u a e i o u y ai ea ee oo ou")
_CODAS = ("",) * 12 + _words("n r s t l m nd nt st ck ng")
#: Syllable soup can spell rude words; the benchmark's output should not show them.
_RUDE = re.compile("cunt|fuck|shit|cock|dick|sex|fag|nig|rape|slut|tit|cum|piss|twat|wank|porn|anal|anus|arse")
_ACCENTED = str.maketrans("aeiou", "áéíóü")

_SOURCES = (
    # (source id, weight): a few big sources and a long tail, like a real scrape.
    ("reuters", 24),
    ("fortune", 16),
    ("bbc-news", 14),
    ("the-verge", 10),
    ("techcrunch", 9),
    ("wired", 7),
    ("ars-technica", 6),
    ("nasa", 5),
    ("wikinews", 4),
    ("the-hindu", 3),
    ("le-monde", 1),
    ("spiegel", 1),
)
_FIRST_NAMES = _words(
    "Sarah Michael Emma David Olivia James Sophia Daniel Amelia Lucas Chloe Omar Priya Kenji Ana Mateo "
    "Ingrid Tomasz Aisha Chen Fatima Lars Elena Diego Nora Samuel Hannah Ravi Julia Marco"
)
_LAST_NAMES = _words(
    "Gray Smith Johnson Nguyen Garcia Müller Rossi Tanaka Kowalski Okafor Silva Dubois Hansen Patel "
    "Kim Ivanova Brown Lopez Cohen Novak Jensen Moreau Ahmed Schmidt Rivera Berg Costa Singh Wright Doyle"
)
_MONTH_NAMES = _words("January February March April May June July August September October November December")
_BOILERPLATE = ("SPONSORED FINANCIAL CONTENT", "SPONSORED FINANCIAL CONTENT You May Like")


@dataclass(frozen=True, slots=True)
class CorpusInfo:
    """What :func:`generate` wrote."""

    folder: Path
    files: int
    records: int
    bytes: int
    seconds: float


def vocabulary(seed: int = DEFAULT_SEED, size: int = VOCABULARY_SIZE) -> list[str]:
    """The pseudo-words in frequency-rank order: ``vocabulary()[0]`` is the most frequent word."""
    rng = random.Random(f"vocabulary:{seed}")
    words: list[str] = []
    seen: set[str] = set()
    for rank in range(1, size + 1):
        if rank in NAMED_WORDS:
            word = NAMED_WORDS[rank]
        else:
            # Zipf's law of abbreviation: frequent words are short.
            syllables = 1 if rank <= 300 else 2 if rank <= 3000 else rng.choice((2, 2, 3, 3, 4))
            while True:
                if rank <= 40:
                    # The function words: two or three letters ("the", "of", "and").
                    word = rng.choice(_ONSETS[:20]) + rng.choice(_NUCLEI[:5]) + rng.choice(_CODAS[10:])
                else:
                    word = "".join(
                        rng.choice(_ONSETS) + rng.choice(_NUCLEI) + rng.choice(_CODAS) for _ in range(syllables)
                    )
                if rank > 300 and rng.random() < 0.01:
                    # A few words carry diacritics (folded by the index: "cafe" finds "café").
                    vowel = next((i for i, ch in enumerate(word) if ch in "aeiou"), None)
                    if vowel is not None:
                        word = word[:vowel] + word[vowel].translate(_ACCENTED) + word[vowel + 1 :]
                if word not in seen and word not in NAMED_WORDS.values() and not _RUDE.search(word):
                    break
        seen.add(word)
        words.append(word)
    return words


def document_share(rank: int, words_per_document: int = 600, size: int = VOCABULARY_SIZE) -> float:
    """Expected share of documents that hold the word of ``rank`` (1-based) at least once."""
    norm = sum(r**-ZIPF_EXPONENT for r in range(1, size + 1))
    p = rank**-ZIPF_EXPONENT / norm
    return float(1.0 - (1.0 - p) ** words_per_document)


class _Writer:
    """Draws words and records from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"corpus:{seed}")
        self.words = vocabulary(seed)
        weights = [r**-ZIPF_EXPONENT for r in range(1, len(self.words) + 1)]
        total = sum(weights)
        table: list[str] = []
        for word, weight in zip(self.words, weights, strict=True):
            table.extend(itertools.repeat(word, max(1, round(weight / total * _TABLE_SLOTS))))
        self.table = table
        # Sentence lengths 6-28 words, most around 15: a small table drawn from uniformly.
        self.sentence_lengths = [6 + int(self.rng.triangular(0, 22, 9)) for _ in range(4096)]
        self.start = datetime(2015, 1, 1, tzinfo=UTC)
        self.span_seconds = int((datetime(2020, 12, 31, tzinfo=UTC) - self.start).total_seconds())

    def paragraph(self, n_words: int) -> str:
        rng = self.rng
        words = rng.choices(self.table, k=n_words)
        lengths = rng.choices(self.sentence_lengths, k=n_words // 6 + 1)
        sentences = []
        i = 0
        for length in lengths:
            if i >= n_words:
                break
            sentence = words[i : i + length]
            sentence[0] = sentence[0].capitalize()
            sentences.append(" ".join(sentence) + ".")
            i += length
        return " ".join(sentences)

    def title(self) -> str:
        words = self.rng.choices(self.table, k=self.rng.randint(8, 14))
        title = " ".join(w.capitalize() if len(w) > 3 else w for w in words)
        if self.rng.random() < 0.08:
            title = title.replace(" ", "'s ", 1)  # repr() then writes the header in double quotes
        return title[0].upper() + title[1:]

    def record(self, index: int) -> str:
        """One record's text."""
        rng = self.rng
        source = rng.choices(_SOURCE_NAMES, cum_weights=_SOURCE_CUM)[0]
        title = self.title()
        published = self.start + timedelta(seconds=rng.randrange(self.span_seconds))
        roll = rng.random()
        if roll < 0.015:
            published_text = "NOVALUE"
        elif roll < 0.02:
            published_text = "last Tuesday"  # unparsable: date unknown, the article is kept
        else:
            published_text = published.strftime("%Y-%m-%dT%H:%M:%SZ")
        slug = "-".join(title.lower().replace("'", "").split()[:8])
        url = f"https://www.{source}.example/{published:%Y/%m/%d}/{slug}-{index}/"
        if rng.random() < 0.03:
            url = "NOVALUE"  # identity falls back to source + title + date
        image = f"https://cdn.{source}.example/images/{published:%Y/%m}/{index:x}.jpg" if rng.random() < 0.55 else ""
        description = self.paragraph(rng.randint(15, 40)) if rng.random() < 0.4 else ""
        author = "NOVALUE"
        lines: list[str] = []
        if rng.random() < 0.3:
            name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
            if rng.random() < 0.5:
                lines.append(f"By {name}")  # the byline becomes the author
            else:
                author = name
            if rng.random() < 0.6:
                lines.append(f"{_MONTH_NAMES[published.month - 1]} {published.day}, {published.year}")
        body_words = rng.randint(300, 900)
        # 5-20 paragraphs of uneven length (a third to three times the mean, never a lone word).
        shares = [rng.uniform(1.0, 9.0) for _ in range(rng.randint(5, 20))]
        scale = body_words / sum(shares)
        for share in shares:
            lines.append(self.paragraph(max(3, round(share * scale))))
        if rng.random() < 0.15:
            lines.append(rng.choice(_BOILERPLATE))
        header = [source, str(index), author, title, description, url, image, published_text]
        return repr(header) + "\n" + "\n".join(lines) + "\n"


_SOURCE_NAMES = [name for name, _ in _SOURCES]
_SOURCE_CUM = list(itertools.accumulate(weight for _, weight in _SOURCES))


def generate(
    folder: Path | str, records: int = DEFAULT_RECORDS, seed: int = DEFAULT_SEED, jobs: int | None = None
) -> CorpusInfo:
    """Write ``records`` seed records under ``folder`` (created): sub-folders of
    :data:`RECORDS_PER_FOLDER` records, one record per file except a few multi-record files.

    Each sub-folder is drawn from its own generator seeded with (``seed``, folder number), so
    ``jobs`` processes can write them in parallel and the bytes are the same whatever ``jobs`` is.
    """
    began = time.perf_counter()
    folder = Path(folder)
    chunks = [
        (
            folder,
            seed,
            number,
            number * RECORDS_PER_FOLDER,
            min(RECORDS_PER_FOLDER, records - number * RECORDS_PER_FOLDER),
        )
        for number in range(-(-records // RECORDS_PER_FOLDER))
    ]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(chunks)))
    if jobs == 1:
        counts = [_write_folder(*chunk) for chunk in chunks]
    else:
        with concurrent.futures.ProcessPoolExecutor(jobs) as pool:
            counts = list(pool.map(_write_folder, *zip(*chunks, strict=True)))
    files = sum(c[0] for c in counts)
    total_bytes = sum(c[1] for c in counts)
    return CorpusInfo(folder, files, records, total_bytes, time.perf_counter() - began)


_writers: dict[int, _Writer] = {}


def _write_folder(folder: Path, seed: int, number: int, first_index: int, records: int) -> tuple[int, int]:
    """Write one sub-folder of ``records`` records; returns (files, bytes)."""
    writer = _writers.get(seed)
    if writer is None:  # vocabulary and sampling table: built once per process
        writer = _writers[seed] = _Writer(seed)
    rng = writer.rng = random.Random(f"corpus:{seed}:{number}")
    target = folder / f"{number:04d}"
    target.mkdir(parents=True, exist_ok=True)
    written = files = total_bytes = 0
    index = first_index
    recent: list[str] = []
    while written < records:
        # About 2% of files hold several records in a row; about 0.5% of records are exact
        # duplicates of recent ones (a re-scrape), which the store must import once.
        in_file = min(rng.randint(2, 5) if rng.random() < 0.02 else 1, records - written)
        texts = []
        for _ in range(in_file):
            if recent and rng.random() < 0.005:
                texts.append(rng.choice(recent))
            else:
                texts.append(writer.record(index))
                index += 1
                if len(recent) < 64:
                    recent.append(texts[-1])
                else:
                    recent[rng.randrange(64)] = texts[-1]
        text = "".join(texts)
        if rng.random() < 0.01:
            text = text.replace("\n", "\r\n")
        data = text.encode("utf-8")
        with open(target / f"{first_index + written:06d}_{rng.getrandbits(64):016x}.txt", "wb") as fh:
            fh.write(data)
        files += 1
        written += in_file
        total_bytes += len(data)
    return files, total_bytes


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m reader.benchmark.corpus", description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--jobs", type=int, default=None, help="processes (default: one per core)")
    args = parser.parse_args(argv)
    info = generate(args.folder, args.records, args.seed, args.jobs)
    print(
        f"{info.records} records in {info.files} files, {info.bytes / 1e6:.1f} MB, "
        f"written in {info.seconds:.1f} s to {info.folder}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
