"""Error answers that differ between the pages and the JSON API."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.csrf import csrf_failure as page_csrf_failure


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a script calling the API gets JSON it can read."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "error": f"CSRF check failed: {reason}. Send the csrftoken cookie's value "
                "in an X-CSRFToken header."
            },
            status=403,
        )
    return page_csrf_failure(request, reason)
