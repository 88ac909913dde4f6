"""A real PostgreSQL server for the store tests, from Debian's ``postgresql`` package.

The ``postgres_server`` fixture (tests/conftest.py, one server for the whole run) runs ``initdb``
into a temporary folder and ``pg_ctl start`` on a free loopback port, its unix socket in that folder
too, and stops it at the end. ``initdb`` refuses to run as root (CI runs as root): then both run as
the ``postgres`` user (``runuser``) and the folder is theirs. Without the binaries the fixture
fails, never skips: CI installs the package (.ci/run) and these tests must run there.

Each test gets an empty store: one database emptied again (TRUNCATE: milliseconds), or where a
test changes the database itself, a copy of a template that already holds the schema
(``CREATE DATABASE ... TEMPLATE``: a quarter of a second), or an empty database.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


def _newest_bin() -> Path:
    """Where Debian's package puts the server's programs: its newest major version."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0
    )
    return found[-1] if found else Path("/usr/lib/postgresql/15/bin")


#: The server's programs (``$PG_BIN`` overrides where).
PG_BIN = Path(os.environ["PG_BIN"]) if os.environ.get("PG_BIN") else _newest_bin()
#: The superuser initdb makes (trust on loopback and the socket: the server is the tests' own).
SUPERUSER = "postgres"
#: A role that logs in with a password only (for the refused-login test).
PASSWORD_ROLE = "locked"
#: A database made with the current schema, copied for each test that needs a database of its own.
TEMPLATE = "reader_template"
#: The database emptied for each test (see :meth:`PostgresServer.emptied_database`), and its tables.
REUSED = "reader_tests"
TABLES = (
    "article_state",
    "pending_changes",
    "refused_changes",
    "articles",
    "feeds",
    "accounts",
    "rules",
    "labels",
    "tombstones",
    "article_counts",
    "state_counts",
    "arrival_counter",
    "arrivals",
)


def missing_requirements() -> str | None:
    """Why the server cannot start here (None: it can)."""
    for program in ("initdb", "pg_ctl", "postgres"):
        if not (PG_BIN / program).is_file():
            return f"{PG_BIN / program} is missing; the PostgreSQL store tests need Debian's postgresql package"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser is missing (initdb refuses root; it runs as the postgres user)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner(command: list[str]) -> list[str]:
    """``command`` as the postgres user when we are root (initdb and the server refuse root)."""
    return ["runuser", "-u", SUPERUSER, "--", *command] if os.geteuid() == 0 else command


@dataclass
class PostgresServer:
    folder: Path
    port: int
    _names: itertools.count[int] = field(default_factory=itertools.count)
    _reused: bool = False

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres", user: str = SUPERUSER, password: str | None = None) -> str:
        secret = f":{password}" if password is not None else ""
        return f"postgresql://{user}{secret}@127.0.0.1:{self.port}/{database}"

    @classmethod
    def start(cls) -> PostgresServer:
        # Not under pytest's tmp folder: that one is root's alone (0700), and the server runs as postgres.
        folder = Path(tempfile.mkdtemp(prefix="reader-pg-"))
        if os.geteuid() == 0:
            shutil.chown(folder, SUPERUSER, SUPERUSER)
        server = cls(folder, free_port())
        run = _as_owner
        subprocess.run(
            run(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(server.data),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        # The password role first: its lines come before the trust for everyone else.
        hba = server.data / "pg_hba.conf"
        rules = [f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256", "local all all trust"]
        rules.append("host all all 127.0.0.1/32 trust")
        hba.write_text("\n".join(rules) + "\n", encoding="utf-8")
        options = (
            f"-h 127.0.0.1 -p {server.port} -k {folder} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        done = subprocess.run(
            run(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(server.data),
                    "-l",
                    str(folder / "log"),
                    "-o",
                    options,
                    "-w",
                    "start",
                ]
            ),
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            log = (folder / "log").read_text(errors="replace") if (folder / "log").exists() else ""
            server.remove()
            raise RuntimeError(f"pg_ctl start failed: {done.stderr}{done.stdout}\n{log}")
        server.sql(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD 'right'")
        server.sql(f"CREATE DATABASE {TEMPLATE}")
        from reader.store.postgres import PostgresStore

        PostgresStore.open(server.url(TEMPLATE)).close()
        return server

    def sql(self, statement: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement.encode())

    def new_database(self, *, empty: bool = False) -> str:
        """The URL of a new database: with the current schema (a copy of the template), or empty.
        (A quarter of a second: the copy is checkpointed.)"""
        name = f"test_{next(self._names)}"
        self.sql(f"CREATE DATABASE {name} TEMPLATE {'template0' if empty else TEMPLATE} STRATEGY = FILE_COPY")
        return self.url(name)

    def emptied_database(self) -> str:
        """The URL of a database with the current schema and nothing in it: one database, emptied
        for each test that asks (TRUNCATE, ids from 1 again), ten times faster than a new one. Its
        stores must be closed by the end of the test (the fixtures close theirs)."""
        if not self._reused:
            self.sql(f"CREATE DATABASE {REUSED} TEMPLATE {TEMPLATE} STRATEGY = FILE_COPY")
            self._reused = True
        else:
            # (a store left open in a transaction by a test would hold it up: then fail, not hang)
            self.sql(f"SET lock_timeout = '10s'; TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE", REUSED)
        return self.url(REUSED)

    def halt(self) -> None:
        """Stop the server at once (as a crash would), its folder left."""
        subprocess.run(
            _as_owner([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
        )

    def stop(self) -> None:
        self.halt()
        self.remove()

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
