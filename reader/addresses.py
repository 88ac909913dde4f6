"""What an input is: a seed file, a feed file, an OPML file, a folder of them, or a feed URL; and
which local paths an OPML list may name. Classified once, here, and passed on resolved. No Qt, no
store; the only reads are the first bytes of a file whose name does not say what it is.
"""

from __future__ import annotations

import enum
import os
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from reader import localfile
from reader.records import Problem

#: Feed and OPML files are recognised by these endings (and by their first bytes).
FEED_SUFFIXES = frozenset({".xml", ".rss", ".atom", ".rdf", ".feed"})
OPML_SUFFIXES = frozenset({".opml"})
#: In folders, documentation files (a corpus's README or licence notice) are not records.
SKIPPED_SUFFIXES = frozenset({".md", ".markdown", ".rst", ".html", ".htm", ".json", ".csv", ".pdf"})

#: A host name with at least one dot whose last label is letters (example.com, news.example.org:8080),
#: or a dotted IPv4 address.
_HOST = re.compile(
    r"^(?:(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*|\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?$", re.I
)
#: Endings of files, not of host names: "feed.xml" that does not exist is a missing file, not a site.
_FILE_ENDINGS = FEED_SUFFIXES | OPML_SUFFIXES | SKIPPED_SUFFIXES | frozenset({".txt", ".gz", ".zip", ".sqlite"})
#: Text that starts like a URL (``scheme://``), whatever its scheme.
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
#: What Reader can subscribe to, said wherever an address is refused.
FETCHABLE = "only http and https addresses, or local feed files"


def feed_address(text: str) -> str | None:
    """The URL ``text`` stands for, or None when it is (or may be) a local path.

    The one place that decides, for ``reader import``, ``reader feeds add`` and "Add feed":

    - ``http://``, ``https://`` and ``file:`` URLs are taken as they are;
    - ``feed://host/path`` is ``http://host/path``, ``feed:https://...`` is ``https://...``;
    - an existing file or folder is a path;
    - other text without a scheme that reads like ``host/path`` (a dot in the first segment,
      e.g. ``example.com/rss``, but not a file name such as ``feed.xml``) is ``https://host/path``.
    """
    stripped = text.strip()
    lower = stripped.lower()
    if lower.startswith("feed://"):
        return "http://" + stripped[len("feed://") :]
    if lower.startswith(("feed:http://", "feed:https://")):
        return stripped[len("feed:") :]
    if lower.startswith(("http://", "https://", "file:")):
        return stripped
    if not stripped or os.path.lexists(text) or os.path.lexists(stripped):
        return None
    if any(c.isspace() for c in stripped) or "\\" in stripped or stripped.startswith((".", "~")):
        return None
    host = stripped.split("/", 1)[0]
    if not _HOST.match(host) or os.path.splitext(host.split(":", 1)[0])[1].lower() in _FILE_ENDINGS:
        return None
    return "https://" + stripped


def is_url(text: str) -> bool:
    """Whether ``text`` is a feed address rather than a local path (see :func:`feed_address`)."""
    return feed_address(text) is not None


class InputKind(enum.Enum):
    SEED = "seed"  # a seed record file
    FEED = "feed"  # a feed: its address, a URL (a local feed file as a file: URL)
    OPML = "opml"  # a subscription list: its path


@dataclass(frozen=True, slots=True)
class Input:
    """One input, resolved: ``target`` is a seed or OPML file's path, or a feed's address as it is
    stored (:func:`feed_url`). ``label`` is what the person named (for messages)."""

    kind: InputKind
    target: str
    label: str
    #: A file taken as a seed file until its first bytes are read (``classify(defer_sniff=True)``):
    #: the importer reads it once and asks :func:`sniffed` what it is.
    sniff: bool = False


#: A file's identity (device, inode): how the store's own files are known without opening them.
FileId = tuple[int, int]


def store_files(store_path: str | os.PathLike[str]) -> frozenset[FileId]:
    """The store's own files (the database, its -wal, -shm and -journal) that exist, by identity.
    An import must never read them: closing any descriptor of the store would drop this process's
    locks on it (see reader.store._probe)."""
    found = set()
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            info = os.stat(f"{os.fspath(store_path)}{suffix}")
        except (OSError, ValueError):
            continue
        found.add((info.st_dev, info.st_ino))
    return frozenset(found)


def _identity(path: Path) -> FileId | None:
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino


def classify(
    inputs: Sequence[str],
    problems: list[Problem],
    *,
    skip: frozenset[FileId] = frozenset(),
    feeds_only: bool = False,
    defer_sniff: bool = False,
) -> list[Input]:
    """What each input is, folders expanded (recursively, sorted); inputs that cannot be read
    (missing, a FIFO, a device, a socket) are problems, and nothing else is looked at twice.
    Files in ``skip`` (the store's own, :func:`store_files`) are never opened: passed over in a
    folder, refused when named. Addresses Reader cannot fetch (another scheme, an http address
    without a host) are refused here, before anything is subscribed. ``feeds_only`` (``reader
    feeds add``): a missing path is said to be neither a URL nor a file, not just a missing file.
    ``defer_sniff``: a file told apart by its first bytes is not read here but given as a seed file
    marked :attr:`Input.sniff`, for a reader that reads it anyway to ask :func:`sniffed` (the
    seed import: one open and read per file instead of two)."""
    found: list[Input] = []
    for text in inputs:
        address = feed_address(text)
        if address is None and not os.path.lexists(text) and _SCHEME.match(text.strip()):
            scheme = text.strip().split(":", 1)[0].lower()
            problems.append(Problem(text, f"not a URL Reader can fetch: {scheme} is not supported ({FETCHABLE})"))
            continue
        if address is not None:
            why = _address_refusal(address) or _local_refusal(address)
            if why is not None:
                problems.append(Problem(text, why))
            else:
                found.append(Input(InputKind.FEED, address, text))
            continue
        path = Path(text)
        if skip and _identity(path) in skip:
            problems.append(Problem(text, "is the store itself (or one of its files); not imported"))
            continue
        if path.is_dir():
            for file in _walk(path):
                if skip and _identity(file) in skip:
                    continue  # the store's own files, in the folder being imported
                # A FIFO, a device or a socket in the folder is named and left alone (never opened).
                why = localfile.not_regular_reason(file)
                if why is not None:
                    problems.append(Problem(str(file), why))
                else:
                    found.extend(_classify(file, defer_sniff=defer_sniff))
        elif path.is_file():
            found.extend(_classify(path, explicit=True, defer_sniff=defer_sniff))
        elif path.exists():
            problems.append(Problem(text, localfile.not_regular_reason(path) or "not a regular file"))
        elif feeds_only:
            problems.append(Problem(text, f"not a URL Reader can fetch, nor an existing file ({FETCHABLE})"))
        else:
            problems.append(Problem(text, "no such file or folder"))
    return found


def _address_refusal(address: str) -> str | None:
    """Why an http or https address cannot be fetched at all (no host, a malformed one), or None."""
    try:
        parts = urllib.parse.urlsplit(address)
        if parts.scheme.lower() not in ("http", "https"):
            return None
        if not parts.hostname:
            return f"not a URL Reader can fetch: it names no host ({FETCHABLE})"
        parts.port  # noqa: B018 (a port out of range or not a number raises)
    except ValueError as exc:
        reason = str(exc) or "malformed"
        return f"not a URL Reader can fetch: {reason[:1].lower() + reason[1:]} ({FETCHABLE})"
    return None


def _local_refusal(address: str) -> str | None:
    """Why the file a ``file:`` URL names on this machine is not read (a FIFO, a device, a socket,
    a folder), or None (other URLs; a missing file is left to the feed import, which says so)."""
    if not address.lower().startswith("file:"):
        return None
    try:
        parts = urllib.parse.urlsplit(address)
        if parts.netloc not in ("", "localhost"):
            return None  # the fetch says it cannot read files on another host
        return localfile.not_regular_reason(urllib.request.url2pathname(parts.path))
    except ValueError:
        return None


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root, name)


def _classify(path: Path, explicit: bool = False, defer_sniff: bool = False) -> list[Input]:
    """The file as an input (none: a documentation file in a folder): by its ending, else by its
    first bytes (with ``defer_sniff``, later: see :func:`classify`)."""
    suffix = path.suffix.lower()
    if suffix in OPML_SUFFIXES:
        return [Input(InputKind.OPML, str(path), str(path))]
    if suffix in FEED_SUFFIXES:
        return [Input(InputKind.FEED, feed_url(str(path)), str(path))]
    if not explicit and suffix in SKIPPED_SUFFIXES:
        return []
    seed = Input(InputKind.SEED, str(path), str(path), sniff=defer_sniff)
    if defer_sniff:
        return [seed]
    try:
        head = localfile.read_head(path, SNIFF_BYTES)
    except OSError:
        return [seed]  # the read says why
    return [sniffed(seed, head)]


#: How much of a file's start tells a feed or OPML file from a seed file.
SNIFF_BYTES = 1024


def sniffed(item: Input, head: bytes) -> Input:
    """The input a file (``item``, a seed file by default) is, by its first bytes ``head`` (the
    first :data:`SNIFF_BYTES` are looked at): an OPML file, a feed file, or a seed file."""
    head = head[:SNIFF_BYTES]
    path = item.target
    sniff = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if sniff.startswith(b"<"):
        if b"<opml" in head.lower():
            return Input(InputKind.OPML, path, item.label)
        return Input(InputKind.FEED, feed_url(path), item.label)
    return Input(InputKind.SEED, path, item.label)


def feed_url(text: str) -> str:
    """The address a feed is stored under: URLs as given (``feed://``, ``example.com/rss`` and the
    like mapped by :func:`feed_address`), local paths as absolute ``file:`` URLs."""
    address = feed_address(text)
    if address is not None:
        return address
    text = text.strip()
    if _SCHEME.match(text):
        return text  # another scheme: fetch() says it cannot fetch it
    return Path(text).expanduser().resolve().as_uri()


def opml_address(xml_url: str, opml_path: str) -> tuple[str | None, str | None]:
    """The feed address an OPML outline's ``xmlUrl`` stands for, or ``(None, why not)``.

    OPML files come from elsewhere, so their addresses are not trusted as local paths: only
    ``http``/``https`` URLs are accepted, and local files inside the folder of the OPML file itself
    (never the current directory): relative paths (``feeds/news.xml``) and ``file:`` URLs, which
    is how ``reader opml export`` writes local subscriptions (so an export saved above the feed
    files imports again). Absolute paths, ``file:`` URLs elsewhere, ``javascript:``, ``ftp:`` and
    every other scheme are refused.
    """
    text = xml_url.strip()
    try:
        parts = urllib.parse.urlsplit(text)
    except ValueError:
        return None, "is not a valid address"
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if not parts.hostname:
            return None, "has no host"
        return text, None
    folder = Path(opml_path).resolve().parent
    if scheme == "file" and parts.netloc in ("", "localhost") and parts.path.startswith("/"):
        target = Path(urllib.request.url2pathname(parts.path))
        outside = "is a local file outside the OPML file's folder"
    elif scheme or text.startswith(("/", "\\", "~")) or parts.netloc:
        return None, "is not an http or https address"
    else:
        relative = Path(urllib.request.url2pathname(parts.path))
        if not parts.path or ".." in relative.parts:
            return None, "is not an http or https address, nor a path inside the OPML file's folder"
        target = folder / relative
        outside = "leads outside the OPML file's folder (through a link)"
    try:
        # Links resolved, for paths and file: URLs alike: the file itself must be in the folder.
        target = target.resolve()
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a link loop
        return None, "is not a usable local path"
    if not target.is_relative_to(folder):
        return None, outside
    return target.as_uri(), None


def local_path(url: str) -> Path:
    """The path a ``file:`` URL names."""
    return Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
