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
heavy = sorted(m for m in ("reader.subscriptions", "reader.feed_pipeline", "reader.fetching", "reader.store",
                           "reader.importer", "reader.opml", "reader.cli", "sqlite3", "concurrent.futures")
               if m in sys.modules)
sys.exit("imported: " + ", ".join(heavy) if heavy else 0)
"""
    done = run_isolated(code)
    assert done.returncode == 0, done.stderr


# --- layers: data flows one way ----------------------------------------------------------------

#: Each core module's layer; a module may import only modules of a lower layer (or its own, for
#: the pure leaf modules that stand side by side). ui/ and benchmark/ sit above everything.
LAYERS: dict[str, int] = {
    "reader": 0,
    "reader.paths": 0,
    "reader.records": 1,
    "reader.localfile": 1,
    "reader.textpack": 1,
    "reader.sanitize": 2,
    "reader.seedfile": 2,
    "reader.opml": 2,
    "reader.addresses": 2,
    "reader.http": 2,
    "reader.fastfeed": 2,
    "reader.feedparse": 3,
    "reader.fetching": 3,
    "reader.store": 3,
    "reader.store.sqlite": 3,
    "reader.store.protocol": 3,
    "reader.store.postgres": 3,
    "reader.store.changes": 3,
    "reader.store.copy": 3,
    "reader.feed_pipeline": 4,
    "reader.subscriptions": 5,
    "reader.fullcontent": 5,
    "reader.sync": 0,
    "reader.sync.credentials": 1,
    "reader.sync.greader": 3,
    "reader.sync.engine": 5,
    "reader.sync.accounts": 6,
    "reader.importer": 6,
    "reader.cli": 7,
}
#: Imports between modules of one layer beyond the pure leaf modules: the store package re-exports
#: its engines' names; the protocol opens either engine; PostgreSQL's shares SQLite's errors and
#: search words, and sends the changes its listener (reader.store.changes) hears.
SAME_LAYER = {
    ("reader.store", "reader.store.sqlite"),
    ("reader.store", "reader.store.protocol"),
    ("reader.store.protocol", "reader.store.sqlite"),
    ("reader.store.protocol", "reader.store.postgres"),
    ("reader.store.postgres", "reader.store.sqlite"),
    ("reader.store.postgres", "reader.store.changes"),
    ("reader.store.changes", "reader.store.postgres"),
    ("reader.store.copy", "reader.store.protocol"),
    ("reader.store.copy", "reader.store.sqlite"),
    ("reader.store.copy", "reader.store.postgres"),
}
#: Modules that must never import the store (they parse, fetch or batch; their callers write).
NEVER_THE_STORE = [
    "reader.seedfile",
    "reader.feedparse",
    "reader.fastfeed",
    "reader.http",
    "reader.fetching",
    "reader.feed_pipeline",
    "reader.addresses",
    "reader.sync.greader",
]


def _imports_of(module: str) -> set[str]:
    """The reader.* modules ``module`` imports anywhere in its source (top level or in a function)."""
    import ast

    path = REPO / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = REPO / module.replace(".", "/") / "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("reader"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("reader"):
            found.add(node.module)
            if node.module == "reader":
                found.update(f"reader.{a.name}" for a in node.names)
    return found - {module}


def test_every_core_module_has_a_layer() -> None:
    core = {
        m.name
        for m in pkgutil.walk_packages(reader.__path__, "reader.")
        if not m.name.startswith(("reader.ui", "reader.benchmark")) and not m.name.endswith("__main__")
    }
    assert core - set(LAYERS) == set(), "give each new module a layer"


@pytest.mark.parametrize("module", sorted(m for m in LAYERS if m != "reader"))
def test_a_module_imports_only_lower_layers(module: str) -> None:
    upward = sorted(
        name
        for name in _imports_of(module)
        if name in LAYERS
        and name != "reader"
        and LAYERS[name] >= LAYERS[module]
        and not (LAYERS[name] == LAYERS[module] and name in ("reader.records", "reader.localfile"))
        and (module, name) not in SAME_LAYER
    )
    assert upward == [], f"{module} (layer {LAYERS[module]}) imports {upward}"


@pytest.mark.parametrize("module", NEVER_THE_STORE)
def test_parsers_and_the_pipeline_never_import_the_store(module: str) -> None:
    assert "reader.store" not in _imports_of(module)


def test_the_layer_check_would_see_an_upward_import(tmp_path: Path) -> None:
    assert "reader.store" in _imports_of("reader.subscriptions")
    assert "reader.subscriptions" in _imports_of("reader.importer")


def test_the_window_and_the_store_leave_sync_out_of_their_imports() -> None:
    """Sync is imported when an account is used, never at the window's start (startup speed)."""
    code = """
import sys
import reader.store, reader.cli, reader.subscriptions, reader.ui.app, reader.ui.main_window
loaded = sorted(m for m in sys.modules if m.startswith("reader.sync"))
sys.exit("imported: " + ", ".join(loaded) if loaded else 0)
"""
    done = run_isolated(code)
    assert done.returncode == 0, done.stderr


SQLITE_ONLY = """
import sys
from reader import cli
from reader.store import open_store
with open_store(sys.argv[1]) as store:
    store.count()
assert cli.main(["--db", sys.argv[1], "list"]) == 0
loaded = sorted(m for m in sys.modules if m.startswith(("psycopg", "reader.store.postgres")))
sys.exit("imported: " + ", ".join(loaded) if loaded else 0)
"""


def test_sqlite_users_never_import_psycopg(tmp_path: Path) -> None:
    """The PostgreSQL engine is an optional extra: a store file, opened and listed, leaves it out."""
    done = run_isolated(SQLITE_ONLY, str(tmp_path / "reader.sqlite"))
    assert done.returncode == 0, done.stderr


def test_the_psycopg_check_would_see_it(tmp_path: Path) -> None:
    done = run_isolated("import reader.store.postgres, psycopg\n" + SQLITE_ONLY, str(tmp_path / "reader.sqlite"))
    assert done.returncode != 0 and "psycopg" in done.stderr
