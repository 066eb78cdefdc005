"""Batch requests: as many calls in one HTTP request as the calls in flight allow.

Each batch holds at most the ids of one `fetch` (GMAIL_BATCH_SIZE), and no more calls
than the client's share of calls in flight (`inflight`). Only the parts that failed
are sent again, before the ids not sent yet.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from functools import partial

from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from syncapp.gmail.errors import GmailError
from syncapp.gmail.failures import Backoff, Failure, classify
from syncapp.gmail.inflight import CallsInFlight
from syncapp.gmail.results import FetchResult

logger = logging.getLogger(__name__)

UNITS = {
    "users.getProfile": 1,
    "labels.list": 1,
    "history.list": 2,
    "messages.list": 5,
    "messages.get": 5,
    "users.watch": 100,
    "users.stop": 50,
}


class BatchFetcher:
    """Fetches resources by id in batch requests, each thread on its own connection."""

    def __init__(
        self,
        *,
        endpoint: str,
        http: Callable[[], object],
        pay: Callable[[int], None],
        keep_paid: Callable[[int], None],
        in_flight: CallsInFlight,
        backoff: Backoff,
        after_call: Callable[[], None],
    ) -> None:
        self._batch_uri = endpoint + "batch"
        self._http = http
        # Spends quota units (the shared ledger's, then the bucket's), or raises QuotaSpent.
        self._pay = pay
        # Keeps units paid for calls not sent, for the client's next call.
        self._keep_paid = keep_paid
        self._in_flight = in_flight
        self._backoff = backoff
        # Saves a token the call may have refreshed.
        self._after_call = after_call

    def fetch(
        self, ids: list[str], *, resource: Resource, method: str, format: str, result: FetchResult
    ) -> None:
        """Fetch `ids` into `result`, sending the parts that failed again."""
        pending = deque(ids)
        deadline = None
        attempt = 0
        while pending:
            # Quota first, so that the calls counted in flight are on their way to Gmail.
            wanted = self._in_flight.share(len(pending))
            self._pay(UNITS[method] * wanted)
            grant = self._in_flight.acquire(wanted)
            self._keep_paid(UNITS[method] * (wanted - grant.calls))
            sent = [pending.popleft() for _ in range(grant.calls)]
            failures: dict[str, Failure] = {}
            try:
                failures = self._send(sent, resource, method, format, result)
            finally:
                refused = sum(1 for failure in failures.values() if failure.concurrent)
                self._in_flight.release(grant, refused=refused)
            if result.keep_error is not None:
                raise result.keep_error
            if not failures:
                continue
            worst = _worst(failures.values())
            deadline = deadline or self._backoff.deadline()
            self._backoff.wait(attempt, worst, deadline)
            attempt += 1
            retried = [item_id for item_id in sent if item_id in failures]
            pending.extendleft(reversed(retried))
            logger.info("retrying %d of %d in a batch: %s", len(retried), len(sent), worst.reason)

    def _send(
        self, ids: list[str], resource: Resource, method: str, format: str, result: FetchResult
    ) -> dict[str, Failure]:
        """One batch request, paid for; the failures of its parts, by id."""
        failures: dict[str, Failure] = {}
        batch = BatchHttpRequest(
            callback=partial(_collect, result=result, failures=failures),
            batch_uri=self._batch_uri,
        )
        for item_id in ids:
            batch.add(resource.get(userId="me", id=item_id, format=format), request_id=item_id)
        try:
            batch.execute(http=self._http())
        except Exception as exc:
            failures = dict.fromkeys(ids, classify(exc))
        finally:
            self._after_call()
        return failures


def _worst(failures: Iterable[Failure]) -> Failure:
    """The failure to act on for a batch: fatal first, then the longest wait."""
    failures = list(failures)
    fatal = [failure for failure in failures if not failure.retryable]
    if fatal:
        raise GmailError(f"Gmail refused to send messages: {fatal[0].reason}")
    # A quota 429 or a server error calls for a longer wait than a concurrency 429.
    slowest = [failure for failure in failures if not failure.concurrent] or failures
    retry_at = max((f.retry_at for f in slowest if f.retry_at), default=None)
    return Failure(True, slowest[0].reason, retry_at, concurrent=slowest[0].concurrent)


def _collect(
    request_id: str,
    response: dict | None,
    exception: Exception | None,
    *,
    result: FetchResult,
    failures: dict[str, Failure],
) -> None:
    """Sort one part of a batch response: found, gone, or to be retried."""
    if exception is None:
        # googleapiclient hands over a response exactly when there is no exception.
        assert response is not None
        result.add(request_id, response)
    elif isinstance(exception, HttpError) and exception.resp.status == 404:
        result.missing.append(request_id)
    else:
        failures[request_id] = classify(exception)
