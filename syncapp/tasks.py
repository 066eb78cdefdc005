"""The one module that receives from django-q2: task entry points and the spawn hook.

The dotted paths of these functions are stored in queued tasks and Schedule
rows (see syncapp.queue): keep their names. Each only loads by id and calls a
service.
"""

from __future__ import annotations

import logging
import time
from functools import partial

from django.conf import settings
from django.db import DatabaseError
from django.dispatch import receiver
from django.utils import timezone
from django_q.exceptions import TimeoutException
from django_q.signals import post_spawn

from syncapp.originals import blobs_prune
from syncapp.push import push_counts_prune
from syncapp.queue import Lane, lane_queue, serving_queue
from syncapp.runs import new_worker_id
from syncapp.scheduling import mailboxes_sync_all
from syncapp.slices import sync_run_interrupt, sync_run_take_waiting
from syncapp.watches import mailboxes_watch, watches_renew
from syncapp.worker.execute import sync_run_execute
from syncapp.worker.liveness import executing, start_liveness
from syncapp.worker.pool import serve_slices
from syncapp.worker.reaper import sync_runs_prune, sync_runs_reap

logger = logging.getLogger(__name__)


def execute_sync_run(run_id: int) -> None:
    """Execute one slice of the run; then, while the task has time, the slices of
    runs of its lane that wait: whose quota has refilled, or queued behind busy
    workers (work stealing: the worker does not wait for the broker to deliver
    them). The bulk lane serves several at once."""
    began = time.monotonic()
    serve_slices(
        first=run_id,
        execute=_execute_slice,
        take_waiting=_take_waiting,
        may_take=partial(_time_for_another, since=began),
        threads=settings.SYNC_SLICES_PER_WORKER if _serves_bulk() else 1,
    )


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


def _take_waiting() -> int | None:
    """A waiting run of this worker's lane: full syncs' slices in the bulk lane, any run
    when lanes are off, none in the other lanes."""
    if not _serves_bulk():
        return None
    return sync_run_take_waiting(
        now=timezone.now(), queue=serving_queue(), full_only=settings.SYNC_LANES
    )


def _serves_bulk() -> bool:
    """This worker serves the bulk lane: lanes are off, or it is that lane's worker."""
    return serving_queue() == lane_queue(Lane.BULK)


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
    counts = push_counts_prune(now=timezone.now())
    return (
        f"deleted {sync_runs_prune()} runs, {blobs_prune()} unused originals"
        f" and {counts} push counts"
    )


def watch_mailboxes(mailbox_ids: list[int]) -> str:
    return f"{mailboxes_watch(mailbox_ids=mailbox_ids)} of {len(mailbox_ids)} watched"


def renew_gmail_watches() -> str:
    return f"queued {watches_renew(now=timezone.now())} batches"


@receiver(post_spawn)
def _start_liveness(sender: object, proc_name: str, **kwargs: object) -> None:
    """Each worker process reports itself alive from its own thread."""
    start_liveness(queue=serving_queue())
