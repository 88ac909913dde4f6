"""The store: one interface (:mod:`reader.store.protocol`), two engines. ``reader.store.sqlite`` is
the embedded default (one file per person); ``reader.store.postgres`` a shared database (the
``postgres`` extra, imported only when a PostgreSQL URL is opened). The names other modules import
from ``reader.store`` are re-exported here."""

from reader.records import AddResult, Feed, Query
from reader.store.protocol import StoreAddress, StoreProtocol, StoreTarget, is_database_url, open_store
from reader.store.sqlite import (
    MAX_ROWS_PER_INSERT,
    MIN_PREFIX,
    SCHEMA_VERSION,
    UNKNOWN_TS,
    CorruptStoreError,
    DiskFullError,
    NotADatabaseError,
    PreparedArticles,
    PreparedRemoteArticles,
    ReadOnlyStoreError,
    Store,
    StoreBusyError,
    StoreError,
    StoreVersionError,
    fts_query,
    prepare_articles,
    prepare_remote_articles,
    search_words,
)

__all__ = [
    "MAX_ROWS_PER_INSERT",
    "MIN_PREFIX",
    "SCHEMA_VERSION",
    "UNKNOWN_TS",
    "AddResult",
    "CorruptStoreError",
    "DiskFullError",
    "Feed",
    "NotADatabaseError",
    "PreparedArticles",
    "PreparedRemoteArticles",
    "Query",
    "ReadOnlyStoreError",
    "Store",
    "StoreAddress",
    "StoreBusyError",
    "StoreError",
    "StoreProtocol",
    "StoreTarget",
    "StoreVersionError",
    "fts_query",
    "is_database_url",
    "open_store",
    "prepare_articles",
    "prepare_remote_articles",
    "search_words",
]
