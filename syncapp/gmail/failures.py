"""Why a call to Gmail failed, whether trying again can help, and when to try."""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httplib2
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.errors import HttpError

from syncapp.gmail.errors import GmailUnavailable, ReconnectRequired
from syncapp.gmail.pacing import TokenBucket

logger = logging.getLogger(__name__)

RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
RETRY_AFTER = re.compile(r"Retry after (\d{4}-\d\d-\d\dT[\d:.]+Z)")
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 32.0
TOO_MANY_CONCURRENT = "Too many concurrent requests for user"
# Gmail's words for a limit of the whole project (per minute or per day), unlike
# "User-rate limit exceeded".
PROJECT_LIMIT_WORDS = ("project", "queries per minute", "per day", "daily limit")
# Gmail's concurrency limit clears as soon as other calls finish, and by then the
# client has fewer calls in flight: a short wait is enough.
CONCURRENCY_BACKOFF_BASE_SECONDS = 0.1
CONCURRENCY_BACKOFF_CAP_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Failure:
    """Why one call failed, and whether trying again can help."""

    retryable: bool
    reason: str
    retry_at: float | None = None
    # Gmail's per-user concurrency limit, not its quota.
    concurrent: bool = False
    # The whole project is over its quota, not one mailbox: every worker pauses.
    project: bool = False


def classify(exc: Exception) -> Failure:
    """What a failed call means; raises ReconnectRequired, and what it does not know."""
    if isinstance(exc, RefreshError):
        if "invalid_grant" in str(exc):
            raise ReconnectRequired(first_line(exc)) from exc
        # google-auth says which refresh failures are worth another try
        # (its token endpoint busy); the rest (a missing client id, say) never heal.
        return Failure(exc.retryable, f"token refresh failed: {first_line(exc)}")
    if isinstance(exc, HttpError):
        return _classify_http(exc)
    if isinstance(exc, OSError | httplib2.HttpLib2Error | TransportError):
        return Failure(True, f"connection problem ({exc.__class__.__name__}: {exc})")
    raise exc


def _classify_http(exc: HttpError) -> Failure:
    status = exc.resp.status
    error = _error_body(exc)
    message = error.get("message") or exc.reason or f"HTTP {status}"
    reasons = {item.get("reason") for item in error.get("errors", [])}
    if status == 429 and TOO_MANY_CONCURRENT in message:
        return Failure(True, "too many concurrent requests", concurrent=True)
    if status == 429 or (status == 403 and reasons & RATE_LIMIT_REASONS):
        project = any(words in message.lower() for words in PROJECT_LIMIT_WORDS)
        return Failure(True, f"rate limited ({message})", _retry_at(message), project=project)
    if status >= 500:
        return Failure(True, f"Gmail server error {status} ({message})")
    if status == 401 or (status == 403 and "insufficientPermissions" in reasons):
        raise ReconnectRequired(message) from exc
    return Failure(False, f"HTTP {status}: {message}")


class Backoff:
    """Waits between attempts, or gives up (GmailUnavailable) past the deadline.

    It waits until Gmail's "Retry after" when Gmail names one, else exponentially
    longer with jitter (starting shorter after a concurrency 429).
    """

    def __init__(
        self,
        *,
        budget: float,
        bucket: TokenBucket,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        pause_project: Callable[[float], None] | None = None,
    ) -> None:
        self.budget = budget
        # Tells every worker (the shared quota ledger) that the project is over its quota.
        self._pause_project = pause_project
        self._bucket = bucket
        self._clock = clock
        self._sleep = sleep

    def deadline(self) -> float:
        """When a call failing from now on must give up."""
        return self._clock() + self.budget

    def wait(self, attempt: int, failure: Failure, deadline: float) -> None:
        now = self._clock()
        if failure.retry_at is not None:
            delay = max(0.0, failure.retry_at - now) + random.uniform(0, 0.25)
            self._bucket.pause_until(failure.retry_at)
        else:
            base, cap = BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS
            if failure.concurrent:
                base, cap = CONCURRENCY_BACKOFF_BASE_SECONDS, CONCURRENCY_BACKOFF_CAP_SECONDS
            ceiling = min(cap, base * 2**attempt)
            delay = random.uniform(ceiling / 2, ceiling)
        if failure.project and self._pause_project is not None:
            self._pause_project(now + delay)
        if now + delay > deadline:
            raise GmailUnavailable(
                f"Gmail kept failing for {self.budget:.0f} seconds; last: {failure.reason}"
            )
        logger.info("Gmail: %s; retrying in %.1fs", failure.reason, delay)
        self._sleep(delay)


def first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__


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
