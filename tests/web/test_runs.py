"""Retrying a failed run, and a mailbox's run history."""

from datetime import timedelta

import pytest
from django.utils import timezone

from syncapp.models import Mailbox, SyncRun
from tests.web import HTMX

pytestmark = pytest.mark.django_db

Status = SyncRun.Status


def test_retry_continues_the_failed_run_from_its_checkpoint(
    alice_client, alice_mailbox, make_run, enqueued
):
    failed = make_run(alice_mailbox, Status.FAILED, checkpoint={"phase": "full", "listed": 500})

    response = alice_client.post(f"/runs/{failed.pk}/retry/", **HTMX)

    retry = SyncRun.objects.exclude(pk=failed.pk).get()
    assert response.status_code == 200
    assert f'id="run-{retry.pk}"' in response.content.decode()
    assert retry.status == Status.CREATED
    assert retry.trigger == SyncRun.Trigger.RETRY
    assert retry.retry_of_id == failed.pk
    assert retry.checkpoint == {"phase": "full", "listed": 500}


def test_clicking_retry_twice_shows_the_same_new_run(
    alice_client, alice_mailbox, make_run, enqueued
):
    failed = make_run(alice_mailbox, Status.FAILED)

    first = alice_client.post(f"/runs/{failed.pk}/retry/", **HTMX)
    second = alice_client.post(f"/runs/{failed.pk}/retry/", **HTMX)

    retry = SyncRun.objects.exclude(pk=failed.pk).get()
    assert f'id="run-{retry.pk}"' in first.content.decode()
    assert f'id="run-{retry.pk}"' in second.content.decode()


def test_retrying_an_older_failed_run_starts_afresh(
    alice_client, alice_mailbox, make_run, enqueued
):
    old = make_run(alice_mailbox, Status.FAILED, checkpoint={"phase": "full", "listed": 5})
    make_run(alice_mailbox, Status.SUCCEEDED)

    alice_client.post(f"/runs/{old.pk}/retry/", **HTMX)

    retry = SyncRun.objects.active().get()
    assert retry.retry_of is None
    assert retry.checkpoint == {}
    assert retry.trigger == SyncRun.Trigger.RETRY


def test_only_a_failed_run_can_be_retried(alice_client, alice_mailbox, make_run, enqueued):
    succeeded = make_run(alice_mailbox, Status.SUCCEEDED)

    response = alice_client.post(f"/runs/{succeeded.pk}/retry/", **HTMX)

    assert response.status_code == 409
    assert SyncRun.objects.count() == 1


def test_bob_cannot_retry_alices_run(bob_client, alice_mailbox, make_run, enqueued):
    failed = make_run(alice_mailbox, Status.FAILED)

    assert bob_client.post(f"/runs/{failed.pk}/retry/", **HTMX).status_code == 404
    assert SyncRun.objects.count() == 1


def test_retry_of_a_revoked_mailbox_reloads_the_page_to_ask_for_reconnection(
    alice_client, alice_mailbox, make_run, enqueued
):
    failed = make_run(alice_mailbox, Status.FAILED, error="Reconnect your Google account")
    Mailbox.objects.filter(pk=alice_mailbox.pk).update(needs_reconnect=True)

    response = alice_client.post(f"/runs/{failed.pk}/retry/", **HTMX)

    assert response["HX-Refresh"] == "true"
    assert SyncRun.objects.count() == 1


def test_the_history_lists_recent_runs_with_status_trigger_duration_counts_and_error(
    alice_client, alice_mailbox, bob_mailbox, make_run
):
    now = timezone.now()
    ok = make_run(
        alice_mailbox,
        Status.SUCCEEDED,
        trigger=SyncRun.Trigger.CLI,
        started_at=now - timedelta(seconds=42),
        finished_at=now,
        new_count=12,
        updated_count=3,
        deleted_count=2,
    )
    bad = make_run(
        alice_mailbox, Status.FAILED, trigger=SyncRun.Trigger.SCHEDULE, error="Quota <gone>"
    )
    make_run(bob_mailbox, Status.FAILED, error="bob's secret failure")

    response = alice_client.get(f"/mailboxes/{alice_mailbox.pk}/runs/")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.index(f'id="history-run-{bad.pk}"') < html.index(f'id="history-run-{ok.pk}"')
    assert "Command line" in html and "Schedule" in html
    assert "42 s" in html
    assert '<td class="num">12</td>' in html
    assert '<td class="num">3</td>' in html
    assert '<td class="num">2</td>' in html
    assert "Quota &lt;gone&gt;" in html
    assert "bob&#x27;s secret failure" not in html


def test_bob_cannot_see_alices_history(bob_client, alice_mailbox):
    assert bob_client.get(f"/mailboxes/{alice_mailbox.pk}/runs/").status_code == 404


def test_a_failed_run_no_longer_offers_retry_once_a_later_run_has_run(
    alice_client, alice_mailbox, make_run
):
    failed = make_run(alice_mailbox, SyncRun.Status.FAILED)
    page = alice_client.get(f"/runs/{failed.pk}/progress/").content.decode()
    assert f'action="/runs/{failed.pk}/retry/"' in page

    make_run(alice_mailbox, SyncRun.Status.SUCCEEDED, retry_of=failed)

    page = alice_client.get(f"/runs/{failed.pk}/progress/").content.decode()
    assert "/retry/" not in page
    assert "A later sync of this mailbox has run since" in page


def test_the_history_shows_a_retry_as_the_continuation_of_the_run_it_resumed(
    alice_client, alice_mailbox, make_run
):
    dead = make_run(alice_mailbox, SyncRun.Status.FAILED)
    retry = make_run(
        alice_mailbox, SyncRun.Status.SUCCEEDED, retry_of=dead, trigger=SyncRun.Trigger.RETRY
    )

    page = alice_client.get(f"/mailboxes/{alice_mailbox.pk}/runs/").content.decode()

    row = page.split(f'id="history-run-{retry.pk}"')[1].split("</tr>")[0]
    assert f'continues <a href="/runs/{dead.pk}/progress/">run {dead.pk}</a>' in row
