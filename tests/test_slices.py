"""A run's work executes as slices: each saves the checkpoint and queues the next."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.exceptions import TimeoutException

from syncapp import tasks
from syncapp.models import Mailbox, SyncRun
from syncapp.runs import sync_run_claim, sync_run_start
from syncapp.slices import sync_run_interrupt, sync_run_take_waiting
from syncapp.worker.execute import sync_run_execute
from tests.helpers import assert_database_matches, fetched_message_ids

pytestmark = pytest.mark.django_db(transaction=True)

# Any positive slice is over by the time its first listing page is stored.
ONE_PAGE_SLICES = 1e-9


@pytest.fixture
def paged(settings, monkeypatch):
    """Listing pages of 100 ids, so a small mailbox takes several slices."""
    monkeypatch.setattr("syncapp.gmail.client.PAGE_SIZE", 100)


def test_a_run_longer_than_its_slice_finishes_as_one_run(emulate, alice_mailbox, enqueued, paged):
    emulator = emulate(email=alice_mailbox.email, messages=250, seed=3)
    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.CLI, enqueue=False)
    seen = []

    while run.is_active:
        sync_run_execute(run_id=run.pk, slice_seconds=ONE_PAGE_SLICES)
        run.refresh_from_db()
        seen.append((run.status, run.worker, run.processed))

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.slices, run.interruptions, run.processed, run.new_count) == (3, 0, 250, 250)
    assert seen[:2] == [
        (SyncRun.Status.RUNNING, "", 100),
        (SyncRun.Status.RUNNING, "", 200),
    ], "between slices the run keeps its progress and no worker holds it"
    assert enqueued == [run.pk, run.pk], "each slice but the last queued the next"
    assert list(SyncRun.objects.filter(mailbox=alice_mailbox)) == [run]
    assert_database_matches(alice_mailbox, emulator.mailbox())


def test_a_slice_never_fetches_what_an_earlier_slice_stored(
    emulate, alice_mailbox, enqueued, paged
):
    emulator = emulate(email=alice_mailbox.email, messages=250, seed=3)
    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.CLI, enqueue=False)

    while run.is_active:
        sync_run_execute(run_id=run.pk, slice_seconds=ONE_PAGE_SLICES)
        run.refresh_from_db()

    fetched = fetched_message_ids(emulator)
    assert len(fetched) == len(set(fetched)) == 250


def test_an_interrupted_slice_lets_go_of_the_run_and_queues_the_next(alice_mailbox, enqueued):
    run = SyncRun.objects.create(mailbox=alice_mailbox, kind="full", trigger="web")
    sync_run_claim(run_id=run.pk, worker="worker-1")
    SyncRun.objects.filter(pk=run.pk).update(processed=40, total=100)

    assert sync_run_interrupt(run_id=run.pk, worker="worker-1", reason="the worker was killed")

    run.refresh_from_db()
    assert (run.status, run.worker) == (SyncRun.Status.RUNNING, "")
    assert (run.interruptions, run.interruptions_in_a_row) == (1, 1)
    assert run.last_interruption == "the worker was killed"
    assert enqueued == [run.pk]
    assert sync_run_claim(run_id=run.pk, worker="worker-2") is not None


def test_interruptions_without_progress_fail_the_run_at_the_limit(
    alice_mailbox, enqueued, settings
):
    settings.SYNC_MAX_INTERRUPTIONS = 3
    run = SyncRun.objects.create(mailbox=alice_mailbox, kind="full", trigger="web")
    SyncRun.objects.filter(pk=run.pk).update(processed=0, total=100)

    for attempt in range(3):
        sync_run_claim(run_id=run.pk, worker=f"worker-{attempt}")
        sync_run_interrupt(
            run_id=run.pk, worker=f"worker-{attempt}", reason="killed by message m7"
        )

    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert run.failure == SyncRun.Failure.WORKER_LOST
    assert run.error == (
        "The sync was interrupted 3 times in a row without progress; last: killed by message m7"
    )
    assert run.interruptions == 2
    assert enqueued == [run.pk, run.pk]


def test_progress_between_interruptions_starts_the_count_again(alice_mailbox, enqueued, settings):
    settings.SYNC_MAX_INTERRUPTIONS = 2
    run = SyncRun.objects.create(mailbox=alice_mailbox, kind="full", trigger="web")
    SyncRun.objects.filter(pk=run.pk).update(total=100)

    for attempt, processed in enumerate([10, 20, 30]):
        sync_run_claim(run_id=run.pk, worker=f"worker-{attempt}")
        SyncRun.objects.filter(pk=run.pk).update(processed=processed)
        sync_run_interrupt(run_id=run.pk, worker=f"worker-{attempt}", reason="killed")

    run.refresh_from_db()
    assert run.status == SyncRun.Status.RUNNING
    assert (run.interruptions, run.interruptions_in_a_row) == (3, 1)


def test_only_the_holder_of_the_slice_can_interrupt_it(alice_mailbox, enqueued):
    run = SyncRun.objects.create(mailbox=alice_mailbox, kind="full", trigger="web")
    sync_run_claim(run_id=run.pk, worker="worker-1")

    assert not sync_run_interrupt(run_id=run.pk, worker="worker-2", reason="killed")
    assert SyncRun.objects.get(pk=run.pk).worker == "worker-1"
    assert enqueued == []


def test_a_slice_stopped_at_the_task_timeout_is_recorded_and_continued(
    alice_mailbox, enqueued, monkeypatch, settings
):
    settings.SYNC_TASK_TIMEOUT_SECONDS = 900
    run = SyncRun.objects.create(mailbox=alice_mailbox, kind="full", trigger="web")

    def hangs_until_the_alarm(*, run_id, worker):
        sync_run_claim(run_id=run_id, worker=worker)
        raise TimeoutException("Task exceeded maximum timeout value (900 seconds)")

    monkeypatch.setattr("syncapp.tasks.sync_run_execute", hangs_until_the_alarm)

    with pytest.raises(TimeoutException):
        tasks.execute_sync_run(run.pk)

    run.refresh_from_db()
    assert (run.status, run.worker, run.interruptions) == (SyncRun.Status.RUNNING, "", 1)
    assert run.last_interruption == "a slice outlived its 900 s task timeout"
    assert enqueued == [run.pk]


def test_a_worker_whose_slice_ends_takes_the_runs_whose_quota_has_refilled(
    alice_mailbox, bob_mailbox, enqueued, monkeypatch
):
    carol_mailbox = Mailbox.objects.create(owner=bob_mailbox.owner, email="carol@example.com")
    clicked = SyncRun.objects.create(mailbox=alice_mailbox, kind="full", trigger="web")
    now = timezone.now()
    waiting = {
        "status": SyncRun.Status.RUNNING,
        "kind": "full",
        "trigger": "schedule",
        "started_at": now,
        "heartbeat_at": now,
        "queued_at": now,
    }
    due = SyncRun.objects.create(
        mailbox=bob_mailbox, next_slice_at=now - timedelta(seconds=1), **waiting
    )
    later = SyncRun.objects.create(
        mailbox=carol_mailbox, next_slice_at=now + timedelta(seconds=30), **waiting
    )
    executed = []

    def one_slice(*, run_id, worker):
        executed.append(run_id)
        return sync_run_claim(run_id=run_id, worker=worker)

    monkeypatch.setattr("syncapp.tasks.sync_run_execute", one_slice)

    tasks.execute_sync_run(clicked.pk)

    assert sorted(executed) == sorted([clicked.pk, due.pk])
    due.refresh_from_db()
    assert (due.next_slice_at, due.worker != "") == (None, True)
    later.refresh_from_db()
    assert (later.next_slice_at is not None, later.worker) == (True, "")
    assert enqueued == [], "taken by the worker, not queued"


def test_a_worker_with_room_takes_a_run_queued_behind_busy_workers(
    alice_mailbox, bob_mailbox, settings
):
    settings.SYNC_LANES = True
    now = timezone.now()
    bulk = "mailsync.bulk"
    clicked = SyncRun.objects.create(
        mailbox=alice_mailbox, kind="full", trigger="web", queue="mailsync.interactive"
    )
    older = SyncRun.objects.create(
        mailbox=bob_mailbox, kind="full", trigger="schedule", queue=bulk, queued_at=now
    )
    carol_mailbox = Mailbox.objects.create(owner=bob_mailbox.owner, email="carol@example.com")
    SyncRun.objects.create(
        mailbox=carol_mailbox,
        kind="full",
        trigger="schedule",
        queue=bulk,
        queued_at=now + timedelta(seconds=1),
    )

    taken = sync_run_take_waiting(now=now, queue=bulk, full_only=True)

    assert taken == older.pk, "the longest queued of the lane, not another lane's"
    assert clicked.pk != taken


def test_a_due_run_is_taken_before_a_queued_one(alice_mailbox, bob_mailbox):
    now = timezone.now()
    queued = SyncRun.objects.create(
        mailbox=alice_mailbox, kind="full", trigger="schedule", queue="q", queued_at=now
    )
    due = SyncRun.objects.create(
        mailbox=bob_mailbox,
        status=SyncRun.Status.RUNNING,
        kind="full",
        trigger="schedule",
        started_at=now,
        heartbeat_at=now,
        queue="q",
        queued_at=now,
        next_slice_at=now - timedelta(seconds=1),
    )

    assert sync_run_take_waiting(now=now, queue="q", full_only=False) == due.pk
    assert sync_run_take_waiting(now=now, queue="q", full_only=False) == queued.pk


def test_a_bulk_worker_executes_queued_runs_beside_its_own(
    alice_mailbox, bob_mailbox, enqueued, monkeypatch, settings
):
    settings.SYNC_SLICES_PER_WORKER = 2
    first = SyncRun.objects.create(mailbox=alice_mailbox, kind="full", trigger="schedule")
    queued = SyncRun.objects.create(
        mailbox=bob_mailbox,
        kind="full",
        trigger="schedule",
        queue=settings.SYNC_QUEUE,
        queued_at=timezone.now(),
    )
    executed = []

    def one_slice(*, run_id, worker):
        executed.append(run_id)
        claimed = sync_run_claim(run_id=run_id, worker=worker)
        if claimed is not None:
            SyncRun.objects.filter(pk=run_id).update(
                status=SyncRun.Status.SUCCEEDED, percent=100, finished_at=timezone.now()
            )
        return claimed

    monkeypatch.setattr("syncapp.tasks.sync_run_execute", one_slice)

    tasks.execute_sync_run(first.pk)

    assert set(executed) == {first.pk, queued.pk}
    assert SyncRun.objects.get(pk=queued.pk).status == SyncRun.Status.SUCCEEDED
