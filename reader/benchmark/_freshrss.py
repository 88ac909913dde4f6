"""A throwaway FreshRSS for the sync benchmark: ``../shared/servers/freshrss/start_freshrss.sh``
(or ``$FRESHRSS_FIXTURE``'s) on loopback, with no feed of its own (``SUBSCRIBE=0``), and a few
calls of its Google Reader API made with ``urllib.request``, never ``reader.sync``: the server's
side of the benchmark must not depend on the code it times.

Not ``tests/freshrss.py``: ``tests/`` is no package and is not installed with Reader, and the
fixture there subscribes the script's own feed, which the benchmark does not want. What is the same
(the script, its ``env.sh``) stays the script's.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURE_DIR = Path(
    os.environ.get("FRESHRSS_FIXTURE") or Path(__file__).resolve().parents[3] / "shared/servers/freshrss"
)
START_SCRIPT = FIXTURE_DIR / "start_freshrss.sh"

READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"
READING_LIST = "user/-/state/com.google/reading-list"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def missing_requirements() -> str | None:
    """Why the server cannot start here (None: it can)."""
    if not START_SCRIPT.is_file():
        return f"the FreshRSS fixture is missing: {START_SCRIPT} (set FRESHRSS_FIXTURE to its folder)"
    for program in ("php", "curl", "bash"):
        if shutil.which(program) is None:
            packages = FIXTURE_DIR / "README.md"
            return f"{program} is not installed (apt-get install the PHP packages {packages} lists, and curl)"
    return None


@dataclass
class Server:
    """One running FreshRSS: ``url`` is its Google Reader endpoint (``.../api/greader.php``)."""

    work: Path
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.env["GREADER_URL"]

    @property
    def user(self) -> str:
        return self.env["FR_USER"]

    @property
    def password(self) -> str:
        return self.env["FR_API_PASS"]

    @classmethod
    def start(cls, work: Path) -> Server:
        """A server with no subscription (the benchmark subscribes its own feeds)."""
        return cls(work, start_script(work, PORT=str(free_port()), SUBSCRIBE="0"))

    @classmethod
    def attach(cls, env_sh: Path) -> Server:
        """A server started before (``env_sh`` is the env.sh its script wrote)."""
        return cls(env_sh.parent, read_env(env_sh))

    def stop(self) -> None:
        env = {**os.environ, "WORK": str(self.work)}
        subprocess.run(["bash", str(START_SCRIPT), "stop"], env=env, capture_output=True, timeout=60)

    def version(self) -> str:
        constants = Path(self.env["FRESHRSS_SRC"]) / "constants.php"
        for line in constants.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("const FRESHRSS_VERSION"):
                return line.split("=", 1)[1].strip(" ;'\"")
        return "?"

    def actualize(self) -> None:
        """``cli/actualize-user.php``: FreshRSS fetches every feed whose TTL (1 s here) is over.
        It exits 1 when no feed changed, which is no error here."""
        env = {**os.environ, "DATA_PATH": self.env["DATA_PATH"]}
        subprocess.run(
            ["php", "cli/actualize-user.php", "--user", self.user],
            cwd=self.env["FRESHRSS_SRC"],
            env=env,
            capture_output=True,
            timeout=600,
        )

    # --- the Google Reader API, as another client would speak it --------------------------------

    def _call(
        self, path: str, query: Sequence[tuple[str, str]] = (), form: Sequence[tuple[str, str]] | None = None
    ) -> bytes:
        url = f"{self.url}/reader/api/0/{path}" + ("?" + urllib.parse.urlencode(query) if query else "")
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        headers = {"Authorization": f"GoogleLogin auth={self.env['GREADER_AUTH']}"}
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
        with opener.open(urllib.request.Request(url, data=data, headers=headers), timeout=120) as answer:
            return bytes(answer.read())

    def _json(
        self, path: str, query: Sequence[tuple[str, str]] = (), form: Sequence[tuple[str, str]] | None = None
    ) -> Any:
        return json.loads(self._call(path, [("output", "json"), *query], form))

    def quickadd(self, feed_url: str) -> None:
        """Subscribe; FreshRSS fetches the feed and stores its items at once."""
        answer = self._json("subscription/quickadd", form=[("T", self._token()), ("quickadd", feed_url)])
        if answer.get("numResults") != 1:
            raise RuntimeError(f"{feed_url}: FreshRSS did not subscribe it: {answer}")

    def ids(self, stream: str = READING_LIST, **params: str) -> list[str]:
        """Every item id of ``stream`` (continuations followed)."""
        found: list[str] = []
        c = ""
        while True:
            query = [("s", stream), ("n", "10000"), *params.items()] + ([("c", c)] if c else [])
            answer = self._json("stream/items/ids", query)
            found += [ref["id"] for ref in answer.get("itemRefs", [])]
            c = answer.get("continuation", "")
            if not c:
                return found

    def tag(self, ids: Sequence[str], tag: str) -> None:
        """Add ``tag`` (read, starred) to ``ids``, 500 a call."""
        for start in range(0, len(ids), 500):
            form = [("T", self._token()), ("a", tag), *(("i", i) for i in ids[start : start + 500])]
            if self._call("edit-tag", form=form) != b"OK":
                raise RuntimeError(f"FreshRSS refused edit-tag {tag}")

    def _token(self) -> str:
        return self._call("token").decode().strip()


def start_script(work: Path, **variables: str) -> dict[str, str]:
    """``start_freshrss.sh start`` in ``work`` with these of its variables: the env.sh it wrote."""
    env = {**os.environ, "WORK": str(work), **variables}
    done = subprocess.run(["bash", str(START_SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"start_freshrss.sh failed ({done.returncode}):\n{done.stderr.strip()[-3000:]}")
    return read_env(work / "env.sh")


def read_env(path: Path) -> dict[str, str]:
    """The variables of the ``env.sh`` that start_freshrss.sh writes."""
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        for part in line.removeprefix("export ").split("' "):
            name, _, value = part.partition("=")
            env[name.strip()] = value.strip().strip("'")
    return env
