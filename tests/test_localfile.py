"""reader.localfile: local input files are read only when they are regular files, never blocking, never
unboundedly; and every reader of a user-named input path goes through it (seed files, the sniff, feed
files, OPML files).

A test that would block on a FIFO runs its call in a thread: if the call is still waiting after 30 s, a
writer is opened on the FIFO to release it and the test fails (no sleeping, no hung run)."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from conftest import import_inputs

from reader import addresses, fetching, importer, localfile
from reader import http as rhttp
from reader.localfile import FileTooLargeError, FolderError, NotRegularFileError
from reader.records import Problem
from reader.store import Store

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs, devices and sockets are POSIX")

REPO = Path(__file__).resolve().parent.parent
T = TypeVar("T")

FIFO = "not a regular file (a FIFO)"
DEVICE = "not a regular file (a device)"
SOCKET = "not a regular file (a socket)"
FOLDER = "is a folder"


def without_blocking(fifo: Path, call: Callable[[], T]) -> T:
    """``call()``, failing the test (after releasing it) if it waits on ``fifo`` for a writer."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(30)
    if thread.is_alive():
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # the blocked open returns, reads EOF
        thread.join(30)
        pytest.fail(f"blocked waiting for a writer on {fifo}")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def make_socket(path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    with monkeypatch.context() as m, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        m.chdir(path.parent)  # a relative name: tmp_path may be longer than a socket address allows
        server.bind(path.name)
    return path


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo.xml"
    os.mkfifo(path)
    return path


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


# --- the helper -----------------------------------------------------------------------------------


def test_a_regular_file_and_a_link_to_one_are_read(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"hello")
    (tmp_path / "link").symlink_to(path)
    assert localfile.read_regular(path, 100) == b"hello"
    assert localfile.read_regular(str(tmp_path / "link"), 100) == b"hello"
    (tmp_path / "empty").touch()
    assert localfile.read_regular(tmp_path / "empty", 100) == b""
    with localfile.RegularFile(path) as file:
        assert file.stat.st_size == 5 and file.stat.st_mtime_ns == path.stat().st_mtime_ns
        assert file.read(5) == b"hello"


def test_a_file_exactly_at_the_limit_is_read_and_one_byte_more_is_refused(tmp_path: Path) -> None:
    at = tmp_path / "at.txt"
    at.write_bytes(b"x" * 10)
    over = tmp_path / "over.txt"
    over.write_bytes(b"x" * 11)

    assert localfile.read_regular(at, 10) == b"x" * 10
    with pytest.raises(FileTooLargeError) as info:
        localfile.read_regular(over, 10)
    assert info.value.reason == "file too large (over 10 bytes)"
    assert info.value.limit == 10
    assert str(info.value) == f"{over}: file too large (over 10 bytes)"
    assert isinstance(info.value, OSError) and info.value.strerror == info.value.reason


def test_the_limit_holds_for_a_file_whose_size_says_nothing(tmp_path: Path) -> None:
    """/proc files say they hold 0 bytes: the read stops at the limit, not at the size."""
    status = Path("/proc/self/status")
    if not status.is_file() or status.stat().st_size != 0:
        pytest.skip("needs a /proc file whose size reads as 0")
    assert len(localfile.read_regular(status, 1 << 20)) > 100
    with pytest.raises(FileTooLargeError):
        localfile.read_regular(status, 100)


def test_read_head_reads_at_most_n_bytes(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"0123456789" * 100_000)
    assert localfile.read_head(path, 1024) == (b"0123456789" * 103)[:1024]
    assert localfile.read_head(path, 10**9) == path.read_bytes()


def test_sizes_read_as_a_person_would_write_them() -> None:
    assert localfile.size_text(importer.MAX_SEED_FILE_BYTES) == "256 MiB"
    assert localfile.size_text(rhttp.MAX_FEED_BYTES) == "64 MiB"
    assert localfile.size_text(4096) == "4 KiB"
    assert (localfile.size_text(1), localfile.size_text(10)) == ("1 byte", "10 bytes")


@pytest.mark.parametrize("kind", ["fifo", "zero", "null", "socket", "folder", "link-to-folder", "link-to-fifo"])
def test_anything_but_a_regular_file_is_refused_before_it_is_opened(
    kind: str, tmp_path: Path, fifo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / kind
    if kind == "fifo":
        path, reason = fifo, FIFO
    elif kind in ("zero", "null"):
        path.symlink_to(f"/dev/{kind}")
        reason = DEVICE
    elif kind == "socket":
        make_socket(path, monkeypatch)
        reason = SOCKET
    elif kind == "folder":
        path.mkdir()
        reason = FOLDER
    elif kind == "link-to-folder":
        path.symlink_to(tmp_path)
        reason = FOLDER
    else:
        path.symlink_to(fifo)
        reason = FIFO
    opened: list[object] = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda *a, **k: opened.append(a) or real_open(*a, **k))

    for read in (lambda: localfile.read_regular(path, 1 << 20), lambda: localfile.read_head(path, 1024)):
        with pytest.raises(NotRegularFileError) as info:
            without_blocking(fifo, read)
        assert info.value.reason == reason
        assert str(info.value) == f"{path}: {reason}"
    assert opened == [], "refused by the stat, never opened"
    assert localfile.not_regular_reason(path) == reason
    if reason == FOLDER:
        assert isinstance(info.value, FolderError) and isinstance(info.value, IsADirectoryError)


def test_a_regular_file_swapped_for_a_fifo_or_a_device_after_the_stat_is_refused_without_blocking(
    tmp_path: Path, fifo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the stat cannot see: the open is non-blocking and the descriptor is checked again."""
    regular = tmp_path / "regular.txt"
    regular.write_bytes(b"fine")
    real_check = localfile.check_regular
    # The stat looked at a regular file; by the open, the path is a FIFO (or a device).
    monkeypatch.setattr(localfile, "check_regular", lambda path: real_check(regular))
    zero = tmp_path / "zero"
    zero.symlink_to("/dev/zero")
    fds = open_fds()

    for path, reason in ((fifo, FIFO), (zero, DEVICE)):
        for read in (lambda p=path: localfile.read_regular(p, 1 << 20), lambda p=path: localfile.read_head(p, 1024)):
            with pytest.raises(NotRegularFileError, match=re.escape(reason)):
                without_blocking(fifo, read)
    assert open_fds() == fds, "the descriptor of a refused file is closed"


def test_a_missing_file_or_a_broken_link_is_the_usual_os_error(tmp_path: Path) -> None:
    (tmp_path / "broken").symlink_to(tmp_path / "gone")
    for path in (tmp_path / "missing", tmp_path / "broken"):
        with pytest.raises(FileNotFoundError):
            localfile.read_regular(path, 100)
        assert localfile.not_regular_reason(path) is None
    regular = tmp_path / "regular"
    regular.write_bytes(b"")
    assert localfile.not_regular_reason(regular) is None


# --- every reader of a local input goes through it ------------------------------------------------------


def test_the_importer_sniff_and_seed_read_refuse_a_fifo_without_blocking(fifo: Path) -> None:
    plain = fifo.with_name("fifo")
    os.mkfifo(plain)
    found = without_blocking(plain, lambda: addresses._classify(plain))
    assert [i.kind.value for i in found] == ["seed"]  # the read says why
    parsed = without_blocking(plain, lambda: importer.read_seed_file(str(plain)))
    assert (parsed.articles, parsed.problems) == ([], [Problem(str(plain), FIFO)])


def test_collect_names_each_non_file_in_a_folder_and_keeps_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "good.txt").write_bytes(b"['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']\nbody\n")
    os.mkfifo(folder / "pipe")
    (folder / "zero.txt").symlink_to("/dev/zero")
    make_socket(folder / "sock", monkeypatch)
    (folder / "sub").mkdir()
    os.mkfifo(folder / "sub" / "deeper.opml")
    (folder / "linked-folder").symlink_to(tmp_path)  # listed as a folder, not followed: not named

    problems: list[Problem] = []
    found = without_blocking(folder / "pipe", lambda: addresses.classify([str(folder)], problems))

    assert [(i.kind.value, Path(i.target).name) for i in found] == [("seed", "good.txt")]
    assert problems == [
        Problem(str(folder / "pipe"), FIFO),
        Problem(str(folder / "sock"), SOCKET),
        Problem(str(folder / "zero.txt"), DEVICE),
        Problem(str(folder / "sub" / "deeper.opml"), FIFO),
    ]


def test_fetching_a_file_url_that_is_a_fifo_or_a_device_is_refused_without_blocking(tmp_path: Path, fifo: Path) -> None:
    zero = tmp_path / "zero.xml"
    zero.symlink_to("/dev/zero")
    fetched = without_blocking(fifo, lambda: fetching.fetch(fifo.as_uri()))
    assert (fetched.status, fetched.error, fetched.transient) == (0, FIFO, False)
    assert fetching.fetch(zero.as_uri()).error == DEVICE  # not "file too large" after reading 64 MiB of zeros
    assert fetching.fetch(tmp_path.as_uri()).error == "is a folder, not a feed file"


def test_a_local_feed_file_over_the_limit_is_refused_and_one_at_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(b"<rss>" + b" " * 5000 + b"</rss>")
    assert fetching.fetch(path.as_uri(), max_bytes=4096).error == "file too large (5 KiB; limit 4 KiB)"
    exact = fetching.fetch(path.as_uri(), max_bytes=path.stat().st_size)
    assert exact.status == 200 and exact.data == path.read_bytes()
    assert exact.last_modified == f"mtime_ns={path.stat().st_mtime_ns} size={path.stat().st_size}"
    assert fetching.fetch(path.as_uri(), last_modified=exact.last_modified).status == 304


def test_an_opml_file_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path, store: Store) -> None:
    fifo = tmp_path / "subscriptions.opml"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFileError, match=re.escape(FIFO)):
        without_blocking(fifo, lambda: localfile.read_regular(str(fifo), rhttp.MAX_FEED_BYTES))
    _, problems = without_blocking(fifo, lambda: import_inputs(store, [("opml", str(fifo))]))
    assert [p.input for p in problems] == [str(fifo)] and "not a regular file" in problems[0].reason
    assert store.feeds() == []


#: Reading a file outside reader/localfile.py: builtin open(), Path.open("rb"), read_bytes(), read_text(),
#: os.open(). (reader/store/, reader/sync/credentials.py, which keep the program's own files, and
#: reader/ui/ and reader/benchmark/ are outside this rule.)
RAW_READ = re.compile(r"(?<![\w.])open\(|\.open\(\s*['\"]|\.read_bytes\(|\.read_text\(|\bos\.open\(|\bio\.open\(")


def test_no_other_module_reads_local_files_itself() -> None:
    package = REPO / "reader"
    offenders = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative in ("localfile.py", "sync/credentials.py") or relative.startswith(("store/", "ui/", "benchmark/")):
            continue
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if RAW_READ.search(line.split("#", 1)[0]):
                offenders.append(f"reader/{relative}:{number}: {line.strip()}")
    assert offenders == [], "read local inputs through reader.localfile:\n" + "\n".join(offenders)
