"""No worker at all: the run waits, health says why, and it runs once a worker starts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from syncapp.models import SyncRun, WorkerProcess
from syncapp.runs import sync_run_start
from syncapp.worker.reaper import sync_runs_reap
from tests.helpers import assert_database_matches
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_run_waits_for_a_worker_and_runs_once_one_starts(
    emulate, alice, alice_mailbox, start_cluster, broker, fast_timings, client
):
    emulator = emulate(email=alice_mailbox.email, messages=80, seed=22)
    client.force_login(alice)

    run, created = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)

    assert created
    assert not WorkerProcess.objects.exists()
    # Within the queue timeout, no reaper may end a run only because it waits.
    assert sync_runs_reap().ended == []
    run.refresh_from_db()
    assert run.status == SyncRun.Status.CREATED
    assert run.task_id, "the run was not handed to the broker"
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["queued"] >= 1
    assert response.json()["workers_alive"] == 0
    assert "No sync worker is running; your sync is queued." in client.get("/").content.decode()

    cluster = start_cluster()
    finished = wait_for(
        lambda: SyncRun.objects.finished().filter(pk=run.pk).first(),
        timeout=60,
        what=lambda: f"the new cluster to run the waiting sync\n{cluster.output()}",
    )

    assert finished.status == SyncRun.Status.SUCCEEDED, finished.error
    assert finished.attempt == 1, "the waiting run itself ran, not a retry of it"
    assert_database_matches(alice_mailbox, emulator.mailbox())
    healthy = client.get("/health/")
    assert healthy.status_code == 200, healthy.json()
    assert healthy.json()["workers_alive"] >= 1
    assert "No sync worker is running" not in client.get("/").content.decode()


def test_a_run_no_worker_ever_takes_fails_after_the_queue_timeout(alice_mailbox, settings):
    settings.SYNC_QUEUE_TIMEOUT_SECONDS = 2
    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)

    assert sync_runs_reap().ended == []
    report = sync_runs_reap(now=timezone.now() + timedelta(seconds=3))

    run.refresh_from_db()
    assert report.ended == [run.pk]
    assert report.retried == [], "a retry would wait for a worker just the same"
    assert run.status == SyncRun.Status.FAILED
    assert run.failure == SyncRun.Failure.NO_WORKER
    assert run.error == (
        "No sync worker has been running for 2 seconds, so this sync could not go on. "
        "Start them (manage.py syncworkers) and sync again."
    )
    assert run.retry_at is None
