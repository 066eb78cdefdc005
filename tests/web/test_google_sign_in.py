"""Signing in with Google (against the emulator's OAuth endpoints), and what it connects."""

import logging
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages.storage.fallback import FallbackStorage
from social_django.models import UserSocialAuth

from syncapp.models import Mailbox
from syncapp.social import mailbox_connect
from tests.web.google import google_dance

pytestmark = pytest.mark.django_db

GMAIL_READONLY = "https://www.googleapis.com/auth/gmail.readonly"


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


def notices(client) -> str:
    return " ".join(str(message) for message in client.get("/").context["messages"])


def test_a_signed_in_person_picks_an_account_and_is_told_it_is_connected(
    alice_client, alice, emulate_google
):
    emulate_google(mailboxes=3)

    _, done = google_dance(alice_client, choose="user3@example.com")

    assert done["Location"] == "/"
    assert "Connected user3@example.com" in notices(alice_client)
    assert list(alice.mailboxes.values_list("email", flat=True)) == ["user3@example.com"]


def test_connecting_an_account_again_says_it_is_already_connected(
    alice_client, alice, emulate_google
):
    emulate_google(mailboxes=3)
    google_dance(alice_client, choose="user3@example.com")
    notices(alice_client)

    google_dance(alice_client, choose="user3@example.com")

    assert "user3@example.com is already connected" in notices(alice_client)
    assert alice.mailboxes.count() == 1


def test_signing_in_with_an_address_that_is_a_users_mailbox_signs_in_as_that_user(
    client, alice, alice_mailbox, emulate_google
):
    emulate_google()

    google_dance(client, choose="alice@example.com")

    assert client.session["_auth_user_id"] == str(alice.pk)
    assert get_user_model().objects.count() == 1
    assert Mailbox.objects.get().owner == alice
    assert UserSocialAuth.objects.get().user == alice
    assert "alice@example.com is already connected" in notices(client)


def test_an_address_that_is_another_users_mailbox_is_not_attached_to_someone_else(
    bob_client, bob, alice_mailbox, emulate_google
):
    emulate_google()

    _, refused = google_dance(bob_client, choose="alice@example.com")

    assert refused.status_code == 302
    page = bob_client.get(refused["Location"], follow=True).content.decode()
    assert "alice@example.com is connected to another Mailsync account" in page
    assert Mailbox.objects.get().owner.username == "alice"
    assert not UserSocialAuth.objects.filter(user=bob).exists()


def test_signing_in_as_an_address_two_users_have_is_refused(
    client, alice_mailbox, bob, emulate_google
):
    Mailbox.objects.create(owner=bob, email="alice@example.com")
    emulate_google()

    google_dance(client, choose="alice@example.com")

    assert "_auth_user_id" not in client.session
    assert get_user_model().objects.count() == 2
    assert not UserSocialAuth.objects.exists()
