"""A feed document from its address: ``http``/``https`` through :mod:`reader.http` (the one HTTP
client), ``file:`` from this machine (a regular file, read within a size limit). Bytes and headers
back, never an exception for network, server or file trouble; nothing is written. No Qt, no store.
"""

from __future__ import annotations

import threading
import urllib.parse
import urllib.request

from reader import localfile
from reader.http import FETCH_TIMEOUT, MAX_FEED_BYTES, FetchResult, default_client
from reader.localfile import size_text

__all__ = ["FetchResult", "fetch"]


def fetch(
    url: str,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = FETCH_TIMEOUT,
    max_bytes: int = MAX_FEED_BYTES,
    stop: threading.Event | None = None,
) -> FetchResult:
    """GET ``url`` (http, https or file), conditionally when ``etag``/``last_modified`` are given.

    Never raises for network, server or file trouble: the result's ``error`` says what went wrong.
    Over the network (see :meth:`reader.http.Client.get`) each step waits at most ``timeout``
    seconds and the whole exchange, redirects included, at most twice that; redirects are followed
    to http and https only, :data:`reader.http.MAX_REDIRECTS` at most; at most
    :data:`reader.http.MAX_CONNECTIONS_PER_HOST`
    connections to one origin, kept alive. When ``stop`` is set the fetch gives up at its next step.
    """
    try:
        scheme = urllib.parse.urlsplit(url).scheme.lower()
    except ValueError as exc:
        return FetchResult(url, 0, error=f"not a valid address ({exc})")
    if scheme == "file":
        return _fetch_file(url, last_modified, max_bytes)
    if scheme not in ("http", "https"):
        return FetchResult(url, 0, error=f"cannot fetch {scheme or 'scheme-less'} URLs (only http, https, file)")
    return default_client().get(
        url, etag=etag, last_modified=last_modified, timeout=timeout, max_bytes=max_bytes, stop=stop
    )


def _fetch_file(url: str, last_modified: str | None, max_bytes: int) -> FetchResult:
    parts = urllib.parse.urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        return FetchResult(url, 0, error=f"cannot read files on another host ({parts.netloc})")
    path = urllib.request.url2pathname(parts.path)
    try:
        # Regular files only (a FIFO, a device, a socket are refused unopened), read at most max_bytes.
        with localfile.RegularFile(path) as fh:
            info = fh.stat
            # The file's modification time (to the nanosecond) and size play the part of
            # Last-Modified: an unchanged file is not read again.
            modified = f"mtime_ns={info.st_mtime_ns} size={info.st_size}"
            if last_modified and last_modified == modified:
                return FetchResult(url, 304, last_modified=modified)
            if info.st_size > max_bytes:
                sizes = f"{size_text(info.st_size)}; limit {size_text(max_bytes)}"
                return FetchResult(url, 0, error=f"file too large ({sizes})")
            data = fh.read(max_bytes)
    except localfile.FileTooLargeError:  # it grew while it was read (or says it is empty, as /proc files do)
        return FetchResult(url, 0, error=f"file too large (over {size_text(max_bytes)})")
    except IsADirectoryError:
        return FetchResult(url, 0, error="is a folder, not a feed file")
    except localfile.NotRegularFileError as exc:
        return FetchResult(url, 0, error=exc.reason)
    except FileNotFoundError:
        return FetchResult(url, 0, error="no such file")
    except OSError as exc:
        return FetchResult(url, 0, error=f"cannot read ({(exc.strerror or str(exc)).lower()})")
    # application/xml: the document's own XML declaration names its encoding (RFC 7303).
    return FetchResult(url, 200, data, {"content-location": url, "content-type": "application/xml"}, None, modified)
