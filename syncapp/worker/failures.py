"""Why a run failed, in the words its user reads, and recording it."""

from __future__ import annotations

import logging
import time

from django.db import DatabaseError, connection

from syncapp.gmail.errors import GmailError, GmailUnavailable, ReconnectRequired
from syncapp.models import RunFailure, SyncRun
from syncapp.runs import sync_run_fail

logger = logging.getLogger(__name__)

Failure = SyncRun.Failure


def classify_failure(exc: Exception, *, stage: str) -> tuple[RunFailure, str]:
    """The failure kind (which decides on a retry) and the message for the user."""
    if isinstance(exc, ReconnectRequired):
        return Failure.RECONNECT, str(exc)
    if isinstance(exc, GmailUnavailable):
        return Failure.GMAIL_UNAVAILABLE, f"Gmail error while {stage}: {exc}"
    if isinstance(exc, GmailError):
        return Failure.GMAIL_REFUSED, f"Gmail error while {stage}: {exc}"
    if isinstance(exc, DatabaseError):
        return Failure.DATABASE, f"Database error while {stage}: {_named(exc)}"
    return Failure.ERROR, f"Unexpected error while {stage}: {_named(exc)}"


def _named(exc: Exception) -> str:
    return f"{exc.__class__.__name__}: {exc}"


def record_failure(
    *, run_id: int, worker: str, failure: RunFailure, error: str, attempts: int = 3
) -> None:
    """Record the failure, riding out a database that is briefly away."""
    for attempt in range(attempts):
        try:
            sync_run_fail(run_id=run_id, worker=worker, error=error, failure=failure)
            return
        except DatabaseError:
            logger.warning("run %s: could not record failure (try %d)", run_id, attempt + 1)
            connection.close()
            time.sleep(2**attempt)
    # The reaper ends it once its heartbeat is stale.
    logger.error("run %s: failure not recorded: %s", run_id, error)
