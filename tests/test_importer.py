"""Importing files and folders into the store: issue 2's mixed folder, progress, cancel, bad stores."""

from __future__ import annotations

import random
import shutil
import threading
from pathlib import Path

import pytest

from reader import importer, seedfile
from reader.article import Article, Problem
from reader.importer import import_paths
from reader.store import AddResult, CorruptStoreError, NotADatabaseError, Store, StoreError

# A writer thread dying with a traceback must fail the test, not scroll past as a warning.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

DATA = Path(__file__).parent / "data"
MIXED = DATA / "mixed"

#: Every good record in tests/data/mixed/, once (duplicate_of_good.txt is good.txt again).
GOOD_TITLES = {
    "Central bank holds rates steady",
    "Twitter Bans Ads from Russian Computer Security Company Kaspersky Lab",
    "“Café” culture returns",
    "Zürich opens a new tram line",
    "First of three",
    "Second of three",
    "Third of three",
    "Nested folders are imported too",
}
#: Rejected file -> (what its reason says, line number or None).
REJECTED = {
    "binary.png": ("binary", None),
    "empty.txt": ("empty", None),
    "header_7_strings.txt": (seedfile.BAD_HEADER, 1),
    "header_code.txt": (seedfile.BAD_HEADER, 1),
    "header_ints.txt": (seedfile.BAD_HEADER, 1),
    "header_truncated.txt": (seedfile.BAD_HEADER, 1),
}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite"


def stored(db: Path) -> list[Article]:
    with Store.open(db) as s:
        return [a for r in s.iter_rows() if (a := s.get(r.id)) is not None]


def by_file(problems: list[Problem]) -> dict[str, Problem]:
    names = [Path(p.input).name for p in problems]
    assert len(names) == len(set(names)), f"one problem per rejected file: {problems}"
    return dict(zip(names, problems, strict=True))


def test_mixed_folder_imports_every_good_record_once(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # where header_code.txt's "touch PWNED" would land

    report = import_paths(db, [str(MIXED)])

    articles = stored(db)
    assert sorted(a.title or "" for a in articles) == sorted(GOOD_TITLES)
    assert report.result == AddResult(added=len(GOOD_TITLES), unchanged=1)
    assert report.records == len(GOOD_TITLES) + 1
    assert not report.cancelled
    assert not report.ok
    assert not (tmp_path / "PWNED").exists()
    kaspersky = next(a for a in articles if a.source == "fortune")
    assert kaspersky.author == "Sarah Gray"
    assert kaspersky.description is None
    assert kaspersky.published is not None and kaspersky.published.isoformat() == "2018-04-20T22:49:08+00:00"
    assert "SPONSORED FINANCIAL CONTENT" not in kaspersky.body
    assert kaspersky.raw == (MIXED / "000_3fd0e19bd5f7f8e2.txt").read_text("utf-8")


def test_mixed_folder_names_each_rejected_file_with_its_reason(db: Path) -> None:
    report = import_paths(db, [str(MIXED)])

    problems = by_file(report.problems)
    assert problems.keys() == REJECTED.keys()  # README.md is skipped, not rejected
    for name, (reason, line) in REJECTED.items():
        problem = problems[name]
        assert Path(problem.input) == MIXED / name
        assert reason in problem.reason
        assert problem.line == line
    assert str(problems["header_ints.txt"]) == f"{MIXED / 'header_ints.txt'}:1: {seedfile.BAD_HEADER}"
    assert str(problems["empty.txt"]).startswith(f"{MIXED / 'empty.txt'}: ")


def test_importing_the_mixed_folder_again_changes_nothing(db: Path) -> None:
    first = import_paths(db, [str(MIXED)])
    with Store.open(db) as s:
        rows = list(s.iter_rows())
        s.set_read([rows[0].id, rows[3].id])
        s.set_starred(rows[5].id)
        before = [s.get(r.id) for r in rows]
        totals = s.totals()

    again = import_paths(db, [str(MIXED)])

    assert again.result == AddResult(unchanged=first.records)
    assert [str(p) for p in again.problems] == [str(p) for p in first.problems]
    with Store.open(db) as s:
        assert s.totals() == totals == (len(GOOD_TITLES), len(GOOD_TITLES) - 2, 1)
        assert [s.get(r.id) for r in s.iter_rows()] == before


def test_progress_reaches_total(db: Path) -> None:
    calls: list[tuple[int, int]] = []
    import_paths(db, [str(MIXED)], progress=lambda done, total: calls.append((done, total)))

    files = [p for p in MIXED.rglob("*") if p.is_file() and p.suffix != ".md"]
    total = len(files)
    assert calls[0] == (0, total)
    assert calls[-1] == (total, total)
    assert all(t == total for _, t in calls)
    done = [d for d, _ in calls]
    assert done == sorted(done)


def _many_files(folder: Path, count: int) -> None:
    folder.mkdir()
    for n in range(count):
        header = repr(
            [
                "wire",
                str(n),
                "NOVALUE",
                f"Story {n}",
                "",
                f"https://wire.example/{n}",
                "NOVALUE",
                "2019-01-01T00:00:00Z",
            ]
        )
        (folder / f"{n:03d}.txt").write_text(f"{header}\nBody of story {n}.\n", "utf-8")


def test_cancel_stops_early_and_what_was_committed_is_whole(db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    _many_files(folder, 60)
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 10:
            cancel.set()

    report = import_paths(db, [str(folder)], progress=progress, cancel=cancel)

    assert report.cancelled
    assert report.files < 60
    articles = stored(db)
    assert len(articles) == report.result.added <= report.records < 60
    for a in articles:  # every stored record is complete, never half-written
        assert a.origin is not None
        assert a.raw == Path(a.origin).read_text("utf-8")
        assert a.body == f"Body of story {a.title.split()[-1]}."  # type: ignore[union-attr]

    rest = import_paths(db, [str(folder)])
    assert not rest.cancelled
    assert rest.result == AddResult(added=60 - len(articles), unchanged=len(articles))
    with Store.open(db) as s:
        assert s.count() == 60


def test_a_missing_path_is_a_problem_and_the_rest_is_imported(db: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    report = import_paths(db, [str(missing), str(DATA / "seeds" / "good.txt")])

    assert [(p.input, p.line) for p in report.problems] == [(str(missing), None)]
    assert "no such file" in report.problems[0].reason
    assert report.result.added == 1


def test_documentation_files_in_folders_are_skipped(db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(DATA / "seeds" / "good.txt", folder / "good.txt")
    (folder / "README.md").write_text("# About this corpus\n\nScraped in 2018.\n", "utf-8")
    (folder / "SOURCES.md").write_text("['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']\nLooks like a record.\n", "utf-8")

    calls: list[tuple[int, int]] = []
    report = import_paths(db, [str(folder)], progress=lambda d, t: calls.append((d, t)))

    assert report.ok
    assert report.files == 1
    assert calls[-1] == (1, 1)
    assert [a.title for a in stored(db)] == ["Central bank holds rates steady"]


def test_import_into_a_file_that_is_not_a_store_fails_cleanly(tmp_path: Path) -> None:
    target = tmp_path / "thesis.txt"
    content = b"Chapter 1\n\nIt was a dark and stormy night.\n" * 500
    target.write_bytes(content)

    with pytest.raises(NotADatabaseError) as info:
        import_paths(target, [str(MIXED)])

    assert str(info.value).startswith(f"{target}: ")
    assert target.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "thesis.txt"]


def _corrupt_store(db: Path) -> bytes:
    with Store.open(db) as s:
        s.add_articles(
            Article(
                source="wire",
                title=f"Filler {n}",
                url=f"https://wire.example/filler/{n}",
                body="Lorem ipsum dolor sit amet. " * 40,
            )
            for n in range(2000)
        )
    data = bytearray(db.read_bytes())
    start = len(data) // 3
    data[start : start + len(data) // 3] = random.Random(1).randbytes(len(data) // 3)
    db.write_bytes(bytes(data))
    return bytes(data)


@pytest.mark.timeout(60, method="thread")  # a hang must end the run, not stall it
def test_import_into_a_corrupt_store_raises_a_store_error_and_does_not_hang(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _corrupt_store(db)
    folder = tmp_path / "many"
    _many_files(folder, 30)
    # Small batches, so more are queued than the writer's queue holds once the writer has failed.
    monkeypatch.setattr(importer, "BATCH_SIZE", 3)

    with pytest.raises(CorruptStoreError, match="damaged"):
        import_paths(db, [str(MIXED), str(folder)])

    assert db.read_bytes() == before


def test_an_unexpected_writer_error_stops_the_import_with_one_line_and_does_not_hang(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "many"
    _many_files(folder, 30)
    monkeypatch.setattr(importer, "BATCH_SIZE", 3)  # more batches than the writer's queue holds

    def broken(self: Store, articles: object, **kwargs: object) -> AddResult:
        raise RuntimeError("simulated bug in the writer")

    monkeypatch.setattr(Store, "add_articles", broken)
    with pytest.raises(StoreError, match="import stopped: RuntimeError: simulated bug"):
        import_paths(db, [str(folder)])
