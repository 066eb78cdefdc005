"""A run's work as slices: ending a slice to queue the next, and interrupted slices.

A slice holds its run by a lease (the worker's name on the row, kept alive by
the heartbeat). When a slice's time is up it saves the checkpoint, lets go of
the run and queues the next slice, which any worker may take. A slice that
ends otherwise (its worker died, a timeout) is an interruption: the run is let
go and continued, unless it keeps being interrupted without progress.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import (
    Case,
    Expression,
    F,
    Field,
    PositiveSmallIntegerField,
    Q,
    Value,
    When,
)
from django.db.models.functions import Left
from django.utils import timezone

from syncapp.dead import lapsed, last_heartbeat, stalled, stalled_error, task_lost
from syncapp.figures import RunFigures
from syncapp.models import SyncRun
from syncapp.runs import (
    LANE_FIELDS,
    lanes_of,
    sync_run_enqueue,
    sync_run_fail,
    sync_run_owned,
    sync_runs_enqueue_in,
)
from syncapp.sql import update_returning_rows

logger = logging.getLogger(__name__)


def sync_run_yield(
    *,
    run_id: int,
    worker: str,
    figures: RunFigures,
    checkpoint: dict,
    kind: str | None = None,
    next_slice_at: datetime | None = None,
) -> bool:
    """End this slice: save where the run is, let go of it and queue the next slice,
    at once or, with `next_slice_at` (the mailbox's quota is spent until then), by
    the upkeep pass once it is due (sync_runs_continue).

    False when the run was no longer this worker's (released meanwhile).
    """
    now = timezone.now()
    later = next_slice_at is not None and next_slice_at > now
    fields: dict[str, object] = {
        **figures.as_columns(),
        "checkpoint": checkpoint,
        "worker": "",
        "heartbeat_at": now,
        # A run waiting for its quota is not waiting for a worker before it is due.
        "queued_at": next_slice_at if later else now,
        "next_slice_at": next_slice_at if later else None,
    }
    if kind is not None:
        fields.update(kind=kind, fell_back_to_full=True)
    with transaction.atomic():
        if not sync_run_owned(run_id=run_id, worker=worker).update(**fields):
            logger.warning("run %s: slice ended, but the run is no longer %s's", run_id, worker)
            return False
        if not later:
            transaction.on_commit(partial(sync_run_enqueue, run_id=run_id))
    logger.info(
        "run %s: slice ended by %s, next slice due %s", run_id, worker, next_slice_at or now
    )
    return True


def slice_due(*, now: datetime) -> Q:
    """Runs that waited for their quota, whose next slice is due."""
    return Q(status=SyncRun.Status.RUNNING, worker="", next_slice_at__lte=now)


def sync_runs_due(*, now: datetime) -> list[int]:
    """Queue the next slice of the runs that waited for their quota and are due:
    one UPDATE, whatever the number of runs; returns the ids queued."""
    rows = update_returning_rows(
        SyncRun.objects.filter(slice_due(now=now)),
        LANE_FIELDS,
        next_slice_at=None,
        queued_at=now,
    )
    lanes = lanes_of(rows)
    if lanes:
        transaction.on_commit(partial(sync_runs_enqueue_in, lanes))
        logger.info("runs %s: quota refilled, next slices queued", list(lanes))
    return list(lanes)


def sync_run_take_due(*, now: datetime, full_only: bool) -> int | None:
    """A worker whose slice ended takes the earliest due run waiting for its quota,
    instead of leaving it to the upkeep pass to queue: the same conditional UPDATE
    as sync_runs_due, for one run; the worker then claims it (sync_run_claim).
    `full_only`: full syncs' slices only (the bulk lane's work). None when none is due.
    """
    due = SyncRun.objects.filter(slice_due(now=now))
    if full_only:
        due = due.filter(kind=SyncRun.Kind.FULL)
    for run_id in due.order_by("next_slice_at").values_list("pk", flat=True)[:3]:
        if due.filter(pk=run_id).update(next_slice_at=None, queued_at=now):
            logger.info("run %s: quota refilled, its next slice taken at once", run_id)
            return run_id
    return None


def sync_run_take_waiting(*, now: datetime, queue: str, full_only: bool) -> int | None:
    """A worker with room takes a run of its lane (`queue`) that no worker holds: the
    earliest due of those waiting for their quota, else the longest queued, whose task
    still waits in the broker behind busy workers (its delivery will find it taken).
    The worker then claims it (sync_run_claim settles races). None when there is none.
    """
    due = sync_run_take_due(now=now, full_only=full_only)
    if due is not None:
        return due
    queued = SyncRun.objects.unheld().filter(queue=queue, next_slice_at__isnull=True)
    if full_only:
        queued = queued.filter(kind=SyncRun.Kind.FULL)
    return queued.order_by("queued_at").values_list("pk", flat=True).first()


def sync_run_interrupt(
    *, run_id: int, reason: str, worker: str | None = None, still: Q | None = None
) -> bool:
    """A slice ended without finishing its work: let go of the run and queue the
    next slice, or fail the run after SYNC_MAX_INTERRUPTIONS in a row without
    progress. True when the run was changed.

    worker=None acts whoever holds the run; `still` must hold at the moment of
    the write (the reaper's "lease still lapsed").
    """
    held = Q(status=SyncRun.Status.RUNNING) & ~Q(worker="") & (still or Q())
    error = stalled_error(reason)
    failure = SyncRun.Failure.WORKER_LOST
    if sync_run_fail(
        run_id=run_id, worker=worker, error=error, failure=failure, still=held & stalled()
    ):
        return True
    runs = SyncRun.objects.filter(held, pk=run_id).exclude(stalled())
    if worker is not None:
        runs = runs.filter(worker=worker)
    now = timezone.now()
    with transaction.atomic():
        interrupted = runs.update(**interruption_fields(reason=reason, now=now))
        if interrupted:
            transaction.on_commit(partial(sync_run_enqueue, run_id=run_id))
    if interrupted:
        logger.warning("run %s interrupted (%s); its next slice is queued", run_id, reason)
    return bool(interrupted)


def sync_runs_continue(*, now: datetime) -> list[int]:
    """Queue again what waits for nothing: runs whose slice's lease lapsed (their
    worker died: an interruption), runs whose queued task was lost, and runs whose
    quota has refilled. One UPDATE, whatever the number of runs; returns the ids
    queued."""
    interrupted = lapsed(now=now) & ~stalled()
    due = slice_due(now=now)
    fields = interruption_fields(reason=last_heartbeat(), now=now)
    rows = update_returning_rows(
        SyncRun.objects.filter(interrupted | task_lost(now=now) | due),
        LANE_FIELDS,
        worker="",
        queued_at=now,
        next_slice_at=Case(When(due, then=Value(None)), default=F("next_slice_at")),
        **{
            name: Case(
                When(interrupted, then=value),
                default=F(name),
                output_field=_field(name),
            )
            for name, value in fields.items()
            if name not in ("worker", "queued_at")
        },
    )
    lanes = lanes_of(rows)
    if lanes:
        # One statement, so no transaction of its own: queued once it is committed.
        transaction.on_commit(partial(sync_runs_enqueue_in, lanes))
        logger.warning(
            "runs %s queued again (interrupted, task lost, or quota refilled)", list(lanes)
        )
    return list(lanes)


def _field(name: str) -> Field[Any, Any]:
    field = SyncRun._meta.get_field(name)
    assert isinstance(field, Field)
    return field


def interruption_fields(*, reason: str | Expression, now: datetime) -> dict[str, object]:
    """The columns an interruption writes, as expressions on the row itself."""
    return {
        "worker": "",
        "heartbeat_at": now,
        "queued_at": now,
        "interruptions": F("interruptions") + 1,
        "interruptions_in_a_row": Case(
            When(processed__gt=F("processed_at_interruption"), then=Value(1)),
            default=F("interruptions_in_a_row") + 1,
            output_field=PositiveSmallIntegerField(),
        ),
        "processed_at_interruption": F("processed"),
        "last_interruption": Left(reason, 500) if isinstance(reason, Expression) else reason[:500],
    }
