"""The heartbeat beats on its own thread, and notices when the run is taken away."""

import threading

import pytest
from django.utils import timezone

from syncapp.models import SyncRun
from syncapp.runs import sync_run_claim, sync_run_fail
from syncapp.worker.heartbeat import Heartbeat
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def claimed(alice_mailbox):
    run = SyncRun.objects.create(mailbox=alice_mailbox, kind="full", trigger="cli")
    return sync_run_claim(run_id=run.pk, worker="worker-1")


def test_it_beats_while_the_sync_thread_is_blocked(claimed):
    first_beat = claimed.heartbeat_at
    blocked = threading.Event()

    with Heartbeat(run_id=claimed.pk, worker="worker-1", interval=0.05):
        # The sync thread is stuck in a long call; the heartbeat must not care.
        wait_for(
            lambda: SyncRun.objects.get(pk=claimed.pk).heartbeat_at > first_beat,
            timeout=10,
            what="a beat",
            interval=0.01,
        )
        blocked.set()

    assert blocked.is_set()


def test_it_notices_a_released_run(claimed):
    sync_run_fail(run_id=claimed.pk, worker=None, error="Released by an admin", failure="released")

    with Heartbeat(run_id=claimed.pk, worker="worker-1", interval=0.05) as heartbeat:
        assert heartbeat.lost.wait(timeout=10)

    run = SyncRun.objects.get(pk=claimed.pk)
    assert run.heartbeat_at <= timezone.now()
    assert run.status == SyncRun.Status.FAILED


def test_it_stops_beating_when_the_run_ends(claimed):
    with Heartbeat(run_id=claimed.pk, worker="worker-1", interval=0.05):
        pass
    stopped_at = SyncRun.objects.get(pk=claimed.pk).heartbeat_at
    sync_run_fail(run_id=claimed.pk, worker="worker-1", error="done", failure="error")

    assert SyncRun.objects.get(pk=claimed.pk).heartbeat_at >= stopped_at
