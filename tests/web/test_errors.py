"""Errors: logged with their traceback, shown to people as a plain sentence."""

import logging

import pytest
from django.test import Client

from syncapp.models import SyncRun

pytestmark = pytest.mark.django_db

SECRET_DETAIL = "connection to 10.0.0.7 refused by pgbouncer"


@pytest.fixture
def broken(monkeypatch):
    def explode(**_):
        raise RuntimeError(SECRET_DETAIL)

    monkeypatch.setattr("syncapp.views.dashboard.mailbox_list_for_user", explode)
    monkeypatch.setattr("syncapp.views.api.run_get_for_user", explode)


def test_a_500_shows_a_plain_page_and_logs_the_traceback(alice, broken, caplog):
    client = Client(raise_request_exception=False)
    client.force_login(alice)

    response = client.get("/")

    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert SECRET_DETAIL not in html and "RuntimeError" not in html
    record = next(r for r in caplog.records if r.name == "django.request")
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and SECRET_DETAIL in str(record.exc_info[1])


def test_an_api_500_answers_json_without_the_exception(alice, broken):
    client = Client(raise_request_exception=False)
    client.force_login(alice)

    response = client.get("/api/runs/1/")

    assert response.status_code == 500
    assert response.json() == {"error": "Something went wrong on our side."}


def test_errors_reach_a_handler_on_standard_error():
    console = [h for h in logging.getLogger().handlers if h.get_name() == "console"]

    assert console, "the root logger has no handler: a 500's traceback would be lost"
    assert logging.getLogger("django.request").getEffectiveLevel() <= logging.ERROR


def test_a_missing_page_is_our_404_page(alice_client):
    response = alice_client.get("/no-such-page/")

    assert response.status_code == 404
    assert "There is nothing here" in response.content.decode()


def test_an_unexpected_run_failure_shows_a_sentence_not_the_exception(
    alice_client, alice_mailbox, make_run
):
    run = make_run(
        alice_mailbox,
        SyncRun.Status.FAILED,
        failure=SyncRun.Failure.ERROR,
        error=f"Unexpected error while storing messages: RuntimeError: {SECRET_DETAIL}",
    )

    page = alice_client.get(f"/runs/{run.pk}/progress/").content.decode()
    api = alice_client.get(f"/api/runs/{run.pk}/").json()["run"]["error"]

    for shown in (page, api):
        assert "The sync stopped on an unexpected error." in shown
        assert SECRET_DETAIL not in shown
    run.refresh_from_db()
    assert SECRET_DETAIL in run.error  # kept for the admin and the log
