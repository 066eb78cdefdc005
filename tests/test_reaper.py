"""Runs that can no longer end by themselves are ended, and retried when that can help."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from syncapp.models import Mailbox, SyncRun, WorkerProcess
from syncapp.runs import (
    sync_run_claim,
    sync_run_end_if_dead,
    sync_run_fail,
    sync_run_release,
    sync_run_start,
)
from syncapp.scheduling import mailboxes_sync_all
from syncapp.worker.reaper import sync_runs_prune, sync_runs_reap

pytestmark = pytest.mark.django_db

Status = SyncRun.Status
NOW = timezone.now()


def ago(seconds):
    return NOW - timedelta(seconds=seconds)


def queued(mailbox, *, seconds_ago=0, **fields):
    run = SyncRun.objects.create(mailbox=mailbox, kind="full", trigger="web", **fields)
    SyncRun.objects.filter(pk=run.pk).update(created_at=ago(seconds_ago))
    run.refresh_from_db()
    return run


def running(mailbox, *, heartbeat_seconds_ago, **fields):
    run = queued(mailbox, seconds_ago=heartbeat_seconds_ago + 5, **fields)
    sync_run_claim(run_id=run.pk, worker="worker-1")
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=ago(heartbeat_seconds_ago))
    run.refresh_from_db()
    return run


def worker(name="host:1", *, seen_seconds_ago=1, busy_with=None, idle_seconds=300):
    return WorkerProcess.objects.create(
        name=name,
        host="host",
        pid=1,
        started_at=ago(3600),
        seen_at=ago(seen_seconds_ago),
        run=busy_with,
        idle_since=None if busy_with else ago(idle_seconds),
    )


def test_a_run_whose_worker_stopped_beating_is_interrupted_and_queued_again(
    alice_mailbox, enqueued, django_capture_on_commit_callbacks
):
    run = running(alice_mailbox, heartbeat_seconds_ago=120)

    with django_capture_on_commit_callbacks(execute=True):
        report = sync_runs_reap(now=NOW)

    run.refresh_from_db()
    assert (report.ended, report.continued) == ([], [run.pk])
    assert (run.status, run.worker, run.interruptions) == (Status.RUNNING, "", 1)
    assert run.last_interruption.startswith("the worker stopped responding; last heartbeat at ")
    assert enqueued == [run.pk]


def test_a_run_interrupted_again_and_again_without_progress_fails(alice_mailbox, settings):
    settings.SYNC_MAX_INTERRUPTIONS = 3
    run = running(alice_mailbox, heartbeat_seconds_ago=120)
    SyncRun.objects.filter(pk=run.pk).update(interruptions=2, interruptions_in_a_row=2)

    report = sync_runs_reap(now=NOW)

    run.refresh_from_db()
    assert report.ended == [run.pk]
    assert (run.status, run.failure) == (Status.FAILED, SyncRun.Failure.WORKER_LOST)
    assert run.error.startswith(
        "The sync was interrupted 3 times in a row without progress; "
        "last: the worker stopped responding; last heartbeat at "
    )
    assert run.retry_at is not None


def test_a_running_run_with_a_fresh_heartbeat_is_left_alone(alice_mailbox):
    run = running(alice_mailbox, heartbeat_seconds_ago=5)

    assert sync_runs_reap(now=NOW).ended == []
    run.refresh_from_db()
    assert run.status == Status.RUNNING


def test_it_never_fails_a_run_whose_worker_beat_meanwhile(alice_mailbox):
    seen_stale = running(alice_mailbox, heartbeat_seconds_ago=120)
    SyncRun.objects.filter(pk=seen_stale.pk).update(heartbeat_at=timezone.now())

    assert not sync_run_end_if_dead(seen_stale, now=NOW)
    assert SyncRun.objects.get(pk=seen_stale.pk).status == Status.RUNNING


def test_a_queued_run_beside_an_idle_worker_of_its_queue_is_queued_again(
    alice_mailbox, settings, enqueued, django_capture_on_commit_callbacks
):
    settings.SYNC_QUEUE_GRACE_SECONDS = 30
    worker(idle_seconds=300)
    run = queued(alice_mailbox, seconds_ago=60)

    with django_capture_on_commit_callbacks(execute=True):
        report = sync_runs_reap(now=NOW)

    run.refresh_from_db()
    assert report.continued == [run.pk]
    assert run.status == Status.CREATED
    assert enqueued == [run.pk]


def test_an_idle_worker_of_another_queue_does_not_make_a_task_lost(alice_mailbox, settings):
    settings.SYNC_QUEUE_GRACE_SECONDS = 30
    WorkerProcess.objects.filter(pk=worker(idle_seconds=300).pk).update(queue="mailsync.bulk")
    run = queued(alice_mailbox, seconds_ago=60)
    SyncRun.objects.filter(pk=run.pk).update(queue="mailsync.interactive")

    assert sync_runs_reap(now=NOW).continued == []


def test_a_queued_run_behind_busy_workers_waits(alice_mailbox, bob_mailbox):
    busy = running(bob_mailbox, heartbeat_seconds_ago=1)
    worker(busy_with=busy)
    run = queued(alice_mailbox, seconds_ago=300)

    sync_runs_reap(now=NOW)

    run.refresh_from_db()
    assert run.status == Status.CREATED


def test_a_worker_that_just_became_idle_gets_time_to_take_the_task(alice_mailbox, settings):
    settings.SYNC_QUEUE_GRACE_SECONDS = 30
    worker(idle_seconds=2)
    run = queued(alice_mailbox, seconds_ago=300)

    sync_runs_reap(now=NOW)

    assert SyncRun.objects.get(pk=run.pk).status == Status.CREATED


def test_a_queued_run_fails_when_no_worker_ran_for_the_timeout(alice_mailbox, settings):
    settings.SYNC_QUEUE_TIMEOUT_SECONDS = 600
    worker(seen_seconds_ago=3600)
    run = queued(alice_mailbox, seconds_ago=700)

    sync_runs_reap(now=NOW)

    run.refresh_from_db()
    assert run.status == Status.FAILED
    assert run.failure == SyncRun.Failure.NO_WORKER
    assert run.error == (
        "No sync worker has been running for 10 minutes, so this sync could not go on. "
        "Start them (manage.py syncworkers) and sync again."
    )
    assert run.retry_at is None


def test_a_queued_run_waits_for_a_worker_until_the_timeout(alice_mailbox, settings):
    settings.SYNC_QUEUE_TIMEOUT_SECONDS = 600
    run = queued(alice_mailbox, seconds_ago=500)

    sync_runs_reap(now=NOW)

    assert SyncRun.objects.get(pk=run.pk).status == Status.CREATED


def test_retry_delays_grow_with_each_attempt(alice_mailbox, bob_mailbox, settings):
    settings.SYNC_RETRY_DELAY_SECONDS = 30
    settings.SYNC_MAX_RETRIES = 3
    delays = []
    for attempt in (1, 2, 3, 4):
        run = queued(alice_mailbox, attempt=attempt)
        before = timezone.now()
        sync_run_fail(run_id=run.pk, worker=None, error="gone", failure="worker_lost")
        run.refresh_from_db()
        delays.append(None if run.retry_at is None else round((run.retry_at - before).seconds))

    assert delays == [30, 60, 120, None]


def test_a_due_retry_continues_from_the_dead_runs_checkpoint(
    alice_mailbox, enqueued, django_capture_on_commit_callbacks
):
    dead = running(
        alice_mailbox, heartbeat_seconds_ago=120, checkpoint={"phase": "full", "page_token": "p2"}
    )
    sync_run_fail(run_id=dead.pk, worker=None, error="Gmail kept failing", failure="database")
    SyncRun.objects.filter(pk=dead.pk).update(retry_at=ago(1))

    with django_capture_on_commit_callbacks(execute=True):
        report = sync_runs_reap(now=NOW)

    [retry_id] = report.retried
    retry = SyncRun.objects.get(pk=retry_id)
    assert (retry.status, retry.trigger, retry.attempt) == (Status.CREATED, "retry", 2)
    assert retry.retry_of_id == dead.pk
    assert retry.checkpoint == {"phase": "full", "page_token": "p2"}
    assert enqueued == [retry.pk]
    assert SyncRun.objects.get(pk=dead.pk).retry_at is None


def test_no_retry_when_a_newer_run_exists(alice_mailbox, enqueued):
    dead = queued(alice_mailbox)
    sync_run_fail(run_id=dead.pk, worker=None, error="gone", failure="worker_lost")
    sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)
    SyncRun.objects.filter(pk=dead.pk).update(retry_at=ago(1))

    assert sync_runs_reap(now=NOW).retried == []
    assert SyncRun.objects.count() == 2


@pytest.mark.parametrize("failure", ["reconnect", "released", "no_worker", "error"])
def test_failures_that_a_retry_cannot_fix_are_not_retried(alice_mailbox, failure):
    run = queued(alice_mailbox)

    sync_run_fail(run_id=run.pk, worker=None, error="stop", failure=failure)

    assert SyncRun.objects.get(pk=run.pk).retry_at is None


def test_starting_a_sync_joins_a_run_whose_worker_died_which_the_reaper_continues(
    alice_mailbox, enqueued
):
    interrupted = running(alice_mailbox, heartbeat_seconds_ago=600, checkpoint={"phase": "full"})

    run, created = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)

    assert (run, created) == (interrupted, False)


def test_starting_a_sync_replaces_a_run_that_could_not_go_on(alice_mailbox, enqueued, settings):
    settings.SYNC_MAX_INTERRUPTIONS = 1
    dead = running(alice_mailbox, heartbeat_seconds_ago=600, checkpoint={"phase": "full"})

    run, created = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)

    assert created
    assert run.pk != dead.pk
    assert run.retry_of_id == dead.pk
    assert run.checkpoint == {"phase": "full"}
    assert SyncRun.objects.get(pk=dead.pk).status == Status.FAILED


def test_starting_a_sync_returns_a_live_run(alice_mailbox, enqueued):
    live = running(alice_mailbox, heartbeat_seconds_ago=2)

    run, created = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)

    assert (run.pk, created) == (live.pk, False)


def test_release_ends_a_run_by_hand_without_retry(alice_mailbox):
    run = running(alice_mailbox, heartbeat_seconds_ago=1)

    assert sync_run_release(run_id=run.pk, by="carol")

    run.refresh_from_db()
    assert run.status == Status.FAILED
    assert run.error.startswith("Released by carol at ")
    assert run.retry_at is None
    assert not sync_run_release(run_id=run.pk, by="carol")


def test_the_schedule_syncs_every_connected_idle_mailbox(
    alice, alice_mailbox, bob_mailbox, enqueued
):
    busy = queued(bob_mailbox)
    revoked = Mailbox.objects.create(owner=alice, email="old@example.com", needs_reconnect=True)

    started = mailboxes_sync_all()

    assert [SyncRun.objects.get(pk=pk).mailbox for pk in started] == [alice_mailbox]
    assert not SyncRun.objects.filter(mailbox=revoked).exists()
    assert SyncRun.objects.filter(mailbox=bob_mailbox).get() == busy


@pytest.mark.parametrize("chunk", [2000, 2], ids=["one-chunk", "chunks-of-2"])
def test_pruning_keeps_the_newest_finished_runs_of_each_mailbox(
    alice_mailbox, bob_mailbox, monkeypatch, chunk
):
    monkeypatch.setattr("syncapp.storage.DELETE_CHUNK", chunk)
    for mailbox in (alice_mailbox, bob_mailbox):
        for _ in range(5):
            run = queued(mailbox)
            sync_run_fail(run_id=run.pk, worker=None, error="x", failure="error")
    active = queued(alice_mailbox)
    newest = list(SyncRun.objects.finished().filter(mailbox=alice_mailbox)[:3])

    deleted = sync_runs_prune(keep=3)

    assert deleted == 4
    assert list(SyncRun.objects.finished().filter(mailbox=alice_mailbox)) == newest
    assert SyncRun.objects.filter(pk=active.pk).exists()


def test_release_stuck_runs_ends_dead_runs_from_a_shell(alice_mailbox, settings):
    settings.SYNC_MAX_INTERRUPTIONS = 1
    dead = running(alice_mailbox, heartbeat_seconds_ago=3600)
    out = io.StringIO()

    call_command("release_stuck_runs", stdout=out)

    assert SyncRun.objects.get(pk=dead.pk).status == Status.FAILED
    assert (
        f"run {dead.pk} (alice@example.com): The sync was interrupted 1 time in" in out.getvalue()
    )
    assert "1 stuck run(s) ended, 0 queued again" in out.getvalue()


def test_release_stuck_runs_releases_a_named_run(alice_mailbox):
    live = running(alice_mailbox, heartbeat_seconds_ago=1)
    out = io.StringIO()

    call_command("release_stuck_runs", "--run", str(live.pk), stdout=out)

    assert SyncRun.objects.get(pk=live.pk).failure == SyncRun.Failure.RELEASED
    assert f"run {live.pk}: released" in out.getvalue()


def test_an_old_run_is_never_resumed_over_a_newer_one(alice_mailbox, enqueued):
    old = queued(alice_mailbox, checkpoint={"phase": "full", "mark": "old-mark"})
    sync_run_fail(run_id=old.pk, worker=None, error="gone", failure="worker_lost")
    newer = queued(alice_mailbox)
    sync_run_fail(run_id=newer.pk, worker=None, error="x", failure="error")

    run, created = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB, resume=old)

    assert created
    assert run.checkpoint == {}
    assert run.retry_of_id is None
