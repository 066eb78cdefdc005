"""Ending runs that cannot end by themselves, retrying them, and pruning old ones.

Run by every worker's liveness thread (within seconds), by a schedule every
minute, by `release_stuck_runs`, and for one mailbox by sync_run_start. A pass
is set-based: a constant number of statements whatever the number of runs (one
conditional UPDATE per kind of death, see syncapp.dead; one to claim the due
retries and two to start them). One pass runs at a time (syncapp.locks); a
caller that does not get the lock skips its pass. Every write is conditional,
so a worker that has just claimed or finished a run is safe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Value
from django.utils import timezone

from syncapp.dead import sync_runs_end_dead
from syncapp.locks import one_at_a_time
from syncapp.models import Mailbox, SyncRun, WorkerProcess
from syncapp.runs import sync_runs_start_many
from syncapp.slices import sync_runs_continue
from syncapp.sql import update_returning
from syncapp.storage import delete_in_chunks

logger = logging.getLogger(__name__)

# Keeps a dead process's row for a day, so "last seen" stays answerable.
FORGET_WORKERS_AFTER = timedelta(days=1)


@dataclass
class ReapReport:
    ended: list[int] = field(default_factory=list)
    # Interrupted, whose task was lost, or whose quota refilled, and queued: they go on.
    continued: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    # Another process or thread was doing a pass: this one did nothing.
    skipped: bool = False


def sync_runs_reap(*, now: datetime | None = None) -> ReapReport:
    now = now or timezone.now()
    with one_at_a_time("reaper") as held:
        if not held:
            return ReapReport(skipped=True)
        ended = sync_runs_end_dead(now=now)
        continued = sync_runs_continue(now=now)
        return ReapReport(ended=ended, continued=continued, retried=sync_runs_retry_due(now=now))


def sync_runs_retry_due(*, now: datetime) -> list[int]:
    """Start the automatic retries that are due; returns the new runs' ids.

    Whoever clears retry_at starts the retry (one UPDATE for all of them). Only
    a mailbox's latest run is retried, and not when the mailbox needs
    reconnecting; a mailbox with an active run gets none (see sync_runs_start_many).
    """
    claimed = update_returning(SyncRun.objects.retry_due(now=now), retry_at=None)
    if not claimed:
        return []
    newer = SyncRun.objects.filter(mailbox_id=OuterRef("mailbox_id"), pk__gt=OuterRef("pk"))
    dead = SyncRun.objects.filter(pk__in=claimed, mailbox__needs_reconnect=False).exclude(
        Exists(newer)
    )
    retries = sync_runs_start_many(
        source=dead,
        mailbox=F("mailbox_id"),
        kind=F("kind"),
        trigger=Value(SyncRun.Trigger.RETRY),
        retry_of=F("pk"),
        checkpoint=F("checkpoint"),
        attempt=F("attempt") + 1,
    )
    logger.info("retries started: %s", retries)
    return retries


def sync_runs_prune(*, keep: int | None = None, now: datetime | None = None) -> int:
    """Delete finished runs beyond the newest `keep` of each mailbox, and forget
    worker processes long dead."""
    keep = keep or settings.SYNC_KEEP_RUNS
    deleted = 0
    for mailbox_id in Mailbox.objects.values_list("pk", flat=True):
        finished = SyncRun.objects.finished().filter(mailbox_id=mailbox_id).order_by("-pk")
        cutoff = finished.values_list("pk", flat=True)[keep : keep + 1].first()
        if cutoff is not None:
            deleted += delete_in_chunks(finished.filter(pk__lte=cutoff))
    forget_before = (now or timezone.now()) - FORGET_WORKERS_AFTER
    WorkerProcess.objects.filter(seen_at__lt=forget_before).delete()
    return deleted
