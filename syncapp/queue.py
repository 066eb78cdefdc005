"""The one module that sends to django-q2: runs to execute, queue switching, schedules.

It imports nothing of ours: what it sends is named by the dotted paths of
`syncapp.tasks`, the one module that receives. Enqueue a run only once its row
is committed (see runs.sync_run_start); the task's claim makes a duplicate
delivery harmless.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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


def enqueue_sync_run(*, run_id: int) -> str:
    """Hand a committed run to the workers; returns the django-q task id."""
    return async_task(
        "syncapp.tasks.execute_sync_run",
        run_id,
        task_name=f"sync-run-{run_id}",
        group="sync",
    )


SCHEDULES: dict[str, tuple[str, int]] = {
    "mailsync: end dead runs": ("syncapp.tasks.reap_sync_runs", 1),
    # Each mailbox is synced every SYNC_INTERVAL_MINUTES (its next_sync_at); the tick
    # that starts the due ones runs every minute.
    "mailsync: sync every mailbox": ("syncapp.tasks.sync_all_mailboxes", 1),
    "mailsync: prune old runs": ("syncapp.tasks.prune_sync_runs", 24 * 60),
}


def schedules_ensure() -> list[str]:
    """Create or update our periodic jobs; safe to run any number of times."""
    for name, (func, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
            },
        )
    return list(SCHEDULES)
