"""Signing in with Google (against the emulator's OAuth endpoints), and what it connects."""

import logging
import urllib.request
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages.storage.fallback import FallbackStorage
from social_django.models import UserSocialAuth

from syncapp.models import Mailbox
from syncapp.social import mailbox_connect

pytestmark = pytest.mark.django_db

GMAIL_READONLY = "https://www.googleapis.com/auth/gmail.readonly"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def google_dance(client, *, login_hint: str | None = None):
    """What a browser does: start, follow Google's redirect back, and complete."""
    begin = client.post(
        "/oauth/login/google-oauth2/", {"login_hint": login_hint} if login_hint else {}
    )
    assert begin.status_code == 302, begin
    authorize = begin["Location"]
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(authorize)
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302
        back = urlsplit(redirect.headers["Location"])
    else:
        raise AssertionError("Google's authorize endpoint did not redirect back")
    return authorize, client.get(f"{back.path}?{back.query}")


def test_google_asks_for_read_only_gmail_offline_with_consent(client, emulate_google):
    emulate_google()

    authorize, _ = google_dance(client)

    params = parse_qs(urlsplit(authorize).query)
    assert GMAIL_READONLY in params["scope"][0].split()
    assert params["access_type"] == ["offline"]
    assert params["prompt"] == ["consent"]
    assert params["client_id"] == ["mailsync-test"]


def test_a_first_google_sign_in_creates_the_user_and_the_mailbox_with_its_tokens(
    client, emulate_google
):
    emulate_google(email="dora.explorer@example.com")

    _, done = google_dance(client)

    assert done.status_code == 302
    assert done["Location"] == "/"
    user = get_user_model().objects.get()
    assert user.email == "dora.explorer@example.com"
    mailbox = Mailbox.objects.get()
    assert mailbox.owner == user
    assert mailbox.email == "dora.explorer@example.com"
    assert mailbox.refresh_token.startswith("1//")
    assert mailbox.access_token.startswith("ya29.")
    assert mailbox.token_expires_at is not None
    assert not mailbox.needs_reconnect
    assert "dora.explorer@example.com" in client.get("/").content.decode()


def test_the_tokens_are_kept_on_the_mailbox_only(client, emulate_google):
    emulate_google()

    google_dance(client)

    social = UserSocialAuth.objects.get()
    assert "refresh_token" not in social.extra_data
    assert "access_token" not in social.extra_data


def test_signing_in_again_signs_in_the_same_user_with_the_same_mailbox(client, emulate_google):
    emulate_google()
    google_dance(client)
    client.post("/accounts/logout/")

    google_dance(client)

    assert get_user_model().objects.count() == 1
    assert Mailbox.objects.count() == 1


def test_a_signed_in_user_connects_another_gmail_account(alice_client, alice, emulate_google):
    emulate_google()

    google_dance(alice_client, login_hint="alice.work@example.com")

    assert list(alice.mailboxes.values_list("email", flat=True)) == ["alice.work@example.com"]
    alice.refresh_from_db()
    assert (alice.username, alice.email) == ("alice", "alice@example.org")


def test_reconnecting_a_revoked_mailbox_clears_needs_reconnect_and_replaces_the_token(
    alice_client, alice, emulate_google
):
    emulate_google()
    google_dance(alice_client, login_hint="alice@example.com")
    mailbox = alice.mailboxes.get()
    Mailbox.objects.filter(pk=mailbox.pk).update(needs_reconnect=True, refresh_token="revoked")

    google_dance(alice_client, login_hint="alice@example.com")

    mailbox.refresh_from_db()
    assert not mailbox.needs_reconnect
    assert mailbox.refresh_token.startswith("1//")
    assert alice.mailboxes.count() == 1


def test_one_google_account_cannot_be_connected_by_two_users(
    alice_client, bob_client, emulate_google
):
    emulate_google()
    google_dance(alice_client, login_hint="shared@example.com")

    _, refused = google_dance(bob_client, login_hint="shared@example.com")

    assert refused.status_code == 302
    assert refused["Location"].startswith("/accounts/login/")
    assert Mailbox.objects.get().owner.username == "alice"


def test_the_google_button_shows_only_when_a_client_id_and_secret_are_set(client, settings):
    settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET = "id", ""
    assert "Sign in with Google" not in client.get("/accounts/login/").content.decode()

    settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET = "id", "secret"
    assert "Sign in with Google" in client.get("/accounts/login/").content.decode()


def test_no_token_or_client_secret_reaches_a_page_or_the_log(
    client, emulate_google, caplog, settings
):
    emulate_google()
    caplog.set_level(logging.DEBUG)

    google_dance(client)
    pages = client.get("/").content.decode() + client.get("/accounts/login/").content.decode()

    mailbox = Mailbox.objects.get()
    for secret in (mailbox.access_token, mailbox.refresh_token, settings.GOOGLE_CLIENT_SECRET):
        assert secret not in pages
        assert secret not in caplog.text


def test_an_account_connected_without_gmail_access_must_be_reconnected(client, rf, alice):
    request = rf.get("/oauth/complete/google-oauth2/")
    request.session = client.session
    request._messages = FallbackStorage(request)

    mailbox_connect(
        strategy=SimpleNamespace(request=request),
        backend=SimpleNamespace(name="google-oauth2"),
        user=alice,
        response={"access_token": "ya29.x", "expires_in": 3599, "scope": "openid email"},
        details={"email": "alice@example.com"},
    )

    assert alice.mailboxes.get().needs_reconnect
    (warning,) = request._messages
    assert "needs read access to the Gmail of alice@example.com" in str(warning)


def test_disconnecting_google_deletes_the_mailboxs_tokens_and_it_no_longer_syncs(
    alice_client, alice, emulate_google
):
    emulate_google()
    google_dance(alice_client, login_hint="alice@example.com")
    assert alice.mailboxes.get().refresh_token

    response = alice_client.post("/oauth/disconnect/google-oauth2/")

    assert response.status_code == 302
    assert not UserSocialAuth.objects.filter(user=alice).exists()
    mailbox = alice.mailboxes.get()
    assert (mailbox.access_token, mailbox.refresh_token) == ("", "")
    assert mailbox.needs_reconnect
    refused = alice_client.post(
        "/api/sync/", "{}", content_type="application/json", HTTP_ACCEPT="application/json"
    )
    assert refused.status_code == 409
