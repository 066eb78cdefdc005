"""The only code that talks to Gmail.

It wraps google-api-python-client with what a long sync needs: pacing by the
per-user quota, batches of at most GMAIL_BATCH_SIZE that retry only their
failed parts, backoff with jitter that honours Gmail's "Retry after", a bound
on how long any call may keep retrying, and token refreshes saved back.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

import google_auth_httplib2
import httplib2
from django.conf import settings
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from syncapp.gmail.errors import GmailError, GmailUnavailable, HistoryExpired, ReconnectRequired
from syncapp.gmail.quota import TokenBucket

logger = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/gmail.readonly"
UNITS = {
    "users.getProfile": 1,
    "labels.list": 1,
    "history.list": 2,
    "messages.list": 5,
    "messages.get": 5,
    "threads.get": 10,
}
# A thread can hold many messages: fewer threads than messages go in one batch.
THREADS_PER_BATCH = 10
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
RETRY_AFTER = re.compile(r"Retry after (\d{4}-\d\d-\d\dT[\d:.]+Z)")
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 32.0
PAGE_SIZE = 500

TokenSaver = Callable[[str, datetime | None], None]


@dataclass(frozen=True, slots=True)
class MessagePage:
    ids: list[str]
    next_page_token: str | None
    estimate: int
    # The thread of each listed message, by message id.
    threads: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HistoryPage:
    records: list[dict]
    next_page_token: str | None
    history_id: str


@dataclass(slots=True)
class FetchResult:
    found: dict[str, dict] = field(default_factory=dict)
    # Listed, then gone before we fetched them (deleted meanwhile).
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Failure:
    """Why one call failed, and whether trying again can help."""

    retryable: bool
    reason: str
    retry_at: float | None = None


class GmailClient:
    def __init__(
        self,
        *,
        access_token: str,
        refresh_token: str,
        token_expires_at: datetime | None,
        on_token_refresh: TokenSaver,
        endpoint: str,
        token_uri: str,
        client_id: str,
        client_secret: str,
        quota_units_per_minute: int,
        batch_size: int,
        request_timeout: float,
        retry_budget: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        expiry = (
            token_expires_at.astimezone(UTC).replace(tzinfo=None) if token_expires_at else None
        )
        self._credentials = Credentials(
            token=access_token or None,
            refresh_token=refresh_token or None,
            token_uri=token_uri,
            client_id=client_id,
            client_secret=client_secret,
            scopes=[SCOPE],
            expiry=expiry,
        )
        self._saved_token = access_token
        self._on_token_refresh = on_token_refresh
        self._endpoint = endpoint
        self._batch_size = batch_size
        self._retry_budget = retry_budget
        self._clock = clock
        self._sleep = sleep
        self._request_timeout = request_timeout
        self._http = self._new_http()
        # httplib2 connections are not thread-safe: each fetching thread has its own.
        self._local = threading.local()
        self._service = build(
            "gmail",
            "v1",
            http=self._http,
            static_discovery=True,
            client_options={"api_endpoint": endpoint},
            cache_discovery=False,
        )
        # Building a discovery resource costs milliseconds: build each one once.
        self._users = self._service.users()
        self._messages = self._users.messages()
        self._labels = self._users.labels()
        self._history = self._users.history()
        self._threads = self._users.threads()
        self.bucket = TokenBucket(
            units_per_minute=quota_units_per_minute,
            # One full batch must fit, else it could never be paid for at once.
            burst_units=max(batch_size * UNITS["messages.get"], quota_units_per_minute // 30),
            clock=clock,
            sleep=sleep,
        )

    # --- API calls -------------------------------------------------------------

    def get_profile(self) -> dict:
        return self._call("users.getProfile", lambda: self._users.getProfile(userId="me"))

    def list_labels(self) -> list[dict]:
        response = self._call("labels.list", lambda: self._labels.list(userId="me"))
        return response.get("labels", [])

    def list_messages(
        self, *, page_token: str | None = None, label_id: str | None = None
    ) -> MessagePage:
        """A page of message ids, newest first; with `label_id`, those carrying that label."""
        response = self._call(
            "messages.list",
            lambda: self._messages.list(
                userId="me",
                maxResults=PAGE_SIZE,
                pageToken=page_token,
                includeSpamTrash=True,
                labelIds=[label_id] if label_id else None,
            ),
        )
        listed = response.get("messages", [])
        return MessagePage(
            ids=[item["id"] for item in listed],
            next_page_token=response.get("nextPageToken"),
            estimate=int(response.get("resultSizeEstimate", 0)),
            threads={item["id"]: item.get("threadId", item["id"]) for item in listed},
        )

    def list_history(self, *, start_history_id: str, page_token: str | None = None) -> HistoryPage:
        try:
            response = self._call(
                "history.list",
                lambda: self._history.list(
                    userId="me",
                    startHistoryId=start_history_id,
                    pageToken=page_token,
                    maxResults=PAGE_SIZE,
                ),
            )
        except HttpError as exc:
            if exc.resp.status == 404:
                raise HistoryExpired(
                    f"Gmail no longer has the changes since history id {start_history_id}"
                ) from exc
            raise
        return HistoryPage(
            records=response.get("history", []),
            next_page_token=response.get("nextPageToken"),
            history_id=str(response["historyId"]),
        )

    def get_messages(self, ids: Iterable[str], *, format: str = "full") -> FetchResult:
        """Fetch messages in batches; only the parts that failed are sent again."""
        result = FetchResult()
        ids = list(ids)
        for start in range(0, len(ids), self._batch_size):
            self._fetch_batch(
                ids[start : start + self._batch_size], "messages.get", format, result
            )
        return result

    def get_threads(self, thread_ids: Iterable[str], *, format: str = "full") -> FetchResult:
        """Fetch whole threads: `found` holds their messages by id, `missing` gone threads."""
        result = FetchResult()
        thread_ids = list(thread_ids)
        for start in range(0, len(thread_ids), THREADS_PER_BATCH):
            chunk = thread_ids[start : start + THREADS_PER_BATCH]
            self._fetch_batch(chunk, "threads.get", format, result)
        return result

    # --- machinery -------------------------------------------------------------

    def _new_http(self) -> google_auth_httplib2.AuthorizedHttp:
        return google_auth_httplib2.AuthorizedHttp(
            self._credentials, http=httplib2.Http(timeout=self._request_timeout)
        )

    def _thread_http(self) -> google_auth_httplib2.AuthorizedHttp:
        http = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = self._new_http()
        return http

    def _fetch_batch(self, ids: list[str], method: str, format: str, result: FetchResult) -> None:
        resource = self._threads if method == "threads.get" else self._messages
        pending = ids
        deadline = None
        attempt = 0
        while pending:
            failures: dict[str, _Failure] = {}
            self.bucket.acquire(UNITS[method] * len(pending))
            batch = BatchHttpRequest(
                callback=partial(self._collect, result=result, failures=failures),
                batch_uri=self._endpoint + "batch",
            )
            for item_id in pending:
                batch.add(resource.get(userId="me", id=item_id, format=format), request_id=item_id)
            try:
                batch.execute(http=self._thread_http())
            except Exception as exc:
                failures = dict.fromkeys(pending, self._classify(exc))
            finally:
                self._save_refreshed_token()
            if not failures:
                return
            fatal = [failure for failure in failures.values() if not failure.retryable]
            if fatal:
                raise GmailError(f"Gmail refused to send messages: {fatal[0].reason}")
            reason = next(iter(failures.values())).reason
            retry_at = max((f.retry_at for f in failures.values() if f.retry_at), default=None)
            deadline = deadline or self._clock() + self._retry_budget
            self._wait_before_retry(attempt, reason, retry_at, deadline)
            attempt += 1
            pending = [item_id for item_id in pending if item_id in failures]
            logger.info("retrying %d of %d in a batch: %s", len(pending), len(ids), reason)

    def _collect(
        self,
        request_id: str,
        response: dict | None,
        exception: Exception | None,
        *,
        result: FetchResult,
        failures: dict[str, _Failure],
    ) -> None:
        """Sort one part of a batch response: found, gone, or to be retried."""
        if exception is None:
            if "messages" in response:
                # A thread: its messages, by their own ids.
                result.found.update((message["id"], message) for message in response["messages"])
            else:
                result.found[request_id] = response
        elif isinstance(exception, HttpError) and exception.resp.status == 404:
            result.missing.append(request_id)
        else:
            failures[request_id] = self._classify(exception)

    def _call(self, method: str, make_request: Callable[[], object]) -> dict:
        """Execute one API call, retrying what can be retried within the budget."""
        deadline = None
        attempt = 0
        while True:
            self.bucket.acquire(UNITS[method])
            try:
                return make_request().execute(http=self._http, num_retries=0)
            except HttpError as exc:
                if exc.resp.status == 404:
                    raise
                failure = self._classify(exc)
            except Exception as exc:
                failure = self._classify(exc)
            finally:
                self._save_refreshed_token()
            if not failure.retryable:
                raise GmailError(f"Gmail refused {method}: {failure.reason}")
            deadline = deadline or self._clock() + self._retry_budget
            self._wait_before_retry(attempt, failure.reason, failure.retry_at, deadline)
            attempt += 1

    def _classify(self, exc: Exception) -> _Failure:
        if isinstance(exc, RefreshError):
            if "invalid_grant" in str(exc):
                raise ReconnectRequired(_first_line(exc)) from exc
            # google-auth says which refresh failures are worth another try
            # (its token endpoint busy); the rest (a missing client id, say) never heal.
            return _Failure(exc.retryable, f"token refresh failed: {_first_line(exc)}")
        if isinstance(exc, HttpError):
            status = exc.resp.status
            error = _error_body(exc)
            message = error.get("message") or exc.reason or f"HTTP {status}"
            reasons = {item.get("reason") for item in error.get("errors", [])}
            if status == 429 or (status == 403 and reasons & RATE_LIMIT_REASONS):
                return _Failure(True, f"rate limited ({message})", _retry_at(message))
            if status >= 500:
                return _Failure(True, f"Gmail server error {status} ({message})")
            if status == 401 or (status == 403 and "insufficientPermissions" in reasons):
                raise ReconnectRequired(message) from exc
            return _Failure(False, f"HTTP {status}: {message}")
        if isinstance(exc, OSError | httplib2.HttpLib2Error | TransportError):
            return _Failure(True, f"connection problem ({exc.__class__.__name__}: {exc})")
        raise exc

    def _wait_before_retry(
        self, attempt: int, reason: str, retry_at: float | None, deadline: float
    ) -> None:
        now = self._clock()
        if retry_at is not None:
            delay = max(0.0, retry_at - now) + random.uniform(0, 0.25)
            self.bucket.pause_until(retry_at)
        else:
            ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
            delay = random.uniform(ceiling / 2, ceiling)
        if now + delay > deadline:
            raise GmailUnavailable(
                f"Gmail kept failing for {self._retry_budget:.0f} seconds; last: {reason}"
            )
        logger.info("Gmail: %s; retrying in %.1fs", reason, delay)
        self._sleep(delay)

    def _save_refreshed_token(self) -> None:
        token = self._credentials.token
        if token and token != self._saved_token:
            self._saved_token = token
            expiry = self._credentials.expiry
            self._on_token_refresh(token, expiry.replace(tzinfo=UTC) if expiry else None)


def _error_body(exc: HttpError) -> dict:
    try:
        body = json.loads(exc.content)
    except (TypeError, ValueError):
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _retry_at(message: str) -> float | None:
    match = RETRY_AFTER.search(message)
    if not match:
        return None
    try:
        return datetime.fromisoformat(match.group(1).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__


def gmail_client_for(mailbox, *, on_token_refresh: TokenSaver, **overrides) -> GmailClient:
    """A client for a mailbox, configured from settings."""
    options = {
        "access_token": mailbox.access_token,
        "refresh_token": mailbox.refresh_token,
        "token_expires_at": mailbox.token_expires_at,
        "on_token_refresh": on_token_refresh,
        "endpoint": settings.GMAIL_API_ENDPOINT,
        "token_uri": settings.GOOGLE_TOKEN_URI,
        "client_id": settings.GOOGLE_CLIENT_ID,
        "client_secret": settings.GOOGLE_CLIENT_SECRET,
        "quota_units_per_minute": settings.GMAIL_QUOTA_UNITS_PER_MINUTE,
        "batch_size": settings.GMAIL_BATCH_SIZE,
        "request_timeout": settings.GMAIL_REQUEST_TIMEOUT_SECONDS,
        "retry_budget": settings.GMAIL_RETRY_BUDGET_SECONDS,
    }
    options.update(overrides)
    return GmailClient(**options)
