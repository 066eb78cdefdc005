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
from collections.abc import Callable
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
    F,
    Field,
    Func,
    OuterRef,
    Q,
    TextField,
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


def lapsed(*, now: datetime) -> Q:
    """Runs held by a slice whose lease lapsed: its worker stopped beating."""
    stale_before = now - timedelta(seconds=settings.SYNC_STALE_SECONDS)
    return Q(status=Status.RUNNING, heartbeat_at__lt=stale_before) & ~Q(worker="")


def stalled() -> Q:
    """Runs interrupted SYNC_MAX_INTERRUPTIONS - 1 times in a row without progress:
    one more interruption ends them."""
    return Q(
        processed__lte=F("processed_at_interruption"),
        interruptions_in_a_row__gte=settings.SYNC_MAX_INTERRUPTIONS - 1,
    )


def waiting_since(moment: datetime) -> Q:
    """Runs waiting for a worker (their first slice or their next) since before `moment`."""
    return (Q(status=Status.CREATED) | Q(status=Status.RUNNING, worker="")) & Q(
        Q(queued_at__lt=moment) | Q(queued_at__isnull=True, created_at__lt=moment)
    )


def task_lost(*, now: datetime) -> Q:
    """Runs left waiting beside a worker of their queue that has been idle as long:
    their task is not in the queue any more (a cluster killed with it in hand)."""
    since = now - timedelta(seconds=settings.SYNC_QUEUE_GRACE_SECONDS)
    idle = WorkerProcess.objects.idle_since(since, now=now)
    # A run never sent anywhere (its queueing failed halfway) is any queue's.
    beside_idle = Q(Exists(idle.filter(queue=OuterRef("queue")))) | (Q(queue="") & Q(Exists(idle)))
    return waiting_since(since) & beside_idle


def stalled_error(last: str) -> str:
    """Why a run that kept being interrupted without progress failed."""
    limit = settings.SYNC_MAX_INTERRUPTIONS
    times = f"{limit} time{'s' if limit != 1 else ''}"
    return f"The sync was interrupted {times} in a row without progress; last: {last}"


def last_heartbeat() -> Concat:
    return Concat(
        Value("the worker stopped responding; last heartbeat at "),
        UtcSeconds("heartbeat_at"),
        Value(" UTC"),
        output_field=CharField(),
    )


def deaths(*, now: datetime) -> list[Death]:
    """The kinds of death, in the order they are tried."""
    timeout = settings.SYNC_QUEUE_TIMEOUT_SECONDS
    unserved_since = now - timedelta(seconds=timeout)
    return [
        Death(
            SyncRun.Failure.WORKER_LOST,
            lapsed(now=now) & stalled(),
            Concat(
                Value(stalled_error("")),
                last_heartbeat(),
                Value("."),
                output_field=CharField(),
            ),
        ),
        Death(
            SyncRun.Failure.NO_WORKER,
            waiting_since(unserved_since)
            & ~Q(Exists(WorkerProcess.objects.seen_since(unserved_since))),
            Value(
                f"No sync worker has been running for {_duration(timeout)}, so this sync "
                "could not go on. Start them (manage.py syncworkers) and sync again."
            ),
        ),
    ]


def dead_condition(*, now: datetime) -> Q:
    """Runs that cannot go on by themselves until the reaper acts: /health/'s stuck runs."""
    conditions = [death.condition for death in deaths(now=now)]
    return reduce(operator.or_, [*conditions, lapsed(now=now), task_lost(now=now)])


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
    """Fail every active run (of `runs`, default all) that can no longer go on by
    itself, each with its kind's failure and message: one UPDATE. Returns the ids
    of the runs ended."""
    runs = SyncRun.objects.all() if runs is None else runs
    kinds = deaths(now=now)
    written = timezone.now()

    def by_kind(value: Callable[[Death], Any], field: Field[Any, Any]) -> Case:
        return Case(
            *(When(death.condition, then=value(death)) for death in kinds),
            default=Value(None),
            output_field=field,
        )

    ended = update_returning(
        runs.filter(reduce(operator.or_, (death.condition for death in kinds))),
        status=Status.FAILED,
        error=by_kind(lambda death: death.message, TextField()),
        failure=by_kind(lambda death: Value(death.failure), CharField()),
        finished_at=written,
        heartbeat_at=written,
        retry_at=by_kind(
            lambda death: retry_at(written, death.failure) or Value(None), DateTimeField()
        ),
    )
    if ended:
        logger.warning("runs %s failed: they could not go on", ended)
    return ended


def _duration(seconds: int) -> str:
    if seconds % 60 == 0 and seconds >= 60:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
