"""The store: one interface, two engines. ``reader.store.sqlite`` is the embedded default (one file
per person); the names other modules import from ``reader.store`` are re-exported here, so callers
do not say which engine they use."""

from reader.records import AddResult, Feed, Query
from reader.store.sqlite import (
    MAX_ROWS_PER_INSERT,
    MIN_PREFIX,
    SCHEMA_VERSION,
    UNKNOWN_TS,
    CorruptStoreError,
    DiskFullError,
    NotADatabaseError,
    PreparedArticles,
    ReadOnlyStoreError,
    Store,
    StoreBusyError,
    StoreError,
    StoreVersionError,
    fts_query,
    prepare_articles,
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
    "Query",
    "ReadOnlyStoreError",
    "Store",
    "StoreBusyError",
    "StoreError",
    "StoreVersionError",
    "fts_query",
    "prepare_articles",
    "search_words",
]
