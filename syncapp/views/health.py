"""Health for monitors (no login, no personal data) and the staff runbook page."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from syncapp.gmail.ledger import quota_ledger
from syncapp.monitoring import health_snapshot, runbook_figures
from syncapp.push import push_notifications_per_minute
from syncapp.selectors import watches_expiring

# The staff page lists the watches that lapse this soon.
WATCHES_EXPIRING_WITHIN = timedelta(days=1)


@require_GET
@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """200 when syncs can make progress; 503 when runs wait with no worker, or one is stuck."""
    snapshot = health_snapshot(now=timezone.now())
    return JsonResponse(snapshot.as_dict(), status=200 if snapshot.healthy else 503)


@require_GET
@never_cache
@login_required
def runbook(request: HttpRequest) -> HttpResponse:
    """The old runbook's figures with their thresholds, for staff."""
    if not request.user.is_staff:
        raise PermissionDenied
    now = timezone.now()
    snapshot = health_snapshot(now=now)
    figures = runbook_figures(
        snapshot,
        units_today=quota_ledger().units_today(now=now.timestamp()),
        daily_budget=settings.GMAIL_DAILY_UNITS_BUDGET,
    )
    push = {
        "configured": bool(settings.GMAIL_PUBSUB_TOPIC),
        "per_minute": push_notifications_per_minute(now=now),
        "expiring": watches_expiring(now=now, within=WATCHES_EXPIRING_WITHIN),
    }
    return render(
        request, "staff/runbook.html", {"health": snapshot, "figures": figures, "push": push}
    )
