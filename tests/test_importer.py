"""Importing files and folders into the store: issue 2's mixed folder, progress, cancel, bad stores."""

from __future__ import annotations

import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from reader import importer, localfile, seedfile
from reader.importer import import_paths
from reader.records import Article, Problem
from reader.store import AddResult, CorruptStoreError, NotADatabaseError, Store, StoreError

# A writer thread dying with a traceback must fail the test, not scroll past as a warning.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
MIXED = DATA / "mixed"

#: Every good record in tests/data/mixed/, once (duplicate_of_good.txt is good.txt again).
GOOD_TITLES = {
    "Central bank holds rates steady",
    "Twitter Bans Ads from Russian Computer Security Company Kaspersky Lab",
    "“Café” culture returns",
    "Zürich opens a new tram line",
    "First of three",
    "Second of three",
    "Third of three",
    "Nested folders are imported too",
}
#: Rejected file -> (what its reason says, line number or None).
REJECTED = {
    "binary.png": ("binary", None),
    "empty.txt": ("empty", None),
    "header_7_strings.txt": (seedfile.BAD_HEADER, 1),
    "header_code.txt": (seedfile.BAD_HEADER, 1),
    "header_ints.txt": (seedfile.BAD_HEADER, 1),
    "header_truncated.txt": (seedfile.BAD_HEADER, 1),
}


def stored(db: Path) -> list[Article]:
    with Store.open(db) as s:
        return [a for r in s.iter_rows() if (a := s.get(r.id)) is not None]


def by_file(problems: list[Problem]) -> dict[str, Problem]:
    names = [Path(p.input).name for p in problems]
    assert len(names) == len(set(names)), f"one problem per rejected file: {problems}"
    return dict(zip(names, problems, strict=True))


def test_mixed_folder_imports_every_good_record_once(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # where header_code.txt's "touch PWNED" would land

    report = import_paths(db, [str(MIXED)])

    articles = stored(db)
    assert sorted(a.title or "" for a in articles) == sorted(GOOD_TITLES)
    assert report.result == AddResult(added=len(GOOD_TITLES), unchanged=1)
    assert report.records == len(GOOD_TITLES) + 1
    assert not report.cancelled
    assert not report.ok
    assert not (tmp_path / "PWNED").exists()
    kaspersky = next(a for a in articles if a.source == "fortune")
    assert kaspersky.author == "Sarah Gray"
    assert kaspersky.description is None
    assert kaspersky.published is not None and kaspersky.published.isoformat() == "2018-04-20T22:49:08+00:00"
    assert "SPONSORED FINANCIAL CONTENT" not in kaspersky.body
    assert kaspersky.raw == (MIXED / "000_3fd0e19bd5f7f8e2.txt").read_text("utf-8")


def test_mixed_folder_names_each_rejected_file_with_its_reason(db: Path) -> None:
    report = import_paths(db, [str(MIXED)])

    problems = by_file(report.problems)
    assert problems.keys() == REJECTED.keys()  # README.md is skipped, not rejected
    for name, (reason, line) in REJECTED.items():
        problem = problems[name]
        assert Path(problem.input) == MIXED / name
        assert reason in problem.reason
        assert problem.line == line
    assert str(problems["header_ints.txt"]) == f"{MIXED / 'header_ints.txt'}:1: {seedfile.BAD_HEADER}"
    assert str(problems["empty.txt"]).startswith(f"{MIXED / 'empty.txt'}: ")


def test_importing_the_mixed_folder_again_changes_nothing(db: Path) -> None:
    first = import_paths(db, [str(MIXED)])
    with Store.open(db) as s:
        rows = list(s.iter_rows())
        s.set_read([rows[0].id, rows[3].id])
        s.set_starred(rows[5].id)
        before = [s.get(r.id) for r in rows]
        totals = s.totals()

    again = import_paths(db, [str(MIXED)])

    assert again.result == AddResult(unchanged=first.records)
    assert [str(p) for p in again.problems] == [str(p) for p in first.problems]
    with Store.open(db) as s:
        assert s.totals() == totals == (len(GOOD_TITLES), len(GOOD_TITLES) - 2, 1)
        assert [s.get(r.id) for r in s.iter_rows()] == before


def test_progress_reaches_total(db: Path) -> None:
    calls: list[tuple[int, int]] = []
    import_paths(db, [str(MIXED)], progress=lambda done, total: calls.append((done, total)))

    files = [p for p in MIXED.rglob("*") if p.is_file() and p.suffix != ".md"]
    total = len(files)
    assert calls[0] == (0, total)
    assert calls[-1] == (total, total)
    assert all(t == total for _, t in calls)
    done = [d for d, _ in calls]
    assert done == sorted(done)


def _many_files(folder: Path, count: int) -> None:
    folder.mkdir()
    for n in range(count):
        header = repr(
            [
                "wire",
                str(n),
                "NOVALUE",
                f"Story {n}",
                "",
                f"https://wire.example/{n}",
                "NOVALUE",
                "2019-01-01T00:00:00Z",
            ]
        )
        (folder / f"{n:03d}.txt").write_text(f"{header}\nBody of story {n}.\n", "utf-8")


def test_cancel_stops_early_and_what_was_committed_is_whole(db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    _many_files(folder, 60)
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 10:
            cancel.set()

    report = import_paths(db, [str(folder)], progress=progress, cancel=cancel)

    assert report.cancelled
    assert report.files < 60
    articles = stored(db)
    assert len(articles) == report.result.added <= report.records < 60
    for a in articles:  # every stored record is complete, never half-written
        assert a.origin is not None
        assert a.raw == Path(a.origin).read_text("utf-8")
        assert a.body == f"Body of story {a.title.split()[-1]}."  # type: ignore[union-attr]

    rest = import_paths(db, [str(folder)])
    assert not rest.cancelled
    assert rest.result == AddResult(added=60 - len(articles), unchanged=len(articles))
    with Store.open(db) as s:
        assert s.count() == 60


def test_a_missing_path_is_a_problem_and_the_rest_is_imported(db: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    report = import_paths(db, [str(missing), str(DATA / "seeds" / "good.txt")])

    assert [(p.input, p.line) for p in report.problems] == [(str(missing), None)]
    assert "no such file" in report.problems[0].reason
    assert report.result.added == 1


def test_documentation_files_in_folders_are_skipped(db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(DATA / "seeds" / "good.txt", folder / "good.txt")
    (folder / "README.md").write_text("# About this corpus\n\nScraped in 2018.\n", "utf-8")
    (folder / "SOURCES.md").write_text("['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']\nLooks like a record.\n", "utf-8")

    calls: list[tuple[int, int]] = []
    report = import_paths(db, [str(folder)], progress=lambda d, t: calls.append((d, t)))

    assert report.ok
    assert report.files == 1
    assert calls[-1] == (1, 1)
    assert [a.title for a in stored(db)] == ["Central bank holds rates steady"]


def test_a_file_told_apart_by_its_first_bytes_is_opened_once_when_it_is_a_seed_file(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file without a known ending was opened twice: for its first bytes (what is it?), then
    # to read it. The seed import now reads it once and looks at the same bytes; one told to be
    # a feed or an OPML file is still imported as one, in the order the inputs were named.
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(DATA / "seeds" / "good.txt", folder / "a-record")
    (folder / "b-feed").write_bytes(FEED)
    (folder / "c-list").write_bytes(
        b'<?xml version="1.0"?>\n<opml version="2.0"><body><outline text="Local" xmlUrl="d-feed.xml"/></body></opml>\n'
    )
    (folder / "d-feed.xml").write_bytes(FEED.replace(b"local-1", b"local-2").replace(b"/1<", b"/2<"))
    opened: list[str] = []
    real_init = localfile.RegularFile.__init__

    def counting_init(self: localfile.RegularFile, path: localfile.StrPath) -> None:
        opened.append(Path(path).name)
        real_init(self, path)

    monkeypatch.setattr(localfile.RegularFile, "__init__", counting_init)
    calls: list[tuple[int, int]] = []
    report = import_paths(db, [str(folder)], progress=lambda d, t: calls.append((d, t)))

    assert report.ok, report.problems
    assert opened.count("a-record") == 1
    assert report.files == 1
    assert calls[-1][0] == calls[-1][1]
    with Store.open(db) as s:
        assert [Path(f.url).name for f in s.feeds()] == ["b-feed", "d-feed.xml"]
    assert sorted(a.title or "" for a in stored(db)) == [
        "A local feed entry",
        "A local feed entry",
        "Central bank holds rates steady",
    ]


def test_import_into_a_file_that_is_not_a_store_fails_cleanly(tmp_path: Path) -> None:
    target = tmp_path / "thesis.txt"
    content = b"Chapter 1\n\nIt was a dark and stormy night.\n" * 500
    target.write_bytes(content)

    with pytest.raises(NotADatabaseError) as info:
        import_paths(target, [str(MIXED)])

    assert str(info.value).startswith(f"{target}: ")
    assert target.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "thesis.txt"]


def _corrupt_store(db: Path) -> bytes:
    with Store.open(db) as s:
        s.add_articles(
            Article(
                source="wire",
                title=f"Filler {n}",
                url=f"https://wire.example/filler/{n}",
                body="Lorem ipsum dolor sit amet. " * 40,
            )
            for n in range(2000)
        )
    data = bytearray(db.read_bytes())
    start = len(data) // 3
    data[start : start + len(data) // 3] = random.Random(1).randbytes(len(data) // 3)
    db.write_bytes(bytes(data))
    return bytes(data)


@pytest.mark.timeout(60, method="thread")  # a hang must end the run, not stall it
def test_import_into_a_corrupt_store_raises_a_store_error_and_does_not_hang(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _corrupt_store(db)
    folder = tmp_path / "many"
    _many_files(folder, 30)
    # Small batches, so more are queued than the writer's queue holds once the writer has failed.
    monkeypatch.setattr(importer, "BATCH_SIZE", 3)

    with pytest.raises(CorruptStoreError, match="damaged"):
        import_paths(db, [str(MIXED), str(folder)])

    assert db.read_bytes() == before


def test_an_unexpected_writer_error_stops_the_import_with_one_line_and_does_not_hang(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "many"
    _many_files(folder, 30)
    monkeypatch.setattr(importer, "BATCH_SIZE", 3)  # more batches than the writer's queue holds

    def broken(self: Store, articles: object, **kwargs: object) -> AddResult:
        raise RuntimeError("simulated bug in the writer")

    monkeypatch.setattr(Store, "add_articles", broken)
    with pytest.raises(StoreError, match="import stopped: RuntimeError: simulated bug"):
        import_paths(db, [str(folder)])


# --- Things in a folder that are not files (the reliability issue: a FIFO blocked the import forever,
# a link to /dev/zero was read until memory ran out). Run as the CLI in a subprocess: a hang is the
# failure mode, so a timeout ends it; and an address-space cap makes an endless read end in a
# MemoryError at once rather than eat the machine's memory.

#: A feed file with one entry.
FEED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>Local feed</title>'
    b"<link>https://site.example/</link><description>d</description>"
    b"<item><title>A local feed entry</title><guid>local-1</guid><link>https://site.example/1</link>"
    b"<description>Body</description></item></channel></rss>\n"
)
SEED_FILES = ("good.txt", "multi.txt")  # tests/data/mixed: four records
SEED_TITLES = {"Central bank holds rates steady", "First of three", "Second of three", "Third of three"}
#: A bad entry's name -> what the import says about it.
NOT_FILES = {
    "pipe.txt": "not a regular file (a FIFO)",  # the sniff's open waited for a writer
    "pipe.opml": "not a regular file (a FIFO)",  # the OPML read's open waited for a writer
    "pipe.xml": "not a regular file (a FIFO)",
    "zero.txt": "not a regular file (a device)",  # -> /dev/zero: read until MemoryError
    "null.txt": "not a regular file (a device)",  # -> /dev/null: was "empty"
    "sock": "not a regular file (a socket)",
}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``reader ARGS`` in a subprocess (as tests/test_cli.py's ``reader``), 60 s at most, 2 GiB of address space."""

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    return subprocess.run(
        [sys.executable, "-m", "reader", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        preexec_fn=cap_memory,
    )


def _make_not_file(folder: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = folder / name
    if name.startswith("pipe"):
        os.mkfifo(path)
    elif name == "zero.txt":
        path.symlink_to("/dev/zero")
    elif name == "null.txt":
        path.symlink_to("/dev/null")
    elif name == "sock":
        with monkeypatch.context() as m, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            m.chdir(folder)  # a relative name: tmp_path may be longer than a socket address allows
            server.bind(name)
    else:
        raise AssertionError(name)
    return path


def _good_folder(folder: Path) -> None:
    folder.mkdir()
    for name in SEED_FILES:
        shutil.copy(MIXED / name, folder / name)
    (folder / "local.xml").write_bytes(FEED)
    (folder / "link-to-good.txt").symlink_to(MIXED / "cp1252.txt")  # a link to a regular file is read


def _stderr_problems(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """``reader: PATH: reason`` lines -> {file name: reason}; every line is one of those."""
    found = {}
    for line in done.stderr.splitlines():
        assert line.startswith("reader: "), done.stderr
        where, reason = line.removeprefix("reader: ").split(": ", 1)
        if reason.endswith("read as Windows-1252"):
            continue  # a warning about a file that was read (the cp1252 fixture), not a refusal
        found[Path(where).name] = reason
    return found


requires_fifos = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs, devices and sockets are POSIX")


@requires_fifos
def test_a_folder_with_fifos_devices_and_a_socket_stores_its_files_and_names_each_of_the_rest(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "folder"
    _good_folder(folder)
    for name in NOT_FILES:
        _make_not_file(folder, name, monkeypatch)

    first = _cli("--db", str(db), "import", str(folder))

    assert "Traceback" not in first.stderr
    assert first.returncode == 1, first.stderr
    assert _stderr_problems(first) == NOT_FILES, first.stderr
    assert f"reader: {folder / 'pipe.txt'}: not a regular file (a FIFO)" in first.stderr.splitlines()
    assert first.stdout.startswith("6 new, 0 updated, 0 unchanged"), first.stdout
    titles = {a.title for a in stored(db)}
    assert titles == SEED_TITLES | {"“Café” culture returns", "A local feed entry"}
    with Store.open(db) as s:
        (feed,) = s.feeds()
        assert feed.url == (folder / "local.xml").as_uri()
        before = [s.get(r.id) for r in s.iter_rows()]

    second = _cli("--db", str(db), "import", str(folder))

    assert second.returncode == 1, second.stderr
    assert second.stdout.startswith("0 new, 0 updated"), second.stdout
    assert second.stderr == first.stderr
    with Store.open(db) as s:
        assert [s.get(r.id) for r in s.iter_rows()] == before
        assert len(s.feeds()) == 1


@requires_fifos
@pytest.mark.parametrize("name", list(NOT_FILES))
def test_each_kind_of_non_file_in_a_folder_is_one_line_and_the_files_beside_it_are_stored(
    name: str, db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    for seed in SEED_FILES:
        shutil.copy(MIXED / seed, folder / seed)
    bad = _make_not_file(folder, name, monkeypatch)

    done = _cli("--db", str(db), "import", str(folder))

    assert done.stderr == f"reader: {bad}: {NOT_FILES[name]}\n"
    assert done.returncode == 1
    assert {a.title for a in stored(db)} == SEED_TITLES


@requires_fifos
def test_fifos_named_explicitly_as_seed_feed_or_opml_files_are_refused_unopened(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifos = [tmp_path / name for name in ("fifo.xml", "fifo.opml", "fifo")]
    for fifo in fifos:
        os.mkfifo(fifo)
    zero = _make_not_file(tmp_path, "zero.txt", monkeypatch)

    done = _cli("--db", str(db), "import", *map(str, fifos), str(zero), str(MIXED / "good.txt"))

    assert done.stderr.splitlines() == [f"reader: {fifo}: not a regular file (a FIFO)" for fifo in fifos] + [
        f"reader: {zero}: not a regular file (a device)"
    ]
    assert done.returncode == 1
    assert [a.title for a in stored(db)] == ["Central bank holds rates steady"]


@requires_fifos
def test_a_fifo_given_to_feeds_add_as_a_file_url_is_refused_and_not_subscribed(db: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.xml"
    os.mkfifo(fifo)

    done = _cli("--db", str(db), "feeds", "add", fifo.as_uri())

    assert done.stderr == f"reader: {fifo.as_uri()}: not a regular file (a FIFO)\n"
    assert done.returncode == 1
    with Store.open(db) as s:
        assert s.feeds() == []


@requires_fifos
def test_refresh_of_a_local_feed_that_became_a_fifo_or_a_device_names_it_and_does_not_hang(
    db: Path, tmp_path: Path
) -> None:
    became_fifo, became_zero, good = (tmp_path / f"{name}.xml" for name in ("fifo", "zero", "good"))
    for path in (became_fifo, became_zero, good):
        path.write_bytes(FEED.replace(b"local-1", path.stem.encode()))
    added = _cli("--db", str(db), "feeds", "add", str(became_fifo), str(became_zero), str(good))
    assert added.returncode == 0, added.stderr
    became_fifo.unlink()
    os.mkfifo(became_fifo)
    became_zero.unlink()
    became_zero.symlink_to("/dev/zero")
    good.write_bytes(FEED.replace(b"local-1", b"good-2"))

    done = _cli("--db", str(db), "refresh")

    assert sorted(done.stderr.splitlines()) == [
        f"reader: {became_fifo.as_uri()}: not a regular file (a FIFO)",
        f"reader: {became_zero.as_uri()}: not a regular file (a device)",
    ]
    assert done.returncode == 1
    assert done.stdout.startswith("1 new, 0 updated"), done.stdout  # the good feed's new entry
