"""Where an account's auth token lives: the system keyring (the ``keyring`` package, when it is
installed and has a working backend), else ``tokens.json`` in the user's config folder, mode 0600.

Only the token ClientLogin gave is kept, never the password; never in the store, a log or an
error message. ``READER_KEYRING=0`` keeps tokens in the file even where a keyring works.

Changing the file (read, change one account's token, write) holds an exclusive ``flock`` on the
sibling ``tokens.json.lock`` throughout: two ``reader accounts add`` (or ``remove``) at once, in
two processes or two threads, would otherwise both read the old file and the last to write would
drop the other's token. (A lock file of its own, not the file itself: the write replaces
``tokens.json`` by a rename, and a lock on the replaced file would guard nothing.) Reading alone
needs no lock: the file is only ever replaced whole.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reader import paths

SERVICE = "reader-desktop sync"


def token_file() -> Path:
    return paths.user_config_dir() / "tokens.json"


def _keyring() -> Any:
    """The keyring module when it has a usable backend (not keyring's "fail" one), else None."""
    if os.environ.get("READER_KEYRING") == "0":
        return None
    try:
        import keyring
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
        if float(getattr(backend, "priority", 0)) <= 0:
            return None
    except Exception:  # a backend that fails even to be looked at
        return None
    return keyring


def where() -> str:
    """Where tokens are kept here, for a person (``accounts list``, the README)."""
    return "the system keyring" if _keyring() is not None else str(token_file())


def save_token(account: str, token: str) -> None:
    ring = _keyring()
    if ring is not None:
        try:
            ring.set_password(SERVICE, account, token)
            return
        except Exception:
            pass  # a locked or broken keyring: the file then
    with _locked():
        tokens = _read()
        tokens[account] = token
        _write(tokens)


def load_token(account: str) -> str | None:
    ring = _keyring()
    if ring is not None:
        with contextlib.suppress(Exception):
            found = ring.get_password(SERVICE, account)
            if found:
                return str(found)
    value = _read().get(account)
    return value if isinstance(value, str) else None


def delete_token(account: str) -> None:
    ring = _keyring()
    if ring is not None:
        with contextlib.suppress(Exception):
            ring.delete_password(SERVICE, account)
    if not token_file().exists():
        return  # nothing to change (and no folder or lock file made for it)
    with _locked():
        tokens = _read()
        if tokens.pop(account, None) is not None:
            _write(tokens)


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """The token file's lock, held (blocking until no one else holds it)."""
    path = token_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # (releases the lock)


def _read() -> dict[str, Any]:
    try:
        value = json.loads(token_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _write(tokens: dict[str, Any]) -> None:
    """Atomically, and never readable by others, not even for a moment (created 0600)."""
    path = token_file()
    temporary = path.with_name(path.name + ".tmp")  # (only one writer at a time: see _locked)
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(tokens, out)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
