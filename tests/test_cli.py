"""The ``reader`` command as a person or a script runs it: a separate process, real exit codes,
stdout and stderr. (Qt-free imports are checked in test_architecture.py.)"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import next_url, older_store

from reader.records import Article
from reader.store import Store

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
MIXED = Path(__file__).parent / "data" / "mixed"
KASPERSKY_URL = "http://fortune.com/2018/04/20/twitter-bans-ads-from-russian-computer-security-company-kaspersky-lab/"


def reader(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reader", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )


def test_bundled_seeds_import_and_list_as_the_issue_says(db: Path) -> None:
    done = reader("--db", str(db), "import", str(SEEDS))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("129 new")

    listed = json.loads(reader("--db", str(db), "list", "--json").stdout)
    assert len(listed) == 129
    kaspersky = next(a for a in listed if a["url"] == KASPERSKY_URL)
    assert kaspersky["author"] == "Sarah Gray"
    assert kaspersky["description"] is None
    assert kaspersky["image_url"] == "https://fortunedotcom.files.wordpress.com/2017/07/gettyimages-466845710.jpg"
    assert kaspersky["published"] == "2018-04-20T22:49:08+00:00"
    assert {
        "id",
        "source",
        "title",
        "author",
        "description",
        "url",
        "image_url",
        "published",
        "read",
        "starred",
    } <= set(kaspersky)
    assert "NOVALUE" not in json.dumps(listed)
    dates = [a["published"] for a in listed]
    assert dates == sorted(dates, reverse=True), "newest first"

    shown = json.loads(reader("--db", str(db), "show", str(kaspersky["id"]), "--json").stdout)
    body = shown["body"]
    assert body.startswith("Twitter has banned ads")
    assert "SPONSORED FINANCIAL CONTENT" not in body
    assert "By Sarah Gray" not in body
    paragraphs = body.split("\n")
    assert "By Sarah Gray" not in paragraphs and "April 20, 2018" not in paragraphs

    raw = reader("--db", str(db), "show", str(kaspersky["id"]), "--raw").stdout
    assert raw == (SEEDS / "000_3fd0e19bd5f7f8e2.txt").read_text(encoding="utf-8")


def test_mixed_folder_names_each_rejected_file_exits_1_and_a_second_import_changes_nothing(db: Path) -> None:
    first = reader("--db", str(db), "import", str(MIXED))
    assert first.returncode == 1
    assert "Traceback" not in first.stderr
    lines = first.stderr.splitlines()
    for name in ("binary.png", "empty.txt", "header_7_strings.txt", "header_code.txt", "header_ints.txt"):
        assert any(line.startswith("reader: ") and name in line for line in lines), (name, lines)
    assert any(line.endswith("header_code.txt:1: header is not an 8-string list literal") for line in lines), lines
    assert all(line.startswith("reader: ") for line in lines), "one line per rejected input"
    before = json.loads(reader("--db", str(db), "list", "--json").stdout)

    second = reader("--db", str(db), "import", str(MIXED))
    assert second.returncode == 1
    assert second.stdout.startswith("0 new, 0 updated")
    assert json.loads(reader("--db", str(db), "list", "--json").stdout) == before


def test_list_filters(db: Path) -> None:
    assert reader("--db", str(db), "import", str(SEEDS)).returncode == 0
    nasa = json.loads(reader("--db", str(db), "list", "--json", "--source", "nasa").stdout)
    assert len(nasa) == 20 and {a["source"] for a in nasa} == {"nasa"}
    assert len(json.loads(reader("--db", str(db), "list", "--json", "--limit", "5").stdout)) == 5
    found = json.loads(reader("--db", str(db), "list", "--json", "--search", "kasp").stdout)
    assert [a["url"] for a in found] == [KASPERSKY_URL]
    with Store.open(db) as store:
        store.set_starred(found[0]["id"])
        store.set_read([found[0]["id"]])
    starred = json.loads(reader("--db", str(db), "list", "--json", "--starred").stdout)
    assert [a["id"] for a in starred] == [found[0]["id"]]
    unread = json.loads(reader("--db", str(db), "list", "--json", "--unread").stdout)
    assert len(unread) == 128 and found[0]["id"] not in {a["id"] for a in unread}


def test_unknown_dates_list_last_as_null(db: Path, tmp_path: Path) -> None:
    record = tmp_path / "undated.txt"
    record.write_text(repr(["src", "1", "", "Undated", "", "https://x.example/u", "", "someday"]) + "\nBody.\n")
    assert reader("--db", str(db), "import", str(SEEDS), str(record)).returncode == 0
    listed = json.loads(reader("--db", str(db), "list", "--json").stdout)
    assert listed[-1]["title"] == "Undated" and listed[-1]["published"] is None


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["show", "999"], "reader: no article with id 999"),
        (["list", "--limit", "zero"], "reader: argument --limit: not a number: 'zero'"),
        (["frobnicate"], "reader: argument COMMAND: invalid choice"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(db: Path, args: list[str], expected: str) -> None:
    Store.open(db).close()
    done = reader("--db", str(db), *args)
    assert done.returncode == 2
    assert done.stderr.startswith(expected), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_file_that_is_not_a_store_is_refused_in_one_line_and_left_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    notes = folder / "notes.txt"
    notes.write_bytes(b"my notes, not a database\n" * 100)
    before = notes.read_bytes()
    done = reader("--db", str(notes), "import", str(SEEDS))
    assert done.returncode == 2
    assert (
        done.stderr.strip() == f"reader: {notes}: not a Reader store (file is not an SQLite database); left untouched"
    )
    assert notes.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]  # no -wal, no -shm beside it


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_appears_once_the_delay_is_up_from_the_last_progress_and_is_cleared() -> None:
    from reader.cli import DelayedBar

    term = Terminal()
    bar = DelayedBar("importing", term, delay=0.0)  # the delay is up at once (on the timer's thread)
    bar.update(2, 10)
    assert bar.shown.wait(10)
    assert "importing" in term.getvalue() and "2/10" in term.getvalue()
    bar.update(10, 20)  # the total grows (an OPML file lists more feeds)
    assert "10/20" in term.getvalue()
    bar.close()
    assert term.getvalue().endswith("\r")  # leave=False: the line is cleared at the end
    items = Terminal()
    bar = DelayedBar("syncing", items, delay=0.0, unit="item")  # a sync counts item ids, not files
    bar.update(250, 600)
    assert bar.shown.wait(10)
    bar.close()
    assert "item/s" in items.getvalue() and "file" not in items.getvalue()


def test_no_progress_bar_for_quick_work_or_off_a_terminal() -> None:
    from reader.cli import DelayedBar, _progress

    term = Terminal()
    bar = DelayedBar("importing", term, delay=60.0)
    bar.update(0, 1)
    bar.update(1, 1)
    bar.close()  # done long before the delay: no bar, not even at the end
    assert term.getvalue() == "" and not bar.shown.is_set()

    finished = DelayedBar("importing", term, delay=0.0)
    finished.update(3, 3)  # all done when the delay is up: nothing to show
    finished.close()
    assert term.getvalue() == "" and not finished.shown.is_set()

    quiet = io.StringIO()  # not a terminal: a script's stderr
    with _progress("importing", quiet) as update:
        update(1, 2)
    assert quiet.getvalue() == ""


def test_as_the_reader_script_its_worker_processes_do_not_rerun_it(tmp_path: Path) -> None:
    # The console script, as pip writes it. A child process (a feed parser) rebuilds __main__ from
    # what multiprocessing records: a module name ending in __main__ costs it nothing, a script
    # path means running the script (and importing the whole command line) again.
    script = tmp_path / "reader"
    script.write_text(
        "import sys\n"
        "from reader.cli import main\n"
        "if __name__ == '__main__':\n"
        "    main(['--db', sys.argv[1], 'list'])\n"
        "    from multiprocessing import spawn\n"
        "    print(spawn.get_preparation_data('worker').get('init_main_from_name'))\n"
    )
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "s.sqlite")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "reader.__main__"


def test_upgrading_an_older_store_is_announced_once(db: Path) -> None:
    with older_store(db) as store:
        store.add_articles([Article(source="wire", title="Kaspersky", url="https://wire.example/1")])

    first = reader("--db", str(db), "list", "--search", "kas")
    assert first.returncode == 0, first.stderr
    notice = f"reader: {db}: updating the store for this version (once; up to about a minute per 100,000 articles)"
    assert first.stderr == notice + "\n"
    assert "Kaspersky" in first.stdout
    again = reader("--db", str(db), "list", "--search", "kas")
    assert (again.returncode, again.stderr, again.stdout) == (0, "", first.stdout)


def test_open_hands_the_url_to_the_system_browser_and_refuses_javascript(
    db: Path, browser: tuple[Path, socket.socket]
) -> None:
    bin_dir, server = browser
    with Store.open(db) as store:
        store.add_articles(
            [
                Article(source="s", title="Safe", url="https://example.org/safe?a=1&b=2"),
                Article(source="s", title="Script", url="javascript:alert(1)"),
            ]
        )
        ids = {r.title: r.id for r in store.iter_rows()}
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "DISPLAY": "", "WAYLAND_DISPLAY": ""}

    refused = reader("--db", str(db), "open", str(ids["Script"]), env=env)
    assert refused.returncode == 2
    assert "javascript" in refused.stderr and "Traceback" not in refused.stderr

    opened = reader("--db", str(db), "open", str(ids["Safe"]), env=env)
    assert opened.returncode == 0, opened.stderr
    # The first (and only) URL the stand-in browser ever received is the safe one.
    assert next_url(server) == "https://example.org/safe?a=1&b=2"


def test_the_console_script_is_the_same_command() -> None:
    script = Path(sys.executable).with_name("reader")
    if not script.exists():
        pytest.skip(f"no console script beside {sys.executable} (package not installed in this environment)")
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.startswith("reader ")


@pytest.mark.parametrize(
    ("args", "status", "out"),
    [
        (["list", "--json"], 0, "[]\n"),
        (["show", "1"], 2, ""),
        (["feeds", "list"], 0, ""),
        (["opml", "export"], 0, None),
    ],
)
def test_reading_commands_on_a_missing_store_create_nothing(
    tmp_path: Path, args: list[str], status: int, out: str | None
) -> None:
    db = tmp_path / "typo" / "store.sqlite"
    done = reader("--db", str(db), *args)
    assert done.returncode == status, done.stderr
    if out is not None:
        assert done.stdout == out
    assert "Traceback" not in done.stderr
    assert not db.parent.exists(), "nothing was created"


def test_opml_export_to_an_unwritable_place_is_one_line(db: Path, tmp_path: Path) -> None:
    Store.open(db).close()
    target = tmp_path / "missing-folder" / "feeds.opml"
    done = reader("--db", str(db), "opml", "export", "-o", str(target))
    assert done.returncode == 2
    assert done.stderr.strip() == f"reader: {target}: cannot write (No such file or directory)"


def test_list_json_reads_no_article_bodies(db: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """At 100,000 articles, reading each whole article (body, raw record) for its description made
    ``list --json`` take minutes; the list needs one description query per 500 rows."""
    from reader import cli

    assert reader("--db", str(db), "import", str(SEEDS)).returncode == 0

    def no_get(self: Store, article_id: int) -> None:
        raise AssertionError("list --json read a whole article")

    monkeypatch.setattr(Store, "get", no_get)
    assert cli.main(["--db", str(db), "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 129
    nasa = next(a for a in listed if a["source"] == "nasa")
    assert nasa["description"] and nasa["description"].startswith("NASA")
    assert next(a for a in listed if a["url"] == KASPERSKY_URL)["description"] is None


def test_a_record_that_is_not_utf8_is_imported_with_a_one_line_warning_and_the_rest_intact(
    db: Path, tmp_path: Path
) -> None:
    good = (
        "['wire', '1', 'NOVALUE', 'Le café ouvre', '', 'https://example.org/1', '', '2020-01-01T00:00:00Z']\nUn café.\n"
    )
    bad = "['wire', '2', 'NOVALUE', 'Second', '', 'https://example.org/2', '', '2020-01-02T00:00:00Z']\nNa\xefve.\n"
    path = tmp_path / "mixed.txt"
    path.write_bytes(good.encode("utf-8") + bad.encode("cp1252"))

    done = reader("--db", str(db), "import", str(path))

    assert done.returncode == 0, done.stderr  # imported: a warning, not a rejection
    assert done.stderr.splitlines() == [f"reader: {path}:3: not valid UTF-8 (first at line 4); read as Windows-1252"]
    titles = json.loads(reader("--db", str(db), "list", "--json", "--search", "café").stdout)
    assert [a["title"] for a in titles] == ["Le café ouvre"], "the UTF-8 record keeps its accents"
    shown = json.loads(reader("--db", str(db), "show", "2", "--json").stdout)
    assert shown["body"] == "Naïve."


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("not-a-url", "not a URL Reader can fetch, nor an existing file"),
        ("ftp://example.org/feed", "not a URL Reader can fetch: ftp is not supported"),
        ("http://", "not a URL Reader can fetch: it names no host"),
        ("https:///feed.xml", "not a URL Reader can fetch: it names no host"),
        ("http://example.org:99999/feed", "not a URL Reader can fetch: port out of range 0-65535"),
    ],
)
def test_feeds_add_names_an_address_it_cannot_fetch_and_subscribes_nothing(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, address: str, reason: str
) -> None:
    from reader import cli

    with Store.open(db) as store:
        store.add_feed("https://kept.example/feed", "Kept")
    subscribed: list[str] = []
    add_feed = Store.add_feed
    monkeypatch.setattr(
        Store, "add_feed", lambda self, url, *a, **k: subscribed.append(url) or add_feed(self, url, *a, **k)
    )

    assert cli.main(["--db", str(db), "feeds", "add", address]) == 1
    err = capsys.readouterr().err
    assert err == f"reader: {address}: {reason} (only http and https addresses, or local feed files)\n"
    assert subscribed == [], "not even for a moment"
    with Store.open(db) as store:
        assert [f.url for f in store.feeds()] == ["https://kept.example/feed"]


def test_import_still_calls_a_missing_path_a_missing_file(db: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    done = reader("--db", str(db), "import", str(missing))
    assert done.returncode == 1
    assert done.stderr == f"reader: {missing}: no such file or folder\n"


def test_feeds_remove_says_what_went_and_what_starred_articles_stayed(db: Path) -> None:
    url = "https://news.example/feed"
    with Store.open(db) as store:
        feed = store.add_feed(url, "News")
        store.add_articles(
            [
                Article(source="News", title=f"Item {i}", url=f"https://news.example/{i}", feed_id=feed.id)
                for i in range(5)
            ]
        )
        for row in list(store.iter_rows())[:2]:
            store.set_starred(row.id)
        lone = store.add_feed("https://lone.example/feed")
        store.add_articles([Article(source="Lone", title="One", url="https://lone.example/1", feed_id=lone.id)])

    done = reader("--db", str(db), "feeds", "remove", url, "https://lone.example/feed", "https://never.example/")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"removed {url} and its 3 articles (2 starred kept)",
        "removed https://lone.example/feed and its 1 article",
    ]
    assert done.stderr == "reader: https://never.example/: not subscribed\n"
    with Store.open(db) as store:
        assert store.feeds() == [] and len(list(store.iter_rows())) == 2


def test_opml_export_to_a_file_says_how_many_subscriptions_it_wrote(db: Path, tmp_path: Path) -> None:
    with Store.open(db) as store:
        for i in range(3):
            store.add_feed(f"https://feeds.example/{i}")
    target = tmp_path / "feeds.opml"
    done = reader("--db", str(db), "opml", "export", "-o", str(target))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"wrote 3 subscriptions to {target}\n"
    assert target.read_bytes().count(b"<outline") == 3
    to_stdout = reader("--db", str(db), "opml", "export")
    assert to_stdout.stdout.startswith("<?xml") and "wrote" not in to_stdout.stdout + to_stdout.stderr


def test_an_empty_feeds_list_says_so_on_stderr_and_json_stays_an_empty_array(db: Path) -> None:
    Store.open(db).close()
    done = reader("--db", str(db), "feeds", "list")
    assert (done.returncode, done.stdout) == (0, "")  # stdout stays a listing, for scripts
    assert done.stderr == "reader: no subscriptions (add one with 'reader feeds add URL')\n"
    as_json = reader("--db", str(db), "feeds", "list", "--json")
    assert (as_json.returncode, as_json.stdout, as_json.stderr) == (0, "[]\n", "")


def test_list_with_no_matching_articles_says_so_on_stderr_and_exits_0(db: Path) -> None:
    with Store.open(db) as store:
        store.add_articles([Article(source="wire", title="Kept", url="https://wire.example/1")])
    none = reader("--db", str(db), "list", "--source", "nope")
    assert (none.returncode, none.stdout) == (0, "")
    assert none.stderr == "reader: no articles match --source 'nope'\n"
    as_json = reader("--db", str(db), "list", "--source", "nope", "--json")
    assert (as_json.returncode, as_json.stdout, as_json.stderr) == (0, "[]\n", "")
    rows = reader("--db", str(db), "list", "--source", "wire")
    assert (rows.returncode, rows.stderr) == (0, "")
    assert rows.stdout.splitlines() == ["      1  N ????-??-??  wire            Kept"]


def test_show_prints_a_readable_date_and_json_keeps_iso(db: Path, tmp_path: Path) -> None:
    timed = tmp_path / "timed.txt"
    timed.write_text(
        repr(["src", "1", "", "Timed", "", "https://x.example/t", "", "2024-03-01T14:05:09+01:00"]) + "\nB.\n"
    )
    dated = tmp_path / "dated.txt"
    dated.write_text(repr(["src", "2", "", "Dated", "", "https://x.example/d", "", "2024-03-02"]) + "\nB.\n")
    assert reader("--db", str(db), "import", str(timed), str(dated)).returncode == 0
    ids = {a["title"]: a["id"] for a in json.loads(reader("--db", str(db), "list", "--json").stdout)}

    assert reader("--db", str(db), "show", str(ids["Timed"])).stdout.splitlines()[1] == "src · 2024-03-01 13:05 UTC"
    assert reader("--db", str(db), "show", str(ids["Dated"])).stdout.splitlines()[1] == "src · 2024-03-02"
    shown = json.loads(reader("--db", str(db), "show", str(ids["Timed"]), "--json").stdout)
    assert shown["published"] == "2024-03-01T13:05:09+00:00"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], (True, None)),
        (["--db", "s.sqlite"], (True, Path("s.sqlite"))),
        (["--db=s.sqlite"], (True, Path("s.sqlite"))),
        (["--db"], (False, None)),  # argparse says what is missing
        (["--db="], (False, None)),
        (["--db", "--version"], (False, None)),
        (["--version"], (False, None)),
        (["list"], (False, None)),
        (["--db", "s.sqlite", "list"], (False, None)),
    ],
)
def test_only_a_plain_window_start_skips_the_parser(argv: list[str], expected: tuple[bool, Path | None]) -> None:
    from reader.cli import window_store_option

    assert window_store_option(argv) == expected


@pytest.mark.parametrize(
    ("stdin", "flag", "reason"),
    [
        ("", [], "no terminal to ask the API password on; give it with --password-stdin"),
        ("\n", ["--password-stdin"], "no password given; nothing saved"),
    ],
)
def test_accounts_add_without_a_password_is_one_line_and_saves_nothing(
    db: Path, stdin: str, flag: list[str], reason: str
) -> None:
    url = "https://127.0.0.1:1/api/greader.php"
    done = subprocess.run(
        [sys.executable, "-m", "reader", "--db", str(db), "accounts", "add", url, "--user", "bob", *flag],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert done.returncode == 2
    assert done.stderr == f"reader: bob@127.0.0.1:1: {reason}\n"
    with Store.open(db) as store:
        assert store.accounts() == []
