"""Services that move a SyncRun through its life: start, claim, progress, end.

Every write after the claim is conditional on the run still being RUNNING and
owned by the same worker, so a worker whose run was released (by the reaper or
an admin) cannot change it any more: it gets RunLost and stops.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from syncapp import queue
from syncapp.dead import retry_at, sync_runs_end_dead
from syncapp.figures import RunFigures
from syncapp.mailboxes import MailboxNeedsReconnect
from syncapp.models import (
    Mailbox,
    RunFailure,
    RunKind,
    RunTrigger,
    SyncRun,
    SyncRunQuerySet,
)
from syncapp.sql import insert_from
from syncapp.watches import sync_interval, watch_is_live

logger = logging.getLogger(__name__)

Status = SyncRun.Status


class RunLost(Exception):
    """The worker no longer owns its run; it must stop without writing."""


def new_worker_id() -> str:
    return uuid.uuid4().hex


def sync_run_start(
    *,
    mailbox: Mailbox,
    kind: RunKind = RunKind.INCREMENTAL,
    trigger: RunTrigger,
    enqueue: bool = True,
    resume: SyncRun | None = None,
) -> tuple[SyncRun, bool]:
    """Return the mailbox's active run, or create one; True when it was created.

    A new run is handed to the workers only once its row is committed. Two
    callers racing here both get the same run: the partial unique index on
    active runs lets one insert win, and the loser returns the winner's run.
    With `resume`, the new run continues from that ended run's checkpoint, if
    it is still the mailbox's latest run; else it starts afresh. Raises
    MailboxNeedsReconnect for a mailbox whose access Gmail refused.
    """
    if mailbox.needs_reconnect:
        raise MailboxNeedsReconnect(mailbox)
    if not mailbox.history_id:
        kind = SyncRun.Kind.FULL
    extra: dict[str, Any] = {}
    if resume is not None and not sync_run_is_latest(resume):
        logger.info("run %s is not the latest of mailbox %s: not resumed", resume.pk, mailbox.pk)
        resume = None
    if resume is not None:
        extra = _continuing(resume) | {"attempt": resume.attempt + 1}
    for _ in range(3):
        active = SyncRun.objects.active().filter(mailbox=mailbox).first()
        if active is not None:
            if not sync_run_end_if_dead(active, now=timezone.now()):
                _hurry(active, trigger=trigger)
                return active, False
            # Never hand back a dead run: continue where it stopped instead.
            active.refresh_from_db()
            if resume is None:
                extra = _continuing(active)
            continue
        try:
            with transaction.atomic():
                run = SyncRun.objects.create(
                    mailbox=mailbox, **{"kind": kind, "trigger": trigger, **extra}
                )
                logger.info(
                    "run %s created for mailbox %s (%s, %s)", run.pk, mailbox.pk, run.kind, trigger
                )
                if enqueue:
                    transaction.on_commit(partial(sync_run_enqueue, run_id=run.pk))
        except IntegrityError:
            # Another request created the active run first; read it on the next pass.
            continue
        return run, True
    raise RuntimeError(f"could not start or find an active run for mailbox {mailbox.pk}")


def _continuing(ended: SyncRun) -> dict[str, Any]:
    """A new run's fields to go on from where an ended run stopped."""
    return {
        "kind": ended.kind,
        "retry_of": ended,
        "resumed_from": ended.processed,
        "checkpoint": ended.checkpoint,
    }


def _hurry(waiting: SyncRun, *, trigger: str) -> None:
    """A person asks for a run that waits in another lane: queue it in theirs too.

    Whichever delivery a worker takes first runs it; the other finds it taken.
    """
    personal = trigger in (SyncRun.Trigger.WEB, SyncRun.Trigger.CLI)
    interactive = queue.lane_queue(queue.Lane.INTERACTIVE)
    unheld = waiting.status == Status.CREATED or not waiting.worker
    if personal and unheld and waiting.queue and waiting.queue != interactive:
        logger.info("run %s moves to the interactive lane", waiting.pk)
        transaction.on_commit(
            partial(sync_run_enqueue, run_id=waiting.pk, lane=queue.Lane.INTERACTIVE)
        )


def sync_run_is_latest(run: SyncRun) -> bool:
    """Only a mailbox's latest run may be resumed: a newer run moved the mailbox on,
    and resuming an older full sync's listing would sweep away what it stored."""
    return not SyncRun.objects.filter(mailbox_id=run.mailbox_id, pk__gt=run.pk).exists()


def sync_run_retry(*, failed: SyncRun) -> SyncRun | None:
    """Start the automatic retry of a failed run, continuing from its checkpoint.

    None when there is nothing to retry: a newer run has superseded it, its
    mailbox needs reconnecting, or a run is already active.
    """
    if not sync_run_is_latest(failed):
        return None
    try:
        retry, created = sync_run_start(
            mailbox=failed.mailbox, trigger=SyncRun.Trigger.RETRY, resume=failed
        )
    except MailboxNeedsReconnect:
        return None
    return retry if created else None


def sync_run_lane(*, trigger: str, kind: str, slices: int) -> queue.Lane:
    """A person's click starts at once; a full sync's later slices are bulk work."""
    personal = trigger in (SyncRun.Trigger.WEB, SyncRun.Trigger.CLI)
    if personal and slices == 0:
        return queue.Lane.INTERACTIVE
    if kind == SyncRun.Kind.FULL:
        return queue.Lane.BULK
    return queue.Lane.INTERACTIVE if personal else queue.Lane.INCREMENTAL


def sync_runs_start_many(*, source: QuerySet[Any], **values: Any) -> list[int]:
    """Create one CREATED run per row of `source` in one statement (see
    syncapp.sql.insert_from: `values` computes its columns from the row);
    returns the new runs' ids.

    A mailbox that has an active run already gets none: the one-active-run
    partial unique index skips its row in the same INSERT. The runs are handed
    to the workers once committed.
    """
    with transaction.atomic():
        created = insert_from(SyncRun, source, **values)
        if created:
            transaction.on_commit(partial(sync_runs_enqueue, created))
    return created


def sync_runs_start_pushed(*, mailbox_ids: list[int]) -> list[int]:
    """A push said these mailboxes changed: an incremental run (incremental lane) for
    each that has synced before and has no active run (that run's end looks again)."""
    return sync_runs_start_many(
        source=Mailbox.objects.filter(pk__in=mailbox_ids, needs_reconnect=False).exclude(
            history_id=""
        ),
        mailbox=F("pk"),
        kind=Value(RunKind.INCREMENTAL),
        trigger=Value(RunTrigger.PUSH),
    )


def sync_run_enqueue(*, run_id: int, lane: queue.Lane | None = None) -> None:
    """Hand the run's next slice to the workers; call it once the row is committed."""
    sync_runs_enqueue([run_id], lane=lane)


def sync_runs_enqueue(run_ids: list[int], *, lane: queue.Lane | None = None) -> None:
    """Hand runs' next slices to the workers, each in its lane unless `lane` says
    otherwise: one query for their lanes, then as sync_runs_enqueue_in."""
    if lane is None:
        rows = SyncRun.objects.filter(pk__in=run_ids).values_list(*LANE_FIELDS)
        sync_runs_enqueue_in(lanes_of(rows))
    else:
        sync_runs_enqueue_in(dict.fromkeys(run_ids, lane))


# What a run's lane depends on, with its id first: see lanes_of.
LANE_FIELDS = ["pk", "trigger", "kind", "slices"]


def lanes_of(rows: Iterable[tuple[Any, ...]]) -> dict[int, queue.Lane]:
    """Each run's lane, from rows of LANE_FIELDS."""
    return {
        pk: sync_run_lane(trigger=trigger, kind=kind, slices=slices)
        for pk, trigger, kind, slices in rows
    }


def sync_runs_enqueue_in(lanes: dict[int, queue.Lane]) -> None:
    """Hand runs' next slices to the workers, each in the lane given: one send each,
    one UPDATE."""
    sent: dict[int, tuple[str, str]] = {}
    for run_id, run_lane in lanes.items():
        try:
            sent[run_id] = queue.enqueue_sync_run(run_id=run_id, lane=run_lane)
        except Exception as exc:
            # A run nobody will ever execute must not sit waiting.
            logger.exception("run %s could not be queued", run_id)
            sync_run_fail(
                run_id=run_id,
                worker=None,
                error=f"Could not queue the sync: {exc}",
                failure=SyncRun.Failure.NOT_QUEUED,
            )
            continue
        logger.info("run %s queued as task %s on %s", run_id, *sent[run_id])
    if sent:
        # Only where it was sent: a worker may already be running the run.
        SyncRun.objects.filter(pk__in=sent).update(
            task_id=Case(*(When(pk=pk, then=Value(task)) for pk, (task, _) in sent.items())),
            queue=Case(*(When(pk=pk, then=Value(name)) for pk, (_, name) in sent.items())),
            queued_at=timezone.now(),
        )


def sync_run_claim(*, run_id: int, worker: str) -> SyncRun | None:
    """Take the run for one slice: a CREATED run, or a RUNNING one between slices.

    None when another worker holds it or it has ended, so a duplicate delivery
    does nothing.
    """
    now = timezone.now()
    claimed = (
        SyncRun.objects.filter(pk=run_id)
        .unheld()
        .update(
            status=Status.RUNNING,
            started_at=Coalesce("started_at", Value(now)),
            heartbeat_at=now,
            worker=worker,
            slices=F("slices") + 1,
        )
    )
    if not claimed:
        logger.info("run %s not claimed by %s: it is not waiting", run_id, worker)
        return None
    run = SyncRun.objects.select_related("mailbox").get(pk=run_id)
    logger.info("run %s claimed by worker %s (mailbox %s)", run_id, worker, run.mailbox_id)
    return run


def sync_run_owned(*, run_id: int, worker: str) -> SyncRunQuerySet:
    """The run, if this worker still holds it: the condition of every write it makes."""
    return SyncRun.objects.filter(pk=run_id).owned_by(worker)


def sync_run_heartbeat(*, run_id: int, worker: str) -> bool:
    """Record that the worker is alive; False when it no longer owns the run."""
    return bool(sync_run_owned(run_id=run_id, worker=worker).update(heartbeat_at=timezone.now()))


def sync_run_assert_owned(*, run_id: int, worker: str) -> None:
    """Lock the run row for the current transaction, or raise RunLost.

    Called inside the transaction that stores a batch of messages, so that a
    release and a batch write cannot interleave.
    """
    if not sync_run_owned(run_id=run_id, worker=worker).select_for_update().exists():
        raise RunLost(f"run {run_id} is no longer owned by worker {worker}")


def sync_run_progress(
    *, run_id: int, worker: str, figures: RunFigures, checkpoint: dict, kind: str | None = None
) -> None:
    """Write progress, heartbeat and checkpoint in one UPDATE."""
    fields: dict[str, Any] = {
        **figures.as_columns(),
        "checkpoint": checkpoint,
        "heartbeat_at": timezone.now(),
    }
    if kind is not None:
        fields["kind"] = kind
        fields["fell_back_to_full"] = True
    if not sync_run_owned(run_id=run_id, worker=worker).update(**fields):
        raise RunLost(f"run {run_id} is no longer owned by worker {worker}")


def sync_run_succeed(
    *, run_id: int, worker: str, figures: RunFigures, history_id: str, finished_at: datetime
) -> None:
    """End the run and record where the mailbox's next sync starts, atomically."""
    with transaction.atomic():
        ended = sync_run_owned(run_id=run_id, worker=worker).update(
            **{**figures.as_columns(), "percent": 100},
            status=Status.SUCCEEDED,
            heartbeat_at=finished_at,
            finished_at=finished_at,
        )
        if not ended:
            raise RunLost(f"run {run_id} is no longer owned by worker {worker}")
        mailbox_id = SyncRun.objects.values_list("mailbox_id", flat=True).get(pk=run_id)
        # Locked until the commit: a notification raising the pending id meanwhile waits,
        # then finds no active run and starts one itself.
        before, pending = (
            Mailbox.objects.select_for_update()
            .values_list("history_id", "pending_history_id")
            .get(pk=mailbox_id)
        )
        # The schedule's next sync of this mailbox is an interval from now: a long one
        # while push brings its changes.
        pushed = watch_is_live(mailbox_id=mailbox_id, now=finished_at)
        Mailbox.objects.filter(pk=mailbox_id).update(
            history_id=history_id,
            last_synced_at=finished_at,
            next_sync_at=finished_at + sync_interval(pushed=pushed),
        )
        if _pushed_change_missed(before=before, reached=history_id, pending=pending):
            logger.info("run %s ended short of a pushed change: one more", run_id)
            sync_runs_start_pushed(mailbox_ids=[mailbox_id])
    logger.info("run %s succeeded (mailbox %s)", run_id, mailbox_id)


def _pushed_change_missed(*, before: str, reached: str, pending: int | None) -> bool:
    """A notification named a change newer than the run reached: run again, as long as
    Gmail's history moved (a run that moved nothing would only loop on a lagging id)."""
    if pending is None or pending <= int(reached or 0):
        return False
    return not before or int(reached or 0) > int(before)


def sync_run_fail(
    *,
    run_id: int,
    worker: str | None,
    error: str,
    failure: RunFailure,
    still: Q | None = None,
) -> bool:
    """End an active run as FAILED; False when it had already ended or moved on.

    worker=None fails the run whoever holds it; `still` adds a condition that
    must hold at the moment of the write (the reaper's "still stale"), so that
    a run a worker has just claimed or finished is left alone. A run that died
    for a reason unrelated to the mailbox gets its automatic retry scheduled.
    """
    runs = SyncRun.objects.filter(pk=run_id).active()
    if worker is not None:
        runs = runs.filter(worker=worker)
    if still is not None:
        runs = runs.filter(still)
    now = timezone.now()
    failed = runs.update(
        status=Status.FAILED,
        error=(error or "The sync failed for an unknown reason.")[:2000],
        failure=failure,
        finished_at=now,
        heartbeat_at=now,
        retry_at=retry_at(now, failure),
    )
    if failed:
        logger.warning("run %s failed (%s): %s", run_id, failure, error)
    return bool(failed)


def sync_run_release(*, run_id: int, by: str) -> bool:
    """End a run by hand (admin or shell); its worker stops at its next write."""
    now = timezone.now()
    return sync_run_fail(
        run_id=run_id,
        worker=None,
        error=f"Released by {by} at {now:%Y-%m-%d %H:%M:%S} UTC",
        failure=SyncRun.Failure.RELEASED,
    )


def sync_run_end_if_dead(run: SyncRun, *, now: datetime) -> bool:
    """Fail an active run that can no longer end by itself; True when it did."""
    return bool(sync_runs_end_dead(now=now, runs=SyncRun.objects.filter(pk=run.pk)))
