"""What the sidebar and the status bar count, and counting it (JobKind.COUNTS).

Apart from reader.ui.results, whose records are dataclasses: the window's start counts these on a
thread of its own before the first paint (reader.ui.startup.EarlyCounts), and imports nothing more
for that than it must (a NamedTuple is defined in well under a millisecond, a dataclass not).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from reader.records import Account, Feed, SourceCount

if TYPE_CHECKING:
    from reader.store import StoreAddress


class Counts(NamedTuple):
    """What the sidebar and the status bar count (JobKind.COUNTS)."""

    totals: tuple[int, int, int]  # all, unread, starred
    sources: tuple[SourceCount, ...]
    feeds: tuple[Feed, ...]
    #: The sync accounts: each is a section of the sidebar with its folders and feeds.
    accounts: tuple[Account, ...] = ()
    #: The labels rules gave (name, articles, unread), and how many articles they hid.
    labels: tuple[SourceCount, ...] = ()
    hidden: int = 0


def count_store(db: StoreAddress) -> Counts:
    """The sidebar's and the status bar's counts of the store at ``db`` (a file, or a shared
    store's URL and person), on a connection of their own (a job's thread, or the start's counting thread: see
    reader.ui.startup.EarlyCounts)."""
    with db.open() as store:
        totals, sources = store.counts()  # (one pass over the articles for both)
        return Counts(
            totals,
            tuple(sources),
            tuple(store.feeds()),
            tuple(store.accounts()),
            tuple(store.labels()),
            store.hidden_count(),
        )
