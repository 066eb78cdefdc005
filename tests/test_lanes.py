"""Lanes: a click never waits behind bulk work, and syncworkers runs every lane's cluster."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from syncapp.models import Mailbox, SyncRun, WorkerProcess
from syncapp.queue import Lane
from syncapp.runs import sync_run_lane, sync_run_start
from tests.support.processes import SYNCWORKERS, alive
from tests.support.waiting import wait_for

Trigger, Kind = SyncRun.Trigger, SyncRun.Kind


@pytest.mark.parametrize(
    ("trigger", "kind", "slices", "lane"),
    [
        (Trigger.WEB, Kind.FULL, 0, Lane.INTERACTIVE),
        (Trigger.CLI, Kind.INCREMENTAL, 0, Lane.INTERACTIVE),
        (Trigger.WEB, Kind.FULL, 1, Lane.BULK),
        (Trigger.WEB, Kind.INCREMENTAL, 1, Lane.INTERACTIVE),
        (Trigger.SCHEDULE, Kind.INCREMENTAL, 0, Lane.INCREMENTAL),
        (Trigger.SCHEDULE, Kind.FULL, 0, Lane.BULK),
        (Trigger.RETRY, Kind.INCREMENTAL, 3, Lane.INCREMENTAL),
    ],
)
def test_each_slice_goes_to_its_lane(trigger, kind, slices, lane):
    assert sync_run_lane(trigger=trigger, kind=kind, slices=slices) == lane


@pytest.mark.django_db(transaction=True)
def test_a_click_moves_a_queued_scheduled_run_to_the_interactive_lane(
    alice_mailbox, enqueued, settings
):
    settings.SYNC_LANES = True
    alice_mailbox.history_id = "100"
    scheduled, _ = sync_run_start(mailbox=alice_mailbox, trigger=Trigger.SCHEDULE)

    clicked, created = sync_run_start(mailbox=alice_mailbox, trigger=Trigger.WEB)
    sync_run_start(mailbox=alice_mailbox, trigger=Trigger.WEB)

    assert (clicked, created) == (scheduled, False)
    assert enqueued == [scheduled.pk, scheduled.pk], "moved once, not once a click"
    assert enqueued.lanes == [Lane.INCREMENTAL, Lane.INTERACTIVE]
    scheduled.refresh_from_db()
    assert scheduled.queue.endswith(".interactive")


@pytest.mark.django_db
def test_syncworkers_refuses_a_second_host_on_sqlite(settings):
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("the rule is SQLite's")
    WorkerProcess.objects.create(
        name="elsewhere:1",
        host="elsewhere",
        pid=1,
        started_at=timezone.now(),
        seen_at=timezone.now(),
    )

    with pytest.raises(CommandError, match="sync workers are running on elsewhere"):
        call_command("syncworkers")


@pytest.mark.django_db
def test_syncworkers_refuses_an_unknown_lane():
    with pytest.raises(CommandError, match="Unknown lane"):
        call_command("syncworkers", "--lanes", "interactive,express")


@pytest.mark.django_db(transaction=True)
def test_syncworkers_starts_a_cluster_per_lane_and_stops_them_all(
    start_cluster, queue_name, fast_timings
):
    workers = start_cluster(command=SYNCWORKERS, SYNC_LANES="True")

    queues = wait_for(
        lambda: (
            set(WorkerProcess.objects.values_list("queue", flat=True))
            == {f"{queue_name}.{lane}" for lane in Lane}
        ),
        timeout=60,
        what=lambda: f"a worker on every lane's queue\n{workers.output()}",
    )
    assert queues
    pids = list(WorkerProcess.objects.values_list("pid", flat=True))
    workers.stop(grace=60)

    assert not [pid for pid in pids if alive(pid)], "a worker outlived syncworkers"


@pytest.mark.django_db(transaction=True)
def test_a_click_starts_while_bulk_slices_fill_every_bulk_worker(
    emulate, alice, bob, start_cluster, fast_timings, settings
):
    settings.SYNC_LANES = True
    settings.GMAIL_BATCH_SIZE = 5
    emulate(email="bulk@example.com", messages=2000, seed=5, latency_ms=40)
    bulk_mailbox = Mailbox.objects.create(owner=alice, email="bulk@example.com", refresh_token="r")
    clicked_mailbox = Mailbox.objects.create(
        owner=bob, email="bulk@example.com", refresh_token="r"
    )
    workers = start_cluster(command=SYNCWORKERS, SYNC_LANES="True", GMAIL_BATCH_SIZE="5")
    bulk, _ = sync_run_start(mailbox=bulk_mailbox, kind=Kind.FULL, trigger=Trigger.SCHEDULE)
    wait_for(
        lambda: SyncRun.objects.filter(pk=bulk.pk, status=SyncRun.Status.RUNNING).exists(),
        timeout=60,
        what=lambda: f"the bulk run to start\n{workers.output()}",
    )

    clicked, _ = sync_run_start(mailbox=clicked_mailbox, kind=Kind.FULL, trigger=Trigger.WEB)
    wait_for(
        lambda: SyncRun.objects.filter(pk=clicked.pk).exclude(status="CREATED").exists(),
        timeout=20,
        what=lambda: f"the click to start beside the bulk run\n{workers.output()}",
    )

    bulk.refresh_from_db()
    clicked.refresh_from_db()
    assert bulk.status == SyncRun.Status.RUNNING, "the bulk run was still going"
    assert clicked.queue.endswith(".interactive")
    assert clicked.started_at - clicked.created_at < timedelta(seconds=20)


@pytest.mark.django_db(transaction=True)
def test_no_cluster_outlives_a_killed_syncworkers(start_cluster, queue_name, fast_timings):
    workers = start_cluster(command=SYNCWORKERS, SYNC_LANES="True", Q_WORKERS="1")
    wait_for(
        lambda: WorkerProcess.objects.count() == len(Lane),
        timeout=60,
        what=lambda: f"a worker on every lane\n{workers.output()}",
    )
    pids = list(WorkerProcess.objects.values_list("pid", flat=True))

    workers.kill()

    wait_for(
        lambda: not [pid for pid in pids if alive(pid)],
        timeout=30,
        what="the clusters to stop with the syncworkers that started them",
    )
