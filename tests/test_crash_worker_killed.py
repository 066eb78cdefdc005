"""kill -9 in the middle of a slice: once its lease lapses the same run goes on, nothing lost."""

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


def test_a_run_whose_cluster_was_killed_goes_on_once_its_lease_lapses(
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
    wait_for(
        lambda: SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.SUCCEEDED).exists(),
        timeout=90,
        what=lambda: f"the run to go on and finish\n{second.output()}",
    )

    run.refresh_from_db()
    assert (run.interruptions, run.slices) == (1, 2)
    assert run.last_interruption.startswith("the worker stopped responding; last heartbeat at ")
    assert list(SyncRun.objects.all()) == [run], "one run from start to end"
    refetched = set(fetched_message_ids(emulator))
    assert not refetched & stored_before_kill, "the next slice fetched stored messages again"
    assert_database_matches(alice_mailbox, emulator.mailbox())
    assert client.get("/health/").status_code == 200
