"""Cancel: the button on a waiting or running run, and POST /api/runs/<id>/cancel/."""

import pytest
from django.test import Client

from syncapp.models import SyncRun

pytestmark = pytest.mark.django_db


def test_a_running_run_offers_cancel_and_a_finished_one_does_not(
    alice_client, alice_mailbox, make_run
):
    running = make_run(alice_mailbox, SyncRun.Status.RUNNING, total=10)

    page = alice_client.get(f"/runs/{running.pk}/progress/").content.decode()
    assert f'action="/runs/{running.pk}/cancel/"' in page

    SyncRun.objects.filter(pk=running.pk).delete()
    done = make_run(alice_mailbox, SyncRun.Status.SUCCEEDED)
    page = alice_client.get(f"/runs/{done.pk}/progress/").content.decode()
    assert "/cancel/" not in page


def test_the_cancel_button_ends_the_run_and_shows_who_cancelled_it(
    alice_client, alice_mailbox, make_run
):
    run = make_run(alice_mailbox, SyncRun.Status.RUNNING, worker="w1")

    response = alice_client.post(f"/runs/{run.pk}/cancel/", headers={"HX-Request": "true"})

    assert response.status_code == 286
    assert "Cancelled by alice" in response.content.decode()
    assert f"mailbox-{alice_mailbox.pk}-run-ended" in response["HX-Trigger"]
    run.refresh_from_db()
    assert run.failure == SyncRun.Failure.CANCELLED


def test_cancel_without_javascript_redirects_to_the_run(alice_client, alice_mailbox, make_run):
    run = make_run(alice_mailbox)

    response = alice_client.post(f"/runs/{run.pk}/cancel/")

    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.pk}/progress/"


def test_nobody_cancels_someone_elses_run(bob_client, alice_mailbox, make_run):
    run = make_run(alice_mailbox)

    assert bob_client.post(f"/runs/{run.pk}/cancel/").status_code == 404
    assert bob_client.post(f"/api/runs/{run.pk}/cancel/").status_code == 404
    run.refresh_from_db()
    assert run.status == SyncRun.Status.CREATED


def test_the_api_cancels_an_active_run_with_200_and_the_run(alice_client, alice_mailbox, make_run):
    run = make_run(alice_mailbox, SyncRun.Status.RUNNING)

    response = alice_client.post(f"/api/runs/{run.pk}/cancel/")

    assert response.status_code == 200
    body = response.json()["run"]
    assert (body["id"], body["status"], body["error"]) == (run.pk, "FAILED", "Cancelled by alice")


def test_the_api_answers_409_for_a_run_that_has_ended(alice_client, alice_mailbox, make_run):
    run = make_run(alice_mailbox, SyncRun.Status.SUCCEEDED)

    response = alice_client.post(f"/api/runs/{run.pk}/cancel/")

    assert response.status_code == 409
    assert response.json()["run"]["status"] == "SUCCEEDED"
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED


def test_the_api_cancel_needs_the_csrf_token_and_post(alice, alice_mailbox, make_run):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    run = make_run(alice_mailbox)

    assert client.post(f"/api/runs/{run.pk}/cancel/").status_code == 403
    assert client.get(f"/api/runs/{run.pk}/cancel/").status_code == 405
    run.refresh_from_db()
    assert run.status == SyncRun.Status.CREATED
