"""The dashboard: the user's mailboxes, and the Sync buttons."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh, trigger_client_event

from syncapp.mailboxes import MailboxNeedsReconnect
from syncapp.models import Mailbox, SyncRun
from syncapp.runs import sync_run_start
from syncapp.selectors import (
    mailbox_get_for_user,
    mailbox_list_for_user,
    mailbox_watch_or_none,
    run_get_for_user,
)
from syncapp.social import google_sign_in_configured
from syncapp.views.common import HtmxHttpRequest
from syncapp.views.presenters import ChangeDelivery, RunProgress
from syncapp.views.runs import render_progress


@dataclass(frozen=True, slots=True)
class MailboxCard:
    mailbox: Mailbox
    # The current run, or else the last one; None before the first sync.
    progress: RunProgress | None
    delivery: ChangeDelivery


@require_GET
@login_required
@never_cache
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    now = timezone.now()
    cards = [
        MailboxCard(
            mailbox=mailbox,
            progress=RunProgress(run=mailbox.latest_runs[0], now=now)
            if mailbox.latest_runs
            else None,
            delivery=ChangeDelivery.of(mailbox_watch_or_none(mailbox=mailbox), now=now),
        )
        for mailbox in mailbox_list_for_user(user=request.user)
    ]
    return render(
        request,
        "dashboard.html",
        {"cards": cards, "google_sign_in": google_sign_in_configured()},
    )


@require_POST
@login_required
def mailbox_sync(request: HtmxHttpRequest, mailbox_id: int) -> HttpResponse:
    """Start a sync, or join the one running: a second click shows the same run."""
    mailbox = mailbox_get_for_user(user=request.user, mailbox_id=mailbox_id)
    kind = SyncRun.Kind.FULL if request.POST.get("full") == "1" else SyncRun.Kind.INCREMENTAL
    try:
        run, _ = sync_run_start(mailbox=mailbox, kind=kind, trigger=SyncRun.Trigger.WEB)
    except MailboxNeedsReconnect:
        # A page older than the revocation: reload it to show "Reconnect".
        return HttpResponseClientRefresh() if request.htmx else redirect("dashboard")
    if not request.htmx:
        return redirect("dashboard")
    # Read back with what the partial shows about the workers.
    response = render_progress(request, run_get_for_user(user=request.user, run_id=run.pk))
    # The mailbox's head shows the sync as running (a busy Sync button).
    return trigger_client_event(response, f"mailbox-{mailbox.pk}-run-started")
