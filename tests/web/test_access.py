"""Who may open what: sign-in everywhere but the login, OAuth and health endpoints;
each user only their own things; production settings that keep sessions safe."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
# Paths a signed-out visitor may open (the admin has its own sign-in, Gmail's push
# endpoint Pub/Sub's token; signing out nobody does nothing).
OPEN_PREFIXES = (
    "accounts/login/",
    "accounts/logout/",
    "oauth/",
    "health/",
    "admin/",
    "gmail/push/",
)
SAMPLE_ARGUMENTS = {
    "<int:mailbox_id>": "1",
    "<int:run_id>": "1",
    "<int:message_id>": "1",
    "<int:index>": "0",
    "<path:content_id>": "logo@example.com",
}


def our_routes():
    """Every route of the project, as a path with sample arguments filled in."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    for route in walk(get_resolver().url_patterns):
        for name, value in SAMPLE_ARGUMENTS.items():
            route = route.replace(name, value)
        if not route.startswith(OPEN_PREFIXES):
            yield "/" + route


@pytest.mark.parametrize("path", sorted(our_routes()))
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_page_refuses_a_signed_out_visitor(client, path, method):
    response = getattr(client, method)(path)

    if path.startswith("/api/"):
        assert response.status_code in (401, 405), response
    elif response.status_code != 405:
        assert response.status_code == 302, response
        assert response["Location"].startswith("/accounts/login/?next=")


def test_the_login_page_is_open(client):
    assert client.get("/accounts/login/").status_code == 200


def test_alice_signs_in_with_her_password_and_signs_out_with_a_post(client, alice):
    signed_in = client.post(
        "/accounts/login/", {"username": "alice", "password": "alice-password"}
    )
    assert signed_in["Location"] == "/"
    assert client.get("/").status_code == 200

    assert client.get("/accounts/logout/").status_code == 405
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_a_wrong_password_is_refused(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})

    assert response.status_code == 200
    assert "do not match" in response.content.decode()


def settings_in_production(**env: str) -> dict[str, str]:
    """Security settings as a fresh process reads them with DEBUG=False."""
    names = [
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SECURE_HSTS_SECONDS",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_SSL_REDIRECT",
    ]
    code = (
        "import django; from django.conf import settings; django.setup(); "
        f"print('|'.join(str(getattr(settings, n)) for n in {names!r}))"
    )
    base = {k: v for k, v in os.environ.items() if k not in ("SECURE_COOKIES", "DEBUG")}
    output = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **base,
            "DJANGO_SETTINGS_MODULE": "mailsync.settings",
            "DEBUG": "False",
            "SECRET_KEY": "a-production-secret",
            **env,
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return dict(zip(names, output.split("|"), strict=True))


def test_production_cookies_are_secure_and_hsts_waits_for_the_tls_proxy_setting():
    production = settings_in_production()

    assert production == {
        "SESSION_COOKIE_SECURE": "True",
        "CSRF_COOKIE_SECURE": "True",
        "SESSION_COOKIE_HTTPONLY": "True",
        "SECURE_HSTS_SECONDS": "0",
        "SECURE_CONTENT_TYPE_NOSNIFF": "True",
        "SECURE_PROXY_SSL_HEADER": "None",
        "SECURE_SSL_REDIRECT": "False",
    }


def test_behind_a_tls_proxy_https_is_trusted_enforced_and_pinned_by_hsts():
    production = settings_in_production(TLS_PROXY="True")

    assert production["SECURE_PROXY_SSL_HEADER"] == "('HTTP_X_FORWARDED_PROTO', 'https')"
    assert production["SECURE_SSL_REDIRECT"] == "True"
    assert production["SECURE_HSTS_SECONDS"] == "31536000"
    assert production["SESSION_COOKIE_SECURE"] == "True"
