"""kill -9 in the middle of a sync: the run ends, a retry finishes it, nothing is lost."""

import pytest
from django.db import close_old_connections

from syncapp.models import Message, SyncRun, WorkerProcess
from syncapp.runs import sync_run_start
from tests.helpers import assert_database_matches, fetched_message_ids
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def fresh(query):
    close_old_connections()
    return query()


def test_a_killed_cluster_leaves_no_run_behind(
    emulate, alice_mailbox, start_cluster, broker, fast_timings, client
):
    fast_timings.GMAIL_BATCH_SIZE = 10
    emulator = emulate(email=alice_mailbox.email, messages=400, seed=21, latency_ms=60)
    first = start_cluster()
    wait_for(lambda: WorkerProcess.objects.exists(), timeout=30, what="the cluster's workers")

    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)
    wait_for(
        lambda: SyncRun.objects.get(pk=run.pk).processed >= 100,
        timeout=60,
        what=lambda: f"the run to make progress\n{first.output()}",
    )
    first.kill()
    stored_before_kill = set(Message.objects.values_list("gmail_id", flat=True))
    emulator.clear_request_log()

    assert SyncRun.objects.get(pk=run.pk).status == SyncRun.Status.RUNNING
    unhealthy = wait_for(
        lambda: (response := client.get("/health/")).status_code == 503 and response,
        timeout=30,
        what="/health/ to notice that no worker is alive",
    )
    assert unhealthy.json()["workers_alive"] == 0

    second = start_cluster()
    retry = wait_for(
        lambda: SyncRun.objects.filter(retry_of=run.pk, status=SyncRun.Status.SUCCEEDED).first(),
        timeout=90,
        what=lambda: f"a retry to finish the sync\n{second.output()}",
    )

    dead = SyncRun.objects.get(pk=run.pk)
    assert dead.status == SyncRun.Status.FAILED
    assert dead.failure == SyncRun.Failure.WORKER_LOST
    assert dead.error.startswith("The worker stopped responding; last heartbeat at ")
    assert (retry.trigger, retry.attempt) == (SyncRun.Trigger.RETRY, 2)
    refetched = set(fetched_message_ids(emulator))
    assert not refetched & stored_before_kill, "the retry fetched stored messages again"
    assert_database_matches(alice_mailbox, emulator.mailbox())
    assert client.get("/health/").status_code == 200
