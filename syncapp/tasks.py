"""The only module that talks to django-q2.

Enqueue a run only after its row is committed (see runs.sync_run_start); the
task itself just loads the run by id and executes it, and its claim makes a
duplicate delivery harmless. Schedules are declared here, in one idempotent place.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.dispatch import receiver
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.signals import post_spawn
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


# Imported inside the tasks below because execution depends on runs, which
# enqueues through this module.


def execute_sync_run(run_id: int) -> None:
    """Entry point for django-q workers."""
    from syncapp.execute import sync_run_execute
    from syncapp.workers import executing

    with executing(run_id):
        sync_run_execute(run_id=run_id)


def reap_sync_runs() -> str:
    from syncapp.reaper import sync_runs_reap

    report = sync_runs_reap()
    return f"ended {report.ended}, retried {report.retried}"


def sync_all_mailboxes() -> str:
    from syncapp.reaper import mailboxes_sync_all

    return f"started {mailboxes_sync_all()}"


def prune_sync_runs() -> str:
    from syncapp.reaper import sync_runs_prune

    return f"deleted {sync_runs_prune()} runs"


SCHEDULES = {
    "mailsync: end dead runs": ("syncapp.tasks.reap_sync_runs", 1),
    "mailsync: sync every mailbox": ("syncapp.tasks.sync_all_mailboxes", None),
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
                "minutes": minutes or settings.SYNC_INTERVAL_MINUTES,
                "repeats": -1,
            },
        )
    return list(SCHEDULES)


@receiver(post_spawn)
def _start_liveness(sender: object, proc_name: str, **kwargs: object) -> None:
    """Each worker process reports itself alive from its own thread."""
    from syncapp.workers import start_liveness

    start_liveness()
