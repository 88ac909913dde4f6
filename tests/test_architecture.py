"""Storage, parsing, import and the command line never import Qt (napari's forbidden-import contract).

Each check runs in a fresh interpreter: in this test process PySide6 may well be loaded already.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import reader

REPO = Path(__file__).resolve().parent.parent

#: Modules the design names as Qt-free; they must exist.
REQUIRED = ["reader.records", "reader.seedfile", "reader.store", "reader.importer", "reader.cli"]
#: The only places allowed to import PySide6 (BRIEF: reader/ui/ and two benchmarks).
QT_ALLOWED = ("reader.ui", "reader.benchmark.window", "reader.benchmark.images")


def _qt_free_modules() -> list[str]:
    found = {
        m.name
        for m in pkgutil.walk_packages(reader.__path__, "reader.")
        if not m.name.startswith(QT_ALLOWED) and not m.name.endswith("__main__")
    }
    return sorted(found | set(REQUIRED))


CHECK = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
qt = sorted(m for m in sys.modules if m.split(".")[0] == "PySide6")
if qt:
    sys.exit("PySide6 imported: " + ", ".join(qt[:5]))
"""


def run_isolated(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("module", _qt_free_modules())
def test_module_does_not_import_qt(module: str) -> None:
    done = run_isolated(CHECK, module)
    assert done.returncode == 0, done.stderr


def test_the_check_would_see_qt() -> None:
    """The subprocess check itself works: it notices Qt when Qt is imported."""
    done = run_isolated(CHECK, "reader.records", "PySide6.QtCore")
    assert done.returncode != 0
    assert "PySide6 imported" in done.stderr


def test_command_line_work_does_not_import_qt(tmp_path: Path) -> None:
    """Not just importing reader.cli: running import, list and show loads no Qt either."""
    code = """
import contextlib, io, sys
from reader.cli import main
db, folder = sys.argv[1:]
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
    codes = [
        main(["--db", db, "import", folder]),
        main(["--db", db, "list", "--json", "--search", "kasp"]),
        main(["--db", db, "show", "1", "--json"]),
    ]
assert codes == [1, 0, 0], codes
assert "Kaspersky" in out.getvalue()
qt = sorted(m for m in sys.modules if m.split(".")[0] == "PySide6")
if qt:
    sys.exit("PySide6 imported: " + ", ".join(qt[:5]))
"""
    done = run_isolated(code, str(tmp_path / "store.sqlite"), str(REPO / "tests" / "data" / "mixed"))
    assert done.returncode == 0, done.stderr


def test_the_parse_workers_module_leaves_fetching_and_storing_out() -> None:
    """The parse worker processes preload reader.feedparse alone: it must stay a small import."""
    code = """
import sys
import reader.feedparse
heavy = sorted(m for m in ("reader.feeds", "reader.store", "reader.importer", "reader.opml", "reader.cli",
                           "sqlite3", "concurrent.futures") if m in sys.modules)
sys.exit("imported: " + ", ".join(heavy) if heavy else 0)
"""
    done = run_isolated(code)
    assert done.returncode == 0, done.stderr
