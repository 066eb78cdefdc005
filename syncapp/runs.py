"""Services that move a SyncRun through its life: start, claim, progress, end.

Every write after the claim is conditional on the run still being RUNNING and
owned by the same worker, so a worker whose run was released (by the reaper or
an admin) cannot change it any more: it gets RunLost and stops.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from syncapp import queue
from syncapp.figures import RunFigures
from syncapp.mailboxes import MailboxNeedsReconnect
from syncapp.models import (
    Mailbox,
    RunFailure,
    RunKind,
    RunTrigger,
    SyncRun,
    SyncRunQuerySet,
    WorkerProcess,
)

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
        extra = {
            "kind": resume.kind,
            "retry_of": resume,
            "checkpoint": resume.checkpoint,
            "attempt": resume.attempt + 1,
        }
    for _ in range(3):
        active = SyncRun.objects.active().filter(mailbox=mailbox).first()
        if active is not None:
            if not sync_run_end_if_dead(active, now=timezone.now()):
                _hurry(active, trigger=trigger)
                return active, False
            # Never hand back a dead run: continue where it stopped instead.
            active.refresh_from_db()
            if resume is None:
                extra = {"kind": active.kind, "retry_of": active, "checkpoint": active.checkpoint}
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


def sync_run_enqueue(*, run_id: int, lane: queue.Lane | None = None) -> None:
    """Hand the run's next slice to the workers, in its lane unless `lane` says
    otherwise; call it once the row is committed."""
    try:
        if lane is None:
            run = SyncRun.objects.values("trigger", "kind", "slices").get(pk=run_id)
            lane = sync_run_lane(**run)
        task_id, queue_name = queue.enqueue_sync_run(run_id=run_id, lane=lane)
    except Exception as exc:
        # A run nobody will ever execute must not sit waiting.
        logger.exception("run %s could not be queued", run_id)
        sync_run_fail(
            run_id=run_id,
            worker=None,
            error=f"Could not queue the sync: {exc}",
            failure=SyncRun.Failure.NOT_QUEUED,
        )
        return
    SyncRun.objects.filter(pk=run_id).update(
        task_id=task_id, queued_at=timezone.now(), queue=queue_name
    )
    logger.info("run %s queued as task %s on %s", run_id, task_id, queue_name)


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
        Mailbox.objects.filter(pk=mailbox_id).update(
            history_id=history_id, last_synced_at=finished_at
        )
    logger.info("run %s succeeded (mailbox %s)", run_id, mailbox_id)


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
        retry_at=_retry_at(now, failure),
    )
    if failed:
        logger.warning("run %s failed (%s): %s", run_id, failure, error)
    return bool(failed)


def _retry_at(now: datetime, failure: RunFailure) -> Case | None:
    """When the retry of a run failing now is due, by its attempt: one UPDATE."""
    if failure not in SyncRun.RETRYABLE_FAILURES or settings.SYNC_MAX_RETRIES < 1:
        return None
    delay = settings.SYNC_RETRY_DELAY_SECONDS
    return Case(
        *(
            When(attempt=attempt, then=Value(now + timedelta(seconds=delay * 2 ** (attempt - 1))))
            for attempt in range(1, settings.SYNC_MAX_RETRIES + 1)
        ),
        default=None,
        output_field=DateTimeField(),
    )


def sync_run_release(*, run_id: int, by: str) -> bool:
    """End a run by hand (admin or shell); its worker stops at its next write."""
    now = timezone.now()
    return sync_run_fail(
        run_id=run_id,
        worker=None,
        error=f"Released by {by} at {now:%Y-%m-%d %H:%M:%S} UTC",
        failure=SyncRun.Failure.RELEASED,
    )


def sync_run_dead_reason(run: SyncRun, *, now: datetime) -> tuple[RunFailure, str, Q] | None:
    """Why an active run can no longer end by itself, or None while it can.

    Returns the failure, the message for the user, and the condition that must
    still hold when the run is failed for it.
    """
    if run.status == Status.RUNNING:
        stale_before = now - timedelta(seconds=settings.SYNC_STALE_SECONDS)
        if run.heartbeat_at is None or run.heartbeat_at < stale_before:
            beat = f"{run.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC" if run.heartbeat_at else "never"
            return (
                SyncRun.Failure.WORKER_LOST,
                f"The worker stopped responding; last heartbeat at {beat}.",
                Q(status=Status.RUNNING, heartbeat_at__lt=stale_before),
            )
        return None
    if run.status != Status.CREATED:
        return None
    waiting_since = now - timedelta(seconds=settings.SYNC_QUEUE_GRACE_SECONDS)
    if (
        run.created_at < waiting_since
        and WorkerProcess.objects.idle_since(waiting_since, now=now).exists()
    ):
        return (
            SyncRun.Failure.TASK_LOST,
            "No worker took this sync although one was idle: its queued task was lost "
            "(for example with a worker that was stopped).",
            Q(status=Status.CREATED),
        )
    timeout = settings.SYNC_QUEUE_TIMEOUT_SECONDS
    unserved_since = now - timedelta(seconds=timeout)
    if (
        run.created_at < unserved_since
        and not WorkerProcess.objects.seen_since(unserved_since).exists()
    ):
        return (
            SyncRun.Failure.NO_WORKER,
            f"No sync worker has been running for {_duration(timeout)}, so this sync never "
            "started. Start one (manage.py qcluster) and sync again.",
            Q(status=Status.CREATED),
        )
    return None


def sync_run_end_if_dead(run: SyncRun, *, now: datetime) -> bool:
    """Fail an active run that can no longer end by itself; True when it did."""
    dead = sync_run_dead_reason(run, now=now)
    if dead is None:
        return False
    failure, message, still = dead
    return sync_run_fail(run_id=run.pk, worker=None, error=message, failure=failure, still=still)


def sync_runs_suspect(*, now: datetime) -> SyncRunQuerySet:
    """Active runs that could be dead: only these are looked at one by one."""
    stale_before = now - timedelta(seconds=settings.SYNC_STALE_SECONDS)
    waiting_before = now - timedelta(
        seconds=min(settings.SYNC_QUEUE_GRACE_SECONDS, settings.SYNC_QUEUE_TIMEOUT_SECONDS)
    )
    # Served by the syncrun_active partial index.
    return SyncRun.objects.stale(before=stale_before) | SyncRun.objects.waiting_since(
        waiting_before
    )


def sync_runs_dead(*, now: datetime) -> list[SyncRun]:
    """Active runs that can no longer end by themselves."""
    return [
        run for run in sync_runs_suspect(now=now) if sync_run_dead_reason(run, now=now) is not None
    ]


def _duration(seconds: int) -> str:
    if seconds % 60 == 0 and seconds >= 60:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
