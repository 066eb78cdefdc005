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
from django.db.models import Q, QuerySet
from django.utils import timezone

from syncapp.models import Mailbox, SyncRun
from syncapp.runs import sync_run_dead_reason, sync_run_end_if_dead, sync_run_start
from syncapp.workers import workers_forget_dead

logger = logging.getLogger(__name__)


@dataclass
class ReapReport:
    ended: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)


def _suspects(now: datetime) -> QuerySet[SyncRun]:
    """Active runs that could be dead: only these are looked at one by one."""
    stale_before = now - timedelta(seconds=settings.SYNC_STALE_SECONDS)
    waiting_before = now - timedelta(
        seconds=min(settings.SYNC_QUEUE_GRACE_SECONDS, settings.SYNC_QUEUE_TIMEOUT_SECONDS)
    )
    # Served by the syncrun_active partial index.
    return SyncRun.objects.filter(
        Q(status=SyncRun.Status.RUNNING, heartbeat_at__lt=stale_before)
        | Q(status=SyncRun.Status.CREATED, created_at__lt=waiting_before)
    )


def sync_runs_dead(*, now: datetime) -> list[SyncRun]:
    """Active runs that can no longer end by themselves."""
    return [run for run in _suspects(now) if sync_run_dead_reason(run, now=now) is not None]


def sync_runs_reap(*, now: datetime | None = None) -> ReapReport:
    now = now or timezone.now()
    report = ReapReport()
    for run in _suspects(now):
        if sync_run_end_if_dead(run, now=now):
            report.ended.append(run.pk)
    report.retried = sync_runs_retry_due(now=now)
    return report


def sync_runs_retry_due(*, now: datetime) -> list[int]:
    """Start the automatic retries that are due; returns the new runs' ids."""
    started = []
    due = SyncRun.objects.filter(status=SyncRun.Status.FAILED, retry_at__lte=now)
    for run in due.select_related("mailbox"):
        # Whoever clears retry_at starts the retry; other reapers skip it.
        if not SyncRun.objects.filter(pk=run.pk, retry_at__isnull=False).update(retry_at=None):
            continue
        mailbox = run.mailbox
        if mailbox.needs_reconnect or SyncRun.objects.filter(mailbox=mailbox, pk__gt=run.pk):
            continue
        retry, created = sync_run_start(mailbox=mailbox, trigger=SyncRun.Trigger.RETRY, resume=run)
        if created:
            logger.info("run %s: retry %s started (attempt %s)", run.pk, retry.pk, retry.attempt)
            started.append(retry.pk)
    return started


def mailboxes_sync_all() -> list[int]:
    """Start an incremental sync of every connected mailbox that is not syncing."""
    started = []
    for mailbox in Mailbox.objects.filter(needs_reconnect=False):
        run, created = sync_run_start(mailbox=mailbox, trigger=SyncRun.Trigger.SCHEDULE)
        if created:
            started.append(run.pk)
    return started


def sync_runs_prune(*, keep: int | None = None, now: datetime | None = None) -> int:
    """Delete finished runs beyond the newest `keep` of each mailbox."""
    keep = keep or settings.SYNC_KEEP_RUNS
    deleted = 0
    for mailbox_id in Mailbox.objects.values_list("pk", flat=True):
        finished = SyncRun.objects.finished().filter(mailbox_id=mailbox_id).order_by("-pk")
        cutoff = finished.values_list("pk", flat=True)[keep : keep + 1].first()
        if cutoff is not None:
            count, _ = finished.filter(pk__lte=cutoff).delete()
            deleted += count
    workers_forget_dead(now=now or timezone.now())
    return deleted
