"""Feed benchmark: Reader against Newsboat on the same loopback server, in the same run.

    python -m reader.benchmark feeds [--runs 3] [--feeds 100] [--items 50] [--big-items 5000]
                                     [--shapes short,rss,atom] [--no-newsboat]

For each shape (:data:`SHAPES`: short items, full-text RSS, full-text Atom ``content type="html"``)
it times ``reader import FILE.opml`` (100 feeds x 50 items), and ``reader feeds add URL`` and
``reader import URL`` (one 5,000-item feed), each as the installed ``reader`` console script, beside
``newsboat -x reload`` of the same URLs, and prints the ratio. Then, for each of the two, ``reader
refresh`` against Newsboat's reload of a cache that holds the feeds already: after an untimed import
(``import FILE.opml``, ``feeds add URL``; Newsboat's first reload), the server serves every feed's
second generation (the same feeds, every item new: new guids and ids, new titles and bodies of the same
sizes, a later Last-Modified), so both fetch and store all the items again.

Generates (deterministically) the feeds and an OPML file listing them, serves them from a separate
process on 127.0.0.1 (so the server does not share Reader's interpreter), and times every case on a
fresh store for Reader and a fresh cache for Newsboat (its first reload), alternating, ``--runs``
times each; it prints the medians (seconds and entries/s) and the spread.

- The command runs as from a script: its stderr is not a terminal, so it draws no progress bar,
  whatever the benchmark itself runs in.
- Every run starts after ``sync``: no run pays for writing back the previous one's files.
- Reader's modules are byte-compiled first, as ``pip install`` does (from a checkout with
  ``PYTHONDONTWRITEBYTECODE`` set, each start would compile them again).

Other work on the machine slows Reader (two cores busy) more than Newsboat (one): time it idle.
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from reader.benchmark import compile_reader, remove_store

_VOCABULARY = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which but have an they "
    "you were her she there been one all we their has would when if so no will more out up said what its about "
    "than into them can only other new some could time these two may then do first any my now such like our over "
    "man me even most made after also did many before must through back years where much your way well down should "
    "because each just those people how too little state good very make world still own see men work long get here "
    "between both life being under never day same another know while last might us great old year off come since "
    "against go came right used take three council minister election market climate research report city river "
    "school health court police storm energy budget vote museum orbit launch telescope harvest festival railway "
    "bridge hospital "
)
_WORDS = tuple(_VOCABULARY.split())

_EPOCH = 1_700_000_000  # fixed, so the files are the same on every run


def _sentence(rng: random.Random, low: int = 8, high: int = 22) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(low, high))]
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def _paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rng) for _ in range(sentences))


#: The shapes of feed the benchmark generates (``--shapes``):
#: - ``short``: a title, a two-sentence description, a link (a headline feed);
#: - ``rss``: a full-text RSS 2.0 feed, the article in ``<description>`` as escaped HTML paragraphs
#:   (about 3.5 KB an item, 17.8 MB for 5,000), as most blog engines write it;
#: - ``atom``: the same text in Atom, as ``<content type="html">``;
#: - ``content``: RSS with a short ``<description>`` and the article in ``<content:encoded>`` CDATA.
SHAPES = ("short", "rss", "atom", "content")


def _story(rng: random.Random, feed: int, number: int, paragraphs: int) -> tuple[str, str]:
    """An item's title and its full-text HTML (paragraphs, a relative image and link)."""
    title = _sentence(rng, 5, 10).rstrip(".")
    body = [f"<p>{_paragraph(rng, 4)}</p>" for _ in range(paragraphs)]
    # Relative image and link, resolved against the item link: the common case in real feeds.
    body.insert(1, f'<p><img src="/images/{feed}/{number}.jpg" alt="{escape(title)}"></p>')
    body.append(f'<p>Read more at <a href="/more/{number}.html">the site</a>.</p>')
    return title, "".join(body)


def _item(rng: random.Random, feed: int, number: int, when: int, paragraphs: int, shape: str = "content") -> str:
    # ``number`` names the item (its guid or id, its link): a new generation numbers on from the last.
    title, body = _story(rng, feed, number, paragraphs)
    link = f"https://news{feed}.example.org/{when // 86400}/story-{number}.html"
    author = " ".join(rng.choice(_WORDS).capitalize() for _ in range(2))
    if shape == "atom":
        return (
            "  <entry>\n"
            f"    <title>{escape(title)}</title>\n"
            f'    <link rel="alternate" type="text/html" href={quoteattr(link)}/>\n'
            f"    <id>urn:feed-{feed}:item-{number}</id>\n"
            f"    <updated>{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(when))}</updated>\n"
            f"    <author><name>{escape(author)}</name></author>\n"
            f'    <category term="{rng.choice(_WORDS)}"/>\n'
            f'    <content type="html">{escape(body)}</content>\n'
            "  </entry>\n"
        )
    if shape == "short":
        text = escape(_paragraph(rng, 2))
    elif shape == "rss":
        text = escape(body)
    else:
        text = escape("<p>" + _paragraph(rng, 2) + "</p>")
    content = f"\n      <content:encoded><![CDATA[{body}]]></content:encoded>" if shape == "content" else ""
    thumb = (
        f'\n      <media:thumbnail url="https://img.example.org/{feed}/{number}-thumb.jpg" width="160" height="90"/>'
        if number % 3 == 0 and shape == "content"
        else ""
    )
    return (
        "    <item>\n"
        f"      <title>{escape(title)}</title>\n"
        f"      <link>{escape(link)}</link>\n"
        f'      <guid isPermaLink="false">feed-{feed}-item-{number}</guid>\n'
        f"      <pubDate>{email.utils.formatdate(when, usegmt=True)}</pubDate>\n"
        f"      <dc:creator>{escape(author)}</dc:creator>\n"
        f"      <category>{rng.choice(_WORDS)}</category>\n"
        f"      <description>{text}</description>{content}{thumb}\n"
        "    </item>\n"
    )


def feed_xml(
    feed: int, items: int, *, paragraphs: int = 9, seed: int = 5, shape: str = "content", generation: int = 1
) -> bytes:
    """One feed document of ``shape`` (see :data:`SHAPES`) with ``items`` items (full text: about
    3.6 KB each). Generation 2 is the same feed later, with ``items`` other items (guids, titles and
    bodies, of the same sizes), all newer than generation 1's: what a refresh finds (every one new)."""
    rng = random.Random(seed * 1_000_003 + feed + (generation - 1) * 1_000_000_007)  # generation 1: as before
    first = (generation - 1) * items
    epoch = _EPOCH + (generation - 1) * items * 3600
    if shape == "atom":
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
            f"  <title>Benchmark feed {feed}</title>\n"
            f'  <link rel="alternate" type="text/html" href="https://news{feed}.example.org/"/>\n'
            f"  <id>urn:feed-{feed}</id>\n"
            f"  <updated>{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))}</updated>\n"
        ]
    else:
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/">\n'
            "  <channel>\n"
            f"    <title>Benchmark feed {feed}</title>\n"
            f"    <link>https://news{feed}.example.org/</link>\n"
            f"    <description>Generated feed number {feed}</description>\n"
            f"    <lastBuildDate>{email.utils.formatdate(epoch, usegmt=True)}</lastBuildDate>\n"
        ]
    for number in range(first, first + items):
        parts.append(_item(rng, feed, number, epoch - (number - first) * 3600 - feed * 60, paragraphs, shape))
    parts.append("</feed>\n" if shape == "atom" else "  </channel>\n</rss>\n")
    return "".join(parts).encode("utf-8")


def opml_xml(urls: list[str]) -> bytes:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head><title>Benchmark subscriptions</title></head>",
        "  <body>",
        '    <outline text="Benchmark" title="Benchmark">',
    ]
    for number, url in enumerate(urls):
        lines.append(
            f'      <outline type="rss" text="Benchmark feed {number}" title="Benchmark feed {number}" '
            f"xmlUrl={quoteattr(url)}/>"
        )
    lines += ["    </outline>", "  </body>", "</opml>", ""]
    return "\n".join(lines).encode("utf-8")


def generate(folder: Path, feeds: int, items: int, big_items: int, shapes: Sequence[str] = ("content",)) -> None:
    """Write ``genG/SHAPE/feed-NNN.xml`` and ``genG/big-SHAPE.xml`` under ``folder`` for generations
    1 and 2 of each shape (same bytes every run), and serve generation 1 (:func:`serve_generation`).

    Each file's modification time, the server's Last-Modified, is its feed's newest item: a client
    asking If-Modified-Since generation 1 gets generation 2 whole, as from a server whose feed moved on."""
    for generation in (1, 2):
        root = folder / f"gen{generation}"
        for shape in shapes:
            (root / shape).mkdir(parents=True, exist_ok=True)
            for number in range(feeds):
                _write(
                    root / shape / f"feed-{number:03d}.xml",
                    feed_xml(number, items, shape=shape, generation=generation),
                    _EPOCH + (generation - 1) * items * 3600,
                )
            _write(
                root / f"big-{shape}.xml",
                feed_xml(10_000, big_items, shape=shape, generation=generation),
                _EPOCH + (generation - 1) * big_items * 3600,
            )
    for shape in shapes:
        serve_generation(folder, shape, 1)


def _write(path: Path, data: bytes, mtime: int) -> None:
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))


def serve_generation(folder: Path, shape: str, generation: int) -> None:
    """Serve ``generation`` of ``shape`` at its URLs (``SHAPE/feed-NNN.xml``, ``big-SHAPE.xml``):
    each is a symbolic link into ``genG/``, replaced by a rename, so a request gets one generation
    or the other whole."""
    for name in (shape, f"big-{shape}.xml"):
        link = folder / name
        if link.exists() and not link.is_symlink():  # a --keep folder from before the generations
            if link.is_dir():
                shutil.rmtree(link)
            else:
                link.unlink()
        new = folder / f".{name}.new"
        new.unlink(missing_ok=True)
        new.symlink_to(Path(f"gen{generation}") / name)
        os.replace(new, link)


# --- the server (a separate process) ------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    # HTTP/1.1 with keep-alive, as the servers people read feeds from (and curl, Newsboat's client,
    # keeps connections too). Nagle off: the headers and the body are two writes, and with keep-alive
    # the second would wait for the client's delayed ACK (about 40 ms a response).
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        """Override: no log line per request."""


def serve(folder: Path) -> None:
    """Serve ``folder`` on 127.0.0.1 (a free port, printed on the first line) until stdin closes."""
    handler = lambda *a, **k: _QuietHandler(*a, directory=str(folder), **k)  # noqa: E731
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


# --- timing -------------------------------------------------------------------------------------
#
# Every run is a fresh process on a fresh store, like Newsboat's: nothing is warm (imports, the
# parser processes' server). Each command is the one a person types, interpreter start-up and
# imports included.


def _count(path: Path, table: str) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _reader_script() -> list[str]:
    """The ``reader`` console script of this environment, as a user runs it (else ``-m reader``)."""
    script = Path(sys.executable).with_name("reader")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "reader"]


def _reader_command(
    work: Path, command: list[str], *, store_name: str = "command.sqlite", fresh: bool = True
) -> tuple[float, int]:
    """Time ``reader --db STORE COMMAND...`` on a fresh store (``import PATH``, ``feeds add URL``),
    or with ``fresh`` false on the store the last command left (``refresh``); with the count of
    the articles then in the store."""
    store = work / store_name
    if fresh:
        remove_store(store)
    start = time.perf_counter()
    # stderr into a file, as from a script (no progress bar, on any terminal). Not a pipe: the
    # run would then also wait for the parse workers' server, which holds it, to exit.
    with tempfile.TemporaryFile("w+") as errors:
        done = subprocess.run(
            [*_reader_script(), "--db", str(store), *command],
            check=False,  # exit 1 would only mean some input was rejected; the count tells
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        elapsed = time.perf_counter() - start
        if done.returncode not in (0, 1):
            errors.seek(0)
            print(errors.read(), file=sys.stderr, end="")
    return elapsed, _count(store, "articles")


def _newsboat(work: Path, urls: list[str], *, fresh: bool = True) -> tuple[float, int]:
    """Time ``newsboat -x reload`` of ``urls`` into a fresh cache (its first reload), or with
    ``fresh`` false into the cache the last one left; with the count of the items then in it."""
    newsboat = shutil.which("newsboat")
    assert newsboat is not None
    urls_file = work / "urls"
    urls_file.write_text("\n".join(urls) + "\n", encoding="utf-8")
    config = work / "config"
    config.write_text("", encoding="utf-8")  # Newsboat's defaults
    cache = work / "newsboat-cache.db"
    if fresh:
        remove_store(cache)
    env = dict(os.environ, HOME=str(work), XDG_CONFIG_HOME=str(work / "config.d"), XDG_DATA_HOME=str(work / "data"))
    start = time.perf_counter()
    subprocess.run(
        [newsboat, "-x", "reload", "-u", str(urls_file), "-c", str(cache), "-C", str(config)],
        check=True,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start, _count(cache, "rss_item")


def _reader_refresh(work: Path, folder: Path, shape: str, first: list[str]) -> tuple[float, int]:
    """Time ``reader refresh`` after ``first`` (untimed: ``import FILE.opml``, ``feeds add URL``)
    stored generation 1 of ``shape`` and the server moved on to generation 2; with the count of
    the articles it added. Plain ``refresh``, as a person runs it: the feeds are all due (the server
    sends no Cache-Control, Expires or Retry-After), and the count would show one that was not."""
    serve_generation(folder, shape, 1)
    _, before = _reader_command(work, first, store_name="refresh.sqlite")
    serve_generation(folder, shape, 2)
    try:
        os.sync()
        elapsed, after = _reader_command(work, ["refresh"], store_name="refresh.sqlite", fresh=False)
    finally:
        serve_generation(folder, shape, 1)
    return elapsed, after - before


def _newsboat_refresh(work: Path, folder: Path, shape: str, urls: list[str]) -> tuple[float, int]:
    """Newsboat's side of :func:`_reader_refresh`: a reload into the cache its first (untimed)
    reload filled with generation 1; with the count of the items it added."""
    serve_generation(folder, shape, 1)
    _, before = _newsboat(work, urls)
    serve_generation(folder, shape, 2)
    try:
        os.sync()
        elapsed, after = _newsboat(work, urls, fresh=False)
    finally:
        serve_generation(folder, shape, 1)
    return elapsed, after - before


def _line(name: str, runs: list[tuple[float, int]], note: str = "") -> str:
    seconds, entries = _median(runs)
    spread = f"{min(r[0] for r in runs):.2f}-{max(r[0] for r in runs):.2f} s" if len(runs) > 1 else ""
    return (
        f"  {name:<16} {seconds:6.2f} s  {entries / seconds:7.0f} entries/s  ({entries} entries; {spread}){note}"
        if spread
        else f"  {name:<16} {seconds:6.2f} s  {entries / seconds:7.0f} entries/s  ({entries} entries){note}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m reader.benchmark feeds", description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--big-items", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3, help="runs of each, alternating; medians are shown")
    parser.add_argument(
        "--shapes", default="short,rss,atom", help=f"comma-separated, of {', '.join(SHAPES)} (default: short,rss,atom)"
    )
    parser.add_argument("--no-newsboat", action="store_true", help="time Reader only")
    parser.add_argument("--keep", type=Path, help="generate into (and keep) this folder")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # internal: the server process
    args = parser.parse_args(argv)
    if args.serve is not None:
        serve(args.serve)
        return 0
    compile_reader()  # as installed: the timed commands do not compile Reader's modules
    with_newsboat = not args.no_newsboat and shutil.which("newsboat") is not None
    if not args.no_newsboat and not with_newsboat:
        print("newsboat is not installed: timing Reader only")

    shapes = [shape.strip() for shape in args.shapes.split(",") if shape.strip()]
    unknown = sorted(set(shapes) - set(SHAPES))
    if unknown:
        parser.error(f"unknown shape {unknown[0]!r} (known: {', '.join(SHAPES)})")
    with tempfile.TemporaryDirectory(prefix="reader-bench-feeds-") as tmp:
        folder = args.keep or Path(tmp) / "www"
        start = time.perf_counter()
        generate(folder, args.feeds, args.items, args.big_items, shapes)
        print(
            f"generated {args.feeds} feeds x {args.items} items and a {args.big_items}-item file of each shape "
            f"({', '.join(shapes)}) in {time.perf_counter() - start:.1f} s; {args.runs} runs each, alternating, "
            f"sync before each, medians; load {os.getloadavg()[0]:.2f}"
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "reader.benchmark", "feeds", "--serve", str(folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            base = f"http://127.0.0.1:{int(server.stdout.readline())}"
            cases: list[tuple[str, str, list[tuple[str, list[str]]], list[str]]] = []
            for shape in shapes:
                urls = [f"{base}/{shape}/feed-{n:03d}.xml" for n in range(args.feeds)]
                opml = Path(tmp) / f"subscriptions-{shape}.opml"
                opml.write_bytes(opml_xml(urls))
                big = f"{base}/big-{shape}.xml"
                size = (folder / f"big-{shape}.xml").stat().st_size
                cases.append(
                    (
                        shape,
                        f"{shape}: {args.feeds} feeds x {args.items} items from one OPML file",
                        [("import FILE.opml", ["import", str(opml)])],
                        urls,
                    )
                )
                cases.append(
                    (
                        shape,
                        f"{shape}: one {args.big_items}-item feed ({size / 1e6:.1f} MB)",
                        [("feeds add URL", ["feeds", "add", big]), ("import URL", ["import", big])],
                        [big],
                    )
                )
            for number, (shape, title, commands, feed_urls) in enumerate(cases):
                work = Path(tmp) / f"case{number}"
                work.mkdir()
                timings: dict[str, list[tuple[float, int]]] = {name: [] for name, _ in commands}
                newsboat: list[tuple[float, int]] = []
                refresh: list[tuple[float, int]] = []
                newsboat_refresh: list[tuple[float, int]] = []
                for _ in range(args.runs):
                    for name, command in commands:
                        # Each run starts with nothing left to write back: otherwise one that
                        # syncs (Newsboat's cache does, on every commit) waits for the last run's.
                        os.sync()
                        timings[name].append(_reader_command(work, command))
                    if with_newsboat:
                        os.sync()
                        newsboat.append(_newsboat(work, feed_urls))
                    refresh.append(_reader_refresh(work, folder, shape, commands[0][1]))
                    if with_newsboat:
                        newsboat_refresh.append(_newsboat_refresh(work, folder, shape, feed_urls))
                print(f"{title} (load {os.getloadavg()[0]:.2f})")
                reference = _median(newsboat)[0] if newsboat else None
                for name, runs in timings.items():
                    note = f"   {_median(runs)[0] / reference:.2f}x Newsboat" if reference else ""
                    print(_line(f"reader {name}", runs, note))
                if newsboat:
                    print(_line("newsboat reload", newsboat))
                print(f"  then every item new (a second generation of the feeds), after an untimed {commands[0][0]}:")
                reference = _median(newsboat_refresh)[0] if newsboat_refresh else None
                note = f"   {_median(refresh)[0] / reference:.2f}x Newsboat" if reference else ""
                print(_line("reader refresh", refresh, note))
                if newsboat_refresh:
                    print(_line("newsboat reload", newsboat_refresh))
        finally:
            if server.stdin is not None:
                server.stdin.close()
            server.wait(timeout=10)
            if server.stdout is not None:
                server.stdout.close()
    return 0


def _median(runs: list[tuple[float, int]]) -> tuple[float, int]:
    ordered = sorted(runs)
    return ordered[len(ordered) // 2]
