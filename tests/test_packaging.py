"""The wheel carries the bundled seeds and resources, and an installed wheel finds them.

Slow-ish (builds a wheel, makes a venv, installs into it), but part of every run, CI included:
``resources/`` and ``seeds/`` live outside the package, so only a real wheel proves they ship.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GIVEN = "000_3fd0e19bd5f7f8e2.txt"
SAMPLE_NAME = re.compile(r"^reader/_data/seeds/(\d{3})_[0-9a-f]{16}\.txt$")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _env(home: Path) -> dict[str, str]:
    """The subprocesses' environment: no user folders, and no checkout on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "READER_DB")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / "cache"), XDG_CONFIG_HOME=str(home / "config"))
    env.update(XDG_DATA_HOME=str(home / "data"))
    return env


def _run(args: list[str | Path], home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=_env(home), capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    home = tmp_path_factory.mktemp("home")
    if importlib.util.find_spec("build") is not None:
        # Without build isolation when the backend is already here (faster, works offline).
        isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-isolation"]
        _run([sys.executable, "-m", "build", "--wheel", *isolation, "--outdir", out, REPO], home, cwd=out)
    else:
        _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", out, REPO], home, cwd=out)
    (built,) = out.glob("reader_desktop-*.whl")
    return built


@pytest.fixture(scope="module")
def names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        return z.namelist()


def test_wheel_carries_the_given_record_unchanged(wheel: Path, names: list[str]) -> None:
    assert f"reader/_data/seeds/{GIVEN}" in names
    with zipfile.ZipFile(wheel) as z:
        assert z.read(f"reader/_data/seeds/{GIVEN}") == (REPO / "seeds" / GIVEN).read_bytes()


def test_wheel_carries_all_128_samples(names: list[str]) -> None:
    numbers = sorted(int(m.group(1)) for n in names if (m := SAMPLE_NAME.match(n)))
    assert numbers == list(range(129))  # the given record (000) and samples 001..128
    shipped = {n.rsplit("/", 1)[1] for n in names if SAMPLE_NAME.match(n)}
    assert shipped == {p.name for p in (REPO / "seeds").glob("*.txt")}


def test_wheel_carries_the_attribution_notice(names: list[str]) -> None:
    notices = [
        n
        for n in names
        if n.startswith("reader/_data/seeds/") and re.search(r"ATTRIBUTION|NOTICE", n.rsplit("/", 1)[1], re.I)
    ]
    assert notices, "the CC BY samples need their attribution notice in seeds/ (and so in the wheel)"


def test_wheel_carries_resources_and_the_command(wheel: Path, names: list[str]) -> None:
    assert [n for n in names if n.startswith("reader/_data/resources/") and not n.endswith("/")]
    assert "reader/cli.py" in names and "reader/paths.py" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    with zipfile.ZipFile(wheel) as z:
        assert re.search(r"^reader\s*=\s*reader\.cli:main$", z.read(entry_points).decode(), re.M)


def test_installed_wheel_finds_its_seeds(wheel: Path, tmp_path: Path) -> None:
    """Non-editable install into a fresh venv; run from outside the checkout with -I (no cwd, no
    PYTHONPATH), so the package can only come from the venv."""
    venv = tmp_path / "venv"
    home = tmp_path / "home"
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], home, cwd=tmp_path)
    # reader.paths needs platformdirs; the rest of the dependencies are not needed to find files.
    platformdirs = f"platformdirs=={importlib.metadata.version('platformdirs')}"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", wheel, platformdirs], home, tmp_path)

    code = """
import json, reader, reader.paths as p
seeds = p.seeds_dir()
print(json.dumps({
    "package": reader.__file__,
    "seeds": str(seeds),
    "resources": str(p.resources_dir()),
    "records": sorted(f.name for f in seeds.glob("*.txt")),
    "given": (seeds / "000_3fd0e19bd5f7f8e2.txt").read_text("utf-8")[:12],
}))
"""
    found = json.loads(_run([python, "-I", "-c", code], home, cwd=tmp_path).stdout)

    site = Path(found["package"]).parent.parent
    assert Path(found["package"]).is_relative_to(venv), found["package"]
    assert Path(found["seeds"]) == site / "reader" / "_data" / "seeds"
    assert Path(found["resources"]) == site / "reader" / "_data" / "resources"
    assert len(found["records"]) == 129 and found["records"][0] == GIVEN
    assert found["given"] == "['fortune', "
