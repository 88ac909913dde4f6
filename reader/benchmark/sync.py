"""Sync benchmark: Reader against a real FreshRSS on loopback (and Newsboat, when it can read it).

    python -m reader.benchmark sync [--runs 3] [--feeds 100] [--items 100] [--no-newsboat] [--server ENV_SH]

Starts FreshRSS (``../shared/servers/freshrss/``, :mod:`reader.benchmark._freshrss`; its files in
``/dev/shm``: the server's disk is not what is timed) with no feed, or uses ``--server``'s,
serves ``--feeds`` generated full-text feeds of ``--items`` items each from a loopback HTTP server
in this process, subscribes them through the server's Google Reader API (FreshRSS fetches each at
once; ``cli/actualize-user.php`` is run only if some items are missing after that), and marks a
third of the items read and one in twenty starred, as a phone would have. Then it times, as
separate processes of ``python -m reader`` (this checkout, through ``PYTHONPATH``), each run on a
fresh store and a fresh config folder (the token file):

- the first sync: ``reader accounts add URL --user alice --password-stdin`` then ``reader sync``
  (seconds, items/s, the peak RSS of the ``sync`` process, from ``wait4``);
- a no-change ``reader sync`` right after it (seconds, peak RSS): DESIGN.md's budget is < 1 s for
  10,000 items.

Newsboat 2.21's ``feedhq`` urls-source speaks the same API: it is tried once on the server (its log
at level 6); if it stores items, its first ``newsboat -x reload`` (fresh cache) and a no-change one
are timed in the same runs, alternating with Reader's, and the ratio is printed; else one line says
why not (2.21 reads items from ``/reader/atom/``, which FreshRSS does not serve), and as a stand-in
Newsboat reloads the same feeds straight from the feed server: as many items taken in, though not
the same work (Reader's figure includes FreshRSS making its JSON in PHP).

``--runs`` runs of each, medians, ``sync`` (the system call) before each run; the load average is
printed with each figure. Other work on the machine slows every figure: time it idle.
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

from reader.benchmark import compile_reader
from reader.benchmark._freshrss import READ, STARRED, Server, missing_requirements
from reader.benchmark.feeds import _paragraph, _sentence

#: DESIGN.md's budget for a sync with nothing new, at 10,000 items.
NO_CHANGE_BUDGET_S = 1.0


class BenchmarkError(Exception):
    """Something the benchmark needs failed: one line, no traceback."""


# --- the feeds --------------------------------------------------------------------------------------


def feed_xml(feed: int, items: int, base: str, now: int) -> bytes:
    """One full-text RSS feed (about 2 KB an item), every link on loopback (FreshRSS asks the
    feed's site for ``/`` and ``/favicon.ico`` when it subscribes), dated in the last days so
    FreshRSS's archiving keeps every item."""
    rng = random.Random(feed)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>\n'
        f"<title>Sync feed {feed}</title><link>{base}/site{feed}/</link><description>feed {feed}</description>\n"
    ]
    for number in range(items):
        body = "".join(f"<p>{_paragraph(rng, 3)}</p>" for _ in range(4))
        parts.append(
            f"<item><title>{escape(_sentence(rng, 5, 10).rstrip('.'))}</title>"
            f"<link>{base}/site{feed}/{number}.html</link>"
            f'<guid isPermaLink="false">sync-{feed}-{number}</guid>'
            f"<pubDate>{email.utils.formatdate(now - 600 * number - feed, usegmt=True)}</pubDate>"
            f"<description>{escape(body)}</description></item>\n"
        )
    parts.append("</channel></rss>\n")
    return "".join(parts).encode("utf-8")


class _QuietHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        """Override: no log line per request."""


@contextlib.contextmanager
def feed_server(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 for as long as the block runs; its base URL. In this process:
    FreshRSS reads the feeds only while subscribing, never while a command is timed."""
    handler = lambda *a, **k: _QuietHandler(*a, directory=str(folder), **k)  # noqa: E731
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def populate(server: Server, folder: Path, base: str, feeds: int, items: int) -> tuple[int, int, int]:
    """Subscribe ``feeds`` generated feeds and mark a third of their items read and one in twenty
    starred on the server: (items, read, starred) of the whole account, as the server has them
    (a ``--server`` may hold more than these feeds)."""
    before = set(server.ids())
    now = int(time.time())
    for feed in range(feeds):
        (folder / f"feed-{feed:03d}.xml").write_bytes(feed_xml(feed, items, base, now))
        server.quickadd(f"{base}/feed-{feed:03d}.xml")
    ours = sorted(set(server.ids()) - before)
    if len(ours) < feeds * items:
        time.sleep(2)  # FreshRSS refreshes a feed only once its TTL (1 s) is over
        server.actualize()
        ours = sorted(set(server.ids()) - before)
    if len(ours) != feeds * items:
        raise BenchmarkError(f"FreshRSS took {len(ours)} items, not the {feeds * items} of the feeds it was given")
    server.tag(ours[::3], READ)
    server.tag(ours[::20], STARRED)
    total = len(server.ids())
    # (``s=.../read`` is no real stream in FreshRSS: it answers with everything; ``xt=`` is.)
    return total, total - len(server.ids(xt=READ)), len(server.ids(STARRED))


# --- timing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timed:
    seconds: float
    peak_kib: int  # the process's peak RSS (ru_maxrss, KiB on Linux)
    cpu: float  # its user + system seconds: the rest of ``seconds`` it waited (mostly for the server)


def timed(command: Sequence[str], env: dict[str, str], *, stdin: str = "", accept: Sequence[int] = (0,)) -> Timed:
    """Run ``command`` with its stdout discarded and stderr into a file (as from a script: no
    progress bar); its wall time and peak RSS, from ``wait4`` (this child only)."""
    os.sync()  # nothing left for this run to wait for from the previous one's writes
    with tempfile.TemporaryFile("w+") as errors:
        start = time.perf_counter()
        child = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            text=True,
        )
        if stdin:
            assert child.stdin is not None
            child.stdin.write(stdin)
            child.stdin.close()
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode not in accept:
            errors.seek(0)
            said = " ".join(errors.read().split())[-500:]
            raise BenchmarkError(
                f"{Path(command[0]).name} {' '.join(command[1:])[:120]}: exit {child.returncode}: {said}"
            )
    return Timed(elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)


def _count(path: Path, sql: str) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return int(conn.execute(sql).fetchone()[0])


def _home(work: Path) -> dict[str, str]:
    """A fresh home for one run: its own config folder (Reader's token file), no keyring, no proxy."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return dict(
        env,
        HOME=str(work),
        XDG_CONFIG_HOME=str(work / "config"),
        XDG_DATA_HOME=str(work / "data"),
        XDG_CACHE_HOME=str(work / "cache"),
        READER_KEYRING="0",
        no_proxy="*",
    )


@dataclass(frozen=True)
class ReaderRun:
    add: Timed
    first: Timed
    again: Timed
    articles: int


def reader_run(work: Path, server: Server) -> ReaderRun:
    """``accounts add`` + ``sync`` on a fresh store, then a no-change ``sync``."""
    env = _home(work)
    # This checkout's Reader, whatever the environment has installed.
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")])
    store = work / "store.sqlite"
    reader = [sys.executable, "-m", "reader", "--db", str(store)]
    add = timed(
        [*reader, "accounts", "add", server.url, "--user", server.user, "--password-stdin"],
        env,
        stdin=server.password + "\n",
    )
    first = timed([*reader, "sync"], env)
    articles = _count(store, "SELECT count(*) FROM articles WHERE account_id IS NOT NULL")
    again = timed([*reader, "sync"], env)
    return ReaderRun(add, first, again, articles)


@dataclass(frozen=True)
class NewsboatRun:
    first: Timed
    again: Timed
    items: int


def _newsboat_command(
    work: Path, server: Server, *, log: Path | None = None, direct: Sequence[str] = ()
) -> tuple[list[str], dict[str, str], Path]:
    """Newsboat on the server through its feedhq source, or (``direct``) on these feed URLs with
    its defaults; a fresh home each time."""
    env = _home(work)
    config = work / "config.newsboat"
    feedhq = (
        'urls-source "feedhq"\n'
        f'feedhq-url "{server.url}"\n'  # Newsboat adds /accounts/ClientLogin, /reader/api/0/..., /reader/atom/...
        f'feedhq-login "{server.user}"\n'
        f'feedhq-password "{server.password}"\n'
        "feedhq-min-items 1000\n"  # all of a feed's items, not Newsboat's default 20
    )
    config.write_text("" if direct else feedhq, encoding="utf-8")
    (work / "urls").write_text("".join(f"{url}\n" for url in direct), encoding="utf-8")
    cache = work / "cache.db"
    command = [
        shutil.which("newsboat") or "newsboat",
        "-x",
        "reload",
        "-C",
        str(config),
        "-c",
        str(cache),
        "-u",
        str(work / "urls"),
    ]
    if log is not None:
        command += ["-l", "6", "-d", str(log)]
    return command, env, cache


def newsboat_problem(work: Path, server: Server) -> str | None:
    """Why Newsboat's feedhq source cannot read this server (None: it stored items)."""
    log = work.parent / "newsboat-probe.log"
    command, env, cache = _newsboat_command(work, server, log=log)
    try:
        timed(command, env)
    except BenchmarkError as exc:
        return str(exc)
    items = _count(cache, "SELECT count(*) FROM rss_item") if cache.exists() else 0
    if items:
        return None
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines() if log.exists() else []
    # USERERROR lines name the URL and the answer; ERROR lines only curl's code for it.
    errors = [line.split(": ", 1)[-1] for line in lines if "USERERROR" in line]
    errors += [line.split(": ", 1)[-1] for line in lines if "ERROR" in line and "USERERROR" not in line]
    logged_in = any("Auth=" in line for line in lines)
    listed = any("get_subscribed_urls: document =" in line for line in lines)
    why = errors[0] if errors else "no error in its log"
    if "/reader/atom/" in why:
        why += (
            " (it reads each feed's items from the old Atom stream API, FEEDHQ-URL/reader/atom/feed/N, "
            "which FreshRSS's greader.php does not serve)"
        )
    done = ", ".join(s for s, ok in (("logged in", logged_in), ("listed the subscriptions", listed)) if ok)
    return f"stored no items{'; it ' + done if done else ''}; {why}"


def newsboat_run(work: Path, server: Server, direct: Sequence[str] = ()) -> NewsboatRun:
    """A first ``newsboat -x reload`` on a fresh cache, then a no-change one."""
    command, env, cache = _newsboat_command(work, server, direct=direct)
    first = timed(command, env)
    items = _count(cache, "SELECT count(*) FROM rss_item")
    again = timed(command, env)
    return NewsboatRun(first, again, items)


# --- the report ---------------------------------------------------------------------------------


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _spread(values: Sequence[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f} s" if len(values) > 1 else "one run"


def _load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m reader.benchmark sync", description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=100, help="feeds on the server (default 100)")
    parser.add_argument("--items", type=int, default=100, help="items a feed (default 100)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each, alternating; medians are shown (default 3)")
    parser.add_argument("--no-newsboat", action="store_true", help="time Reader only")
    parser.add_argument(
        "--server",
        type=Path,
        metavar="ENV_SH",
        help="a FreshRSS already running (the env.sh its start_freshrss.sh wrote): subscribe the feeds there, "
        "and neither start nor stop one",
    )
    args = parser.parse_args(argv)
    for name in ("feeds", "items", "runs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    why = missing_requirements() if args.server is None else None
    if args.server is not None and not args.server.is_file():
        why = f"{args.server}: no such file"
    if why is not None:
        print(f"cannot start FreshRSS: {why}", file=sys.stderr)
        return 2
    # A plain kill ends the run through the finally blocks, which stop the server's processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    compile_reader()  # as installed: the timed commands do not compile Reader's modules
    with tempfile.TemporaryDirectory(prefix="reader-bench-sync-") as tmp:
        try:
            return _run(Path(tmp), args)
        except (BenchmarkError, RuntimeError, OSError) as exc:
            print(f"sync benchmark: {exc}", file=sys.stderr)
            return 2


def _run(tmp: Path, args: argparse.Namespace) -> int:
    folder = tmp / "www"
    folder.mkdir()
    start = time.perf_counter()
    server = Server.attach(args.server) if args.server else Server.start(_server_dir(tmp) / "freshrss")
    try:
        with feed_server(folder) as base:
            _measure(tmp, args, server, folder, base, start)
    finally:
        if not args.server:
            server.stop()
            shutil.rmtree(server.work.parent, ignore_errors=True)
    return 0


def _measure(tmp: Path, args: argparse.Namespace, server: Server, folder: Path, base: str, start: float) -> None:
    items, read, starred = populate(server, folder, base, args.feeds, args.items)
    print(
        f"FreshRSS {server.version()} at {server.url}: {args.feeds} feeds x {args.items} items subscribed, "
        f"the account holds {items} ({read} read, {starred} starred), "
        f"ready in {time.perf_counter() - start:.1f} s; "
        f"{args.runs} runs each, alternating, fresh store each, medians; {_load()}"
    )
    newsboat = None if args.no_newsboat else shutil.which("newsboat")
    direct: list[str] = []  # Newsboat's stand-in: the same feeds, read straight from the feed server
    if not args.no_newsboat and newsboat is None:
        print("newsboat: not installed, Reader timed alone")
    elif newsboat is not None:
        problem = newsboat_problem(tmp / "newsboat", server)
        if problem is not None:
            direct = [f"{base}/feed-{feed:03d}.xml" for feed in range(args.feeds)]
            print(
                f"newsboat {_newsboat_version(newsboat)} feedhq urls-source: {problem}; as a stand-in, Newsboat "
                f"reads the same {args.feeds} feeds straight from the loopback feed server"
            )
    readers: list[ReaderRun] = []
    boats: list[NewsboatRun] = []
    for _ in range(args.runs):
        readers.append(reader_run(tmp / "reader", server))
        if readers[-1].articles != items:
            raise BenchmarkError(f"reader sync stored {readers[-1].articles} of the server's {items} items")
        if newsboat is not None:
            boats.append(newsboat_run(tmp / "newsboat", server, direct))
    _report(readers, boats, items, stand_in=bool(direct))


def _server_dir(tmp: Path) -> Path:
    """Where the server keeps its files: in memory (``/dev/shm``) where there is such a folder.
    FreshRSS's SQLite commits each subscription with fsyncs (about 4 s a 100-item feed on a busy
    disk here, 7 minutes for 100 feeds), and the server's disk is not what is timed; Reader's
    store stays on the disk, as a person's does."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="reader-bench-sync-", dir=shm))
    folder = tmp / "server"
    folder.mkdir()
    return folder


def _newsboat_version(program: str) -> str:
    done = subprocess.run([program, "--version"], capture_output=True, text=True, check=False)
    words = done.stdout.split()
    return words[1] if len(words) > 1 else "?"


def _report(readers: Sequence[ReaderRun], boats: Sequence[NewsboatRun], items: int, *, stand_in: bool) -> None:
    """Every figure beside its reference. With ``stand_in``, Newsboat read the feeds themselves,
    not the server: a reference for the work of taking in as many items, not the same work (Reader's
    figure includes FreshRSS making the JSON in PHP; Newsboat's, parsing the RSS)."""
    boat = "newsboat direct" if stand_in else "newsboat feedhq"
    whose = "Newsboat's direct (stand-in)" if stand_in else "Newsboat's"
    firsts = [r.add.seconds + r.first.seconds for r in readers]
    first = _median(firsts)
    boat_first = _median([b.first.seconds for b in boats]) if boats else None
    print(f"first sync, accounts add + sync on a fresh store ({_load()})")
    reference = (
        f"{first / boat_first:.2f}x {whose} first reload (goal vs Newsboat on the server: <= 1.00x)"
        if boat_first
        else "goal: no slower than Newsboat's first reload (not measurable here, see above)"
    )
    add, sync = _median([r.add.seconds for r in readers]), _median([r.first.seconds for r in readers])
    print(
        f"  reader          {first:6.2f} s  {items / first:6.0f} items/s  ({_spread(firsts)}; add "
        f"{add:.2f} s + sync {sync:.2f} s, its own CPU {_median([r.first.cpu for r in readers]):.2f} s, its worker "
        f"processes' not counted)  {reference}"
    )
    first_peak = _median([r.first.peak_kib for r in readers]) / 1024
    again_peak = _median([r.again.peak_kib for r in readers]) / 1024
    print(
        f"  reader sync     peak RSS {first_peak:5.0f} MB   reference: {again_peak:.0f} MB for the no-change sync "
        f"(the same process with nothing to store; DESIGN.md: bounded memory)"
    )
    if boats:
        seconds = [b.first.seconds for b in boats]
        boat_peak = _median([b.first.peak_kib for b in boats]) / 1024
        print(
            f"  {boat:<15} {_median(seconds):6.2f} s  {boats[0].items / _median(seconds):6.0f} items/s  "
            f"({_spread(seconds)}; {boats[0].items} items; peak RSS {boat_peak:.0f} MB)"
        )
    agains = [r.again.seconds for r in readers]
    again = _median(agains)
    judged = items >= 10_000
    verdict = ("within" if again < NO_CHANGE_BUDGET_S else "OVER") if judged else f"not judged at {items} items"
    print(f"no-change sync ({_load()})")
    print(
        f"  reader          {again:6.2f} s  ({_spread(agains)}; peak RSS {again_peak:.0f} MB)  "
        f"budget < {NO_CHANGE_BUDGET_S:.0f} s for 10,000 items (DESIGN.md): {verdict}"
    )
    if boats:
        seconds = [b.again.seconds for b in boats]
        print(
            f"  {boat:<15} {_median(seconds):6.2f} s  ({_spread(seconds)})  reader is "
            f"{again / _median(seconds):.2f}x {whose} no-change reload"
        )
