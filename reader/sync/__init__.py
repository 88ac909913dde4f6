"""Sync with feed servers that speak the Google Reader API (FreshRSS, Miniflux, Inoreader, ...).

- :mod:`reader.sync.greader`: the protocol client (no store).
- :mod:`reader.sync.engine`: one sync of one account, between that client and the store.
- :mod:`reader.sync.credentials`: where an account's auth token is kept (never its password).

Nothing here is imported by the window at start: the CLI and the jobs import it when an account
is used.
"""
