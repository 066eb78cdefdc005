"""A queued run whose task vanished from the broker still ends, and still syncs."""

import pytest

from syncapp.models import SyncRun, WorkerProcess
from syncapp.runs import sync_run_start
from tests.helpers import assert_database_matches
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_run_whose_task_was_lost_is_failed_and_retried(
    emulate, alice_mailbox, start_cluster, broker, fast_timings
):
    emulator = emulate(email=alice_mailbox.email, messages=50, seed=4)
    cluster = start_cluster()
    wait_for(lambda: WorkerProcess.objects.exists(), timeout=30, what="the cluster's workers")
    # Created but never handed to the broker: as if the worker holding it died.
    lost, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB, enqueue=False)

    retry = wait_for(
        lambda: SyncRun.objects.filter(retry_of=lost.pk, status=SyncRun.Status.SUCCEEDED).first(),
        timeout=60,
        what=lambda: f"the lost run to be retried\n{cluster.output()}",
    )

    lost.refresh_from_db()
    assert lost.status == SyncRun.Status.FAILED
    assert lost.failure == SyncRun.Failure.TASK_LOST
    assert "its queued task was lost" in lost.error
    assert retry.trigger == SyncRun.Trigger.RETRY
    assert_database_matches(alice_mailbox, emulator.mailbox())
