"""The one module that sends to django-q2: runs to execute, queue switching, schedules.

It imports nothing of ours: what it sends is named by the dotted paths of
`syncapp.tasks`, the one module that receives. Enqueue a run only once its row
is committed (see runs.sync_run_start); the task's claim makes a duplicate
delivery harmless.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum

from django.conf import settings
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.tasks import async_task


@contextmanager
def use_queue(name: str) -> Iterator[None]:
    """Send this process's tasks to the queue `name` (served by clusters named
    so, see Q_CLUSTER_NAME), then purge it and switch back.

    django-q reads its configuration once, at import: the queue is switched here.
    """
    saved = (Conf.PREFIX, Conf.CLUSTER_NAME)
    Conf.PREFIX = Conf.CLUSTER_NAME = name
    try:
        yield
    finally:
        try:
            get_broker(name).purge_queue()
        finally:
            Conf.PREFIX, Conf.CLUSTER_NAME = saved


class Lane(StrEnum):
    """Work that must not wait behind other work gets a queue of its own."""

    INTERACTIVE = "interactive"  # a person clicked or typed: the first slice of their run
    INCREMENTAL = "incremental"  # scheduled and automatic incremental syncs
    BULK = "bulk"  # the later slices of full syncs: hours of quota-bound work


def lane_queue(lane: Lane) -> str:
    """The queue a lane's tasks go to (the one queue when lanes are off)."""
    if not settings.SYNC_LANES:
        return Conf.CLUSTER_NAME
    return f"{Conf.PREFIX}.{lane}"


def serving_queue() -> str:
    """The queue this process's cluster serves."""
    return Conf.CLUSTER_NAME


def enqueue_sync_run(*, run_id: int, lane: Lane) -> tuple[str, str]:
    """Hand a committed run's next slice to the workers: (task id, queue)."""
    queue = lane_queue(lane)
    task_id = async_task(
        "syncapp.tasks.execute_sync_run",
        run_id,
        task_name=f"sync-run-{run_id}",
        group="sync",
        cluster=queue,
    )
    return task_id, queue


SYNC_TICK = "mailsync: sync every mailbox"
# django-q2's cluster looks at its schedules every 30 s of its guard loop, the
# first time 30 s after it starts.
SCHEDULER_CHECK_SECONDS = 30


def enqueue_watches(*, mailbox_ids: list[int]) -> str:
    """Have a worker call users.watch for these committed mailboxes (incremental lane)."""
    return async_task(
        "syncapp.tasks.watch_mailboxes",
        mailbox_ids,
        task_name=f"watch-{mailbox_ids[0]}-{len(mailbox_ids)}",
        group="watch",
        cluster=lane_queue(Lane.INCREMENTAL),
    )


SCHEDULES: dict[str, tuple[str, int]] = {
    "mailsync: end dead runs": ("syncapp.tasks.reap_sync_runs", 1),
    # Each mailbox is synced every SYNC_INTERVAL_MINUTES (its next_sync_at); the tick
    # that starts the due ones runs every minute.
    SYNC_TICK: ("syncapp.tasks.sync_all_mailboxes", 1),
    "mailsync: prune old runs": ("syncapp.tasks.prune_sync_runs", 24 * 60),
    # Gmail asks for a watch to be renewed at least every 7 days; daily, as it advises.
    "mailsync: renew Gmail watches": ("syncapp.tasks.renew_gmail_watches", 24 * 60),
}


def schedules_ensure() -> list[str]:
    """Create or update our periodic jobs; safe to run any number of times.

    django-q2 runs a schedule that names no cluster only in a cluster named like its
    prefix: with lanes, no cluster is, so the schedules name the incremental lane's
    (its work is light and never waits behind bulk slices).
    """
    cluster = lane_queue(Lane.INCREMENTAL) if settings.SYNC_LANES else None
    for name, (func, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
                "cluster": cluster,
            },
        )
    return list(SCHEDULES)


def schedule_next_run(name: str) -> datetime | None:
    """When django-q2 runs the named schedule next; None when it is not declared."""
    return Schedule.objects.filter(name=name).values_list("next_run", flat=True).first()
