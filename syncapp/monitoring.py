"""Figures about runs and workers, for /health/ and the staff runbook page."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q

from syncapp.dead import dead_condition
from syncapp.models import SyncRun, WorkerProcess

Status = SyncRun.Status

# The old runbook's thresholds: beyond these a figure is shown as bad.
SUCCESS_RATE_MIN = 0.95
AVG_DURATION_MAX_SECONDS = 300
STUCK_MAX = 0
ERROR_RATE_MAX = 0.05
# Today's Gmail units past this share of GMAIL_DAILY_UNITS_BUDGET are shown as bad.
DAILY_UNITS_SHARE_MAX = 0.9


@dataclass(frozen=True)
class Health:
    healthy: bool
    workers_alive: int
    queued: int
    running: int
    stuck: int
    failed_last_hour: int
    success_rate_24h: float | None
    avg_duration_seconds_24h: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def health_snapshot(*, now: datetime) -> Health:
    """Four queries whatever the number of runs: active, the last day, live
    workers, stuck runs."""
    active = SyncRun.objects.active().aggregate(
        queued=Count("pk", filter=Q(status=Status.CREATED)),
        running=Count("pk", filter=Q(status=Status.RUNNING)),
    )
    day = SyncRun.objects.filter(finished_at__gte=now - timedelta(hours=24)).aggregate(
        finished=Count("pk"),
        succeeded=Count("pk", filter=Q(status=Status.SUCCEEDED)),
        failed_last_hour=Count(
            "pk", filter=Q(status=Status.FAILED, finished_at__gte=now - timedelta(hours=1))
        ),
        avg_duration=Avg(
            ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField()),
            filter=Q(status=Status.SUCCEEDED),
        ),
    )
    workers = WorkerProcess.objects.alive(now=now).count()
    # Served by the syncrun_active partial index.
    stuck = SyncRun.objects.filter(dead_condition(now=now)).count()
    waiting_without_workers = workers == 0 and (active["queued"] + active["running"]) > 0
    return Health(
        healthy=not waiting_without_workers and stuck == 0,
        workers_alive=workers,
        queued=active["queued"],
        running=active["running"],
        stuck=stuck,
        failed_last_hour=day["failed_last_hour"],
        success_rate_24h=(
            round(day["succeeded"] / day["finished"], 4) if day["finished"] else None
        ),
        avg_duration_seconds_24h=(
            round(day["avg_duration"].total_seconds(), 1) if day["avg_duration"] else None
        ),
    )


@dataclass(frozen=True)
class Figure:
    name: str
    value: str
    threshold: str
    bad: bool
    # What it means when it is red, and what to do about it.
    when_red: str = ""


def runbook_figures(health: Health, *, units_today: int, daily_budget: int) -> list[Figure]:
    """The runbook's figures, each flagged when past its threshold: four about runs,
    and today's Gmail units (the quota ledger's count) against the daily budget."""
    rate = health.success_rate_24h
    duration = health.avg_duration_seconds_24h
    error_rate = None if rate is None else 1 - rate
    return [
        Figure(
            "Success rate (24 h)",
            "no runs" if rate is None else f"{rate:.1%}",
            f"at least {SUCCESS_RATE_MIN:.0%}",
            rate is not None and rate < SUCCESS_RATE_MIN,
            "Many syncs end FAILED. Open the failed runs in the admin (filter by failure): "
            "gmail_unavailable or gmail_refused point at Gmail or the quota, reconnect at "
            "revoked accounts (their owners must reconnect), database at the database, "
            "error at a bug (read the log for the run's id). Cancelled runs count as failed.",
        ),
        Figure(
            "Average duration (24 h)",
            "no runs" if duration is None else f"{duration:.0f} s",
            f"at most {AVG_DURATION_MAX_SECONDS // 60} min",
            duration is not None and duration > AVG_DURATION_MAX_SECONDS,
            "Syncs are slow. Check that workers are not all busy (queued runs waiting), that "
            'Gmail is not answering 429s (the log says "Retry after"), and the database\'s '
            "load; add workers (syncworkers --workers) if runs queue up.",
        ),
        Figure(
            "Stuck runs",
            str(health.stuck),
            "none",
            health.stuck > STUCK_MAX,
            "Runs that can no longer end by themselves. The reaper ends them every minute; "
            "if they stay, check that the schedule runs (ensure_schedules) and a worker is "
            "alive, then run manage.py release_stuck_runs, or release them in the admin.",
        ),
        Figure(
            "Error rate (24 h)",
            "no runs" if error_rate is None else f"{error_rate:.1%}",
            f"at most {ERROR_RATE_MAX:.0%}",
            error_rate is not None and error_rate > ERROR_RATE_MAX,
            "As for the success rate: look at the failures in the admin, the most frequent "
            "first. Failures that retry by themselves (worker_lost, task_lost, "
            "gmail_unavailable, database) usually mean workers were killed or Gmail was down.",
        ),
        Figure(
            "Gmail units today (UTC)",
            f"{units_today:,} of {daily_budget:,} ({units_today / daily_budget:.0%})",
            f"at most {DAILY_UNITS_SHARE_MAX:.0%} of the daily budget",
            units_today > daily_budget * DAILY_UNITS_SHARE_MAX,
        ),
    ]
