"""The ``reader`` command. Scriptable; Qt is imported only to open the window (or the browser).

Exit status: 0 all good; 1 some inputs were rejected (the rest was imported); 2 usage or store errors.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from reader import __version__, paths
from reader.records import (
    Article,
    ArticleRow,
    Feed,
    Problem,
    Query,
    View,
    counted,
    describe_enclosure,
    is_date_only,
    utc,
)
from reader.store import Store, StoreError, StoreProtocol, StoreTarget, is_database_url, open_store

if TYPE_CHECKING:
    import argparse  # (imported where a command is parsed: `reader` alone opens the window without it)

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_ERROR = 2
PROG = "reader"
#: The search syntax (reader.store.sqlite.parse_search), said once for --search and rules' --match.
SEARCH_HELP = (
    'full-text search: every word must match (the last from its third letter as a prefix); "a phrase"; '
    "title:, author:, body: or source: before a word or a phrase look only there"
)


class UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    import argparse

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> Any:
            """Override argparse: one line, exit 2, no usage dump for scripts to parse."""
            self.exit(EXIT_ERROR, f"{PROG}: {message} (see '{self.prog} --help')\n")

    # --db (and --user) are accepted before or after the subcommand.
    db_help = "the store file, or a postgresql:// URL of a shared store"
    db = _Parser(add_help=False)
    db.add_argument("--db", type=store_target, default=argparse.SUPPRESS, metavar="PATH", help=db_help)
    db.add_argument(
        "--user",
        dest="person",
        default=argparse.SUPPRESS,
        metavar="NAME",
        help="whose read and star state, in a shared store (default: the database role)",
    )
    # (`accounts add` has a --user of its own: the user name on the server)
    db_only = _Parser(add_help=False)
    db_only.add_argument("--db", type=store_target, default=argparse.SUPPRESS, metavar="PATH", help=db_help)

    parser = _Parser(
        prog=PROG,
        parents=[db],
        description=(
            "A fast, keyboard-first news reader. With no command, opens the window; Qt's own options"
            " before the command (-style fusion, -platform offscreen, -reverse ...) are handed to Qt."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("import", parents=[db], help="import seed files or folders, feed files, OPML files, feed URLs")
    p.add_argument("inputs", nargs="+", metavar="PATH", help="file, folder (recursive), OPML file or feed URL")

    p = sub.add_parser("list", parents=[db], help="list articles, newest first")
    p.add_argument("--json", action="store_true", help="print a JSON array")
    view = p.add_mutually_exclusive_group()
    view.add_argument("--unread", action="store_true", help="only unread articles")
    view.add_argument("--starred", action="store_true", help="only starred articles")
    view.add_argument("--hidden", action="store_true", help="only the articles rules hid")
    p.add_argument("--label", metavar="NAME", help="only articles a rule labelled NAME")
    p.add_argument("--source", metavar="S", help="only articles from source S")
    p.add_argument("--account", metavar="NAME", help="only articles of sync account NAME")
    p.add_argument("--folder", metavar="NAME", help="only articles of the sync feeds in folder NAME")
    p.add_argument("--search", metavar="Q", help=SEARCH_HELP)
    p.add_argument("--limit", type=_positive_int, metavar="N", help="at most N articles")

    p = sub.add_parser("show", parents=[db], help="one article with its cleaned body")
    p.add_argument("id", type=_positive_int, metavar="ID")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.add_argument("--raw", action="store_true", help="print the record exactly as it was imported")

    p = sub.add_parser("open", parents=[db], help="open the original in the system browser")
    p.add_argument("id", type=_positive_int, metavar="ID")

    p = sub.add_parser("feeds", parents=[db], help="manage feed subscriptions")
    feeds = p.add_subparsers(dest="feeds_command", metavar="ACTION", parser_class=_Parser, required=True)
    fp = feeds.add_parser("add", parents=[db], help="subscribe to a feed URL or file and fetch it")
    fp.add_argument("urls", nargs="+", metavar="URL")
    fp.add_argument("--account", metavar="NAME", help="subscribe on this sync account's server instead")
    fp = feeds.add_parser("list", parents=[db], help="list subscriptions")
    fp.add_argument("--json", action="store_true")
    fp = feeds.add_parser("remove", parents=[db], help="unsubscribe (starred articles are kept)")
    fp.add_argument("urls", nargs="+", metavar="URL")
    fp.add_argument("--account", metavar="NAME", help="unsubscribe on this sync account's server (URL or title)")
    fp = feeds.add_parser("set", parents=[db], help="change a subscription's settings")
    fp.add_argument("urls", nargs="+", metavar="URL")
    fp.add_argument(
        "--full-content",
        required=True,
        choices=("on", "off"),
        help="fetch each article's page and keep its main text (on), or only the feed's text (off)",
    )

    p = sub.add_parser(
        "fetch-full", parents=[db], help="fetch full articles: these, or those of feeds set to --full-content on"
    )
    p.add_argument("ids", nargs="*", type=_positive_int, metavar="ID", help="these articles (again if fetched before)")

    p = sub.add_parser("mark", parents=[db], help="mark articles read, unread, starred or not")
    p.add_argument("ids", nargs="+", type=_positive_int, metavar="ID")
    flag = p.add_mutually_exclusive_group(required=True)
    for name in ("read", "unread", "star", "unstar"):
        flag.add_argument(f"--{name}", dest="flag", action="store_const", const=name, help=f"mark {name}")
    flag.add_argument(
        "--unhide", dest="flag", action="store_const", const="unhidden", help="list again what a rule hid"
    )
    flag.add_argument("--label", dest="label", metavar="NAME", help="give the label NAME, as a rule does")
    flag.add_argument("--unlabel", dest="unlabel", metavar="NAME", help="take away the label NAME a rule gave")

    p = sub.add_parser("accounts", parents=[db_only], help="sync accounts (Google Reader API servers)")
    accounts = p.add_subparsers(dest="accounts_command", metavar="ACTION", parser_class=_Parser, required=True)
    ap = accounts.add_parser("add", parents=[db_only], help="log in to a server and keep its token")
    ap.add_argument("url", metavar="URL", help="the server's Google Reader API endpoint, e.g. .../api/greader.php")
    ap.add_argument("--user", required=True, metavar="NAME", help="the user name on the server")
    ap.add_argument("--name", metavar="ACCOUNT", help="what to call the account (default USER@HOST)")
    ap.add_argument("--password-stdin", action="store_true", help="read the API password from standard input")
    ap.add_argument("--allow-http", action="store_true", help="allow a plain http: URL that is not on this machine")
    ap = accounts.add_parser("list", parents=[db], help="list accounts")
    ap.add_argument("--json", action="store_true")
    ap = accounts.add_parser("remove", parents=[db], help="forget an account (its starred articles are kept)")
    ap.add_argument("name", metavar="NAME")

    p = sub.add_parser("sync", parents=[db], help="sync every account (or one) with its server")
    p.add_argument("--account", metavar="NAME", help="only this account")

    p = sub.add_parser("refresh", parents=[db], help="fetch every feed that is due, and sync accounts")
    p.add_argument(
        "--force", action="store_true", help="also fetch feeds whose server asked to wait (Retry-After, Cache-Control)"
    )

    p = sub.add_parser("rules", parents=[db], help="rules: a saved search and what to do with what it finds")
    rules = p.add_subparsers(dest="rules_command", metavar="ACTION", parser_class=_Parser, required=True)
    rp = rules.add_parser("add", parents=[db], help="add a rule (it applies to new articles as they arrive)")
    rp.add_argument("name", metavar="NAME")
    rp.add_argument("--match", required=True, metavar="QUERY", help="what it finds, as --search: " + SEARCH_HELP)
    rp.add_argument("--action", required=True, metavar="ACTION", help="read, star, hide or label:NAME")
    limit = rp.add_mutually_exclusive_group()
    limit.add_argument("--feed", metavar="URL", help="only this feed's articles")
    limit.add_argument("--folder", metavar="NAME", help="only the articles of the sync feeds in folder NAME")
    rp = rules.add_parser("list", parents=[db], help="list the rules")
    rp.add_argument("--json", action="store_true")
    rp = rules.add_parser("remove", parents=[db], help="forget a rule (what it did stays)")
    rp.add_argument("name", metavar="NAME")
    rp = rules.add_parser("apply", parents=[db], help="apply the rules (or these) to every stored article")
    rp.add_argument("names", nargs="*", metavar="NAME")

    p = sub.add_parser(
        "cleanup", parents=[db], help="remove old read articles (starred and unread ones stay unless asked)"
    )
    p.add_argument(
        "--older-than",
        type=_duration,
        default=_duration(DEFAULT_CLEANUP_AGE),
        metavar="AGE",
        help=f"dated more than AGE ago: 90d, 12w, 6m (months), 1y, 36h (default {DEFAULT_CLEANUP_AGE})",
    )
    p.add_argument(
        "--keep-starred",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep starred articles (the default; --no-keep-starred removes them too)",
    )
    p.add_argument("--include-unread", action="store_true", help="remove old unread articles too")
    p.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    p.add_argument(
        "--no-compact", dest="compact", action="store_false", help="leave the freed space inside the store (no VACUUM)"
    )

    p = sub.add_parser("store", help="the store itself: copy it into another (SQLite file or PostgreSQL)")
    store_cmd = p.add_subparsers(dest="store_command", metavar="ACTION", parser_class=_Parser, required=True)
    sp = store_cmd.add_parser(
        "copy", help="copy everything one store holds into another, empty one (run again after an interruption)"
    )
    sp.add_argument("source", type=store_target, metavar="SRC", help="a store file or a postgresql:// URL")
    sp.add_argument("target", type=store_target, metavar="DST", help="a store file or a postgresql:// URL (created)")
    sp.add_argument(
        "--user",
        dest="person",
        metavar="NAME",
        help="whose read and star state goes into or comes out of a PostgreSQL store (default: the database role)",
    )

    p = sub.add_parser("opml", parents=[db], help="OPML export")
    opml = p.add_subparsers(dest="opml_command", metavar="ACTION", parser_class=_Parser, required=True)
    op = opml.add_parser("export", parents=[db], help="write subscriptions as OPML 2.0")
    op.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of standard output")
    return parser


#: What ``reader cleanup`` removes by default: read articles dated more than this long ago.
DEFAULT_CLEANUP_AGE = "90d"
_UNITS_S = {"h": 3600, "d": 86400, "w": 7 * 86400, "m": 30 * 86400, "y": 365 * 86400}


def _duration(text: str) -> float:
    """A duration as ``reader cleanup --older-than`` takes it: a whole number and a unit (h, d,
    w, m for months of 30 days, y), or a number alone for days. Seconds."""
    import argparse

    number, unit = text.strip().lower(), "d"
    if number[-1:] in _UNITS_S:
        number, unit = number[:-1], number[-1]
    if not (number.isascii() and number.isdigit()):
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (for example 90d, 12w, 6m, 1y, 36h)")
    seconds = int(number) * _UNITS_S[unit]
    if seconds > 200 * _UNITS_S["y"]:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (more than 200 years)")
    return seconds


def store_target(text: str) -> StoreTarget:
    """A --db value or READER_DB: a PostgreSQL URL stays text (a Path would fold its "//")."""
    return text if is_database_url(text) else Path(text)


def _positive_int(text: str) -> int:
    import argparse

    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text!r}")
    return number


#: Qt's own command-line options that take a value (``-style fusion`` or ``-style=fusion``), and
#: those that stand alone: QApplication reads them from its argv; argparse would refuse them.
QT_OPTIONS_WITH_VALUE = frozenset(
    {
        "-style",
        "-stylesheet",
        "-platform",
        "-platformpluginpath",
        "-platformtheme",
        "-plugin",
        "-qwindowgeometry",
        "-qwindowicon",
        "-qwindowtitle",
        "-session",
        "-display",
        "-geometry",
        "-qmljsdebugger",
    }
)
QT_FLAGS = frozenset({"-reverse", "-widgetcount", "-nograb", "-dograb", "-sync"})


def split_qt_options(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(Qt's options, the rest) of ``argv``: Qt's are those before the command, each with its value
    (``-opt=value`` becomes ``-opt value``, the form every Qt option takes). After the command
    nothing is taken: a command's arguments are the command's."""
    commands = set(_COMMANDS)
    qt: list[str] = []
    rest: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        item = items[i]
        name, eq, value = item.partition("=")
        if item in commands:
            if qt:
                raise UsageError(f"{qt[0]} is an option of the window, not of '{PROG} {item}'")
            rest += items[i:]
            break
        if name in QT_OPTIONS_WITH_VALUE:
            if not eq:
                if i + 1 >= len(items):
                    raise UsageError(f"{name} needs a value")
                i += 1
                value = items[i]
            qt += [name, value]
        elif item in QT_FLAGS:
            qt.append(item)
        else:
            rest.append(item)
            if item in ("--db", "--user") and i + 1 < len(items):  # its value is a path or a name, not a command
                i += 1
                rest.append(items[i])
        i += 1
    return qt, rest


def window_store_option(argv: Sequence[str]) -> tuple[bool, StoreTarget | None]:
    """(True, the --db path or None) when ``argv`` (Qt's options taken out) only opens the window:
    nothing, ``--db PATH`` or ``--db=PATH``. Then argparse and its subcommands are not built at all
    (they would stand between the person and the window); anything else is parsed as usual."""
    items = list(argv)
    if not items:
        return True, None
    if len(items) == 2 and items[0] == "--db" and items[1] and not items[1].startswith("-"):
        return True, store_target(items[1])
    if len(items) == 1 and items[0].startswith("--db=") and len(items[0]) > len("--db="):
        return True, store_target(items[0][len("--db=") :])
    return False, None


def main(argv: Sequence[str] | None = None) -> int:
    _present_as_module()
    try:
        qt_options, argv = split_qt_options(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        _err(f"{exc} (see '{PROG} --help')")
        return EXIT_ERROR
    window_only, explicit_db = window_store_option(argv)
    args = None if window_only else build_parser().parse_args(argv)
    if args is not None:
        explicit_db = getattr(args, "db", None)
    db_path: StoreTarget = explicit_db or paths.default_store()
    try:
        if args is None or args.command is None:
            person = getattr(args, "person", None)
            return _open_window(db_path, default_store=explicit_db is None, qt_options=qt_options, person=person)
        if not is_database_url(db_path) and Store.needs_upgrade(db_path):  # (the window shows its own notice)
            _err(f"{db_path}: updating the store for this version (once; up to about a minute per 100,000 articles)")
        handler = _COMMANDS[args.command]
        return handler(db_path, args)
    except StoreError as exc:
        _err(str(exc))
        return EXIT_ERROR
    except UsageError as exc:
        _err(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        # `reader list | head`: the reader went away; that is not an error of ours.
        sys.stderr.close()
        return EXIT_OK


def _present_as_module() -> None:
    """Started as the ``reader`` script, be known to multiprocessing as ``python -m reader``.

    A worker process (the feed parsers) rebuilds its parent's ``__main__`` first: for a script it
    runs the script again, which imports this whole module and the store (about 25 ms in each
    worker, before it can parse); for ``reader.__main__`` it does nothing. Only the console
    script's own module is changed (it has no module spec, and its ``main`` is this function's).
    """
    script = sys.modules.get("__main__")
    if script is not None and getattr(script, "__spec__", None) is None and getattr(script, "main", None) is main:
        import importlib.util

        script.__spec__ = importlib.util.find_spec("reader.__main__")


def _existing(db_path: StoreTarget) -> StoreTarget:
    """For commands that only read: a store file that does not exist yet reads as an empty one,
    and is not created (so a typo in --db leaves no file behind, and the first window still gets
    the bundled sample). A database is opened as it is (its server says whether it exists)."""
    return db_path if is_database_url(db_path) or Path(db_path).exists() else Path(":memory:")


def _open(target: StoreTarget, args: argparse.Namespace, *, create: bool = True) -> StoreProtocol:
    """The store ``target`` names, for the person ``--user`` names (a shared store's)."""
    return open_store(target, create=create, person=getattr(args, "person", None))


def _print_json(value: Any) -> None:
    """``value`` as indented JSON on stdout (what every ``--json`` prints), non-ASCII kept."""
    import json  # (here: the window's start does not need it)

    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _err(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def _report_problems(problems: Sequence[Problem]) -> None:
    for problem in problems:
        _err(str(problem))


# --- import -----------------------------------------------------------------------------------


#: Seconds of work before a progress bar appears: quicker work shows none (no flash of a bar), and
#: does not pay for importing tqdm (about 40 ms: its version lookup reads package metadata).
PROGRESS_DELAY = 0.5


@contextmanager
def _progress(
    description: str, stream: TextIO | None = None, unit: str = "file"
) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on a terminal (:class:`DelayedBar`); nothing when stderr is not a terminal,
    so scripts get clean output. (stderr as it is now, not as it was when this module was imported.)"""
    stream = sys.stderr if stream is None else stream
    if not stream.isatty():
        yield lambda done, total: None
        return
    bar = DelayedBar(description, stream, unit=unit)
    try:
        yield bar.update
    finally:
        bar.close()


class DelayedBar:
    """A tqdm bar that appears once the work has run for ``delay`` seconds, drawn from the last
    progress reported (a long single step shows too), and never for work already finished."""

    def __init__(self, description: str, stream: TextIO, delay: float = PROGRESS_DELAY, unit: str = "file") -> None:
        self._description = description
        self._unit = unit
        self._stream = stream
        self._lock = threading.Lock()
        self._bar: Any = None
        self._done = self._total = 0
        self._due = self._closed = False
        #: Set when the bar is first drawn.
        self.shown = threading.Event()
        self._timer = threading.Timer(delay, self._time_is_up)
        self._timer.daemon = True
        self._timer.start()

    def update(self, done: int, total: int) -> None:
        with self._lock:
            self._done, self._total = done, total
            if self._bar is None:
                if self._due:
                    self._show()
                return
            grew = self._bar.total != total
            self._bar.total = total
            self._bar.update(done - self._bar.n)
            if grew:
                self._bar.refresh()  # at once: tqdm would otherwise wait for its next redraw

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._closed = True
            if self._bar is not None:
                self._bar.close()

    def _time_is_up(self) -> None:
        with self._lock:
            self._due = True
            self._show()

    def _show(self) -> None:
        """With the lock held: draw the bar, unless there is nothing (more) to show."""
        if self._closed or not self._total or self._done >= self._total:
            return
        from tqdm import tqdm

        self._bar = tqdm(
            total=self._total,
            initial=self._done,
            desc=self._description,
            unit=self._unit,
            file=self._stream,
            leave=False,
            dynamic_ncols=True,
        )
        self.shown.set()


def cmd_import(db_path: StoreTarget, args: argparse.Namespace) -> int:
    from reader.importer import ImportReport, import_paths

    report = ImportReport()
    stopped: StoreError | None = None
    with _open(db_path, args) as store:
        if store.readonly:
            raise StoreError(f"{db_path}: the store is read-only; nothing was imported")
        # Fail early, before any work, if the store cannot be written; kept open, so that the
        # import's own connections find its pages checked.
        store.verify()
        with _progress("importing") as progress:
            try:
                import_paths(
                    db_path,
                    args.inputs,
                    progress=progress,
                    report=report,
                    feeds_only=getattr(args, "feeds_only", False),
                )
            except StoreError as exc:  # a full disk: say what was stored before it
                stopped = exc
    _report_problems(report.problems)
    _report_problems(report.warnings)  # said, but not counted as rejected
    r = report.result
    print(
        f"{r.added} new, {r.updated} updated, {r.unchanged} unchanged articles "
        f"from {counted(len(args.inputs), 'input')}"
        + (f"; {len(report.problems)} rejected" if report.problems else "")
        + ("; stopped early, the rest was not stored" if stopped else "")
    )
    if stopped is not None:
        _err(str(stopped))
        return EXIT_ERROR
    return EXIT_REJECTED if report.problems else EXIT_OK


# --- list / show / open -----------------------------------------------------------------------


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


def article_json(
    article: Article | ArticleRow, *, body: bool = False, description: str | None = None
) -> dict[str, Any]:
    """The JSON shape of ``list --json`` (and ``show --json`` with the body): missing values are null.
    A list row has no description of its own: pass it."""
    data: dict[str, Any] = {
        "id": article.id,
        "source": article.source,
        "title": article.title,
        "author": article.author,
        "description": article.description if isinstance(article, Article) else description,
        "url": article.url,
        "image_url": article.image_url,
        "published": _iso(article.published),
        "read": article.read,
        "starred": article.starred,
        "feed_id": article.feed_id,
    }
    if isinstance(article, Article):
        data["origin"] = article.origin
        data["enclosures"] = [
            {"url": e.url, "type": e.type, "length": e.length, "duration": e.duration} for e in article.enclosures
        ]
        if body:
            data["body"] = article.body
            data["body_html"] = article.body_html
    return data


def cmd_list(db_path: StoreTarget, args: argparse.Namespace) -> int:
    view: View = "unread" if args.unread else "starred" if args.starred else "hidden" if args.hidden else "all"
    with _open(_existing(db_path), args) as store:
        account_id = None
        if args.account is not None:
            account_id = _account(store, args.account).id
        # A source given by name means feed articles too: a feed article's source is its feed's title.
        query = Query(
            view=view,
            source=args.source,
            feeds_too=True,
            search=args.search,
            account_id=account_id,
            folder=args.folder,
            label=args.label,
        )
        rows: list[ArticleRow] = []
        for row in store.iter_rows(query, page_size=min(args.limit or 1000, 1000)):
            rows.append(row)
            if args.limit and len(rows) >= args.limit:
                break
        if args.json:
            descriptions = store.descriptions([r.id for r in rows])
            out = [article_json(r, description=descriptions.get(r.id)) for r in rows]
            _print_json(out)
        elif not rows:
            _err(_no_articles(args))  # on stderr: stdout stays the (empty) listing; exit 0
        else:
            for r in rows:
                date = r.published.strftime("%Y-%m-%d") if r.published else "????-??-??"
                mark = ("*" if r.starred else " ") + (" " if r.read else "N")
                print(f"{r.id:>7} {mark} {date}  {(r.source or '-')[:14]:<14}  {r.title or '(untitled)'}")
    return EXIT_OK


def _no_articles(args: argparse.Namespace) -> str:
    """What ``list`` says when it lists nothing: which filters matched no article."""
    given = (
        ("source", args.source),
        ("account", args.account),
        ("folder", args.folder),
        ("label", args.label),
        ("search", args.search),
    )
    asked = [f"--{name} {value!r}" for name, value in given if value is not None] + [
        f"--{name}" for name in ("unread", "starred", "hidden") if getattr(args, name)
    ]
    return f"no articles match {' '.join(asked)}" if asked else "no articles (add some with 'reader import PATH')"


def _readable_date(dt: datetime) -> str:
    """``2024-03-01 14:05 UTC``; only the date for a record that gave no time (a date-only value,
    ``2024-03-01``, is stored as midnight UTC)."""
    dt = utc(dt)
    return dt.strftime("%Y-%m-%d" if is_date_only(dt) else "%Y-%m-%d %H:%M UTC")


def _get(store: StoreProtocol, article_id: int) -> Article:
    article = store.get(article_id)
    if article is None:
        raise UsageError(f"no article with id {article_id}")
    return article


def cmd_show(db_path: StoreTarget, args: argparse.Namespace) -> int:
    with _open(_existing(db_path), args) as store:
        article = _get(store, args.id)
    if args.raw:
        sys.stdout.write(article.raw)
    elif args.json:
        _print_json(article_json(article, body=True))
    else:
        print(article.title or "(untitled)")
        published = _readable_date(article.published) if article.published else None
        meta = [m for m in (article.source, article.author, published) if m]
        print(" · ".join(meta))
        if article.url:
            print(article.url)
        for enclosure in article.enclosures:
            about = describe_enclosure(enclosure)
            print(f"enclosure: {enclosure.url}" + (f" ({about})" if about else ""))
        print()
        for paragraph in article.body.split("\n"):
            print(paragraph)
            print()
    return EXIT_OK


def cmd_open(db_path: StoreTarget, args: argparse.Namespace) -> int:
    with _open(_existing(db_path), args) as store:
        article = _get(store, args.id)
    if not article.url:
        _err(f"article {args.id} has no URL")
        return EXIT_ERROR
    from reader.ui.desktop import open_url_standalone

    error = open_url_standalone(article.url)
    if error:
        _err(error)
        return EXIT_ERROR
    return EXIT_OK


# --- feeds ------------------------------------------------------------------------------------


def cmd_feeds(db_path: StoreTarget, args: argparse.Namespace) -> int:
    if getattr(args, "account", None) is not None:
        return _account_feeds(db_path, args)
    if args.feeds_command == "add":
        import argparse

        return cmd_import(db_path, argparse.Namespace(inputs=args.urls, feeds_only=True))
    if args.feeds_command == "set":
        return _set_feeds(db_path, args)
    with _open(_existing(db_path), args) as store:
        if args.feeds_command == "list":
            feeds = store.feeds()
            if args.json:
                out = [
                    {
                        "id": f.id,
                        "url": f.remote_url or f.url,
                        "title": f.title,
                        "updated": _iso(f.updated_at),
                        "last_error": f.last_error,
                        "dead": f.dead,
                        "articles": f.total,
                        "unread": f.unread,
                        "full_content": f.full_content,
                    }
                    for f in feeds
                ]
                _print_json(out)
            elif not feeds:
                # On stderr: stdout stays a listing (empty) for scripts; --json prints [].
                _err("no subscriptions (add one with 'reader feeds add URL')")
            else:
                for f in feeds:
                    updated = f.updated_at.strftime("%Y-%m-%d %H:%M") if f.updated_at else "never"
                    status = "dead (410 Gone)" if f.dead else (f"error: {f.last_error}" if f.last_error else "ok")
                    print(f"{f.name}\n  {f.remote_url or f.url}\n  updated {updated}, {f.total} articles, {status}")
            return EXIT_OK
        from reader.addresses import feed_url  # local feeds are stored as absolute file: URLs

        missing = []
        for url in args.urls:
            gone = store.unsubscribe(url) or store.unsubscribe(feed_url(url))
            if gone is None:
                missing.append(url)
                continue
            removed, kept = gone
            print(f"removed {url} and its {counted(removed, 'article')}" + (f" ({kept} starred kept)" if kept else ""))
    for url in missing:
        _err(f"{url}: not subscribed")
    return EXIT_REJECTED if missing else EXIT_OK


def _subscribed(store: StoreProtocol, url: str) -> Feed | None:
    """The subscription a person named: by its stored address, or by the absolute ``file:`` URL
    a local feed is stored as."""
    from reader.addresses import feed_url

    return store.get_feed(url) or store.get_feed(feed_url(url))


def _full_articles_line(kept: int, failed: Sequence[object]) -> str:
    return f"{counted(kept, 'full article')} fetched" + (f", {len(failed)} could not be had" if failed else "")


def _set_feeds(db_path: StoreTarget, args: argparse.Namespace) -> int:
    missing = []
    with _open(db_path, args, create=False) as store:
        for url in args.urls:
            feed = _subscribed(store, url)
            if feed is None:
                missing.append(url)
                continue
            store.update_feed(feed.id, full_content=args.full_content == "on")
            dropped = store.drop_full_content(feed.id) if args.full_content == "off" else 0
            print(
                f"{feed.name}: full articles {args.full_content}"
                + (f" ({counted(dropped, 'page')} dropped: the feed's text is shown again)" if dropped else "")
            )
    for url in missing:
        _err(f"{url}: not subscribed")
    return EXIT_REJECTED if missing else EXIT_OK


def cmd_fetch_full(db_path: StoreTarget, args: argparse.Namespace) -> int:
    from reader import fullcontent

    with _open(db_path, args, create=False) as store, _progress("fetching pages") as progress:
        if args.ids:
            kept, failed = fullcontent.fetch_articles(store, args.ids, progress=progress)
        else:
            kept, failed = fullcontent.fetch_pending(store, progress=progress)
    for article_id, reason in failed:
        _err(f"article {article_id}: {reason} (the feed's text stays)")
    print(_full_articles_line(kept, failed))
    return EXIT_REJECTED if failed else EXIT_OK


def _account_feeds(db_path: StoreTarget, args: argparse.Namespace) -> int:
    """``feeds add|remove --account NAME``: subscribe or unsubscribe on the server, then here."""
    from reader.sync import credentials, engine
    from reader.sync.greader import GReaderClient, SyncError

    failed = False
    with _open(db_path, args, create=False) as store:
        account = _account(store, args.account)
        token = credentials.load_token(account.name)
        if token is None:
            raise UsageError(f"{account.name}: no saved login (add the account again)")
        client = GReaderClient(account.url, account=account.name, auth=token)
        for url in args.urls:
            try:
                if args.feeds_command == "add":
                    stream_id, added = engine.subscribe(store, account, client, url)
                    print(f"subscribed to {url} on {account.name} ({stream_id}): {counted(added, 'article')}")
                    continue
                feeds = store.remote_feeds(account.id)
                found = [rid for rid, f in feeds.items() if url in (f.remote_url, f.title, rid)]
                if not found:
                    _err(f"{url}: not a feed of {account.name}")
                    failed = True
                    continue
                removed, kept = engine.unsubscribe(store, account, client, found[0])
                print(f"unsubscribed from {url} on {account.name}; removed {counted(removed, 'article')}"
                      + (f" ({kept} starred kept)" if kept else ""))  # fmt: skip
            except SyncError as exc:
                _err(str(exc))
                failed = True
    return EXIT_REJECTED if failed else EXIT_OK


def cmd_refresh(db_path: StoreTarget, args: argparse.Namespace) -> int:
    from reader import subscriptions

    with _open(_existing(db_path), args) as store, _progress("refreshing") as progress:
        due = subscriptions.due_feeds(store, force=args.force)  # dead feeds are not refreshed either
        waiting = sum(1 for feed in store.feeds() if not feed.dead and feed.account_id is None) - len(due)
        result, problems = subscriptions.refresh(store, progress=progress, force=args.force)
        full = None
        if any(feed.full_content for feed in store.feeds()):
            from reader import fullcontent

            full = fullcontent.fetch_pending(store, progress=progress)
    _report_problems(problems)
    print(
        f"{result.added} new, {result.updated} updated articles from {len(due)} feeds"
        + (f"; {waiting} not due yet (their servers asked for time; --force fetches them)" if waiting else "")
    )
    if full is not None and (full[0] or full[1]):
        print(_full_articles_line(*full))
    there = is_database_url(db_path) or Path(db_path).exists()
    synced = _sync_accounts(db_path, None, getattr(args, "person", None)) if there else EXIT_OK
    return EXIT_REJECTED if problems or synced != EXIT_OK else EXIT_OK


def cmd_opml(db_path: StoreTarget, args: argparse.Namespace) -> int:
    from reader import subscriptions

    with _open(_existing(db_path), args) as store:
        data = subscriptions.export_opml(store)
        count = len(store.feeds())
    if args.output:
        try:
            args.output.write_bytes(data)
        except OSError as exc:
            _err(f"{args.output}: cannot write ({exc.strerror or exc})")
            return EXIT_ERROR
        print(f"wrote {counted(count, 'subscription')} to {args.output}")
    else:
        sys.stdout.buffer.write(data)
    return EXIT_OK


# --- the window -------------------------------------------------------------------------------


def _open_window(
    target: StoreTarget, *, default_store: bool, qt_options: Sequence[str] = (), person: str | None = None
) -> int:
    from reader.ui.app import WINDOW_CACHE_MB, run
    from reader.ui.startup import warm_up

    # QApplication takes Qt's options (-style, -platform ...) from the argv it is given.
    argv = [sys.argv[0] if sys.argv and sys.argv[0] else PROG, *qt_options]
    warm_up()  # Qt's libraries load on a thread while the store opens (see WarmUp)
    if is_database_url(target):
        # Opened here, as a file is: a server that is down or a refused login is one line before
        # any window appears. (A shared store is never seeded with the sample.)
        return run(target, argv, store=open_store(target, person=person, cache_mb=WINDOW_CACHE_MB))
    db_path = Path(target)
    if person is not None:
        open_store(db_path, person=person)  # (refused: a store file is one person's)
    if default_store and not db_path.exists():
        # First run: the sample a new user sees. Imported before Qt starts (it takes a moment).
        from reader.importer import import_paths

        report = import_paths(db_path, [str(paths.seeds_dir())])
        _report_problems(report.problems)
        upgrade = False
    else:
        upgrade = Store.needs_upgrade(db_path)
    # Opened once, here, for the window (a bad store is reported here, in one line, before any
    # window appears); an upgrade is left to the window, which shows it.
    store = None if upgrade else Store.open(db_path, cache_mb=WINDOW_CACHE_MB)
    return run(db_path, argv, store=store)


# --- mark, sync accounts -----------------------------------------------------------------------


def cmd_mark(db_path: StoreTarget, args: argparse.Namespace) -> int:
    """The flags the window sets, through the same store calls (a sync account's change is
    queued for its server in the same transaction)."""
    with _open(db_path, args, create=False) as store:
        missing = [i for i in args.ids if store.get(i) is None]
        present = [i for i in args.ids if i not in missing]
        if args.flag in ("unhidden", None):
            if args.flag == "unhidden":
                changed = store.set_hidden(present, False)
            elif args.label is not None:
                args.flag = f"with label {args.label.strip()}"
                changed = store.add_label(present, args.label)
            else:
                args.flag = f"without label {args.unlabel}"
                changed = store.remove_label(present, args.unlabel)
        elif args.flag in ("read", "unread"):
            changed = store.set_read(present, args.flag == "read")
        else:
            changed = sum(store.set_starred(i, args.flag == "star") for i in present)
    for i in missing:
        _err(f"{i}: no article with this id")
    print(f"{counted(changed, 'article')} marked {args.flag}" + (f" ({len(present) - changed} already were)"
          if len(present) > changed else ""))  # fmt: skip
    return EXIT_REJECTED if missing else EXIT_OK


def _account(store: StoreProtocol, name: str) -> Any:
    account = store.get_account(name)
    if account is None:
        known = (
            ", ".join(a.name for a in store.accounts())
            or "none yet; add one with 'reader accounts add URL --user NAME'"
        )
        raise UsageError(f"{name}: no such account (accounts: {known})")
    return account


def cmd_accounts(db_path: StoreTarget, args: argparse.Namespace) -> int:
    if args.accounts_command == "add":
        return _add_account(db_path, args)
    from reader.sync import credentials

    if args.accounts_command == "list":
        with _open(_existing(db_path), args) as store:
            accounts = store.accounts()
            counts = {a.id: store.count(Query(account_id=a.id)) for a in accounts}
            refused = {a.id: store.refused_changes(a.id) for a in accounts}
            feeds = store.feeds()
        if args.json:
            out = [
                {
                    "name": a.name,
                    "url": a.url,
                    "user": a.user,
                    "feeds": sum(1 for f in feeds if f.account_id == a.id),
                    "articles": counts[a.id],
                    "last_sync": _iso(a.last_sync),
                    "last_error": a.last_error,
                    "refused_changes": [
                        {"remote_id": rid, "change": kind, "reason": reason} for rid, kind, reason in refused[a.id]
                    ],
                }
                for a in accounts
            ]
            _print_json(out)
        elif not accounts:
            _err("no accounts (add one with 'reader accounts add URL --user NAME')")
        else:
            for a in accounts:
                synced = a.last_sync.strftime("%Y-%m-%d %H:%M") if a.last_sync else "never"
                n = sum(1 for f in feeds if f.account_id == a.id)
                error = f", error: {a.last_error}" if a.last_error else ""
                print(f"{a.name}\n  {a.url} (user {a.user})\n  synced {synced}, {counted(n, 'feed')}, "
                      f"{counted(counts[a.id], 'article')}{error}")  # fmt: skip
                if refused[a.id]:  # kept as set here; the server would not take them
                    print(f"  {counted(len(refused[a.id]), 'change')} refused by the server "
                          f"(first: {refused[a.id][0][2]})")  # fmt: skip
            print(f"(login tokens are kept in {credentials.where()})")
        return EXIT_OK
    with _open(db_path, args, create=False) as store:
        account = _account(store, args.name)
        removed, kept, gone = store.remove_account(account.id)
    credentials.delete_token(account.name)
    print(
        f"removed account {account.name}: {counted(gone, 'feed')} and {counted(removed, 'article')}"
        + (f" ({kept} starred kept)" if kept else "")
    )
    return EXIT_OK


def _add_account(db_path: StoreTarget, args: argparse.Namespace) -> int:
    from reader.sync import accounts

    url, user = args.url.strip(), args.user.strip()
    try:
        host, port = accounts.check_url(url, allow_http=args.allow_http)
    except accounts.PlainHttpError as exc:
        raise UsageError(f"{exc} (use https, or --allow-http if you mean it)") from None
    except accounts.AccountError as exc:
        raise UsageError(str(exc)) from None
    name = args.name or accounts.default_name(user, host, port)
    with _open(db_path, args) as store:  # checked before the password is asked for
        if store.get_account(name) is not None:
            raise UsageError(f"{name}: already added (remove it first, or give another --name)")
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not sys.stdin.isatty():  # (getpass would warn in lines of its own, then read nothing)
        raise UsageError(f"{name}: no terminal to ask the API password on; give it with --password-stdin")
    else:
        import getpass

        try:
            password = getpass.getpass(f"API password for {user} at {host}: ")
        except EOFError:
            raise UsageError(f"{name}: no password given; nothing saved") from None
    if not password:
        raise UsageError(f"{name}: no password given; nothing saved")
    try:
        added = accounts.add_account(
            db_path, url, user, password, name=name, allow_http=args.allow_http, person=getattr(args, "person", None)
        )
    except accounts.AccountError as exc:
        _err(str(exc))
        return EXIT_ERROR
    finally:
        del password
    print(added.describe("'reader sync' fetches the articles"))
    return EXIT_OK


def cmd_sync(db_path: StoreTarget, args: argparse.Namespace) -> int:
    return _sync_accounts(db_path, args.account, getattr(args, "person", None))


def _sync_accounts(db_path: StoreTarget, only: str | None, person: str | None = None) -> int:
    """Sync each account (or ``only``): one line each; 1 when any failed (the others still sync).
    On a shared store the queue pushed is ``person``'s (the one running the sync: ``--user``, else
    the database role), and the server's read and star state becomes theirs."""
    with open_store(db_path, create=only is not None, person=person) as store:
        accounts = [_account(store, only)] if only is not None else store.accounts()
        if not accounts:
            return EXIT_OK
        from reader.sync import credentials
        from reader.sync.engine import sync
        from reader.sync.greader import GReaderClient, SyncError

        failed = False
        for account in accounts:
            token = credentials.load_token(account.name)
            if token is None:
                _err(f"{account.name}: no saved login (add the account again)")
                failed = True
                continue
            client = GReaderClient(account.url, account=account.name, auth=token)
            try:
                with _progress(f"syncing {account.name}", unit="item") as progress:
                    report = sync(store, account, client, progress=progress)
            except SyncError as exc:
                _err(str(exc))
                failed = True
                continue
            print(report)
    return EXIT_REJECTED if failed else EXIT_OK


def cmd_rules(db_path: StoreTarget, args: argparse.Namespace) -> int:
    if args.rules_command == "list":
        with _open(_existing(db_path), args) as store:
            rules = store.rules()
        if args.json:
            _print_json(
                [
                    {"name": r.name, "match": r.query, "action": r.action, "feed": r.feed_url, "folder": r.folder}
                    for r in rules
                ]
            )
        elif not rules:
            _err("no rules (add one with 'reader rules add NAME --match QUERY --action ACTION')")
        for r in rules if not args.json else ():
            only = r.feed_url or (f"folder {r.folder}" if r.folder else None)
            print(f"{r.name}: {r.query!r} -> {r.action}" + (f" (only {only})" if only else ""))
        return EXIT_OK
    # (A rule for a feed needs the feed, so a store: none is made for a rule that is refused.)
    with _open(db_path, args, create=args.rules_command == "add" and args.feed is None) as store:
        if args.rules_command == "add":
            feed_id = None
            if args.feed is not None:
                feed = _subscribed(store, args.feed)
                if feed is None:
                    raise UsageError(f"{args.feed}: not subscribed")
                feed_id = feed.id
            if args.folder is not None and not any(f.folder == args.folder for f in store.feeds()):
                raise UsageError(f"{args.folder}: no feed is in a folder of that name")
            rule = store.add_rule(args.name, args.match, args.action, feed_id, args.folder)
            print(
                f"added rule {rule.name}: {rule.query!r} -> {rule.action}"
                " (for new articles; 'reader rules apply' for those stored)"
            )
            return EXIT_OK
        if args.rules_command == "remove":
            if not store.remove_rule(args.name):
                raise UsageError(f"{args.name}: no such rule")
            print(f"removed rule {args.name}")
            return EXIT_OK
        known = {r.name for r in store.rules()}
        unknown = [n for n in args.names if n not in known]
        if unknown:
            raise UsageError(f"{', '.join(unknown)}: no such rule")
        applied = store.apply_rules(args.names or None)
    for name, changed in applied.items():
        print(f"{name}: {counted(changed, 'article')} changed")
    if not applied:
        _err("no rules to apply")
    return EXIT_OK


def cmd_cleanup(db_path: StoreTarget, args: argparse.Namespace) -> int:
    from datetime import UTC, timedelta

    cutoff = datetime.now(UTC) - timedelta(seconds=args.older_than)
    shared = is_database_url(db_path)
    with _open(db_path, args, create=False) as store:
        result = store.cleanup(
            cutoff, starred_too=not args.keep_starred, unread_too=args.include_unread, dry_run=args.dry_run
        )
        kept = f" ({result.starred_kept} starred kept)" if result.starred_kept else ""
        day = cutoff.astimezone().strftime("%Y-%m-%d")
        if args.dry_run:
            print(f"would remove {counted(result.removed, 'article')} dated before {day}{kept}")
            return EXIT_OK
        print(f"removed {counted(result.removed, 'article')} dated before {day}{kept}")
        if not result.removed:
            return EXIT_OK
        if not args.compact:
            if shared:
                print("their space is reused by new articles once PostgreSQL's autovacuum has passed")
            else:
                print(f"{_mb(result.free_bytes)} free inside the store, reused by new articles")
            return EXIT_OK
        if shared:
            # A plain VACUUM: the space is reusable at once, nobody waits. Giving it back to the
            # disk is VACUUM FULL, which locks the shared tables: left to the database's owner.
            print("vacuuming the articles (VACUUM; VACUUM FULL would give the space back to the disk "
                  "but locks every reader)…", file=sys.stderr, flush=True)  # fmt: skip
            before, after = store.compact()
            print(f"database {_mb(before)} -> {_mb(after)} (the space freed is reused by new articles)")
            return EXIT_OK
        # VACUUM writes the store anew: the space goes back to the disk, but it needs about the
        # store's size free meanwhile, and waits for (and holds off) every other writer.
        print("compacting the store (VACUUM)…", file=sys.stderr, flush=True)
        before, after = store.compact()
    print(f"store {_mb(before)} -> {_mb(after)}")
    return EXIT_OK


def cmd_store(db_path: StoreTarget, args: argparse.Namespace) -> int:
    """``reader store copy SRC DST`` (the only action so far)."""
    from reader.store.copy import copy_store

    source, target = args.source, args.target
    if _same_store(source, target):
        raise UsageError(f"{target}: is the source itself; copy into another store")
    shared = [t for t in (source, target) if is_database_url(t)]
    if args.person is not None and not shared:
        raise UsageError("--user names a person in a PostgreSQL store; neither store is one")
    if not is_database_url(source) and not Path(source).exists():
        raise StoreError(f"{source}: no such store")

    def person(t: StoreTarget) -> str | None:
        return args.person if is_database_url(t) else None

    with (
        open_store(source, create=False, person=person(source)) as src,
        open_store(target, person=person(target)) as dst,
    ):
        if dst.readonly:
            raise StoreError(f"{target}: the store is read-only; nothing was copied")
        with _progress("copying", unit="row") as progress:
            report = copy_store(src, dst, progress=progress)
    for line in [*report.damaged, *report.not_copied]:
        _err(line)
    print(f"{report.summary()} into {target}")
    return EXIT_REJECTED if report.not_copied or report.damaged else EXIT_OK


def _same_store(a: StoreTarget, b: StoreTarget) -> bool:
    if is_database_url(a) or is_database_url(b):
        return str(a) == str(b)
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


_COMMANDS: dict[str, Callable[[StoreTarget, argparse.Namespace], int]] = {
    "import": cmd_import,
    "list": cmd_list,
    "show": cmd_show,
    "open": cmd_open,
    "feeds": cmd_feeds,
    "refresh": cmd_refresh,
    "mark": cmd_mark,
    "accounts": cmd_accounts,
    "sync": cmd_sync,
    "opml": cmd_opml,
    "cleanup": cmd_cleanup,
    "rules": cmd_rules,
    "fetch-full": cmd_fetch_full,
    "store": cmd_store,
}


if __name__ == "__main__":
    sys.exit(main())
