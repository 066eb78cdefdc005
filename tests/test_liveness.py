"""Each worker process says it is alive and whether it is busy; its beat also reaps."""

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from syncapp.models import SyncRun, WorkerProcess
from syncapp.runs import sync_run_claim
from syncapp.worker.liveness import executing, liveness_step

pytestmark = pytest.mark.django_db

STARTED = timezone.now() - timedelta(minutes=5)


def test_a_beat_records_an_idle_worker_since_it_started():
    assert liveness_step(name="host:1", started_at=STARTED)

    worker = WorkerProcess.objects.get(name="host:1")
    assert worker.run is None
    assert worker.idle_since == STARTED
    assert WorkerProcess.objects.alive(now=timezone.now()).filter(pk=worker.pk).exists()


def test_a_beat_while_executing_names_the_run_and_the_worker_is_not_idle(alice_mailbox):
    run = SyncRun.objects.create(mailbox=alice_mailbox, kind="full", trigger="web")

    with executing(run.pk):
        liveness_step(name="host:1", started_at=STARTED)

    worker = WorkerProcess.objects.get(name="host:1")
    assert (worker.run_id, worker.idle_since) == (run.pk, None)
    assert not WorkerProcess.objects.idle_since(timezone.now(), now=timezone.now()).exists()


def test_a_worker_executing_several_slices_stays_busy_until_the_last_ends(
    alice_mailbox, bob_mailbox
):
    first = SyncRun.objects.create(mailbox=alice_mailbox, kind="full", trigger="web")
    second = SyncRun.objects.create(mailbox=bob_mailbox, kind="full", trigger="web")

    with executing(first.pk):
        with executing(second.pk):
            pass
        liveness_step(name="host:1", started_at=STARTED)
        busy = WorkerProcess.objects.get(name="host:1")
    liveness_step(name="host:1", started_at=STARTED)

    assert (busy.run_id, busy.idle_since) == (first.pk, None)
    idle = WorkerProcess.objects.get(name="host:1")
    assert idle.run_id is None and idle.idle_since is not None


def test_a_beat_lets_go_of_a_run_whose_heartbeat_went_stale(alice_mailbox, settings, enqueued):
    run = SyncRun.objects.create(mailbox=alice_mailbox, kind="full", trigger="web")
    sync_run_claim(run_id=run.pk, worker="gone")
    stale = timezone.now() - timedelta(seconds=settings.SYNC_STALE_SECONDS + 60)
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=stale)

    liveness_step(name="host:1", started_at=STARTED)

    run.refresh_from_db()
    assert (run.status, run.worker, run.interruptions) == (SyncRun.Status.RUNNING, "", 1)


def test_a_beat_without_a_database_says_so_and_the_next_one_tries_again(monkeypatch):
    def database_gone(**kwargs):
        raise OperationalError("the database system is starting up")

    monkeypatch.setattr("syncapp.worker.liveness.worker_beat", database_gone)

    assert not liveness_step(name="host:1", started_at=STARTED)
