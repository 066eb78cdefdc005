"""Failed password sign-ins are slowed down before django-axes locks them out.

django-axes keeps a record of the failures per username, address and browser
(`AccessAttempt`: how many since the last success, and when the last one was).
After LOGIN_SLOWDOWN_AFTER failures for a username, or for an address, the next
attempt must wait LOGIN_SLOWDOWN_SECONDS after the last failure, then twice,
four times as long...; one tried sooner is refused without checking its
password, and is not counted as a failure. At LOGIN_FAILURE_LIMIT failures
django-axes locks signing in for LOGIN_LOCKOUT_MINUTES.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Sum
from django.http import HttpRequest
from django.utils import timezone

from mailsync.security import client_ip


def signin_wait_seconds(*, username: str | None, ip_address: str | None, now: datetime) -> int:
    """Seconds before a password sign-in for this username from this address may be
    tried; 0 when it may be tried now."""
    recent = AccessAttempt.objects.filter(attempt_time__gte=now - settings.AXES_COOLOFF_TIME)
    waits = [0]
    for field, value in (("username", username), ("ip_address", ip_address)):
        if not value:
            continue
        failed = recent.filter(**{field: value}).aggregate(
            failures=Sum("failures_since_start"), last=Max("attempt_time")
        )
        over = (failed["failures"] or 0) - settings.LOGIN_SLOWDOWN_AFTER
        if over < 0:
            continue
        delay = timedelta(seconds=settings.LOGIN_SLOWDOWN_SECONDS * 2**over)
        waits.append(math.ceil((failed["last"] + delay - now).total_seconds()))
    return max(waits)


class SignInSlowDownBackend:
    """In AUTHENTICATION_BACKENDS after django-axes' own (a lock is said first) and
    before the ones that check passwords: refuses a sign-in tried too soon.

    It marks the request as django-axes marks a locked-out one, so that django-axes
    does not count the attempt and its middleware answers it (AXES_LOCKOUT_CALLABLE,
    syncapp.views.accounts.signin_refused, which reads `signin_wait_seconds`).
    It has no `get_user`: it never signs anyone in, and so is never the backend a
    session (or a test's force_login) is kept with.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None or password is None:
            return None
        address = getattr(request, "axes_ip_address", None) or client_ip(request)
        wait = signin_wait_seconds(username=username, ip_address=address, now=timezone.now())
        if wait > 0:
            request.signin_wait_seconds = wait  # type: ignore[attr-defined]
            request.axes_locked_out = True  # type: ignore[attr-defined]
            raise PermissionDenied(f"Too many failed sign-ins: try again in {wait} seconds")
        return None
