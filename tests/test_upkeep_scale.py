"""Upkeep costs a constant number of SQL statements, whatever the number of runs."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from syncapp.figures import RunFigures
from syncapp.locks import one_at_a_time
from syncapp.models import Mailbox, SyncRun, WorkerProcess
from syncapp.monitoring import health_snapshot
from syncapp.runs import sync_run_claim, sync_run_start, sync_run_succeed
from syncapp.scheduling import mailboxes_sync_all
from syncapp.worker.reaper import sync_runs_reap

pytestmark = pytest.mark.django_db

Status = SyncRun.Status


def many_mailboxes(owner, count, **fields):
    Mailbox.objects.bulk_create(
        Mailbox(owner=owner, email=f"m{i}@example.com", **fields) for i in range(count)
    )
    return list(Mailbox.objects.filter(owner=owner).order_by("pk"))


def many_runs(mailboxes, *, status, created_ago, heartbeat_ago=None):
    now = timezone.now()
    running = status == Status.RUNNING
    SyncRun.objects.bulk_create(
        SyncRun(
            mailbox=mailbox,
            status=status,
            trigger="schedule",
            started_at=now if running else None,
            heartbeat_at=now - timedelta(seconds=heartbeat_ago) if running else None,
            worker="w" if running else "",
        )
        for mailbox in mailboxes
    )
    SyncRun.objects.filter(mailbox__in=mailboxes).update(
        created_at=now - timedelta(seconds=created_ago)
    )


def idle_worker(idle_seconds=300):
    now = timezone.now()
    WorkerProcess.objects.create(
        name="host:1",
        host="host",
        pid=1,
        started_at=now - timedelta(hours=1),
        seen_at=now,
        idle_since=now - timedelta(seconds=idle_seconds),
    )


@pytest.fixture
def crowd(alice):
    """2,000 runs queued for 5 minutes beside an idle worker (their tasks were
    lost), 100 running with a heartbeat 10 minutes old (their workers died), 20 of
    which were interrupted twice already without progress."""
    mailboxes = many_mailboxes(alice, 2100)
    many_runs(mailboxes[:2000], status=Status.CREATED, created_ago=300)
    many_runs(mailboxes[2000:], status=Status.RUNNING, created_ago=900, heartbeat_ago=600)
    stalled = SyncRun.objects.filter(mailbox__in=mailboxes[2080:])
    stalled.update(interruptions=2, interruptions_in_a_row=2)
    idle_worker()


def test_a_reaper_pass_over_thousands_of_runs_costs_a_few_queries(
    crowd, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        report = sync_runs_reap()

    assert (len(report.ended), len(report.continued)) == (20, 2080)
    lost = SyncRun.objects.filter(failure=SyncRun.Failure.WORKER_LOST)
    assert lost.count() == 20
    run = lost.first()
    beat = f"{run.started_at - timedelta(seconds=600):%Y-%m-%d %H:%M:%S}"
    assert run.error == (
        "The sync was interrupted 3 times in a row without progress; last: "
        f"the worker stopped responding; last heartbeat at {beat} UTC."
    )
    interrupted = SyncRun.objects.filter(status=Status.RUNNING, interruptions=1)
    assert interrupted.count() == 80
    assert not interrupted.exclude(worker="").exists()
    assert SyncRun.objects.filter(status=Status.CREATED, queued_at__isnull=False).count() == 2000


def test_health_over_thousands_of_runs_costs_a_few_queries(crowd, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        health = health_snapshot(now=timezone.now())

    assert (health.queued, health.running, health.stuck) == (2000, 100, 2100)
    assert not health.healthy


def test_due_retries_start_with_a_constant_number_of_queries(
    alice, settings, enqueued, django_assert_max_num_queries
):
    settings.SYNC_RETRY_DELAY_SECONDS = 1
    mailboxes = many_mailboxes(alice, 500)
    many_runs(mailboxes, status=Status.RUNNING, created_ago=900, heartbeat_ago=600)
    SyncRun.objects.update(interruptions=2, interruptions_in_a_row=2)
    sync_runs_reap()
    SyncRun.objects.update(retry_at=timezone.now() - timedelta(seconds=1))

    with django_assert_max_num_queries(10):
        report = sync_runs_reap()

    assert len(report.retried) == 500
    retries = SyncRun.objects.filter(pk__in=report.retried)
    assert {(r.status, r.trigger, r.attempt) for r in retries} == {(Status.CREATED, "retry", 2)}
    assert not SyncRun.objects.exclude(retry_at=None).exists()


def test_a_pass_is_skipped_while_another_process_holds_the_lock(crowd):
    taken, done = threading.Event(), threading.Event()

    def hold():
        try:
            with one_at_a_time("reaper") as held:
                assert held
                taken.set()
                done.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert taken.wait(10)
        assert sync_runs_reap().skipped
    finally:
        done.set()
        holder.join()
    assert not sync_runs_reap().skipped


def test_a_tick_over_thousands_of_mailboxes_costs_a_few_queries_per_batch(
    alice, enqueued, settings, django_assert_max_num_queries
):
    settings.SYNC_INTERVAL_MINUTES = 15
    now = timezone.now()
    ids = [m.pk for m in many_mailboxes(alice, 5000, next_sync_at=now + timedelta(minutes=5))]
    due, later = ids[:500], ids[500:]
    Mailbox.objects.filter(pk__in=due).update(next_sync_at=now - timedelta(minutes=1))
    untouched = now + timedelta(minutes=5)

    with django_assert_max_num_queries(10):
        started = mailboxes_sync_all(now=now)

    assert len(started) == 500
    assert set(SyncRun.objects.values_list("mailbox_id", flat=True)) == set(due)
    assert not Mailbox.objects.filter(pk__in=later).exclude(next_sync_at=untouched).exists()
    moved = Mailbox.objects.filter(pk__in=due).values_list("next_sync_at", flat=True)
    assert all(now + timedelta(minutes=13) <= t <= now + timedelta(minutes=17) for t in moved)
    assert len(set(moved)) > 1, "the next syncs are spread"
    assert mailboxes_sync_all(now=now) == []


def test_a_tick_skips_mailboxes_with_an_active_run_but_moves_them_on(alice, enqueued):
    now = timezone.now()
    busy, idle = many_mailboxes(alice, 2, next_sync_at=now - timedelta(minutes=1))
    many_runs([busy], status=Status.CREATED, created_ago=1)

    started = mailboxes_sync_all(now=now)

    assert [SyncRun.objects.get(pk=pk).mailbox_id for pk in started] == [idle.pk]
    assert SyncRun.objects.filter(mailbox=busy).count() == 1
    assert Mailbox.objects.get(pk=busy.pk).next_sync_at > now


def test_a_revoked_mailbox_is_not_due(alice, enqueued):
    now = timezone.now()
    many_mailboxes(alice, 1, needs_reconnect=True, next_sync_at=now - timedelta(hours=1))

    assert mailboxes_sync_all(now=now) == []
    assert not SyncRun.objects.exists()


def test_a_mailbox_that_just_synced_is_not_due(alice_mailbox, enqueued, settings):
    settings.SYNC_INTERVAL_MINUTES = 15
    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)
    sync_run_claim(run_id=run.pk, worker="w")
    finished = timezone.now()
    sync_run_succeed(
        run_id=run.pk, worker="w", figures=RunFigures(), history_id="9", finished_at=finished
    )

    assert Mailbox.objects.get(pk=alice_mailbox.pk).next_sync_at == finished + timedelta(
        minutes=15
    )
    assert mailboxes_sync_all(now=finished + timedelta(minutes=14)) == []
    assert len(mailboxes_sync_all(now=finished + timedelta(minutes=15))) == 1


def test_a_tick_runs_in_batches(alice, enqueued):
    now = timezone.now()
    many_mailboxes(alice, 25, next_sync_at=now - timedelta(minutes=1))

    assert len(mailboxes_sync_all(now=now, batch_size=10)) == 25
