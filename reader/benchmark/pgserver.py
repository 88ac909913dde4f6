"""A throwaway PostgreSQL server for the store benchmark, from Debian's ``postgresql`` package.

``initdb`` into a folder and ``pg_ctl start`` on a free loopback port (its unix socket in that
folder too), stopped and removed at the end, as tests/postgres.py does for the tests. ``initdb``
refuses root: then both run as the ``postgres`` user (``runuser``) and the folder is theirs.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

#: The server's settings for the benchmark, said in its output: what a machine given to a shared
#: store would have (memory for the page cache and index builds, large WAL), durability as default
#: except that a commit does not wait for its WAL flush (as SQLite's WAL with synchronous=NORMAL).
SETTINGS = {
    "shared_buffers": "1GB",
    "maintenance_work_mem": "512MB",
    "work_mem": "32MB",
    "max_wal_size": "8GB",
    "synchronous_commit": "off",
    "max_connections": "50",
}
SUPERUSER = "postgres"


def _bin() -> Path:
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0
    )
    return found[-1] if found else Path("/usr/lib/postgresql/15/bin")


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", SUPERUSER, "--", *command] if os.geteuid() == 0 else command


def _others_may_enter(folder: Path) -> bool:
    """Whether another user (the server's) can reach ``folder``: every folder above it is open to
    others (those still to be made will be: made with the default mode)."""
    return all(not p.exists() or p.stat().st_mode & 0o001 for p in folder.resolve().parents)


class Server:
    """A server of our own in ``folder`` (created; removed by :meth:`stop`), or when the server's
    user could not reach it (pytest's folders are root's alone), in a new folder in /tmp."""

    def __init__(self, folder: Path) -> None:
        self._temporary: Path | None = None
        if os.geteuid() == 0 and not _others_may_enter(folder):
            self._temporary = Path(tempfile.mkdtemp(prefix="reader-bench-pg-"))
            self._temporary.chmod(0o711)
            folder = self._temporary / "pg"
        self.folder = folder
        self.data = folder / "data"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def start(self) -> Server:
        pg = _bin()
        if not (pg / "initdb").is_file():
            raise RuntimeError(
                f"{pg / 'initdb'} is missing: the PostgreSQL benchmark needs Debian's postgresql package"
            )
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, SUPERUSER, SUPERUSER)
        initdb = [str(pg / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8"]
        done = subprocess.run(_as_owner([*initdb, "--locale=C.UTF-8"]), capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder} " + " ".join(
            f"-c {k}={v}" for k, v in SETTINGS.items()
        )
        done = subprocess.run(
            _as_owner(
                [str(pg / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"), "-o", options, "-w", "start"]
            ),
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip() or done.stdout.strip()}")
        return self

    def stop(self, *, keep: bool = False) -> None:
        """Stop the server; its folder is removed unless ``keep``."""
        subprocess.run(
            _as_owner([str(_bin() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]), capture_output=True
        )
        if not keep or self._temporary is not None:
            shutil.rmtree(self._temporary or self.folder, ignore_errors=True)
