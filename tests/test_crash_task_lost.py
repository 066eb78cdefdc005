"""A queued run whose task vanished from the broker is queued again, and syncs."""

import pytest

from syncapp.models import SyncRun, WorkerProcess
from syncapp.runs import sync_run_start
from tests.helpers import assert_database_matches
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_run_whose_task_was_lost_is_queued_again_and_syncs(
    emulate, alice_mailbox, start_cluster, broker, fast_timings
):
    emulator = emulate(email=alice_mailbox.email, messages=50, seed=4)
    cluster = start_cluster()
    wait_for(lambda: WorkerProcess.objects.exists(), timeout=30, what="the cluster's workers")
    # Created but never handed to the broker: as if the worker holding it died.
    lost, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB, enqueue=False)

    wait_for(
        lambda: SyncRun.objects.filter(pk=lost.pk, status=SyncRun.Status.SUCCEEDED).exists(),
        timeout=60,
        what=lambda: f"the lost run to be queued again and sync\n{cluster.output()}",
    )

    lost.refresh_from_db()
    assert lost.queued_at is not None and lost.task_id, "the reaper queued it again"
    assert list(SyncRun.objects.all()) == [lost], "no second run"
    assert_database_matches(alice_mailbox, emulator.mailbox())
