"""The worker's database connections killed mid-sync: the run ends cleanly, a retry finishes."""

import time

import pytest
from django.db import close_old_connections, connection

from syncapp.models import SyncRun, WorkerProcess
from syncapp.runs import sync_run_start
from tests.helpers import assert_database_matches
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

CLEAN_FAILURES = {SyncRun.Failure.DATABASE, SyncRun.Failure.WORKER_LOST}


def terminate_other_backends() -> int:
    """Kill every connection to the test database but this test's own; returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return sum(1 for (terminated,) in cursor.fetchall() if terminated)


def keep_terminating(*, seconds: float) -> int:
    """Kill the other connections again and again, as reconnections come back."""
    terminated = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        terminated += terminate_other_backends()
        time.sleep(0.05)
    return terminated


def test_killed_database_connections_end_in_a_complete_sync(
    emulate, alice_mailbox, start_cluster, broker, fast_timings
):
    fast_timings.GMAIL_BATCH_SIZE = 10
    # django-q's ORM pusher sleeps 10 s after a failed pull before it is restarted; a
    # shorter grace takes that pause for a lost task and spends retries on TASK_LOST.
    fast_timings.SYNC_QUEUE_GRACE_SECONDS = 15
    emulator = emulate(email=alice_mailbox.email, messages=300, seed=41, latency_ms=40)
    cluster = start_cluster()
    wait_for(lambda: WorkerProcess.objects.exists(), timeout=30, what="the cluster's workers")
    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)
    wait_for(
        lambda: SyncRun.objects.get(pk=run.pk).processed >= 60,
        timeout=60,
        what=lambda: f"the run to make progress\n{cluster.output()}",
    )

    assert keep_terminating(seconds=1.5) > 0

    close_old_connections()
    succeeded = wait_for(
        lambda: SyncRun.objects.filter(
            mailbox=alice_mailbox, status=SyncRun.Status.SUCCEEDED
        ).first(),
        timeout=90,
        what=lambda: f"a run of the mailbox to succeed\n{cluster.output()}",
    )

    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED or run.failure in CLEAN_FAILURES, run.error
    runs = list(SyncRun.objects.filter(mailbox=alice_mailbox).order_by("pk"))
    assert runs[-1] == succeeded, "a run was started after the sync had succeeded"
    for failed in runs[:-1]:
        assert failed.status == SyncRun.Status.FAILED
        assert failed.failure in CLEAN_FAILURES, failed.error
    assert [r.retry_of_id for r in runs[1:]] == [r.pk for r in runs[:-1]]
    assert_database_matches(alice_mailbox, emulator.mailbox())
