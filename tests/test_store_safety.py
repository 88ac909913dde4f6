"""A store file is only ever touched through SQLite, and only when it is Reader's to write.

These are the reliability cases found by trying hostile and unlucky setups: a command line run beside
an open window, another program's database, a newer or damaged store, a read-only folder, a full disk.

They are SQLite's by nature (its file, WAL, locks, page checks, result codes, mounts). What of them a
PostgreSQL store has too runs in tests/test_store_backends.py: another program's database and a
newer schema refused and left untouched, a role that may only read (the read-only store), many
processes creating one new store at once, a server that goes away.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from reader.records import Article
from reader.store import (
    SCHEMA_VERSION,
    CorruptStoreError,
    NotADatabaseError,
    Store,
    StoreError,
    StoreVersionError,
)

ROOT = Path(__file__).resolve().parent.parent


def reader_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reader", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def python_with_pipes(code: str, *args: str) -> subprocess.Popen[str]:
    """``python -c code args...`` in the repository, its standard streams piped to this test."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def art(n: int) -> Article:
    return Article(source="wire", title=f"Story {n}", url=f"https://example.org/{n}", body=f"Body of story {n}.")


# --- the command line beside an open window -----------------------------------------------------

#: Stands in for the window: a connection that stays open, a second open of the same store (the
#: window's jobs do that all the time), then more commits once the other process has come and gone.
WINDOW = textwrap.dedent(
    """
    import sys
    from reader.records import Article
    from reader.store import Store

    def art(n):
        return Article(source="wire", title=f"Story {n}", url=f"https://example.org/{n}", body="x")

    path = sys.argv[1]
    first = Store.open(path)
    first.add_articles([art(n) for n in range(0, 50)])
    second = Store.open(path)          # the window opens its store again for every job
    second.add_articles([art(n) for n in range(50, 100)])
    print("ready", flush=True)
    sys.stdin.readline()               # the other process runs now
    first.add_articles([art(n) for n in range(100, 150)])
    second.add_articles([art(n) for n in range(150, 200)])
    print(first.count(), second.count(), flush=True)
    first.close()
    second.close()
    """
)


def test_a_command_beside_an_open_store_keeps_its_wal_and_every_commit(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    wal = tmp_path / "store.sqlite-wal"
    window = python_with_pipes(WINDOW, str(db))
    try:
        assert window.stdout is not None and window.stdin is not None
        assert window.stdout.readline().strip() == "ready", window.stderr.read() if window.stderr else ""
        assert wal.exists()

        listed = reader_cli("--db", str(db), "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert len(json.loads(listed.stdout)) == 100

        assert wal.exists(), "the other process took the WAL away from the one still using it"
        window.stdin.write("go\n")
        window.stdin.flush()
        out, err = window.communicate(timeout=60)
    finally:
        if window.poll() is None:
            window.kill()
            window.wait()
    assert window.returncode == 0, err
    assert out.split() == ["200", "200"]
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 200
    finally:
        conn.close()


@pytest.fixture
def python_opens() -> Iterator[list[str]]:
    """Every path this process opens from Python (builtins.open, os.open, ...) while it lasts."""
    seen: list[str] = []
    _OPEN_WATCHERS.append(seen)
    try:
        yield seen
    finally:
        _OPEN_WATCHERS.remove(seen)


_OPEN_WATCHERS: list[list[str]] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "open" and _OPEN_WATCHERS and args and isinstance(args[0], (str, bytes, os.PathLike)):
        for seen in _OPEN_WATCHERS:
            seen.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


def test_no_code_path_opens_the_store_file_outside_sqlite(tmp_path: Path, python_opens: list[str]) -> None:
    db = tmp_path / "store.sqlite"
    with Store.open(db) as held:
        held.add_articles([art(1)])
        again = Store.open(db)
        again.add_articles([art(2)])
        again.verify()
        Store.needs_upgrade(db)
        again.close()
        from reader import cli

        assert cli.main(["--db", str(db), "list"]) == 0
        assert held.count() == 2
    touched = [p for p in python_opens if Path(p).name.startswith("store.sqlite")]
    assert touched == []


# --- files that are not Reader's to write ----------------------------------------------------------


def foreign_database(path: Path) -> bytes:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    conn.executemany("INSERT INTO notes (text) VALUES (?)", [(f"note {i}",) for i in range(100)])
    conn.commit()
    conn.close()
    return path.read_bytes()


def test_another_programs_database_is_refused_byte_for_byte(tmp_path: Path) -> None:
    db = tmp_path / "other.sqlite"
    before = foreign_database(db)

    with pytest.raises(NotADatabaseError, match="another program") as info:
        Store.open(db)
    assert str(info.value).startswith(f"{db}: not a Reader store")
    for command in (["list"], ["show", "1"], ["feeds", "list"], ["import", str(ROOT / "seeds")], ["opml", "export"]):
        done = reader_cli("--db", str(db), *command)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert done.stderr.splitlines() == [
            f"reader: {db}: not a Reader store (an SQLite database of another program); left untouched"
        ]

    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "other.sqlite"], "no -wal, no -shm, no journal"


def test_an_empty_sqlite_file_still_becomes_a_store(tmp_path: Path) -> None:
    db = tmp_path / "made-by-sqlite3.sqlite"
    sqlite3.connect(db).close()  # the sqlite3 shell leaves a 0-byte file
    with Store.open(db) as store:
        store.add_articles([art(1)])
        assert store.count() == 1


def newer_store(db: Path, journal_mode: str) -> bytes:
    with Store.open(db) as store:
        store.add_articles([art(n) for n in range(20)])
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA journal_mode = {journal_mode}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    return db.read_bytes()


@pytest.mark.parametrize("journal_mode", ["DELETE", "WAL"])
def test_a_newer_store_is_left_untouched_byte_for_byte(tmp_path: Path, journal_mode: str) -> None:
    db = tmp_path / "store.sqlite"
    before = newer_store(db, journal_mode)

    with pytest.raises(StoreVersionError, match="newer Reader"):
        Store.open(db)
    assert not Store.needs_upgrade(db)
    done = reader_cli("--db", str(db), "list")
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and "left untouched" in done.stderr

    assert db.read_bytes() == before
    # A store in rollback-journal mode would have been switched to WAL (file format bytes 18-19).
    assert before[18:20] == (b"\x02\x02" if journal_mode == "WAL" else b"\x01\x01")


def damaged_store(db: Path) -> bytes:
    """A store of 3,000 articles with its middle third overwritten; its first pages (the feeds
    table among them) are intact, so a small write there would go through."""
    with Store.open(db) as store:
        for start in range(0, 3000, 500):
            store.add_articles(
                [
                    Article(
                        source="wire", title=f"Story {n}", url=f"https://example.org/{n}", body="Lorem ipsum. " * 80
                    )
                    for n in range(start, start + 500)
                ]
            )
    data = bytearray(db.read_bytes())
    garbage = random.Random(7).randbytes(len(data) // 3)
    data[len(data) // 3 : len(data) // 3 + len(garbage)] = garbage
    db.write_bytes(bytes(data))
    return bytes(data)


def test_a_damaged_store_is_checked_before_its_first_write_and_never_written(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    before = damaged_store(db)

    with Store.open(db) as store:
        with pytest.raises(CorruptStoreError, match="damaged") as info:
            store.add_feed("https://example.org/feed.xml")  # its page is intact: only the check stops it
        assert str(info.value).startswith(f"{db}: the store is damaged")
        with pytest.raises(CorruptStoreError):
            store.set_read([1])

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text(
        "['wire', '1', 'NOVALUE', 'A new story', '', 'https://example.org/new', '', '']\nText.\n"
    )
    for command in (["import", str(seeds)], ["feeds", "add", str(tmp_path / "none.xml")]):
        done = reader_cli("--db", str(db), *command)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert "damaged" in done.stderr and "Traceback" not in done.stderr
        assert "left untouched" in done.stderr
    assert db.read_bytes() == before


def test_the_page_check_runs_once_per_file_and_process(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    with Store.open(db) as store:
        store.add_articles([art(1)])
    checks: list[str] = []
    store = Store.open(db)
    store._conn.set_trace_callback(lambda sql: checks.append(sql) if "quick_check" in sql else None)
    store.set_read([1])
    store.set_read([1], read=False)
    other = Store.open(db)
    other._conn.set_trace_callback(lambda sql: checks.append(sql) if "quick_check" in sql else None)
    other.set_starred(1)
    store.close()
    other.close()
    assert len(checks) <= 1, checks  # once in this process (an earlier test may have checked this path's inode)


# --- read-only and full file systems ---------------------------------------------------------------


def _can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None and shutil.which("mount") is not None


def in_private_mounts(setup: str, commands: str) -> subprocess.CompletedProcess[str]:
    """Run shell ``commands`` in a mount namespace of their own after ``setup`` (mounts made there
    vanish with it)."""
    script = f"set -e\n{setup}\nset +e\n{commands}\n"
    return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT)


READS = [["list"], ["list", "--search", "story"], ["show", "1"], ["feeds", "list"], ["opml", "export"]]


@pytest.mark.skipif(not (_can_mount() or os.geteuid() != 0), reason="needs a read-only folder")
def test_a_read_only_store_reads_and_refuses_writes_in_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "store.sqlite"
    with Store.open(db) as store:
        store.add_articles([art(n) for n in range(5)])
        store.add_feed("https://example.org/feed.xml")
    before = db.read_bytes()
    python = sys.executable
    lines = []
    for argv in [*READS, ["import", str(ROOT / "seeds")]]:
        lines.append(f"{python} -m reader --db {db} {' '.join(argv)} >{tmp_path}/out 2>{tmp_path}/err; echo $?")
        lines.append(f'wc -l <{tmp_path}/out; echo "$(head -n 1 {tmp_path}/err)"')
    if _can_mount():
        done = in_private_mounts(f"mount --bind {folder} {folder}\nmount -o remount,ro,bind {folder}", "\n".join(lines))
    else:  # not root: permissions make the folder read-only
        folder.chmod(0o555)
        db.chmod(0o444)
        try:
            done = subprocess.run(["sh", "-c", "\n".join(lines)], capture_output=True, text=True, timeout=300)
        finally:
            folder.chmod(0o755)
            db.chmod(0o644)
    output = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    for i, argv in enumerate(READS):
        status, printed, error = output[3 * i : 3 * i + 3]
        assert (status, error) == ("0", ""), (argv, output)
        assert int(printed) > 0, argv
    import_status, _printed, import_error = output[-3:]
    assert import_status == "2"
    assert import_error == f"reader: {db}: the store is read-only; nothing was imported"
    assert db.read_bytes() == before


def write_big_seed_folder(folder: Path, files: int = 400, records: int = 10) -> None:
    rng = random.Random(3)
    words = ["alpha", "beta", "gamma", "delta", "storm", "market", "court", "election", "river", "vaccine"]
    folder.mkdir()
    for f in range(files):
        with open(folder / f"{f:04d}.txt", "w") as fh:
            for r in range(records):
                header = [
                    "wire",
                    str(f * records + r),
                    "NOVALUE",
                    f"Title {f} {r}",
                    "",
                    f"https://x.org/{f}/{r}",
                    "",
                    "",
                ]
                fh.write(repr(header) + "\n")
                for _ in range(8):
                    fh.write(" ".join(rng.choice(words) for _ in range(60)) + "\n")


CHECK = textwrap.dedent(
    """
    import json, sqlite3, sys
    from reader import textpack
    conn = sqlite3.connect(sys.argv[1])
    # The index checks itself against the articles through a view that unpacks their bodies.
    conn.create_function("reader_unpack", 1, textpack.unpack)
    print(json.dumps({
        "integrity": conn.execute("PRAGMA integrity_check").fetchall(),
        "fts": conn.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)").fetchall(),
        "articles": conn.execute("SELECT count(*) FROM articles").fetchone()[0],
    }))
    """
)


@pytest.mark.skipif(not _can_mount(), reason="a small file system needs root (as in CI)")
def test_a_disk_that_fills_during_an_import_says_so_and_what_was_stored(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    write_big_seed_folder(seeds)
    disk = tmp_path / "disk"
    disk.mkdir()
    db = disk / "store.sqlite"
    check = tmp_path / "check.py"
    check.write_text(CHECK)
    python = sys.executable
    done = in_private_mounts(
        f"mount -t tmpfs -o size=5M tmpfs {disk}",
        f"{python} -m reader --db {db} import {seeds} >{tmp_path}/out 2>{tmp_path}/err; echo $?\n{python} {check} {db}",
    )
    assert done.returncode == 0, done.stderr
    status, checked = done.stdout.splitlines()[-2:]
    printed = (tmp_path / "out").read_text()
    errors = (tmp_path / "err").read_text().splitlines()
    state = json.loads(checked)

    assert status == "2"
    assert errors == [f"reader: {db}: the disk is full; the last change was not written"]
    assert state["integrity"] == [["ok"]] and state["fts"] == []
    assert 0 < state["articles"] < 4000, "some batches went in before the disk filled"
    assert printed.startswith(f"{state['articles']} new, 0 updated, 0 unchanged articles from 1 input"), printed
    assert "stopped early" in printed


def test_writing_to_a_store_that_is_read_only_in_process_is_one_store_error(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    with Store.open(db) as store:
        store.add_articles([art(1)])
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, isolation_level=None)
    readonly = Store(conn, db, readonly=True)
    with pytest.raises(StoreError, match="read-only"):
        readonly.set_read([1])
    readonly.close()


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_store_path_that_is_not_a_regular_file_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    db = tmp_path / "store.sqlite"
    if kind == "fifo":
        os.mkfifo(db)
    else:
        db.symlink_to("/dev/zero")
    done = reader_cli("--db", str(db), "list", timeout=60)  # a FIFO used to block here for good
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"reader: {db}: not a regular file, so not a store; left untouched"]
    assert not Store.needs_upgrade(db)


def sqlite_error(code: int, message: str) -> sqlite3.Error:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code  # type: ignore[attr-defined]  (as the sqlite3 module sets it)
    return error


def test_store_errors_are_told_apart_by_sqlite_result_code_not_message(tmp_path: Path) -> None:
    from reader.store import sqlite as store_module

    wrap = store_module._wrap
    path = tmp_path / "s.sqlite"
    assert isinstance(wrap(path, sqlite_error(sqlite3.SQLITE_FULL, "whatever it says")), store_module.DiskFullError)
    assert isinstance(wrap(path, sqlite_error(sqlite3.SQLITE_CORRUPT, "odd")), CorruptStoreError)
    assert isinstance(wrap(path, sqlite_error(sqlite3.SQLITE_NOTADB, "odd")), NotADatabaseError)
    assert isinstance(wrap(path, sqlite_error(sqlite3.SQLITE_BUSY, "odd")), store_module.StoreBusyError)
    assert isinstance(wrap(path, sqlite_error(sqlite3.SQLITE_READONLY, "odd")), store_module.ReadOnlyStoreError)
    # Extended codes count by their primary code (SQLITE_BUSY_SNAPSHOT, SQLITE_CORRUPT_VTAB).
    assert isinstance(wrap(path, sqlite_error(sqlite3.SQLITE_BUSY | (2 << 8), "odd")), store_module.StoreBusyError)
    assert isinstance(wrap(path, sqlite_error(sqlite3.SQLITE_CORRUPT | (1 << 8), "odd")), CorruptStoreError)
    # The words alone decide nothing: an error that merely mentions them is a plain store error.
    plain = wrap(path, sqlite_error(sqlite3.SQLITE_ERROR, "no such table: locked_busy_corrupt_disk is full"))
    assert type(plain) is StoreError


def test_importing_the_folder_that_holds_the_store_never_opens_the_stores_files(
    tmp_path: Path, python_opens: list[str]
) -> None:
    from reader.importer import import_paths

    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("['wire', '1', 'NOVALUE', 'A story', '', 'https://example.org/a', '', '']\nText.\n")
    db = folder / "news.db"
    with Store.open(db) as held:  # as the command line and the window hold it during an import
        held.add_articles([art(1)])
        assert (folder / "news.db-wal").exists()
        python_opens.clear()
        report = import_paths(db, [str(folder)])
        assert held.count() == 2
    assert [p for p in python_opens if Path(p).name.startswith("news.db")] == []
    assert report.problems == [], "the store's files are not inputs"
    assert report.result.added == 1
    named = import_paths(db, [str(db)])
    assert [p.reason for p in named.problems] == ["is the store itself (or one of its files); not imported"]


CRASHED_WRITER = textwrap.dedent(
    """
    import os, sys
    from reader.records import Article
    from reader.store import Store

    store = Store.open(sys.argv[1])
    store._conn.execute("PRAGMA wal_autocheckpoint = 0")
    store.add_articles([Article(source="wire", title=f"S{n}", url=f"https://example.org/{n}") for n in range(5)])
    os._exit(0)  # no checkpoint: the articles are in the -wal only
    """
)


@pytest.mark.skipif(not _can_mount(), reason="a read-only file system needs root (as in CI)")
def test_a_read_only_store_whose_changes_are_still_in_its_wal_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "store.sqlite"
    subprocess.run([sys.executable, "-c", CRASHED_WRITER, str(db)], check=True, timeout=60, cwd=ROOT)
    wal = folder / "store.sqlite-wal"
    assert wal.stat().st_size > 0
    (folder / "store.sqlite-shm").unlink()  # a copy that left the -shm behind, say
    done = in_private_mounts(
        f"mount --bind {folder} {folder}\nmount -o remount,ro,bind {folder}",
        f"{sys.executable} -m reader --db {db} list",
    )
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"reader: {db}: the store has changes in store.sqlite-wal that cannot be read without write access "
        "to its folder; open it once where it can be written"
    ]


def test_many_processes_creating_one_new_store_at_once_all_get_it(tmp_path: Path) -> None:
    db = tmp_path / "new.sqlite"
    code = (
        "import sys; from reader.store import Store; sys.stdin.readline(); "
        "s = Store.open(sys.argv[1]); print(s._conn.execute('PRAGMA user_version').fetchone()[0]); s.close()"
    )
    starters = [python_with_pipes(code, str(db)) for _ in range(8)]
    for process in starters:  # all are waiting on their stdin: let them go together
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    results = [process.communicate(timeout=60) for process in starters]
    assert [p.returncode for p in starters] == [0] * 8, [err for _, err in results]
    assert {out.strip() for out, _ in results} == {str(SCHEMA_VERSION)}
