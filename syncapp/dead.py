"""Why active runs can no longer end by themselves, said in SQL.

Each kind of death is a condition on the run row (with the worker processes
it needs as EXISTS subqueries) and a message, so that the reaper ends every
dead run of a kind with one conditional UPDATE and /health/ counts them with
one COUNT, whatever the number of runs. The condition travels with the
UPDATE, so a run that a worker has just claimed, beaten for or finished no
longer matches and is left alone.
"""

from __future__ import annotations

import logging
import operator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    Exists,
    Expression,
    Func,
    Q,
    Value,
    When,
)
from django.db.models.functions import Concat
from django.utils import timezone

from syncapp.models import RunFailure, SyncRun, SyncRunQuerySet, WorkerProcess
from syncapp.sql import update_returning

logger = logging.getLogger(__name__)

Status = SyncRun.Status


class UtcSeconds(Func):
    """A UTC timestamp as text, 'YYYY-MM-DD HH:MM:SS', computed by the database."""

    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # SQLite stores datetimes as UTC text; its cursor turns %% into %.
        template = "strftime('%%%%Y-%%%%m-%%%%d %%%%H:%%%%M:%%%%S', %(expressions)s)"
        return self.as_sql(compiler, connection, template=template, **extra)


@dataclass(frozen=True)
class Death:
    failure: RunFailure
    condition: Q
    message: Expression | Value


def deaths(*, now: datetime) -> list[Death]:
    """The kinds of death, in the order they are tried."""
    stale_before = now - timedelta(seconds=settings.SYNC_STALE_SECONDS)
    waiting_since = now - timedelta(seconds=settings.SYNC_QUEUE_GRACE_SECONDS)
    timeout = settings.SYNC_QUEUE_TIMEOUT_SECONDS
    unserved_since = now - timedelta(seconds=timeout)
    return [
        Death(
            SyncRun.Failure.WORKER_LOST,
            Q(status=Status.RUNNING, heartbeat_at__lt=stale_before),
            Concat(
                Value("The worker stopped responding; last heartbeat at "),
                UtcSeconds("heartbeat_at"),
                Value(" UTC."),
                output_field=CharField(),
            ),
        ),
        Death(
            SyncRun.Failure.TASK_LOST,
            Q(status=Status.CREATED, created_at__lt=waiting_since)
            & Q(Exists(WorkerProcess.objects.idle_since(waiting_since, now=now))),
            Value(
                "No worker took this sync although one was idle: its queued task was lost "
                "(for example with a worker that was stopped)."
            ),
        ),
        Death(
            SyncRun.Failure.NO_WORKER,
            Q(status=Status.CREATED, created_at__lt=unserved_since)
            & ~Q(Exists(WorkerProcess.objects.seen_since(unserved_since))),
            Value(
                f"No sync worker has been running for {_duration(timeout)}, so this sync "
                "never started. Start one (manage.py qcluster) and sync again."
            ),
        ),
    ]


def dead_condition(*, now: datetime) -> Q:
    """Any kind of death: the runs /health/ counts as stuck."""
    return reduce(operator.or_, (death.condition for death in deaths(now=now)))


def retry_at(now: datetime, failure: RunFailure) -> Case | None:
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


def sync_runs_end_dead(*, now: datetime, runs: SyncRunQuerySet | None = None) -> list[int]:
    """Fail every active run (of `runs`, default all) that can no longer end by
    itself: one UPDATE per kind of death. Returns the ids of the runs ended."""
    runs = SyncRun.objects.all() if runs is None else runs
    ended: list[int] = []
    for death in deaths(now=now):
        written = timezone.now()
        ids = update_returning(
            runs.filter(death.condition),
            status=Status.FAILED,
            error=death.message,
            failure=death.failure,
            finished_at=written,
            heartbeat_at=written,
            retry_at=retry_at(written, death.failure),
        )
        if ids:
            logger.warning("runs %s failed (%s)", ids, death.failure)
        ended += ids
    return ended


def _duration(seconds: int) -> str:
    if seconds % 60 == 0 and seconds >= 60:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
