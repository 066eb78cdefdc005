"""The periodic sync of every connected mailbox, by due time.

Each mailbox has `next_sync_at`. The schedule's tick (every minute) takes the
due mailboxes in batches, moves their next_sync_at on by SYNC_INTERVAL_MINUTES
(SYNC_PUSH_FALLBACK_HOURS for a mailbox with a live watch: push brings its changes;
with jitter, so that mailboxes first synced together drift apart) and starts
their runs, with a constant number of statements per batch. A run that
succeeds moves its mailbox's next_sync_at on too (runs.sync_run_succeed), so a
mailbox synced by hand is not synced again by the tick straight after. Ticks
never overlap (syncapp.locks).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Case, DateTimeField, F, Value, When
from django.utils import timezone

from syncapp.locks import one_at_a_time
from syncapp.models import GmailWatch, Mailbox, SyncRun
from syncapp.queue import SCHEDULER_CHECK_SECONDS, SYNC_TICK, schedule_next_run
from syncapp.runs import sync_runs_start_many
from syncapp.watches import sync_interval

BATCH_SIZE = 1000
# The next sync is due after the interval times a factor in this range.
JITTER = (0.9, 1.1)


def mailboxes_sync_all(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> list[int]:
    """Start a sync of every connected mailbox that is due and not syncing;
    returns the new runs' ids (none when another tick is running)."""
    now = now or timezone.now()
    started: list[int] = []
    with one_at_a_time("schedule") as held:
        if not held:
            return started
        while True:
            selected, created = mailboxes_sync_due_batch(now=now, size=batch_size)
            started += created
            if selected < batch_size:
                return started


def mailboxes_sync_due_batch(*, now: datetime, size: int) -> tuple[int, list[int]]:
    """One batch of the tick: (mailboxes taken, runs started).

    A mailbox that already has an active run is moved on but gets no new run:
    the one-active-run index skips it in the INSERT.
    """
    with transaction.atomic():
        due = Mailbox.objects.due(now=now).order_by("next_sync_at")
        if connection.features.has_select_for_update_skip_locked:
            # Served by the mailbox_due partial index.
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:size])
        if not ids:
            return 0, []
        pushed = set(
            GmailWatch.objects.live(now=now)
            .filter(mailbox_id__in=ids)
            .values_list("mailbox_id", flat=True)
        )
        Mailbox.objects.filter(pk__in=ids).update(
            next_sync_at=Case(
                *(
                    When(
                        pk=pk,
                        then=Value(
                            now + sync_interval(pushed=pk in pushed) * random.uniform(*JITTER)
                        ),
                    )
                    for pk in ids
                ),
                output_field=DateTimeField(),
            )
        )
        created = sync_runs_start_many(
            source=Mailbox.objects.filter(pk__in=ids),
            mailbox=F("pk"),
            kind=Case(
                When(history_id="", then=Value(SyncRun.Kind.FULL)),
                default=Value(SyncRun.Kind.INCREMENTAL),
            ),
            trigger=Value(SyncRun.Trigger.SCHEDULE),
        )
    return len(ids), created


def mailbox_next_scheduled_sync(*, mailbox: Mailbox, workers_start: datetime) -> datetime | None:
    """About when the schedule's tick starts this mailbox's next sync, with workers
    starting at `workers_start`; None for a mailbox that needs reconnecting.

    The tick takes a mailbox at its next run once the mailbox's next_sync_at has
    come, and a cluster looks at its schedules first SCHEDULER_CHECK_SECONDS after
    it starts, then as often (so this may be that much early).
    """
    if mailbox.needs_reconnect:
        return None
    first_check = workers_start + timedelta(seconds=SCHEDULER_CHECK_SECONDS)
    tick = schedule_next_run(SYNC_TICK) or first_check
    return max(first_check, tick, mailbox.next_sync_at)
