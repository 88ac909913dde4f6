"""The store interface the window, the command line, the importer and sync use, and
:func:`open_store`, which picks the engine from what names the store: a file path is SQLite
(:class:`reader.store.sqlite.Store`), a ``postgresql://`` or ``postgres://`` URL is PostgreSQL
(:class:`reader.store.postgres.PostgresStore`, imported only then)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

from reader.records import (
    Account,
    AddResult,
    Article,
    ArticleRow,
    Cleaned,
    Cursor,
    Feed,
    Page,
    Query,
    Rule,
    SourceCount,
)

if TYPE_CHECKING:
    from reader.store.sqlite import PreparedArticles, PreparedRemoteArticles

#: URL schemes that name a PostgreSQL database (libpq's own two).
POSTGRES_SCHEMES = ("postgresql", "postgres")

#: What names a store: a file path, or a database URL (kept a string: a Path would fold its "//").
StoreTarget = Path | str


def is_database_url(target: object) -> bool:
    """Whether ``target`` (a ``--db`` value, ``READER_DB``) is a PostgreSQL URL, not a file path."""
    if not isinstance(target, str) or "://" not in target:
        return False
    return target.split("://", 1)[0].lower() in POSTGRES_SCHEMES


@runtime_checkable
class StoreProtocol(Protocol):
    """What every store engine does (the SQLite store's methods are the reference). ``person`` is
    whose read and star state is meant: one person per SQLite file; on PostgreSQL the database
    role unless one is named."""

    @property
    def readonly(self) -> bool: ...

    def verify(self) -> None: ...
    def close(self) -> None: ...
    def transaction(self) -> contextlib.AbstractContextManager[Any]: ...

    # articles
    def add_articles(
        self, articles: Iterable[Article] | PreparedArticles, *, update: bool = False, rules: bool = True
    ) -> AddResult: ...
    def page(self, query: Query = ..., after: Cursor | None = None, limit: int = 100) -> Page: ...
    def iter_rows(self, query: Query = ..., page_size: int = 500) -> Iterator[ArticleRow]: ...
    def rows_by_id(self, ids: Sequence[int]) -> dict[int, ArticleRow]: ...
    def descriptions(self, ids: Sequence[int]) -> dict[int, str | None]: ...
    def get(self, article_id: int) -> Article | None: ...
    def count(self, query: Query = ...) -> int: ...
    def sources(self) -> list[SourceCount]: ...
    def totals(self) -> tuple[int, int, int]: ...

    # read and star state
    def set_read(self, ids: Sequence[int], read: bool = True) -> int: ...
    def set_starred(self, article_id: int, starred: bool = True) -> bool: ...
    def mark_all_read(self, query: Query = ...) -> int: ...
    def mark_all_read_ids(self, query: Query = ...) -> list[int]: ...

    # feeds
    def add_feed(self, url: str, title: str | None = None) -> Feed: ...
    def get_feed(self, url_or_id: str | int) -> Feed | None: ...
    def feeds(self) -> list[Feed]: ...
    def update_feed(self, feed_id: int, **fields: Any) -> None: ...
    def remove_feed(self, url_or_id: str | int) -> bool: ...
    def unsubscribe(self, url_or_id: str | int) -> tuple[int, int] | None: ...

    # sync accounts and the queue of changes for their servers
    def add_account(self, name: str, url: str, user: str) -> Account: ...
    def accounts(self) -> list[Account]: ...
    def get_account(self, name_or_id: str | int) -> Account | None: ...
    def update_account(self, account_id: int, **fields: Any) -> None: ...
    def remove_account(self, account_id: int) -> tuple[int, int, int]: ...
    def sync_subscriptions(
        self, account_id: int, subscriptions: Sequence[tuple[str, str | None, str | None, str | None, str | None]]
    ) -> tuple[int, int]: ...
    def remote_feeds(self, account_id: int) -> dict[str, Feed]: ...
    def unknown_remote_ids(self, account_id: int, remote_ids: Sequence[str]) -> list[str]: ...
    def add_remote_articles(
        self, account_id: int, items: Sequence[tuple[str, Article, bool, bool]] | PreparedRemoteArticles
    ) -> int: ...
    def reconcile_flags(self, account_id: int, unread: Iterable[str], starred: Iterable[str]) -> tuple[int, int]: ...
    def pending_changes(self, account_id: int | None = None) -> list[tuple[int, str, str]]: ...
    def drop_pending(self, change_ids: Sequence[int]) -> None: ...
    def refuse_pending(self, change_ids: Sequence[int], reason: str) -> None: ...
    def refused_changes(self, account_id: int | None = None) -> list[tuple[str, str, str]]: ...

    # the daily features: rules, their labels and hidden articles; retention; full articles; the
    # sidebar's and the tray's counts
    def add_rule(
        self, name: str, query: str, action: str, feed_id: int | None = None, folder: str | None = None
    ) -> Rule: ...
    def rules(self) -> list[Rule]: ...
    def get_rule(self, name: str) -> Rule | None: ...
    def remove_rule(self, name: str) -> bool: ...
    def apply_rules(self, names: Sequence[str] | None = None) -> dict[str, int]: ...
    def set_hidden(self, ids: Sequence[int], hidden: bool = True) -> int: ...
    def add_label(self, ids: Sequence[int], label: str) -> int: ...
    def remove_label(self, ids: Sequence[int], label: str) -> int: ...
    def hidden_count(self) -> int: ...
    def labels(self) -> list[SourceCount]: ...
    def cleanup(
        self, older_than: datetime, *, starred_too: bool = False, unread_too: bool = False, dry_run: bool = False
    ) -> Cleaned: ...
    def compact(self) -> tuple[int, int]: ...
    def wanting_full_content(self, limit: int = 1000) -> list[tuple[int, str]]: ...
    def set_full_content(
        self, article_id: int, html: str | None, text: str | None, status: str, *, asked: bool = False
    ) -> bool: ...
    def drop_full_content(self, feed_id: int) -> int: ...
    def counts(self) -> tuple[tuple[int, int, int], list[SourceCount]]: ...
    def arrivals(self, after_id: int | None) -> tuple[int, int, int, int | None]: ...

    def __enter__(self) -> StoreProtocol: ...
    def __exit__(self, *exc: object) -> None: ...


def open_store(
    target: StoreTarget, *, create: bool = True, person: str | None = None, cache_mb: int = 16
) -> StoreProtocol:
    """Open the store ``target`` names: a PostgreSQL URL (for ``person``, default the database
    role) or a file path (SQLite; ``person`` is then refused: a file is one person's)."""
    if is_database_url(target):
        from reader.store.postgres import PostgresStore

        return PostgresStore.open(str(target), create=create, person=person)
    from reader.store.sqlite import Store, StoreError

    if person is not None:
        raise StoreError(f"{target}: --user names a person in a shared PostgreSQL store; a store file is one person's")
    return Store.open(target, create=create, cache_mb=cache_mb)


class StoreAddress(NamedTuple):
    """Where a store is and whose read and star state is meant: what the window's background
    jobs open the store from, each on a connection of its own. ``person`` is None for a store
    file (one person's), else the person the window was opened for (``--user``, else the role)."""

    target: StoreTarget
    person: str | None = None

    @property
    def shared(self) -> bool:
        """Whether this is a shared (PostgreSQL) store."""
        return is_database_url(self.target)

    def open(self, *, create: bool = True, cache_mb: int = 16) -> StoreProtocol:
        return open_store(self.target, create=create, person=self.person, cache_mb=cache_mb)

    def shown(self) -> str:
        """The store as a person is shown it: a file's path; a URL without its password, and whose."""
        if not self.shared:
            return str(self.target)
        from reader.store.postgres import shown

        return shown(str(self.target)) + (f" (as {self.person})" if self.person else "")

    @classmethod
    def of(cls, store: object) -> StoreAddress:
        """The address of an open store (its URL and person on PostgreSQL, its file on SQLite)."""
        url = getattr(store, "url", None)
        if is_database_url(url):
            return cls(str(url), getattr(store, "person", None))
        return cls(Path(getattr(store, "path")))  # noqa: B009 (both engines have one; the protocol does not say)


if TYPE_CHECKING:  # mypy proves both engines are stores of the protocol
    from reader.store.postgres import PostgresStore
    from reader.store.sqlite import Store

    _sqlite: type[StoreProtocol] = Store
    _postgres: type[StoreProtocol] = PostgresStore
