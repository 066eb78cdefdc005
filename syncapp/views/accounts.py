"""Signing in with a local account, or with Google when it is configured."""

from __future__ import annotations

from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponseBase

from syncapp.social import google_sign_in_configured


def login(request: HttpRequest) -> HttpResponseBase:
    """Django's login view, told per request whether to offer Google."""
    view = LoginView.as_view(
        template_name="accounts/login.html",
        redirect_authenticated_user=True,
        extra_context={"google_sign_in": google_sign_in_configured()},
    )
    return view(request)
