"""The Google Reader API, as FreshRSS (``p/api/greader.php``), Miniflux, Inoreader, TheOldReader and
BazQux serve it, and NetNewsWire's ``ReaderAPICaller`` speaks it. No store, no Qt.

Calls used (paths under ``<endpoint>/reader/api/0/`` unless said):

- ``<endpoint>/accounts/ClientLogin`` (POST ``Email``, ``Passwd``): ``Auth=...`` lines, or 401.
  Every later call sends ``Authorization: GoogleLogin auth=<Auth>``.
- ``token``: the write token ``T`` that every write posts; fetched again once when a write answers
  401 (tokens expire), and a 401 then means the login itself was refused.
- ``subscription/list``, ``tag/list``: feeds with their folders (``user/-/label/<name>``).
- ``stream/items/ids`` with ``s=`` the reading list (``ot=`` the time of the last sync, ``c=`` the
  continuation), with ``xt=user/-/state/com.google/read`` for the unread ids, ``s=.../starred`` for
  the starred ones. (``s=.../read`` is not a stream: FreshRSS answers it with every item.)
- ``stream/items/contents`` (POST ``i=`` repeated): the items themselves, a batch at a time.
- ``edit-tag`` (POST ``i=``..., ``a=`` or ``r=`` the read or starred state): batched.
- ``mark-all-as-read`` (POST ``s=``, ``ts=``), ``subscription/quickadd`` (POST ``quickadd=``),
  ``subscription/edit`` (POST ``ac=unsubscribe``, ``s=``).

Item ids come in two forms: decimal (``stream/items/ids``) and long
(``tag:google.com,2005:reader/item/<16 hex digits>``, in the items). They are kept as decimal.

Every failure is one :class:`SyncError` whose message is one line, naming the account and the
reason; the auth token never appears in one (it travels in a header, never in a URL).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reader.http import FETCH_TIMEOUT, Client, FetchResult, default_client

READING_LIST = "user/-/state/com.google/reading-list"
READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"
LABEL = "user/-/label/"
LONG_ID_PREFIX = "tag:google.com,2005:reader/item/"

#: Item ids asked for per ``stream/items/ids`` page (ids are a few bytes each: a page is about
#: 0.3 MB of JSON). The first sync fetches the contents of each page's new ids as one pipeline
#: (two batches ahead, see :mod:`reader.sync.engine`) that empties at the page's end: at 1,000
#: ids a page, its nine restarts left the store idle for about a fifth of a 10,000-item sync.
IDS_PER_PAGE = 10_000
#: Item ids per ``stream/items/contents`` or ``edit-tag`` request: well under what servers take
#: (Inoreader documents 250 items a page; FreshRSS reads them all from one SQL ``IN``).
ITEMS_PER_REQUEST = 250
#: Answers larger than this are refused: a page of 250 items with their bodies is a few MB.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
#: The category FreshRSS files every feed under that the person put in no folder: no folder.
DEFAULT_CATEGORIES = frozenset({"Uncategorized"})


#: Answers that refuse a request for good: sending it again will not help (unlike 401, which a new
#: token may cure, or 429, 503, other 5xx and no answer, which may pass).
REFUSING_STATUSES = frozenset({400, 403, 404, 410})


class SyncError(Exception):
    """One line naming the account and what went wrong. ``retry_after``: seconds the server asked
    us to wait (429, 503); ``login``: the server refused the login itself (a new one is needed);
    ``refused``: the server refused this very request for good (:data:`REFUSING_STATUSES`, or a
    write not answered ``OK``), where ``refusal`` says how, without the account or the call."""

    def __init__(
        self,
        account: str,
        reason: str,
        *,
        retry_after: float | None = None,
        login: bool = False,
        status: int = 0,
        refusal: str | None = None,
    ) -> None:
        super().__init__(f"{account}: {reason}")
        self.account = account
        self.reason = reason
        self.retry_after = retry_after
        self.login = login
        #: The HTTP status of the answer that failed (0: none came).
        self.status = status
        self.refusal = refusal

    @property
    def refused(self) -> bool:
        return self.refusal is not None


@dataclass(frozen=True, slots=True)
class Subscription:
    stream_id: str
    title: str | None
    url: str | None
    html_url: str | None
    folder: str | None


def decimal_id(item_id: str) -> str:
    """An item id in either form as its decimal form (``"1796297583529459"``)."""
    text = item_id.strip()
    if text.startswith(LONG_ID_PREFIX):
        return str(int(text[len(LONG_ID_PREFIX) :], 16))
    if text.isdigit():
        return str(int(text))
    raise ValueError(f"not an item id: {item_id[:80]!r}")


def folder_of(categories: Sequence[Mapping[str, Any]] | Sequence[str]) -> str | None:
    """The folder a subscription (or item) is in: its first label, the server's default none."""
    for category in categories:
        cid = category.get("id", "") if isinstance(category, Mapping) else category
        if isinstance(cid, str) and "/label/" in cid:
            name = cid.split("/label/", 1)[1]
            if name and name not in DEFAULT_CATEGORIES:
                return name
    return None


class GReaderClient:
    """One account's client. ``auth`` is the token ClientLogin gave (None: call :meth:`login`).
    ``stop`` ends a request at the next piece of its answer (a cancelled sync)."""

    def __init__(
        self,
        url: str,
        *,
        account: str,
        auth: str | None = None,
        http: Client | None = None,
        timeout: float = FETCH_TIMEOUT,
        stop: threading.Event | None = None,
    ) -> None:
        self.endpoint = url.rstrip("/")
        self.account = account
        self.auth = auth
        self._http = http if http is not None else default_client()
        self._timeout = timeout
        self._stop = stop
        self._token: str | None = None
        #: The server's clock (its ``Date`` header, POSIX seconds) at its last answer.
        self.server_time: float | None = None

    # --- plumbing ---------------------------------------------------------------------------

    def _fail(self, reason: str, **kwargs: Any) -> SyncError:
        return SyncError(self.account, reason, **kwargs)

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json, text/plain;q=0.9, */*;q=0.5"}
        if self.auth:
            headers["Authorization"] = f"GoogleLogin auth={self.auth}"
        return headers

    def _call(self, what: str, path: str, query: Sequence[tuple[str, str]] = (), form: Any = None) -> FetchResult:
        """One request to ``path`` (under the API), its answer checked: a 2xx with a body, or a
        :class:`SyncError` saying ``what`` failed."""
        import urllib.parse

        url = f"{self.endpoint}/{path}" + ("?" + urllib.parse.urlencode(list(query)) if query else "")
        if form is None:
            result = self._http.get(url, headers=self._headers(), timeout=self._timeout, max_bytes=MAX_ANSWER_BYTES,
                                    stop=self._stop)  # fmt: skip
        else:
            result = self._http.post(url, form, headers=self._headers(), timeout=self._timeout,
                                     max_bytes=MAX_ANSWER_BYTES, stop=self._stop)  # fmt: skip
        date = result.headers.get("date")
        if date:
            import email.utils

            try:
                self.server_time = email.utils.parsedate_to_datetime(date).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                pass
        if result.error is None:
            return result
        if result.status == 401:
            raise self._fail(f"{what}: the server refused the login (HTTP 401)", login=True)
        if result.status in (429, 503):
            wait = result.retry_after
            said = f", and asked to wait {wait:.0f} s" if wait is not None else ""
            raise self._fail(f"{what}: the server is busy (HTTP {result.status}{said})", retry_after=wait)
        if result.status in REFUSING_STATUSES:
            raise self._fail(f"{what}: the server answered {result.error}", status=result.status, refusal=result.error)
        if result.status:
            raise self._fail(f"{what}: the server answered {result.error}", status=result.status)
        raise self._fail(f"{what}: no answer from the server ({result.error})")

    def _json(self, what: str, path: str, query: Sequence[tuple[str, str]] = (), form: Any = None) -> Any:
        result = self._call(what, path, [("output", "json"), *query], form)
        try:
            value = json.loads(result.data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._fail(f"{what}: the server's answer is not JSON ({_short(exc)})") from None
        if not isinstance(value, dict):
            raise self._fail(f"{what}: the server's answer is not a JSON object")
        return value

    def _write(self, what: str, path: str, form: list[tuple[str, str]]) -> bytes:
        """A write: with the write token, fetched again once if the server refuses it."""
        for attempt in (0, 1):
            token = self.write_token(fresh=attempt == 1)
            try:
                return self._call(what, f"reader/api/0/{path}", form=[("T", token), *form]).data
            except SyncError as exc:
                if not exc.login or attempt:
                    raise
        raise AssertionError("unreachable")

    # --- login ---------------------------------------------------------------------------------

    def login(self, user: str, password: str) -> str:
        """ClientLogin: the auth token (kept as :attr:`auth`). The password is not kept."""
        self.auth = None
        try:
            result = self._call("login", "accounts/ClientLogin", form=[("Email", user), ("Passwd", password)])
        except SyncError as exc:
            if exc.login:
                raise self._fail("wrong user name or password (the server answered 401)", login=True) from None
            if 400 <= exc.status < 500:  # a 404, a 405: there is no ClientLogin here
                raise self._fail(f"not a Google Reader API server ({exc.reason.split(': ', 1)[-1]})") from None
            raise
        for line in result.data.decode("utf-8", "replace").splitlines():
            if line.startswith("Auth="):
                self.auth = line[len("Auth=") :].strip()
        if not self.auth:
            raise self._fail("not a Google Reader API server (its login answer has no Auth= line)")
        return self.auth

    def write_token(self, *, fresh: bool = False) -> str:
        if self._token is None or fresh:
            self._token = self._call("write token", "reader/api/0/token").data.decode("ascii", "replace").strip()
        return self._token

    # --- reading --------------------------------------------------------------------------------

    def subscriptions(self) -> list[Subscription]:
        answer = self._json("subscription list", "reader/api/0/subscription/list")
        found = []
        for s in _list(answer, "subscriptions"):
            if not isinstance(s, Mapping) or not isinstance(s.get("id"), str):
                continue
            found.append(
                Subscription(
                    stream_id=s["id"],
                    title=_text(s.get("title")),
                    url=_text(s.get("url")),
                    html_url=_text(s.get("htmlUrl")),
                    folder=folder_of([c for c in _list(s, "categories") if isinstance(c, Mapping)]),
                )
            )
        return found

    def folders(self) -> list[str]:
        """The folder names ``tag/list`` gives (labels; the default category left out)."""
        answer = self._json("tag list", "reader/api/0/tag/list")
        names = []
        for tag in _list(answer, "tags"):
            if not isinstance(tag, Mapping) or tag.get("type", "folder") != "folder":
                continue  # a label on items (FreshRSS says "tag"), not a folder of feeds
            tid = tag.get("id")
            name = folder_of([tid]) if isinstance(tid, str) else None
            if name:
                names.append(name)
        return names

    def item_id_pages(
        self,
        stream: str = READING_LIST,
        *,
        since: int | None = None,
        exclude: str | None = None,
        per_page: int = IDS_PER_PAGE,
    ) -> Iterator[list[str]]:
        """The item ids (decimal) of ``stream`` a page at a time, newest first; ``since``: only
        those the server got from then on (POSIX seconds, ``ot``), ``exclude`` a state (``xt``)."""
        continuation = ""
        seen_continuations: set[str] = set()
        while True:
            query = [("s", stream), ("n", str(per_page))]
            if since is not None:
                query.append(("ot", str(int(since))))
            if exclude:
                query.append(("xt", exclude))
            if continuation:
                query.append(("c", continuation))
            answer = self._json("item ids", "reader/api/0/stream/items/ids", query)
            page = []
            for ref in _list(answer, "itemRefs"):
                try:
                    page.append(decimal_id(str(ref["id"])))
                except (KeyError, TypeError, ValueError):
                    raise self._fail("item ids: the server's answer has an item without a usable id") from None
            if page:
                yield page
            continuation = answer.get("continuation") or ""
            if not isinstance(continuation, str | int) or not page or not continuation:
                return
            continuation = str(continuation)
            if continuation in seen_continuations:  # a server that loops must not hold the sync for ever
                raise self._fail("item ids: the server gave the same continuation twice")
            seen_continuations.add(continuation)

    def all_ids(self, stream: str = READING_LIST, *, exclude: str | None = None) -> set[str]:
        return {i for page in self.item_id_pages(stream, exclude=exclude, per_page=IDS_PER_PAGE) for i in page}

    def unread_ids(self) -> set[str]:
        return self.all_ids(READING_LIST, exclude=READ)

    def starred_ids(self) -> set[str]:
        return self.all_ids(STARRED)

    def items(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """The items with these ids (at most :data:`ITEMS_PER_REQUEST`), as the server gives them."""
        if not ids:
            return []
        try:
            return decode_items(self.items_answer(ids))
        except ValueError as exc:
            raise self._fail(f"{ITEMS_CALL}: {exc}") from None

    def items_answer(self, ids: Sequence[str]) -> bytes:
        """The server's answer (JSON, not decoded) for the items with these ids: what
        :func:`decode_items` reads, in a sync's worker process (see :mod:`reader.sync.engine`)."""
        path = "reader/api/0/stream/items/contents"
        return self._call(ITEMS_CALL, path, [("output", "json")], form=[("i", i) for i in ids]).data

    # --- writing --------------------------------------------------------------------------------

    def edit_tag(self, ids: Sequence[str], *, add: str | None = None, remove: str | None = None) -> None:
        """Add or remove a state (:data:`READ`, :data:`STARRED`) on items, a batch per request."""
        for start in range(0, len(ids), ITEMS_PER_REQUEST):
            form = [("i", i) for i in ids[start : start + ITEMS_PER_REQUEST]]
            form += [("a", add)] if add else []
            form += [("r", remove)] if remove else []
            self._expect_ok("marking items", self._write("marking items", "edit-tag", form))

    def mark_all_as_read(self, stream: str = READING_LIST, *, older_than_usec: int | None = None) -> None:
        form = [("s", stream)] + ([("ts", str(older_than_usec))] if older_than_usec is not None else [])
        self._expect_ok("marking all read", self._write("marking all read", "mark-all-as-read", form))

    def quickadd(self, feed_url: str) -> str:
        """Subscribe to ``feed_url``: the new subscription's stream id."""
        data = self._write("subscribing", "subscription/quickadd", [("quickadd", feed_url)])
        try:
            answer = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._fail(f"subscribing: the server's answer is not JSON ({_short(exc)})") from None
        if not isinstance(answer, dict) or not answer.get("numResults") or not answer.get("streamId"):
            why = answer.get("error") if isinstance(answer, dict) else None
            raise self._fail(f"subscribing to {feed_url}: the server refused ({_short(why or 'no subscription made')})")
        return str(answer["streamId"])

    def unsubscribe(self, stream_id: str) -> None:
        data = self._write("unsubscribing", "subscription/edit", [("ac", "unsubscribe"), ("s", stream_id)])
        self._expect_ok("unsubscribing", data)

    def _expect_ok(self, what: str, data: bytes) -> None:
        if data.strip() != b"OK":
            said = _short(data.decode("utf-8", "replace")) or "an empty answer"
            raise self._fail(f"{what}: the server did not answer OK ({said})", refusal=f"answered {said!r}, not OK")


#: What a failed ``stream/items/contents`` is called in its one line.
ITEMS_CALL = "item contents"


def decode_items(data: bytes) -> list[dict[str, Any]]:
    """The items of a ``stream/items/contents`` answer, or :class:`ValueError` saying why there
    are none (the reason only: the caller names the account and the call)."""
    try:
        answer = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"the server's answer is not JSON ({_short(exc)})") from None
    if not isinstance(answer, dict):
        raise ValueError("the server's answer is not a JSON object")
    return [item for item in _list(answer, "items") if isinstance(item, dict)]


def _list(mapping: Mapping[str, Any], key: str) -> list[Any]:
    value = mapping.get(key)
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _short(value: object) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= 100 else text[:100] + "..."
