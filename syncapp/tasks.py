"""The one module that receives from django-q2: task entry points and the spawn hook.

The dotted paths of these functions are stored in queued tasks and Schedule
rows (see syncapp.queue): keep their names. Each only loads by id and calls a
service.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import DatabaseError
from django.dispatch import receiver
from django.utils import timezone
from django_q.exceptions import TimeoutException
from django_q.signals import post_spawn

from syncapp.originals import blobs_prune
from syncapp.queue import Lane, lane_queue, serving_queue
from syncapp.runs import new_worker_id
from syncapp.scheduling import mailboxes_sync_all
from syncapp.slices import sync_run_interrupt, sync_run_take_due
from syncapp.worker.execute import sync_run_execute
from syncapp.worker.liveness import executing, start_liveness
from syncapp.worker.reaper import sync_runs_prune, sync_runs_reap

logger = logging.getLogger(__name__)


def execute_sync_run(run_id: int) -> None:
    """Execute one slice of the run; then, while the task has time, the slices of
    runs whose quota has refilled (work stealing: the worker does not wait for the
    upkeep pass to queue them)."""
    began = time.monotonic()
    taken: int | None = run_id
    while taken is not None:
        _execute_slice(taken)
        taken = _take_due() if _time_for_another(since=began) else None


def _execute_slice(run_id: int) -> None:
    worker = new_worker_id()
    with executing(run_id):
        try:
            sync_run_execute(run_id=run_id, worker=worker)
        except TimeoutException:
            _interrupted_by_timeout(run_id=run_id, worker=worker)
            raise


def _time_for_another(*, since: float) -> bool:
    """Another whole slice fits in the task's timeout, with half the spare time left over."""
    spare = settings.SYNC_TASK_TIMEOUT_SECONDS - settings.SYNC_SLICE_SECONDS
    return time.monotonic() - since < spare / 2


def _take_due() -> int | None:
    """A due run of this worker's lane: full syncs' slices in the bulk lane, any run
    when lanes are off, none in the other lanes."""
    bulk = serving_queue() == lane_queue(Lane.BULK)
    if not bulk:
        return None
    return sync_run_take_due(now=timezone.now(), full_only=settings.SYNC_LANES)


def _interrupted_by_timeout(*, run_id: int, worker: str) -> None:
    """django-q2 stopped the slice at its timeout: record it, and the next slice continues."""
    timeout = settings.SYNC_TASK_TIMEOUT_SECONDS
    try:
        sync_run_interrupt(
            run_id=run_id, worker=worker, reason=f"a slice outlived its {timeout} s task timeout"
        )
    except DatabaseError:
        # Its lease lapses, and the reaper records the interruption instead.
        logger.exception("run %s: the timeout could not be recorded", run_id)


def reap_sync_runs() -> str:
    report = sync_runs_reap()
    return f"ended {report.ended}, continued {report.continued}, retried {report.retried}"


def sync_all_mailboxes() -> str:
    return f"started {mailboxes_sync_all()}"


def prune_sync_runs() -> str:
    # Also the originals of mailboxes deleted at once (by a cascade, say the admin's).
    return f"deleted {sync_runs_prune()} runs and {blobs_prune()} unused originals"


@receiver(post_spawn)
def _start_liveness(sender: object, proc_name: str, **kwargs: object) -> None:
    """Each worker process reports itself alive from its own thread."""
    start_liveness(queue=serving_queue())
