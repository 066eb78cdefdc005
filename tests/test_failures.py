"""A failure's kind decides its retry; its message names the stage the sync was in."""

import pytest
from django.db import OperationalError

from syncapp.gmail.errors import GmailError, GmailUnavailable, ReconnectRequired
from syncapp.models import SyncRun
from syncapp.worker.failures import classify_failure

Failure = SyncRun.Failure


@pytest.mark.parametrize(
    ("exc", "failure", "message"),
    [
        (
            ReconnectRequired("Token has been expired or revoked."),
            Failure.RECONNECT,
            "Reconnect your Google account: Gmail no longer accepts this mailbox's access. "
            "(Token has been expired or revoked.)",
        ),
        (
            GmailUnavailable("503 backendError"),
            Failure.GMAIL_UNAVAILABLE,
            "Gmail error while listing messages: 503 backendError",
        ),
        (
            GmailError("400 invalid pageToken"),
            Failure.GMAIL_REFUSED,
            "Gmail error while listing messages: 400 invalid pageToken",
        ),
        (
            OperationalError("connection lost"),
            Failure.DATABASE,
            "Database error while listing messages: OperationalError: connection lost",
        ),
        (
            KeyError("threadId"),
            Failure.ERROR,
            "Unexpected error while listing messages: KeyError: 'threadId'",
        ),
    ],
)
def test_it_names_the_failure_and_the_stage(exc, failure, message):
    assert classify_failure(exc, stage="listing messages") == (failure, message)


def test_only_failures_unrelated_to_the_mailbox_are_retried_by_themselves():
    retried = {kind for kind in Failure if kind in SyncRun.RETRYABLE_FAILURES}

    assert retried == {
        Failure.WORKER_LOST,
        Failure.TASK_LOST,
        Failure.NOT_QUEUED,
        Failure.GMAIL_UNAVAILABLE,
        Failure.DATABASE,
    }
