"""The Content-Security-Policy every response carries, and who signs in from where.

Scripts and styles come only from our own origin: no inline script, handler or
style (htmx is told not to inject its indicator styles, see base.html). Forms may
post to us and be redirected to Google's sign-in page, and nothing may frame us.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


def content_security_policy() -> str:
    google = urlsplit(settings.GOOGLE_AUTHORIZATION_URL)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            f"form-action 'self' {google.scheme}://{google.netloc}",
        ]
    )


def message_body_policy(*, cid_prefix: str, remote_images: bool) -> str:
    """The policy of an HTML mail's body, framed by its message page: nothing runs,
    nothing is sent, and images come only from the message's own parts (`cid_prefix`,
    an absolute URL) unless the person asked for remote ones."""
    images = f"{cid_prefix} https: http:" if remote_images else cid_prefix
    return "; ".join(
        [
            "default-src 'none'",
            f"img-src {images}",
            # Mail styles with style attributes; nh3 kept only harmless properties.
            "style-src 'unsafe-inline'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'self'",
            # Sandboxed even when opened on its own: no scripts, forms or top navigation.
            "sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox",
        ]
    )


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", content_security_policy())
        return response


def client_ip(request: HttpRequest) -> str | None:
    """The sign-in's address, for django-axes: behind TLS_PROXY the last address the
    proxy appended to X-Forwarded-For (earlier ones are the client's to forge)."""
    if settings.TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        if forwarded:
            return forwarded
    return request.META.get("REMOTE_ADDR")
