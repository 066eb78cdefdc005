"""The one module that receives from django-q2: task entry points and the spawn hook.

The dotted paths of these functions are stored in queued tasks and Schedule
rows (see syncapp.queue): keep their names. Each only loads by id and calls a
service.
"""

from __future__ import annotations

from django.dispatch import receiver
from django_q.signals import post_spawn

from syncapp.scheduling import mailboxes_sync_all
from syncapp.worker.execute import sync_run_execute
from syncapp.worker.liveness import executing, start_liveness
from syncapp.worker.reaper import sync_runs_prune, sync_runs_reap


def execute_sync_run(run_id: int) -> None:
    with executing(run_id):
        sync_run_execute(run_id=run_id)


def reap_sync_runs() -> str:
    report = sync_runs_reap()
    return f"ended {report.ended}, retried {report.retried}"


def sync_all_mailboxes() -> str:
    return f"started {mailboxes_sync_all()}"


def prune_sync_runs() -> str:
    return f"deleted {sync_runs_prune()} runs"


@receiver(post_spawn)
def _start_liveness(sender: object, proc_name: str, **kwargs: object) -> None:
    """Each worker process reports itself alive from its own thread."""
    start_liveness()
