"""Reading a local file a person named as input: regular files only, never blocking, never unbounded.

No Qt. Every read of a user-named input path (seed files, feed files, OPML files, the sniff that
tells them apart) goes through :class:`RegularFile` or the two functions over it:

- the path is stat'ed first (following links: a link to a regular file is fine) and anything else
  is refused before it is opened: opening a FIFO waits for a writer, reading ``/dev/zero`` never
  ends, opening some devices does something by itself;
- it is then opened non-blocking (``O_NONBLOCK | O_NOCTTY``) and the open descriptor is checked
  again, so a path swapped for a FIFO or a device between the check and the open cannot block
  either;
- at most ``max_bytes + 1`` bytes are read, in a loop, whatever size the file claims (a file can
  grow while it is read; a ``/proc`` file says it holds 0 bytes).

Refusals are :class:`OSError` subclasses whose :attr:`~LocalFileError.reason` is for a person:
``"not a regular file (a FIFO)"``, ``"not a regular file (a device)"``, ``"not a regular file (a
socket)"``, ``"is a folder"``, ``"file too large (over 64 MiB)"``.
"""

from __future__ import annotations

import errno
import os
import stat
from types import TracebackType

__all__ = [
    "FileTooLargeError",
    "FolderError",
    "LocalFileError",
    "NotRegularFileError",
    "RegularFile",
    "check_regular",
    "not_regular_reason",
    "read_head",
    "read_regular",
    "size_text",
]

StrPath = str | os.PathLike[str]

_MiB = 1024 * 1024
#: Non-blocking, so that a FIFO (or a device) that slipped past the stat cannot hold the open;
#: no controlling terminal taken from a tty; not inherited by child processes.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
#: Bytes asked for by the first read when the file's size says nothing (0, as /proc files say);
#: each further read asks for as much as has been read so far (at most what the limit leaves).
_FIRST_READ = 64 * 1024


class LocalFileError(OSError):
    """A local input file refused; :attr:`reason` says why, for a person (``str()`` is ``path: reason``)."""

    def __init__(self, code: int, reason: str, path: StrPath) -> None:
        super().__init__(code, reason, os.fspath(path))
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.filename}: {self.reason}"


class NotRegularFileError(LocalFileError):
    """The path names a FIFO, a device, a socket or a folder (anything but a regular file)."""


class FolderError(NotRegularFileError, IsADirectoryError):
    """The path names a folder (also an :class:`IsADirectoryError`)."""


class FileTooLargeError(LocalFileError):
    """The file holds more than the limit (:attr:`limit` bytes)."""

    def __init__(self, path: StrPath, limit: int) -> None:
        super().__init__(errno.EFBIG, f"file too large (over {size_text(limit)})", path)
        self.limit = limit


def size_text(n: int) -> str:
    """``n`` bytes for a person: ``"256 MiB"``, ``"4 KiB"``, ``"10 bytes"``."""
    if n >= _MiB:
        return f"{n / _MiB:.0f} MiB"
    if n >= 1024:
        return f"{n / 1024:.0f} KiB"
    return f"{n} byte" if n == 1 else f"{n} bytes"


def _refusal(mode: int) -> str | None:
    """Why a file of this mode is not read, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder"
    if stat.S_ISFIFO(mode):
        return "not a regular file (a FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "not a regular file (a device)"
    if stat.S_ISSOCK(mode):
        return "not a regular file (a socket)"
    return "not a regular file"


def _refuse(mode: int, path: StrPath) -> None:
    reason = _refusal(mode)
    if reason is None:
        return
    if stat.S_ISDIR(mode):
        raise FolderError(errno.EISDIR, reason, path)
    raise NotRegularFileError(errno.EINVAL, reason, path)


def check_regular(path: StrPath) -> os.stat_result:
    """``os.stat(path)`` (links followed), refusing anything but a regular file with
    :class:`NotRegularFileError`. Other failures (no such file, no permission) raise as ``os.stat`` does."""
    info = os.stat(path)
    _refuse(info.st_mode, path)
    return info


def not_regular_reason(path: StrPath) -> str | None:
    """Why ``path`` (links followed) is not read as a file (``"not a regular file (a FIFO)"``, ...),
    or None when it is a regular file or cannot be stat'ed at all (the read says why then)."""
    try:
        return _refusal(os.stat(path).st_mode)
    except (OSError, ValueError):
        return None


class RegularFile:
    """An open regular file: ``with RegularFile(path) as f: f.stat, f.read(max_bytes)``.

    Opening refuses what :func:`check_regular` refuses, before and after the open (see the module).
    """

    def __init__(self, path: StrPath) -> None:
        self.path = path
        check_regular(path)
        fd = os.open(path, _OPEN_FLAGS)
        try:
            info = os.fstat(fd)
            _refuse(info.st_mode, path)
            if _OPEN_FLAGS & getattr(os, "O_NONBLOCK", 0):
                os.set_blocking(fd, True)  # a regular file: reads as usual from here on
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        #: The open file's ``os.fstat`` (size, modification time).
        self.stat = info

    def read(self, max_bytes: int) -> bytes:
        """The rest of the file; :class:`FileTooLargeError` when it holds more than ``max_bytes``
        (by its size, or by what a read of ``max_bytes + 1`` bytes returns)."""
        if self.stat.st_size > max_bytes:
            raise FileTooLargeError(self.path, max_bytes)
        data = self.read_head(max_bytes + 1)
        if len(data) > max_bytes:
            raise FileTooLargeError(self.path, max_bytes)
        return data

    def read_head(self, n: int) -> bytes:
        """At most ``n`` bytes (fewer at the end of the file), in as few reads as the file allows."""
        chunks: list[bytes] = []
        got = 0
        # The size is a hint (one read for a file that tells the truth), never a limit.
        want = self.stat.st_size + 1 if self.stat.st_size > 0 else _FIRST_READ
        while got < n:
            chunk = os.read(self._fd, min(n - got, max(want, got)))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)  # one chunk (the usual case) is returned as it is, not copied

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __enter__(self) -> RegularFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def read_regular(path: StrPath, max_bytes: int) -> bytes:
    """The whole regular file at ``path``, at most ``max_bytes`` of it, or a refusal (see the module)."""
    with RegularFile(path) as file:
        return file.read(max_bytes)


def read_head(path: StrPath, n: int) -> bytes:
    """The first ``n`` bytes (or fewer) of the regular file at ``path``, or a refusal (see the module)."""
    with RegularFile(path) as file:
        return file.read_head(n)
