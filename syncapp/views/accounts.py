"""Signing in with a local account, or with Google when it is configured."""

from __future__ import annotations

from typing import Any

from axes.helpers import get_cool_off
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render

from syncapp.social import google_sign_in_configured


def login(request: HttpRequest) -> HttpResponseBase:
    """Django's login view, told per request whether to offer Google."""
    view = LoginView.as_view(
        template_name="accounts/login.html",
        redirect_authenticated_user=True,
        extra_context={"google_sign_in": google_sign_in_configured()},
    )
    return view(request)


def signin_refused(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    """django-axes' answer to a refused sign-in (AXES_LOCKOUT_CALLABLE): too soon after
    failures (syncapp.signin), or locked out."""
    wait = getattr(request, "signin_wait_seconds", None)
    if wait:
        response = render(request, "accounts/slowed.html", {"wait_seconds": wait}, status=429)
        response["Retry-After"] = str(wait)
        return response
    return render(
        request, "accounts/locked.html", {"cooloff_timedelta": get_cool_off(request)}, status=429
    )
