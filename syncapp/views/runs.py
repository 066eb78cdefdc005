"""A run's live progress (the htmx poll), its retry, and a mailbox's run history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HTMX_STOP_POLLING, HttpResponseClientRefresh, trigger_client_event

from syncapp import workers
from syncapp.models import SyncRun
from syncapp.runs import sync_run_start
from syncapp.selectors import (
    mailbox_get_for_user,
    run_get_for_user,
    run_is_latest,
    run_list_for_mailbox,
)
from syncapp.views.common import HtmxHttpRequest

PROGRESS_TEMPLATE = "runs/progress.html"
# A run waiting longer than this behind busy workers says so.
WORKER_AWAITED_SECONDS = 30


@dataclass(frozen=True, slots=True)
class RunProgress:
    """A run as its progress partial shows it, with the figures derived from it."""

    run: SyncRun
    now: datetime

    @property
    def elapsed_seconds(self) -> float:
        if self.run.started_at is None:
            return 0.0
        end = self.run.finished_at or self.now
        return max(0.0, (end - self.run.started_at).total_seconds())

    @property
    def rate(self) -> float | None:
        """Messages per second since the run started."""
        if not self.run.processed or self.elapsed_seconds <= 0:
            return None
        return self.run.processed / self.elapsed_seconds

    @property
    def rate_text(self) -> str:
        rate = self.rate
        if rate is None:
            return "—"
        return f"{rate:.1f}" if rate < 10 else f"{rate:.0f}"

    @property
    def time_left_text(self) -> str:
        rate = self.rate
        if rate is None or self.run.total <= self.run.processed:
            return "—"
        return "about " + human_duration((self.run.total - self.run.processed) / rate)

    @property
    def duration_text(self) -> str:
        return human_duration(self.elapsed_seconds)

    @property
    def workers_alive(self) -> bool:
        """Whether any sync worker is alive (annotated by the run's selector)."""
        alive = getattr(self.run, "workers_alive", None)
        if alive is None:
            return workers.alive_count(now=self.now) > 0
        return alive

    @property
    def waiting_text(self) -> str:
        """For a CREATED run waiting long behind busy workers: how long."""
        waited = (self.now - self.run.created_at).total_seconds()
        if waited < WORKER_AWAITED_SECONDS:
            return ""
        return human_duration(waited)

    @property
    def silent_text(self) -> str:
        """For a RUNNING run whose worker stopped sending heartbeats: since when."""
        beat = self.run.heartbeat_at or self.run.started_at
        if self.run.status != SyncRun.Status.RUNNING or beat is None:
            return ""
        silent = (self.now - beat).total_seconds()
        if silent < settings.SYNC_STALE_SECONDS:
            return ""
        return human_duration(silent)


def human_duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def render_progress(request: HtmxHttpRequest, run: SyncRun, *, status: int = 200) -> HttpResponse:
    """The run's progress partial alone, as htmx swaps it in."""
    response = render(
        request,
        f"{PROGRESS_TEMPLATE}#progress",
        {"progress": RunProgress(run=run, now=timezone.now())},
        status=status,
    )
    # The same URL answers a page or a fragment: caches must tell them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@login_required
@never_cache
def run_progress(request: HtmxHttpRequest, run_id: int) -> HttpResponse:
    """The poll: three queries (session, user, run with its mailbox), no Gmail call.

    A finished run answers 286 with a fragment without `hx-trigger`, so htmx 2
    stops on the status and htmx 4 because nothing triggers any more.
    """
    run = run_get_for_user(user=request.user, run_id=run_id)
    if request.htmx:
        if run.is_active:
            return render_progress(request, run)
        response = render_progress(request, run, status=HTMX_STOP_POLLING)
        # The dashboard refreshes the mailbox's message count and last sync on this.
        return trigger_client_event(response, f"mailbox-{run.mailbox_id}-run-ended")
    response = render(
        request, PROGRESS_TEMPLATE, {"progress": RunProgress(run=run, now=timezone.now())}
    )
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_POST
@login_required
def run_retry(request: HtmxHttpRequest, run_id: int) -> HttpResponse:
    """Start the mailbox's sync again; the latest failed run is continued from its checkpoint.

    An older failed run is not resumed: a later full sync has moved on since,
    and its checkpoint no longer describes the mailbox.
    """
    failed = run_get_for_user(user=request.user, run_id=run_id)
    if failed.status != SyncRun.Status.FAILED:
        return HttpResponse("Only a failed run can be retried.", status=409)
    mailbox = failed.mailbox
    if mailbox.needs_reconnect:
        # The page shows "Reconnect your Google account" instead of the run.
        return HttpResponseClientRefresh() if request.htmx else redirect("dashboard")
    resume = failed if run_is_latest(run=failed) else None
    run, _ = sync_run_start(mailbox=mailbox, trigger=SyncRun.Trigger.RETRY, resume=resume)
    if not request.htmx:
        return redirect("run-progress", run_id=run.pk)
    return render_progress(request, run)


@require_GET
@login_required
def run_history(request: HtmxHttpRequest, mailbox_id: int) -> HttpResponse:
    mailbox = mailbox_get_for_user(user=request.user, mailbox_id=mailbox_id)
    now = timezone.now()
    runs = [RunProgress(run=run, now=now) for run in run_list_for_mailbox(mailbox=mailbox)]
    return render(request, "runs/history.html", {"mailbox": mailbox, "runs": runs})
