"""Ending runs that cannot end by themselves, retrying them, and pruning old ones.

Run by every worker's liveness thread (within seconds), by a schedule every
minute, by `release_stuck_runs`, and for one mailbox by sync_run_start. Every
write is a conditional UPDATE, so reapers racing each other, or a worker that
has just claimed or finished a run, are safe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from syncapp.models import Mailbox, SyncRun, WorkerProcess
from syncapp.runs import sync_run_end_if_dead, sync_run_retry, sync_runs_suspect

logger = logging.getLogger(__name__)

# Keeps a dead process's row for a day, so "last seen" stays answerable.
FORGET_WORKERS_AFTER = timedelta(days=1)


@dataclass
class ReapReport:
    ended: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)


def sync_runs_reap(*, now: datetime | None = None) -> ReapReport:
    now = now or timezone.now()
    report = ReapReport()
    for run in sync_runs_suspect(now=now):
        if sync_run_end_if_dead(run, now=now):
            report.ended.append(run.pk)
    report.retried = sync_runs_retry_due(now=now)
    return report


def sync_runs_retry_due(*, now: datetime) -> list[int]:
    """Start the automatic retries that are due; returns the new runs' ids."""
    started = []
    for run in SyncRun.objects.retry_due(now=now).select_related("mailbox"):
        # Whoever clears retry_at starts the retry; other reapers skip it.
        if not SyncRun.objects.filter(pk=run.pk, retry_at__isnull=False).update(retry_at=None):
            continue
        retry = sync_run_retry(failed=run)
        if retry is not None:
            logger.info("run %s: retry %s started (attempt %s)", run.pk, retry.pk, retry.attempt)
            started.append(retry.pk)
    return started


def sync_runs_prune(*, keep: int | None = None, now: datetime | None = None) -> int:
    """Delete finished runs beyond the newest `keep` of each mailbox, and forget
    worker processes long dead."""
    keep = keep or settings.SYNC_KEEP_RUNS
    deleted = 0
    for mailbox_id in Mailbox.objects.values_list("pk", flat=True):
        finished = SyncRun.objects.finished().filter(mailbox_id=mailbox_id).order_by("-pk")
        cutoff = finished.values_list("pk", flat=True)[keep : keep + 1].first()
        if cutoff is not None:
            count, _ = finished.filter(pk__lte=cutoff).delete()
            deleted += count
    forget_before = (now or timezone.now()) - FORGET_WORKERS_AFTER
    WorkerProcess.objects.filter(seen_at__lt=forget_before).delete()
    return deleted
