"""The JSON API: POST /api/sync/ and GET /api/runs/<id>/."""

import json
import re
from datetime import datetime

import pytest
from django.test import Client
from django.utils import timezone

from syncapp.models import Mailbox, SyncRun

pytestmark = pytest.mark.django_db

RUN_FIELDS = {
    "id",
    "mailbox",
    "status",
    "kind",
    "trigger",
    "percent",
    "processed",
    "total",
    "new",
    "updated",
    "deleted",
    "vanished",
    "error",
    "created_at",
    "started_at",
    "finished_at",
}


def post_sync(client, body=None, *, raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body) if body is not None else "")
    return client.post("/api/sync/", data=data, content_type="application/json")


def test_posting_sync_starts_a_run_with_202_and_describes_it(
    alice_client, alice_mailbox, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_sync(alice_client)

    assert response.status_code == 202
    run = response.json()["run"]
    assert set(run) == RUN_FIELDS
    stored = SyncRun.objects.get()
    assert run["id"] == stored.pk
    assert run["mailbox"] == "alice@example.com"
    assert run["status"] == "CREATED"
    assert run["kind"] == "full"
    assert run["trigger"] == "web"
    assert (run["percent"], run["processed"], run["total"]) == (0, 0, 0)
    assert (run["new"], run["updated"], run["deleted"], run["error"]) == (0, 0, 0, "")
    assert datetime.fromisoformat(run["created_at"]) == stored.created_at
    assert run["started_at"] is None and run["finished_at"] is None
    assert response["Location"] == f"/api/runs/{stored.pk}/"
    assert enqueued == [stored.pk]


def test_posting_sync_again_answers_200_with_the_active_run(alice_client, alice_mailbox, enqueued):
    first = post_sync(alice_client, {"mailbox": "alice@example.com"})
    again = post_sync(alice_client, {"mailbox": "ALICE@example.com", "full": True})

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["run"]["id"] == first.json()["run"]["id"]
    assert SyncRun.objects.count() == 1


def test_full_true_asks_for_a_full_sync(alice_client, alice_mailbox, enqueued):
    Mailbox.objects.filter(pk=alice_mailbox.pk).update(history_id="77")

    incremental = post_sync(alice_client, {"full": False}).json()["run"]
    SyncRun.objects.update(
        status="FAILED", error="x", failure=SyncRun.Failure.ERROR, finished_at=timezone.now()
    )
    full = post_sync(alice_client, {"full": True}).json()["run"]

    assert (incremental["kind"], full["kind"]) == ("incremental", "full")


def test_a_user_with_several_mailboxes_must_name_one(alice_client, alice, alice_mailbox, enqueued):
    Mailbox.objects.create(owner=alice, email="alice.work@example.com")

    ambiguous = post_sync(alice_client, {})
    named = post_sync(alice_client, {"mailbox": "alice.work@example.com"})

    assert ambiguous.status_code == 400
    assert "several mailboxes" in ambiguous.json()["error"]
    assert named.status_code == 202
    assert named.json()["run"]["mailbox"] == "alice.work@example.com"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        pytest.param(b"[" * 100_000, "not JSON", id="nested-100000-deep"),
        (b"[1, 2]", "JSON object"),
        (b'"alice@example.com"', "JSON object"),
        (b'{"mailbox": 42}', '"mailbox"'),
        (b'{"mailbox": ""}', '"mailbox"'),
        (b'{"mailbox": "alice"}', '"mailbox"'),
        (b'{"mailbox": "alice\\u0000@example.com"}', '"mailbox"'),
        (b'{"full": "yes"}', '"full"'),
        (b'{"full": 1}', '"full"'),
        (b'{"mailbox": "alice@example.com", "ful": true}', "Unknown field(s): ful"),
    ],
)
def test_a_malformed_body_answers_400_and_creates_nothing(
    alice_client, alice_mailbox, enqueued, raw, message
):
    response = post_sync(alice_client, raw=raw)

    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not SyncRun.objects.exists()


def test_an_unknown_mailbox_answers_404(alice_client, alice_mailbox, enqueued):
    response = post_sync(alice_client, {"mailbox": "nobody@example.com"})

    assert response.status_code == 404
    assert response.json() == {"error": "No such mailbox."}
    assert not SyncRun.objects.exists()


def test_a_user_without_mailbox_gets_404(alice_client, enqueued):
    assert post_sync(alice_client).status_code == 404


def test_bobs_mailbox_is_unknown_to_alice(alice_client, alice_mailbox, bob_mailbox, enqueued):
    response = post_sync(alice_client, {"mailbox": "bob@example.com"})

    assert response.status_code == 404
    assert not SyncRun.objects.exists()


def test_a_revoked_mailbox_answers_409_until_reconnected(alice_client, alice_mailbox, enqueued):
    Mailbox.objects.filter(pk=alice_mailbox.pk).update(needs_reconnect=True)

    response = post_sync(alice_client)

    assert response.status_code == 409
    assert "Reconnect your Google account" in response.json()["error"]
    assert not SyncRun.objects.exists()


def test_getting_a_run_describes_it(alice_client, alice_mailbox, make_run):
    run = make_run(
        alice_mailbox,
        SyncRun.Status.SUCCEEDED,
        processed=10,
        total=10,
        new_count=8,
        updated_count=1,
        deleted_count=1,
        vanished_count=2,
    )

    response = alice_client.get(f"/api/runs/{run.pk}/")

    assert response.status_code == 200
    body = response.json()["run"]
    assert set(body) == RUN_FIELDS
    assert body["status"] == "SUCCEEDED"
    assert (body["percent"], body["new"], body["updated"], body["deleted"]) == (100, 8, 1, 1)
    assert body["vanished"] == 2
    assert datetime.fromisoformat(body["started_at"]) == run.started_at
    assert datetime.fromisoformat(body["finished_at"]) == run.finished_at
    assert "no-store" in response["Cache-Control"]


def test_getting_a_run_costs_three_queries(
    alice_client, alice_mailbox, make_run, django_assert_max_num_queries
):
    run = make_run(alice_mailbox, SyncRun.Status.RUNNING)

    with django_assert_max_num_queries(3):
        alice_client.get(f"/api/runs/{run.pk}/")


def test_bob_cannot_get_alices_run(bob_client, alice_mailbox, make_run):
    run = make_run(alice_mailbox)

    response = bob_client.get(f"/api/runs/{run.pk}/")

    assert response.status_code == 404
    assert response.json() == {"error": "No such run."}


def test_a_signed_out_script_gets_401_in_json(client, alice_mailbox, make_run):
    run = make_run(alice_mailbox)

    assert client.get(f"/api/runs/{run.pk}/").status_code == 401
    response = post_sync(client)
    assert response.status_code == 401
    assert "Sign in" in response.json()["error"]


def test_a_script_signs_in_and_syncs_with_the_csrf_token_of_its_cookie(
    alice, alice_mailbox, enqueued
):
    script = Client(enforce_csrf_checks=True)
    login_page = script.get("/accounts/login/").content.decode()
    form_token = re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', login_page)[1]
    script.post(
        "/accounts/login/",
        {"username": "alice", "password": "alice-password", "csrfmiddlewaretoken": form_token},
    )

    refused = post_sync(script)
    accepted = script.post(
        "/api/sync/",
        data="{}",
        content_type="application/json",
        HTTP_X_CSRFTOKEN=script.cookies["csrftoken"].value,
    )

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]
    assert accepted.status_code == 202
    assert SyncRun.objects.count() == 1


def test_the_api_refuses_other_methods(alice_client, alice_mailbox, make_run):
    run = make_run(alice_mailbox)

    assert alice_client.get("/api/sync/").status_code == 405
    assert alice_client.post(f"/api/runs/{run.pk}/").status_code == 405


def test_other_methods_answer_405_in_json_with_allow(alice_client, alice_mailbox, make_run):
    run = make_run(alice_mailbox)

    refused = alice_client.put("/api/sync/", "{}", content_type="application/json")
    assert refused.status_code == 405
    assert refused["Allow"] == "POST"
    assert "error" in refused.json()
    assert alice_client.delete(f"/api/runs/{run.pk}/").json()["error"] == "Use GET or HEAD."


def test_an_unknown_api_url_answers_404_in_json(alice_client):
    response = alice_client.get("/api/nothing-here/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Not found."}


@pytest.mark.parametrize(
    "body",
    [
        {"data": {"mailbox": "alice@example.com"}},  # multipart, the test client's default
        {
            "data": "mailbox=alice%40example.com",
            "content_type": "application/x-www-form-urlencoded",
        },
        {"data": '{"full": true}', "content_type": "text/plain"},
    ],
)
def test_a_body_that_is_not_json_answers_415_and_creates_nothing(
    alice_client, alice_mailbox, enqueued, body
):
    response = alice_client.post("/api/sync/", **body)

    assert response.status_code == 415
    assert "application/json" in response.json()["error"]
    assert not SyncRun.objects.exists()


def test_a_multipart_body_with_csrf_checks_answers_415_not_500(alice, alice_mailbox, enqueued):
    script = Client(enforce_csrf_checks=True)
    script.force_login(alice)
    script.get("/")
    token = script.cookies["csrftoken"].value

    response = script.post(
        "/api/sync/", {"csrfmiddlewaretoken": token, "full": "true"}, HTTP_X_CSRFTOKEN=token
    )

    assert response.status_code == 415


def test_past_the_limit_starts_answer_429_with_retry_after(
    alice_client, alice_mailbox, enqueued, settings
):
    settings.SYNC_API_STARTS_PER_MINUTE = 3
    answers = [post_sync(alice_client).status_code for _ in range(5)]

    assert answers[:3] == [202, 200, 200]
    assert answers[3:] == [429, 429]
    refused = post_sync(alice_client)
    assert 1 <= int(refused["Retry-After"]) <= 61
    assert "Too many" in refused.json()["error"]
    assert SyncRun.objects.count() == 1


def test_the_start_limit_is_per_user(
    alice_client, bob_client, alice_mailbox, bob_mailbox, enqueued, settings
):
    settings.SYNC_API_STARTS_PER_MINUTE = 1
    assert post_sync(alice_client).status_code == 202
    assert post_sync(alice_client).status_code == 429

    assert post_sync(bob_client).status_code == 202
