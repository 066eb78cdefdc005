"""The only code that talks to Gmail.

It wraps google-api-python-client with what a long sync needs: pacing by the
per-user quota (`pacing`), calls in flight adapted to Gmail's per-user concurrency limit
(`inflight`), batches that retry only their failed parts (`batches`), backoff with jitter
that honours Gmail's "Retry after", a bound on how long any call may keep retrying
(`failures`), and token refreshes saved back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

import google_auth_httplib2
import httplib2
from django.conf import settings
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from syncapp.gmail.batches import UNITS, BatchFetcher
from syncapp.gmail.errors import GmailError, HistoryExpired
from syncapp.gmail.failures import Backoff, classify
from syncapp.gmail.inflight import CallsInFlight
from syncapp.gmail.ledger import USER_BURST_SECONDS, QuotaLedger, QuotaSpent, quota_ledger
from syncapp.gmail.pacing import TokenBucket
from syncapp.gmail.results import FetchResult, HistoryPage, MessagePage

__all__ = [
    "SCOPE",
    "FetchResult",
    "GmailClient",
    "HistoryPage",
    "MessagePage",
    "gmail_client_for",
]

SCOPE = "https://www.googleapis.com/auth/gmail.readonly"
PAGE_SIZE = 500
# In a worker's slice a wait for quota up to this long is slept; a longer one ends the
# slice (QuotaSpent, the next slice due when the mailbox's bucket is half full again), so
# that the worker serves another mailbox meanwhile. Syncing in-process sleeps any wait.
QUOTA_YIELD_AFTER_SECONDS = 0.25

TokenSaver = Callable[[str, datetime | None], None]


class _Request(Protocol):
    """What `_call` uses of a googleapiclient HttpRequest (the library has no type hints)."""

    def execute(self, http: object = None, num_retries: int = 0) -> dict: ...


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
        large_message_bytes: int,
        max_calls_in_flight: int,
        request_timeout: float,
        retry_budget: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        ledger: QuotaLedger | None = None,
        quota_user: str = "",
    ) -> None:
        self._credentials = Credentials(
            token=access_token or None,
            refresh_token=refresh_token or None,
            token_uri=token_uri,
            client_id=client_id,
            client_secret=client_secret,
            scopes=[SCOPE],
            # google-auth compares expiries as naive UTC.
            expiry=token_expires_at and token_expires_at.astimezone(UTC).replace(tzinfo=None),
        )
        self._saved_token = access_token
        self._on_token_refresh = on_token_refresh
        self._batch_size = batch_size
        self._large_message_bytes = large_message_bytes
        self._large_ids: frozenset[str] | None = None
        self._request_timeout = request_timeout
        self._ledger, self._quota_user, self._clock, self._sleep = ledger, quota_user, clock, sleep
        # Units paid for calls not sent (`_keep_paid`), which the next call spends first.
        self._prepaid, self._prepaid_lock = 0, threading.Lock()
        # True in a worker's slices: a long wait for quota raises QuotaSpent instead.
        self.quota_may_yield = False
        self._http = self._new_http()
        # httplib2 connections are not thread-safe: each fetching thread has its own.
        self._local = threading.local()
        self._build_resources(endpoint)
        self.bucket = self._new_bucket(quota_units_per_minute, batch_size)
        # Shared by the threads fetching for this mailbox: Gmail limits calls in flight per user.
        self.in_flight = CallsInFlight(maximum=max_calls_in_flight)
        self._backoff = self._new_backoff(retry_budget)
        self._batches = BatchFetcher(
            endpoint=endpoint,
            http=self._thread_http,
            pay=self._pay,
            keep_paid=self._keep_paid,
            in_flight=self.in_flight,
            backoff=self._backoff,
            after_call=self._save_refreshed_token,
        )

    # --- API calls -------------------------------------------------------------

    def get_profile(self) -> dict:
        return self._call("users.getProfile", lambda: self._users.getProfile(userId="me"))

    def watch(self, *, topic: str) -> dict:
        """Have Gmail push the mailbox's changes to the Pub/Sub topic: {historyId, expiration}."""
        body = {"topicName": topic}
        return self._call("users.watch", lambda: self._users.watch(userId="me", body=body))

    def stop(self) -> None:
        """End the mailbox's push notifications."""
        self._call("users.stop", lambda: self._users.stop(userId="me"))

    def list_labels(self) -> list[dict]:
        response = self._call("labels.list", lambda: self._labels.list(userId="me"))
        return response.get("labels", [])

    def list_messages(
        self,
        *,
        page_token: str | None = None,
        label_id: str | None = None,
        query: str | None = None,
    ) -> MessagePage:
        """A page of message ids, newest first; with `label_id`, those carrying that label;
        with `query`, those Gmail's search finds."""
        response = self._call(
            "messages.list",
            lambda: self._messages.list(
                userId="me",
                maxResults=PAGE_SIZE,
                pageToken=page_token,
                includeSpamTrash=True,
                labelIds=[label_id] if label_id else None,
                q=query,
            ),
        )
        listed = response.get("messages", [])
        return MessagePage(
            ids=[item["id"] for item in listed],
            next_page_token=response.get("nextPageToken"),
            estimate=int(response.get("resultSizeEstimate", 0)),
        )

    def large_message_ids(self) -> frozenset[str]:
        """The ids of the messages larger than `large_message_bytes` (Gmail's `larger:`
        search), listed once by this client: a page of 500 for 5 units.

        Messages never change, and a client lives for one slice. What arrives after the
        listing is not known large: a full sync's later pages are older mail (listings
        are newest first), and an incremental sync asks after reading its history.
        """
        if self._large_ids is None:
            query = f"larger:{self._large_message_bytes}"
            page = self.list_messages(query=query)
            ids = set(page.ids)
            while page.next_page_token:
                page = self.list_messages(query=query, page_token=page.next_page_token)
                ids.update(page.ids)
            self._large_ids = frozenset(ids)
        return self._large_ids

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

    def get_messages(
        self,
        ids: Iterable[str],
        *,
        format: str = "full",
        keep: Callable[[dict], Any] | None = None,
    ) -> FetchResult:
        """Fetch messages in batches; only the parts that failed are sent again.

        `keep` is applied to each message as it arrives (see FetchResult).
        """
        return self._fetch(list(ids), format, keep)

    def get_message(self, gmail_id: str, *, format: str = "full") -> dict | None:
        """Fetch one message on its own; None when it answers 404 (it is gone)."""
        try:
            return self._call(
                "messages.get",
                lambda: self._messages.get(userId="me", id=gmail_id, format=format),
            )
        except HttpError as exc:
            if exc.resp.status == 404:
                return None
            raise

    # --- machinery -------------------------------------------------------------

    def _build_resources(self, endpoint: str) -> None:
        service = build(
            "gmail",
            "v1",
            http=self._http,
            static_discovery=True,
            client_options={"api_endpoint": endpoint},
            cache_discovery=False,
        )
        # Building a discovery resource costs milliseconds: build each one once.
        self._users = service.users()
        self._messages = self._users.messages()
        self._labels = self._users.labels()
        self._history = self._users.history()

    def _new_bucket(self, quota_units_per_minute: int, batch_size: int) -> TokenBucket:
        return TokenBucket(
            units_per_minute=quota_units_per_minute,
            # One full batch must fit, else it could never be paid for at once; as deep
            # as the shared ledger's bucket, so that a slice spends its burst at full speed.
            burst_units=max(
                batch_size * UNITS["messages.get"],
                quota_units_per_minute * USER_BURST_SECONDS // 60,
            ),
            clock=self._clock,
            sleep=self._sleep,
        )

    def _new_backoff(self, retry_budget: float) -> Backoff:
        return Backoff(
            budget=retry_budget,
            bucket=self.bucket,
            clock=self._clock,
            sleep=self._sleep,
            pause_project=self._pause_project,
        )

    def _new_http(self) -> google_auth_httplib2.AuthorizedHttp:
        return google_auth_httplib2.AuthorizedHttp(
            self._credentials, http=httplib2.Http(timeout=self._request_timeout)
        )

    def _thread_http(self) -> google_auth_httplib2.AuthorizedHttp:
        http = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = self._new_http()
        return http

    def _fetch(
        self, ids: list[str], format: str, keep: Callable[[dict], Any] | None
    ) -> FetchResult:
        result = FetchResult(keep=keep)
        per_batch = self._batch_size
        for start in range(0, len(ids), per_batch):
            self._batches.fetch(
                ids[start : start + per_batch],
                resource=self._messages,
                method="messages.get",
                format=format,
                result=result,
            )
        return result

    def _call(self, method: str, make_request: Callable[[], _Request]) -> dict:
        """Execute one API call, retrying what can be retried within the budget."""
        deadline = None
        attempt = 0
        while True:
            self._pay(UNITS[method])
            grant = self.in_flight.acquire(1)
            failure = None
            try:
                return make_request().execute(http=self._http, num_retries=0)
            except HttpError as exc:
                if exc.resp.status == 404:
                    raise
                failure = classify(exc)
            except Exception as exc:
                failure = classify(exc)
            finally:
                self.in_flight.release(grant, refused=int(bool(failure and failure.concurrent)))
                self._save_refreshed_token()
            if not failure.retryable:
                raise GmailError(f"Gmail refused {method}: {failure.reason}")
            deadline = deadline or self._backoff.deadline()
            self._backoff.wait(attempt, failure, deadline)
            attempt += 1

    def _pay(self, units: int) -> None:
        """Spend quota units: the shared ledger's (every worker's), then this process's
        bucket, which adapts to Gmail's 429s. Raises QuotaSpent on a long wait when
        `quota_may_yield`. Units kept from calls not sent are spent first."""
        with self._prepaid_lock:
            prepaid = min(units, self._prepaid)
            self._prepaid -= prepaid
        try:
            self._pay_quota(units - prepaid)
        except BaseException:
            self._keep_paid(prepaid)
            raise

    def _keep_paid(self, units: int) -> None:
        """Keep units paid for calls that were not sent (a batch pays for its share of
        the calls in flight and may be granted fewer), so that the shared ledger counts
        only what Gmail is sent."""
        with self._prepaid_lock:
            self._prepaid += units

    def _pay_quota(self, units: int) -> None:
        if units <= 0:
            return
        while self._ledger is not None:
            answer = self._ledger.take(user=self._quota_user, units=units, now=self._clock())
            if answer.granted:
                break
            if self.quota_may_yield and answer.wait > QUOTA_YIELD_AFTER_SECONDS:
                back_in = self._ledger.limits.refilled_in(answer, units=units)
                raise QuotaSpent(retry_at=self._clock() + back_in, reason=answer.reason)
            self._sleep(answer.wait)
        self.bucket.acquire(units)

    def _pause_project(self, until: float) -> None:
        if self._ledger is not None:
            self._ledger.pause_project(until=until, now=self._clock())

    def _save_refreshed_token(self) -> None:
        token = self._credentials.token
        if token and token != self._saved_token:
            self._saved_token = token
            expiry = self._credentials.expiry
            self._on_token_refresh(token, expiry.replace(tzinfo=UTC) if expiry else None)


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
        "large_message_bytes": settings.GMAIL_LARGE_MESSAGE_BYTES,
        # Never more than the engine's batches in flight could hold.
        "max_calls_in_flight": settings.GMAIL_BATCH_SIZE * settings.GMAIL_CONCURRENT_BATCHES,
        "request_timeout": settings.GMAIL_REQUEST_TIMEOUT_SECONDS,
        "retry_budget": settings.GMAIL_RETRY_BUDGET_SECONDS,
        "ledger": quota_ledger(),
        "quota_user": mailbox.email,
    }
    options.update(overrides)
    return GmailClient(**options)
