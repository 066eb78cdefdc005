"""What every page tells the browser: its Content-Security-Policy, and not to keep mail."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.mark.parametrize("path", ["/accounts/login/", "/health/", "/no-such-page/"])
def test_every_answer_carries_a_content_security_policy_without_inline_script(client, path):
    policy = client.get(path)["Content-Security-Policy"]

    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_the_policy_lets_the_sign_in_form_go_on_to_google(client, settings):
    settings.GOOGLE_AUTHORIZATION_URL = "https://accounts.google.com/o/oauth2/auth"

    policy = client.get("/accounts/login/")["Content-Security-Policy"]

    assert "form-action 'self' https://accounts.google.com" in policy


def test_no_template_has_an_inline_script_handler_or_style():
    for template in TEMPLATES.rglob("*.html"):
        html = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), template
        assert not re.search(r"\s(on\w+|hx-on[\w:-]*|style)=", html), template


def test_htmx_is_told_not_to_inject_its_indicator_styles(alice_client):
    html = alice_client.get("/").content.decode()

    assert """<meta name="htmx-config" content='{"includeIndicatorStyles": false}'>""" in html


@pytest.mark.parametrize(
    "page",
    [
        lambda mailbox, message: f"/mailboxes/{mailbox.pk}/messages/",
        lambda mailbox, message: f"/messages/{message.pk}/",
        lambda mailbox, message: f"/mailboxes/{mailbox.pk}/runs/",
        lambda mailbox, message: "/",
    ],
)
def test_pages_that_show_mail_are_private_and_not_stored(
    alice_client, alice_mailbox, make_messages, page
):
    (message,) = make_messages(alice_mailbox, 1)

    response = alice_client.get(page(alice_mailbox, message))

    assert response.status_code == 200
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= cache_control
