"""Error answers that differ between the pages and the JSON API."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.csrf import csrf_failure as page_csrf_failure


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: JSON under /api/, else templates/404.html."""
    if _is_api(request):
        return JsonResponse({"error": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a plain sentence, never the exception (which is logged)."""
    if _is_api(request):
        return JsonResponse({"error": "Something went wrong on our side."}, status=500)
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a script calling the API gets JSON it can read."""
    if _is_api(request):
        return JsonResponse(
            {
                "error": f"CSRF check failed: {reason}. Send the csrftoken cookie's value "
                "in an X-CSRFToken header."
            },
            status=403,
        )
    return page_csrf_failure(request, reason)
