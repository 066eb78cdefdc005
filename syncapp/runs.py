"""Services that move a SyncRun through its life: start, claim, progress, end.

Every write after the claim is conditional on the run still being RUNNING and
owned by the same worker, so a worker whose run was released (by the reaper or
an admin) cannot change it any more: it gets RunLost and stops.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from syncapp import tasks
from syncapp.models import Mailbox, SyncRun

logger = logging.getLogger(__name__)

Status = SyncRun.Status


class RunLost(Exception):
    """The worker no longer owns its run; it must stop without writing."""


@dataclass(frozen=True, slots=True)
class Progress:
    processed: int
    total: int
    new: int = 0
    updated: int = 0
    deleted: int = 0
    unparsable: int = 0

    @property
    def percent(self) -> int:
        """Percent done while running: never 100 before the run has really ended."""
        if self.total <= 0:
            return 0
        return min(99, self.processed * 100 // self.total)


def new_worker_id() -> str:
    return uuid.uuid4().hex


def sync_run_start(
    *,
    mailbox: Mailbox,
    kind: SyncRun.Kind = SyncRun.Kind.INCREMENTAL,
    trigger: SyncRun.Trigger,
    enqueue: bool = True,
    resume: SyncRun | None = None,
) -> tuple[SyncRun, bool]:
    """Return the mailbox's active run, or create one; True when it was created.

    A new run is handed to the workers only once its row is committed. Two
    callers racing here both get the same run: the partial unique index on
    active runs lets one insert win, and the loser returns the winner's run.
    With `resume`, the new run continues from that ended run's checkpoint.
    """
    if not mailbox.history_id:
        kind = SyncRun.Kind.FULL
    extra = {}
    if resume is not None:
        extra = {"kind": resume.kind, "retry_of": resume, "checkpoint": resume.checkpoint}
    for _ in range(3):
        active = SyncRun.objects.active().filter(mailbox=mailbox).first()
        if active is not None:
            return active, False
        try:
            with transaction.atomic():
                run = SyncRun.objects.create(
                    mailbox=mailbox, **{"kind": kind, "trigger": trigger, **extra}
                )
                logger.info(
                    "run %s created for mailbox %s (%s, %s)", run.pk, mailbox.pk, run.kind, trigger
                )
                if enqueue:
                    transaction.on_commit(partial(_enqueue, run))
        except IntegrityError:
            # Another request created the active run first; read it on the next pass.
            continue
        return run, True
    raise RuntimeError(f"could not start or find an active run for mailbox {mailbox.pk}")


def _enqueue(run: SyncRun) -> None:
    try:
        task_id = tasks.enqueue_sync_run(run_id=run.pk)
    except Exception as exc:
        # A run nobody will ever execute must not sit in CREATED.
        logger.exception("run %s could not be queued", run.pk)
        sync_run_fail(run_id=run.pk, worker=None, error=f"Could not queue the sync: {exc}")
        return
    SyncRun.objects.filter(pk=run.pk).update(task_id=task_id)
    logger.info("run %s queued as task %s", run.pk, task_id)


def sync_run_claim(*, run_id: int, worker: str) -> SyncRun | None:
    """Move a CREATED run to RUNNING for this worker; None if someone else has it."""
    now = timezone.now()
    claimed = SyncRun.objects.filter(pk=run_id, status=Status.CREATED).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now, worker=worker
    )
    if not claimed:
        logger.info("run %s not claimed by %s: it is not waiting", run_id, worker)
        return None
    run = SyncRun.objects.select_related("mailbox").get(pk=run_id)
    logger.info("run %s claimed by worker %s (mailbox %s)", run_id, worker, run.mailbox_id)
    return run


def _owned(run_id: int, worker: str):
    return SyncRun.objects.filter(pk=run_id, status=Status.RUNNING, worker=worker)


def sync_run_heartbeat(*, run_id: int, worker: str) -> bool:
    """Record that the worker is alive; False when it no longer owns the run."""
    return bool(_owned(run_id, worker).update(heartbeat_at=timezone.now()))


def sync_run_assert_owned(*, run_id: int, worker: str) -> None:
    """Lock the run row for the current transaction, or raise RunLost.

    Called inside the transaction that stores a batch of messages, so that a
    release and a batch write cannot interleave.
    """
    if not _owned(run_id, worker).select_for_update().exists():
        raise RunLost(f"run {run_id} is no longer owned by worker {worker}")


def sync_run_progress(
    *, run_id: int, worker: str, progress: Progress, checkpoint: dict, kind: str | None = None
) -> None:
    """Write progress, heartbeat and checkpoint in one UPDATE."""
    fields = {
        "processed": progress.processed,
        "total": max(progress.total, progress.processed),
        "percent": progress.percent,
        "new_count": progress.new,
        "updated_count": progress.updated,
        "deleted_count": progress.deleted,
        "unparsable_count": progress.unparsable,
        "checkpoint": checkpoint,
        "heartbeat_at": timezone.now(),
    }
    if kind is not None:
        fields["kind"] = kind
        fields["fell_back_to_full"] = True
    if not _owned(run_id, worker).update(**fields):
        raise RunLost(f"run {run_id} is no longer owned by worker {worker}")


def sync_run_succeed(
    *, run_id: int, worker: str, progress: Progress, history_id: str, finished_at: datetime
) -> None:
    """End the run and record where the mailbox's next sync starts, atomically."""
    with transaction.atomic():
        ended = _owned(run_id, worker).update(
            status=Status.SUCCEEDED,
            processed=progress.processed,
            total=max(progress.total, progress.processed),
            percent=100,
            new_count=progress.new,
            updated_count=progress.updated,
            deleted_count=progress.deleted,
            unparsable_count=progress.unparsable,
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


def sync_run_fail(*, run_id: int, worker: str | None, error: str) -> bool:
    """End an active run as FAILED; False when it had already ended or moved on.

    worker=None fails the run whoever holds it (used before any worker took it).
    """
    runs = SyncRun.objects.filter(pk=run_id, status__in=SyncRun.ACTIVE_STATUSES)
    if worker is not None:
        runs = runs.filter(worker=worker)
    now = timezone.now()
    failed = runs.update(
        status=Status.FAILED,
        error=(error or "The sync failed for an unknown reason.")[:2000],
        finished_at=now,
        heartbeat_at=now,
    )
    if failed:
        logger.warning("run %s failed: %s", run_id, error)
    return bool(failed)
