"""POST /gmail/push/ takes only deliveries Google signed for us, and answers at once."""

import base64
import json
import time

import pytest
from django.test import Client

from gmail_emulator.push import DEFAULT_PUSH_EMAIL
from gmail_emulator.signing import jwt_encode, push_claims, rsa_key
from syncapp.models import GmailWatch, Mailbox, SyncRun

# Runs are queued once committed.
pytestmark = pytest.mark.django_db(transaction=True)

AUDIENCE = "https://mailsync.example/gmail/push/"


@pytest.fixture
def push_settings(settings, emulate):
    emulator = emulate()
    settings.GOOGLE_OIDC_CERTS_URL = emulator.url + "oauth2/v1/certs"
    settings.GMAIL_PUSH_AUDIENCE = AUDIENCE
    settings.GMAIL_PUSH_SERVICE_ACCOUNT = DEFAULT_PUSH_EMAIL
    return settings


@pytest.fixture
def watched(alice_mailbox):
    """Alice's mailbox, synced once and watched."""
    Mailbox.objects.filter(pk=alice_mailbox.pk).update(history_id="100")
    GmailWatch.objects.create(mailbox=alice_mailbox, email="alice@example.com")
    return alice_mailbox


def token(**changes) -> str:
    key = changes.pop("key", rsa_key(1))
    claims = push_claims(audience=AUDIENCE, email=DEFAULT_PUSH_EMAIL, now=time.time())
    return jwt_encode(key, {**claims, **changes})


def delivery(email="alice@example.com", history_id=200) -> bytes:
    data = json.dumps({"emailAddress": email, "historyId": str(history_id)}).encode()
    message = {"data": base64.b64encode(data).decode(), "messageId": "1", "publishTime": "x"}
    return json.dumps({"message": message, "subscription": "projects/p/subscriptions/s"}).encode()


def post(client, body: bytes, bearer: str | None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {bearer}"} if bearer else {}
    return client.post("/gmail/push/", body, content_type="application/json", **headers)


def test_it_takes_a_delivery_signed_for_us_and_starts_a_run(
    client, push_settings, watched, enqueued
):
    response = post(client, delivery(), token())
    assert response.status_code == 204
    run = SyncRun.objects.get(mailbox=watched)
    assert (run.kind, run.trigger) == (SyncRun.Kind.INCREMENTAL, SyncRun.Trigger.PUSH)
    assert enqueued.lanes == ["incremental"]
    watched.refresh_from_db()
    assert watched.pending_history_id == 200


def test_it_needs_no_login_and_no_csrf_token(push_settings, watched, enqueued):
    response = post(Client(enforce_csrf_checks=True), delivery(), token())
    assert response.status_code == 204


@pytest.mark.parametrize(
    "bearer",
    [
        pytest.param(None, id="missing"),
        pytest.param("not-a-jwt", id="garbage"),
        pytest.param(token(aud="https://elsewhere.example/"), id="wrong audience"),
        pytest.param(token(exp=int(time.time()) - 60, iat=int(time.time()) - 3660), id="expired"),
        pytest.param(token(email="someone@evil.example"), id="wrong email"),
        pytest.param(token(iss="https://evil.example"), id="wrong issuer"),
    ],
)
def test_it_refuses_a_wrong_token_and_starts_nothing(
    client, push_settings, watched, enqueued, bearer
):
    response = post(client, delivery(), bearer)
    assert response.status_code == 403
    assert not SyncRun.objects.exists()
    watched.refresh_from_db()
    assert watched.pending_history_id is None


def test_it_refuses_a_token_signed_with_another_key(client, push_settings, watched, enqueued):
    # Another key under our key's id: only the signature can tell them apart.
    forged = rsa_key(2)._replace(kid=rsa_key(1).kid)
    assert post(client, delivery(), token(key=forged)).status_code == 403
    assert not SyncRun.objects.exists()


def test_it_refuses_everything_when_no_audience_is_set(client, push_settings, watched):
    push_settings.GMAIL_PUSH_AUDIENCE = ""
    assert post(client, delivery(), token()).status_code == 403


@pytest.mark.parametrize(
    "body",
    [b"{", b'{"message": {}}', b'{"message": {"data": "!!!"}}', delivery(history_id="x")],
)
def test_it_answers_400_to_a_malformed_body(client, push_settings, watched, body):
    assert post(client, body, token()).status_code == 400


def test_it_acknowledges_and_ignores_an_unknown_address(client, push_settings, watched, enqueued):
    response = post(client, delivery(email="stranger@example.com"), token())
    assert response.status_code == 204
    assert not SyncRun.objects.exists()


def test_it_answers_get_with_405(client):
    assert client.get("/gmail/push/").status_code == 405
