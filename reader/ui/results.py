"""What background jobs hand back to the GUI thread: small frozen records, one per kind of job.

Imported by the jobs' work functions when they first run (on the job's thread), not when the
window is built: defining a dataclass costs about 0.3 ms, and the window's first paint waits
for everything imported before it. (The counts are counted before it: see reader.ui.counts.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reader.records import AddResult, Query


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
