"""Adding an account: the server's address checked, the login, the token kept, the account row
written, in that order, so that a refused login or an unusable address saves nothing. The
window's Accounts dialog adds accounts through this, on a worker thread.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from dataclasses import dataclass

from reader.records import Account, counted
from reader.store import StoreTarget, open_store
from reader.sync import credentials
from reader.sync.engine import describe_subscriptions
from reader.sync.greader import GReaderClient, SyncError


class AccountError(Exception):
    """One line naming the account (or the address) and why it was not added."""


class PlainHttpError(AccountError):
    """Plain http to another machine, refused (the command line adds how to insist)."""


@dataclass(frozen=True, slots=True)
class Added:
    account: Account
    host: str
    feeds: int
    folders: int

    def __str__(self) -> str:
        return self.describe()

    def describe(self, note: str = "") -> str:
        """ "alice at rss.example.org: 42 feeds in 6 folders (account NAME[; note])"."""
        return (
            f"{self.account.user} at {self.host}: {counted(self.feeds, 'feed')} in "
            f"{counted(self.folders, 'folder')} (account {self.account.name}{'; ' + note if note else ''})"
        )


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, allow_http: bool = False) -> tuple[str, int | None]:
    """(host, port) of a server's Google Reader endpoint, or :class:`AccountError`: not an http(s)
    URL, or plain http to another machine (the password and every token would travel in clear)."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise AccountError(f"{url}: not a URL ({exc})") from None
    host = parts.hostname or ""
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise AccountError(f"{url or '(empty)'}: not an http or https URL of a server")
    if parts.scheme.lower() == "http" and not is_loopback(host) and not allow_http:
        raise PlainHttpError(f"{url}: refused, plain http would send the password and every token unencrypted")
    return host, port


def default_name(user: str, host: str, port: int | None) -> str:
    return f"{user}@{host}" + (f":{port}" if port else "")


def add_account(
    db_path: StoreTarget,
    url: str,
    user: str,
    password: str,
    *,
    name: str | None = None,
    allow_http: bool = False,
    person: str | None = None,
) -> Added:
    """Log in to ``url`` as ``user`` and keep the account (its token, never the password) in the
    store ``db_path`` names (a file, or a shared store, opened for ``person``). Any failure is one
    :class:`AccountError` line and leaves nothing saved."""
    url, user = url.strip(), user.strip()
    if not user:
        raise AccountError(f"{url or 'the account'}: no user name given")
    host, port = check_url(url, allow_http=allow_http)
    name = name or default_name(user, host, port)
    with open_store(db_path, person=person) as store:
        if store.get_account(name) is not None:
            raise AccountError(f"{name}: already added (remove it first)")
    client = GReaderClient(url, account=name)
    try:
        token = client.login(user, password)
        feeds, folders = describe_subscriptions(client)
    except SyncError as exc:
        raise AccountError(str(exc)) from None
    with open_store(db_path, person=person) as store:
        account = store.add_account(name, url, user)
        try:
            credentials.save_token(name, token)
        except OSError as exc:
            store.remove_account(account.id)
            raise AccountError(f"{name}: cannot keep the login token ({exc.strerror or exc}); nothing saved") from None
    return Added(account, host, feeds, folders)
