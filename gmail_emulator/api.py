"""Gmail API v1 calls: routing, auth, quota and faults, then the method itself.

Every call, inner batch calls included, ends in one request-log entry.
"""

import re
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from . import errors, fields, render
from .content import content
from .faults import Faults
from .generate import MessageRecord
from .labels import label_resources
from .mailbox import EmulatedMailbox, HistoryExpired
from .mailboxes import Mailboxes
from .oauth import TokenStore
from .push import Publisher
from .quota import COSTS, Quota
from .requestlog import LoggedRequest, RequestLog
from .responses import Response, json_response
from .search import Filter, UnsupportedQuery, listing_filter

MAX_RESULTS = 500
DEFAULT_MAX_RESULTS = 100

Query = dict[str, list[str]]


class Answer(NamedTuple):
    response: Response
    units: int  # quota units charged: what the call cost Gmail to serve


Handler = Callable[[EmulatedMailbox, tuple[str, ...], Query], dict]

_USER = r"^/gmail/v1/users/([^/]+)"
_ROUTES = [
    (re.compile(_USER + r"/profile$"), "users.getProfile"),
    (re.compile(_USER + r"/labels$"), "labels.list"),
    (re.compile(_USER + r"/messages$"), "messages.list"),
    (re.compile(_USER + r"/messages/([^/]+)$"), "messages.get"),
    (re.compile(_USER + r"/messages/([^/]+)/attachments/([^/]+)$"), "messages.attachments.get"),
    (re.compile(_USER + r"/threads$"), "threads.list"),
    (re.compile(_USER + r"/threads/([^/]+)$"), "threads.get"),
    (re.compile(_USER + r"/history$"), "history.list"),
    (re.compile(_USER + r"/watch$"), "users.watch"),
    (re.compile(_USER + r"/stop$"), "users.stop"),
]
# The methods that are not reads; every other one is a GET.
_POSTS = frozenset({"users.watch", "users.stop"})


class GmailApi:
    def __init__(
        self,
        *,
        mailboxes: Mailboxes,
        tokens: TokenStore,
        quota: Quota,
        faults: Faults,
        log: RequestLog,
        clock: Callable[[], float],
        publisher: Publisher,
    ) -> None:
        self._mailboxes = mailboxes
        self._publisher = publisher
        self._tokens = tokens
        self._quota = quota
        self._faults = faults
        self._log = log
        self._clock = clock
        self._handlers: dict[str, Handler] = {
            "users.getProfile": _get_profile,
            "labels.list": _list_labels,
            "messages.list": _list_messages,
            "messages.get": _get_message,
            "messages.attachments.get": _get_attachment,
            "threads.list": _list_threads,
            "threads.get": _get_thread,
            "history.list": _list_history,
        }

    def call(
        self,
        http_method: str,
        target: str,
        authorization: str | None,
        *,
        body: bytes = b"",
        in_batch: bool = False,
        refused: errors.ApiError | None = None,
    ) -> Answer:
        """Answer one API call; `refused` is an error to answer once the caller is known."""
        now = self._clock()
        url = urlsplit(target)
        method, user_id, params = _route(url.path)
        email = None
        units = 0
        try:
            if method is None:
                raise errors.not_found()
            grant = self._tokens.authenticate(authorization)
            email = grant.email
            if user_id != "me" and user_id.lower() != email.lower():
                raise errors.delegation_denied(user_id)
            # Only reads (and watching) are emulated: a write answers as Google does for a
            # read-only token.
            if not grant.allows_gmail or http_method != ("POST" if method in _POSTS else "GET"):
                raise errors.insufficient_scopes()
            if refused is not None:
                raise refused
            fault = self._faults.rate_limit(now)
            if fault is not None:
                raise fault
            self._quota.charge(email, COSTS[method], now)
            units = COSTS[method]
            fault = self._faults.backend_error()
            if fault is not None:
                raise fault
            response = self._respond(method, email, params, url.query, body)
        except errors.ApiError as error:
            response = json_response(error.code, error.body(), error.headers)
        self._log.append(
            LoggedRequest(
                at=now,
                email=email,
                method=method or "unknown",
                message_id=params[0] if params else None,
                status=response.status,
                in_batch=in_batch,
                units=units,
            )
        )
        return Answer(response, units)

    def _respond(
        self, method: str, email: str, params: tuple[str, ...], query_string: str, body: bytes
    ) -> Response:
        if method == "users.stop":
            self._publisher.stop(email)
            return Response(204)
        if method == "users.watch":
            mailbox = self._mailboxes.get(email)
            watch = self._publisher.watch(mailbox.email, body)
            return json_response(200, {"historyId": str(mailbox.history_id), **watch})
        return json_response(200, self._answer(method, email, params, query_string))

    def _answer(self, method: str, email: str, params: tuple[str, ...], query_string: str) -> dict:
        query = parse_qs(query_string)
        partial = query.get("fields", [""])[0]
        try:
            selection = fields.parse(partial, fields.SCHEMAS[method]) if partial else None
        except fields.InvalidFields as error:
            raise errors.bad_request(str(error), "invalidParameter") from None
        resource = self._handlers[method](self._mailboxes.get(email), params, query)
        return fields.select(resource, selection)


def _route(path: str) -> tuple[str | None, str, tuple[str, ...]]:
    for pattern, method in _ROUTES:
        match = pattern.match(path)
        if match:
            user_id, *params = (unquote(group) for group in match.groups())
            return method, user_id, tuple(params)
    return None, "", ()


def _get_profile(mailbox: EmulatedMailbox, params: tuple[str, ...], query: Query) -> dict:
    messages_total, threads_total, history_id = mailbox.profile()
    return {
        "emailAddress": mailbox.email,
        "messagesTotal": messages_total,
        "threadsTotal": threads_total,
        "historyId": str(history_id),
    }


def _list_labels(mailbox: EmulatedMailbox, params: tuple[str, ...], query: Query) -> dict:
    return {"labels": label_resources()}


def _list_messages(mailbox: EmulatedMailbox, params: tuple[str, ...], query: Query) -> dict:
    page = mailbox.list_messages(_shown(query), _max_results(query), _cursor(query))
    out: dict = {}
    if page.items:
        out["messages"] = [{"id": r.id, "threadId": r.thread_id} for r in page.items]
    if page.next_cursor:
        out["nextPageToken"] = _page_token(page.next_cursor)
    out["resultSizeEstimate"] = page.estimate
    return out


def _get_message(mailbox: EmulatedMailbox, params: tuple[str, ...], query: Query) -> dict:
    fmt = _format(query, render.FORMATS)
    return render.message(_record(mailbox, params[0]), fmt, query.get("metadataHeaders", []))


def _get_attachment(mailbox: EmulatedMailbox, params: tuple[str, ...], query: Query) -> dict:
    message_id, attachment_id = params
    record = _record(mailbox, message_id)
    part = render.attachment_part(content(record.source).root, message_id, attachment_id)
    if part is None:
        raise errors.bad_request("Invalid attachment token")
    return {"size": part.size, "data": part.base64url()}


def _list_threads(mailbox: EmulatedMailbox, params: tuple[str, ...], query: Query) -> dict:
    page = mailbox.list_threads(_shown(query), _max_results(query), _cursor(query))
    out: dict = {}
    if page.items:
        out["threads"] = [render.thread_summary(records) for records in page.items]
    if page.next_cursor:
        out["nextPageToken"] = _page_token(page.next_cursor)
    out["resultSizeEstimate"] = page.estimate
    return out


def _get_thread(mailbox: EmulatedMailbox, params: tuple[str, ...], query: Query) -> dict:
    fmt = _format(query, ("minimal", "metadata", "full"))
    try:
        records = mailbox.thread(params[0])
    except KeyError:
        raise errors.not_found() from None
    return render.thread(records, fmt, query.get("metadataHeaders", []))


def _list_history(mailbox: EmulatedMailbox, params: tuple[str, ...], query: Query) -> dict:
    start = _integer(query, "startHistoryId")
    if start is None:
        raise errors.bad_request("Required parameter: startHistoryId")
    types = set()
    for name in query.get("historyTypes", []):
        if name not in render.HISTORY_TYPES:
            raise errors.bad_request(f"Invalid value for historyTypes: {name}")
        types.add(render.HISTORY_TYPES[name])
    label_id = query.get("labelId", [None])[0]
    cursor = query.get("pageToken", [None])[0]
    if cursor is not None and not cursor.isdigit():
        raise errors.bad_request("Invalid pageToken")
    try:
        records, more, history_id = mailbox.history(
            start, int(cursor) if cursor else None, _max_results(query)
        )
    except HistoryExpired:
        raise errors.not_found() from None
    history = [
        rendered
        for record in records
        if (rendered := render.history_record(record, frozenset(types), label_id)) is not None
    ]
    out: dict = {}
    if history:
        out["history"] = history
    if more:
        # A page may hold no records (all filtered out) and still have a next page.
        out["nextPageToken"] = str(records[-1].id)
    out["historyId"] = str(history_id)
    return out


def _shown(query: Query) -> Filter:
    """What a listing shows: its labelIds, includeSpamTrash and q."""
    try:
        return listing_filter(
            query.get("labelIds", []),
            _boolean(query, "includeSpamTrash"),
            query.get("q", [None])[0],
        )
    except UnsupportedQuery as error:
        raise errors.bad_request(str(error)) from None


def _record(mailbox: EmulatedMailbox, message_id: str) -> MessageRecord:
    try:
        return mailbox.record(message_id)
    except KeyError:
        raise errors.not_found() from None


def _format(query: Query, allowed: tuple[str, ...]) -> str:
    fmt = query.get("format", ["full"])[0].lower()
    if fmt not in allowed:
        raise errors.bad_request(f"Invalid value for format: {fmt}")
    return fmt


def _max_results(query: Query) -> int:
    value = _integer(query, "maxResults")
    # Gmail clamps rather than rejects: maxResults=1000 returns 500.
    return DEFAULT_MAX_RESULTS if value is None or value <= 0 else min(value, MAX_RESULTS)


def _integer(query: Query, name: str) -> int | None:
    values = query.get(name)
    if not values:
        return None
    try:
        return int(values[0])
    except ValueError:
        raise errors.bad_request(f"Invalid value for {name}: {values[0]}") from None


def _boolean(query: Query, name: str) -> bool:
    value = query.get(name, ["false"])[0].lower()
    if value not in ("true", "false", "1", "0"):
        raise errors.bad_request(f"Invalid value for {name}: {value}")
    return value in ("true", "1")


def _page_token(message_id: str) -> str:
    # Gmail's page tokens are long decimal numbers; this one is the cursor id in decimal.
    return str(int(message_id, 16))


def _cursor(query: Query) -> str | None:
    token = query.get("pageToken", [None])[0]
    if not token:
        return None
    if not token.isdigit() or int(token) >= 1 << 64:
        raise errors.bad_request("Invalid pageToken")
    return f"{int(token):016x}"
