"""Periodic jobs are declared once, idempotently, and do their work."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.scheduler import scheduler

from syncapp import tasks
from syncapp.models import SyncRun
from syncapp.queue import SYNC_TICK, Lane, lane_queue
from syncapp.scheduling import mailbox_next_scheduled_sync

pytestmark = pytest.mark.django_db


def test_ensure_schedules_creates_each_job_once(settings):
    settings.SYNC_INTERVAL_MINUTES = 15

    call_command("ensure_schedules", stdout=io.StringIO())
    call_command("ensure_schedules", stdout=io.StringIO())

    schedules = {s.name: (s.func, s.schedule_type, s.minutes) for s in Schedule.objects.all()}
    assert schedules == {
        "mailsync: end dead runs": ("syncapp.tasks.reap_sync_runs", Schedule.MINUTES, 1),
        "mailsync: sync every mailbox": ("syncapp.tasks.sync_all_mailboxes", Schedule.MINUTES, 1),
        "mailsync: prune old runs": ("syncapp.tasks.prune_sync_runs", Schedule.MINUTES, 1440),
        "mailsync: renew Gmail watches": (
            "syncapp.tasks.renew_gmail_watches",
            Schedule.MINUTES,
            1440,
        ),
    }


def test_the_tick_runs_every_minute_whatever_the_interval(settings):
    settings.SYNC_INTERVAL_MINUTES = 5

    call_command("ensure_schedules", stdout=io.StringIO())

    assert Schedule.objects.get(name="mailsync: sync every mailbox").minutes == 1


def test_the_scheduled_sync_starts_runs_for_idle_mailboxes(alice_mailbox, enqueued):
    result = tasks.sync_all_mailboxes()

    run = SyncRun.objects.get()
    assert run.trigger == SyncRun.Trigger.SCHEDULE
    assert result == f"started [{run.pk}]"


def test_a_mailbox_is_next_synced_at_the_ticks_next_run_when_that_comes_later(alice_mailbox):
    call_command("ensure_schedules", stdout=io.StringIO())
    now = timezone.now()
    Schedule.objects.filter(name=SYNC_TICK).update(next_run=now + timedelta(seconds=50))

    at = mailbox_next_scheduled_sync(mailbox=alice_mailbox, workers_start=now)

    assert at == now + timedelta(seconds=50)


def test_a_mailbox_that_needs_reconnecting_has_no_next_sync(alice_mailbox):
    alice_mailbox.needs_reconnect = True

    assert mailbox_next_scheduled_sync(mailbox=alice_mailbox, workers_start=timezone.now()) is None


@pytest.mark.parametrize("lanes", [True, False])
def test_a_cluster_that_serves_the_schedules_runs_them(settings, monkeypatch, lanes):
    settings.SYNC_LANES = lanes
    call_command("ensure_schedules", stdout=io.StringIO())
    Schedule.objects.update(next_run=timezone.now() - timedelta(minutes=1))
    # With lanes, syncworkers' clusters are named after their lanes' queues.
    serving = lane_queue(Lane.INCREMENTAL)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", serving)
    # The test's database connection is the only one: the scheduler must not close it.
    monkeypatch.setattr("django_q.scheduler.close_old_django_connections", lambda: None)
    broker = get_broker(serving)
    try:
        scheduler(broker=broker)
    finally:
        broker.purge_queue()

    late = Schedule.objects.filter(next_run__lte=timezone.now())
    assert list(late.values_list("name", flat=True)) == []
