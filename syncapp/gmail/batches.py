"""Batch requests: up to GMAIL_BATCH_SIZE calls in one HTTP request.

Only the parts that failed are sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from syncapp.gmail.errors import GmailError
from syncapp.gmail.failures import Backoff, Failure, classify
from syncapp.gmail.pacing import TokenBucket
from syncapp.gmail.results import FetchResult

logger = logging.getLogger(__name__)

UNITS = {
    "users.getProfile": 1,
    "labels.list": 1,
    "history.list": 2,
    "messages.list": 5,
    "messages.get": 5,
    "threads.get": 10,
}


class BatchFetcher:
    """Fetches resources by id in batch requests, each thread on its own connection."""

    def __init__(
        self,
        *,
        endpoint: str,
        http: Callable[[], object],
        bucket: TokenBucket,
        backoff: Backoff,
        after_call: Callable[[], None],
    ) -> None:
        self._batch_uri = endpoint + "batch"
        self._http = http
        self._bucket = bucket
        self._backoff = backoff
        # Saves a token the call may have refreshed.
        self._after_call = after_call

    def fetch(
        self, ids: list[str], *, resource: Resource, method: str, format: str, result: FetchResult
    ) -> None:
        """Fetch `ids` in one batch into `result`, sending the parts that failed again."""
        pending = ids
        deadline = None
        attempt = 0
        while pending:
            failures = self._send(pending, resource, method, format, result)
            if not failures:
                return
            fatal = [failure for failure in failures.values() if not failure.retryable]
            if fatal:
                raise GmailError(f"Gmail refused to send messages: {fatal[0].reason}")
            retry_at = max((f.retry_at for f in failures.values() if f.retry_at), default=None)
            failure = next(iter(failures.values()))
            deadline = deadline or self._backoff.deadline()
            self._backoff.wait(attempt, Failure(True, failure.reason, retry_at), deadline)
            attempt += 1
            pending = [item_id for item_id in pending if item_id in failures]
            logger.info("retrying %d of %d in a batch: %s", len(pending), len(ids), failure.reason)

    def _send(
        self, ids: list[str], resource: Resource, method: str, format: str, result: FetchResult
    ) -> dict[str, Failure]:
        """One batch request; the failures of its parts, by id."""
        failures: dict[str, Failure] = {}
        self._bucket.acquire(UNITS[method] * len(ids))
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
        if "messages" in response:
            # A thread: its messages, by their own ids.
            result.found.update((message["id"], message) for message in response["messages"])
        else:
            result.found[request_id] = response
    elif isinstance(exception, HttpError) and exception.resp.status == 404:
        result.missing.append(request_id)
    else:
        failures[request_id] = classify(exception)
