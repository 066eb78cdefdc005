"""What upkeep costs in SQL statements with many runs and mailboxes: a reaper pass,
/health/, and a tick of the "sync every mailbox" schedule (one batch)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from unittest.mock import patch

from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.figures import Figure
from syncapp.models import Mailbox, SyncRun, WorkerProcess
from syncapp.monitoring import health_snapshot
from syncapp.scheduling import mailboxes_sync_due_batch
from syncapp.worker.reaper import sync_runs_reap

Status = SyncRun.Status
OWNER = "bench-upkeep"
WORKER = "bench-upkeep:1"


def _owner():
    user_model = get_user_model()
    _cleanup()
    return user_model.objects.create_user(OWNER)


def _cleanup() -> None:
    SyncRun.objects.filter(mailbox__owner__username=OWNER).delete()
    Mailbox.objects.filter(owner__username=OWNER)._raw_delete(Mailbox.objects.db)
    get_user_model().objects.filter(username=OWNER).delete()
    WorkerProcess.objects.filter(name=WORKER).delete()


def _mailboxes(owner, count: int, **fields) -> list[int]:
    Mailbox.objects.bulk_create(
        (Mailbox(owner=owner, email=f"m{i}@example.com", **fields) for i in range(count)),
        batch_size=2000,
    )
    return list(Mailbox.objects.filter(owner=owner).order_by("pk").values_list("pk", flat=True))


def _count(action: Callable[[], object]) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        action()
    return len(queries), [q["sql"][:60] for q in queries.captured_queries]


def upkeep_queries(*, queued: int = 5000, running: int = 100) -> list[Figure]:
    """`queued` runs waiting for 5 minutes beside an idle worker (their tasks were
    lost) and `running` runs with a heartbeat 10 minutes old (their workers died).
    /health/ counts them, then one reaper pass queues them all again; the sends to
    the broker, one per run, are stubbed and not counted."""
    owner = _owner()
    try:
        now = timezone.now()
        ids = _mailboxes(owner, queued + running)
        SyncRun.objects.bulk_create(
            (
                SyncRun(
                    mailbox_id=pk,
                    status=Status.RUNNING if index >= queued else Status.CREATED,
                    trigger="schedule",
                    started_at=now if index >= queued else None,
                    heartbeat_at=now - timedelta(minutes=10) if index >= queued else None,
                    worker="bench" if index >= queued else "",
                )
                for index, pk in enumerate(ids)
            ),
            batch_size=2000,
        )
        SyncRun.objects.filter(mailbox_id__in=ids).update(created_at=now - timedelta(minutes=5))
        WorkerProcess.objects.create(
            name=WORKER, host="bench", pid=1, started_at=now, seen_at=now, idle_since=now
        )
        WorkerProcess.objects.filter(name=WORKER).update(idle_since=now - timedelta(minutes=5))
        health, health_sql = _count(lambda: health_snapshot(now=timezone.now()))
        stuck = health_snapshot(now=timezone.now()).stuck
        reports = []
        with patch("syncapp.runs.queue.enqueue_sync_run", return_value=("bench", "bench")):
            reap, reap_sql = _count(lambda: reports.append(sync_runs_reap()))
        continued = len(reports[0].continued)
    finally:
        _cleanup()
    rows = f"{queued} queued + {running} running runs"
    return [
        Figure(
            "reaper_pass_queries",
            reap,
            f"{rows}, {continued} queued again by the pass: {'; '.join(reap_sql)}",
        ),
        Figure("health_queries", health, f"{rows}, {stuck} stuck: {'; '.join(health_sql)}"),
    ]


def schedule_tick_queries(*, mailboxes: int = 100_000, due: int = 1000) -> list[Figure]:
    """`mailboxes` connected mailboxes of which `due` are due: SQL statements of one
    batch of the schedule's tick (`mailboxes_sync_due_batch`, its batch size being
    `due`), the sends to the queue on commit left out (one per run, django-q2's)."""
    owner = _owner()
    try:
        now = timezone.now()
        ids = _mailboxes(owner, mailboxes, next_sync_at=now + timedelta(minutes=5))
        Mailbox.objects.filter(pk__in=ids[:due]).update(next_sync_at=now - timedelta(minutes=1))
        results = []
        with patch("syncapp.runs.queue.enqueue_sync_run", return_value=("bench", "bench")):
            count, sql = _count(
                lambda: results.append(mailboxes_sync_due_batch(now=now, size=due))
            )
        taken, started = results[0]
        untouched = Mailbox.objects.filter(pk__in=ids[due:], next_sync_at__gt=now).count()
    finally:
        _cleanup()
    note = (
        f"{mailboxes} mailboxes, {due} due: {taken} taken, {len(started)} runs started, "
        f"{untouched} not due left alone: {'; '.join(sql)}"
    )
    return [Figure("schedule_tick_queries", count, note)]
