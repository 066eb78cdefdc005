"""A task delivered twice syncs once; a run released under a live worker gets no more writes."""

from collections import Counter

import pytest
from django.utils import timezone
from django_q.models import Task

from syncapp import queue
from syncapp.models import Message, SyncRun, WorkerProcess
from syncapp.runs import sync_run_release, sync_run_start
from tests.helpers import assert_database_matches, fetched_message_ids
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_same_task_delivered_twice_syncs_once(
    emulate, alice_mailbox, start_cluster, broker, fast_timings
):
    emulator = emulate(email=alice_mailbox.email, messages=200, seed=51, latency_ms=20)
    # Two worker processes, so that both deliveries can be taken at the same time.
    cluster = start_cluster(Q_WORKERS="2")
    wait_for(
        lambda: WorkerProcess.objects.count() == 2, timeout=30, what="the cluster's two workers"
    )

    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)
    run.refresh_from_db()
    task_id, _ = queue.enqueue_sync_run(run_id=run.pk, lane=queue.Lane.INTERACTIVE)
    deliveries = [run.task_id, task_id]
    wait_for(
        lambda: Task.objects.filter(id__in=deliveries).count() == 2,
        timeout=60,
        what=lambda: f"both deliveries to be processed\n{cluster.output()}",
    )

    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert list(SyncRun.objects.filter(mailbox=alice_mailbox)) == [run]
    fetches = Counter(fetched_message_ids(emulator))
    assert len(fetches) == 200
    assert set(fetches.values()) == {1}, "a message was fetched twice"
    assert f"run {run.pk} not claimed by" in cluster.output()
    assert_database_matches(alice_mailbox, emulator.mailbox())


def test_a_run_released_under_a_live_worker_gets_no_more_writes(
    emulate, alice_mailbox, start_cluster, broker, fast_timings
):
    fast_timings.GMAIL_BATCH_SIZE = 10
    emulate(email=alice_mailbox.email, messages=400, seed=52, latency_ms=60)
    cluster = start_cluster()
    wait_for(lambda: WorkerProcess.objects.exists(), timeout=30, what="the cluster's worker")
    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)
    wait_for(
        lambda: SyncRun.objects.get(pk=run.pk).processed >= 50,
        timeout=60,
        what=lambda: f"the run to make progress\n{cluster.output()}",
    )

    assert sync_run_release(run_id=run.pk, by="alice")
    released_at = timezone.now()
    stored_at_release = Message.objects.filter(mailbox=alice_mailbox).count()
    released = SyncRun.objects.get(pk=run.pk)

    wait_for(
        lambda: WorkerProcess.objects.filter(run=None, idle_since__gte=released_at).exists(),
        timeout=30,
        what=lambda: f"the worker to stop the released run\n{cluster.output()}",
    )
    assert f"run {run.pk}: stopped without writing more" in cluster.output()
    # The worker is idle again and still alive: it stopped; it did not die.
    assert cluster.running()
    assert Message.objects.filter(mailbox=alice_mailbox).count() == stored_at_release
    assert stored_at_release < 400
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert run.failure == SyncRun.Failure.RELEASED
    assert run.error.startswith("Released by alice at ")
    assert (run.processed, run.heartbeat_at, run.finished_at) == (
        released.processed,
        released.heartbeat_at,
        released.finished_at,
    )
    assert run.retry_at is None
    assert list(SyncRun.objects.filter(mailbox=alice_mailbox)) == [run], "a retry was started"
