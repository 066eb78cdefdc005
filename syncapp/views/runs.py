"""A run's live progress (the htmx poll), its retry and cancel, and a mailbox's run history."""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HTMX_STOP_POLLING, HttpResponseClientRefresh, trigger_client_event

from syncapp.mailboxes import MailboxNeedsReconnect
from syncapp.models import SyncRun
from syncapp.runs import sync_run_start
from syncapp.selectors import (
    mailbox_get_for_user,
    run_get_for_user,
    run_list_for_mailbox,
    run_poll_for_user,
)
from syncapp.stopping import RunAlreadyEnded, sync_run_cancel
from syncapp.views.common import HtmxHttpRequest
from syncapp.views.presenters import RunProgress

if TYPE_CHECKING:
    from syncapp.selectors import AnnotatedRun

PROGRESS_TEMPLATE = "runs/progress.html"


def render_progress(
    request: HtmxHttpRequest, run: AnnotatedRun, *, status: int = 200
) -> HttpResponse:
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
    """The poll: three queries (session, user, run; the page adds its mailbox), no Gmail call.

    A finished run answers 286 with a fragment without `hx-trigger`, so htmx 2
    stops on the status and htmx 4 because nothing triggers any more.
    """
    if request.htmx:
        run = run_poll_for_user(user=request.user, run_id=run_id)
        if run.is_active:
            return render_progress(request, run)
        response = render_progress(request, run, status=HTMX_STOP_POLLING)
        # The dashboard refreshes the mailbox's message count and last sync on this.
        return trigger_client_event(response, f"mailbox-{run.mailbox_id}-run-ended")
    run = run_get_for_user(user=request.user, run_id=run_id)
    response = render(
        request, PROGRESS_TEMPLATE, {"progress": RunProgress(run=run, now=timezone.now())}
    )
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_POST
@login_required
def run_retry(request: HtmxHttpRequest, run_id: int) -> HttpResponse:
    """Start the mailbox's sync again, continuing the failed run if it is the latest."""
    failed = run_get_for_user(user=request.user, run_id=run_id)
    if failed.status != SyncRun.Status.FAILED:
        return HttpResponse("Only a failed run can be retried.", status=409)
    try:
        run, _ = sync_run_start(
            mailbox=failed.mailbox, trigger=SyncRun.Trigger.RETRY, resume=failed
        )
    except MailboxNeedsReconnect:
        # The page shows "Reconnect your Google account" instead of the run.
        return HttpResponseClientRefresh() if request.htmx else redirect("dashboard")
    if not request.htmx:
        return redirect("run-progress", run_id=run.pk)
    # Read back with what the partial shows about the workers.
    return render_progress(request, run_get_for_user(user=request.user, run_id=run.pk))


@require_POST
@login_required
def run_cancel(request: HtmxHttpRequest, run_id: int) -> HttpResponse:
    """Stop a waiting or running run; one that has just ended shows how it ended."""
    run = run_get_for_user(user=request.user, run_id=run_id)
    # A run that ended first (a second click, a race with its end) is shown as it ended.
    with suppress(RunAlreadyEnded):
        sync_run_cancel(run=run, by=request.user.get_username())
    if not request.htmx:
        return redirect("run-progress", run_id=run.pk)
    response = render_progress(request, run, status=HTMX_STOP_POLLING)
    return trigger_client_event(response, f"mailbox-{run.mailbox_id}-run-ended")


@require_GET
@login_required
@cache_control(private=True, no_store=True)
def run_history(request: HtmxHttpRequest, mailbox_id: int) -> HttpResponse:
    mailbox = mailbox_get_for_user(user=request.user, mailbox_id=mailbox_id)
    now = timezone.now()
    runs = [RunProgress(run=run, now=now) for run in run_list_for_mailbox(mailbox=mailbox)]
    return render(request, "runs/history.html", {"mailbox": mailbox, "runs": runs})
