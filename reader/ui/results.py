"""What background jobs hand back to the GUI thread: small frozen records, one per kind of job.

Imported by the jobs' work functions when they first run (on the job's thread), not when the
window is built: defining a dataclass costs about 0.3 ms, and the window's first paint waits
for everything imported before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reader.records import Account, AddResult, Feed, Query, SourceCount


@dataclass(frozen=True, slots=True)
class Counts:
    """What the sidebar and the status bar count (JobKind.COUNTS)."""

    totals: tuple[int, int, int]  # all, unread, starred
    sources: tuple[SourceCount, ...]
    feeds: tuple[Feed, ...]
    #: The sync accounts: each is a section of the sidebar with its folders and feeds.
    accounts: tuple[Account, ...] = ()
    #: The labels rules gave (name, articles, unread), and how many articles they hid.
    labels: tuple[SourceCount, ...] = ()
    hidden: int = 0


def count_store(db_path: Path) -> Counts:
    """The sidebar's and the status bar's counts of the store at ``db_path``, on a connection of
    their own (a job's thread, or the start's counting thread: see reader.ui.startup.EarlyCounts)."""
    from reader.store import Store

    with Store.open(db_path) as store:
        return Counts(
            store.totals(),
            tuple(store.sources()),
            tuple(store.feeds()),
            tuple(store.accounts()),
            tuple(store.labels()),
            store.hidden_count(),
        )


@dataclass(frozen=True, slots=True)
class Refreshed:
    """What a refresh of every feed came to (JobKind.REFRESH)."""

    added: AddResult
    failed: int  # feeds that could not be fetched or read


@dataclass(frozen=True, slots=True)
class MarkedRead:
    """What marking a list read came to (JobKind.MARK_ALL_READ): the articles it changed from
    unread to read, which an undo sets unread again."""

    ids: tuple[int, ...]

    @property
    def changed(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, slots=True)
class Exported:
    """What an OPML export came to (JobKind.EXPORT_OPML): the file, how many subscriptions it
    holds, or why it could not be written."""

    path: Path
    count: int
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SearchCount:
    """How many articles a search lists (JobKind.SEARCH_COUNT), for the query it counted."""

    query: Query
    count: int


@dataclass(frozen=True, slots=True)
class Synced:
    """What one account's sync came to (JobKind.SYNC): its one-line report or its one-line error,
    and whether the store changed (then the list reloads)."""

    account: str
    line: str
    ok: bool
    changed: bool
