"""What every view shares: the request type it receives."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request that went through HtmxMiddleware, by a signed-in user.

    Every view taking it is behind login_required (or, in the API, its own check).
    """

    htmx: HtmxDetails
    user: User
