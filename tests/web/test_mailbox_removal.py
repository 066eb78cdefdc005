"""Disconnecting and deleting a mailbox from the page, each after a confirmation."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from syncapp.models import Label, Mailbox, Message, SyncRun
from syncapp.storage import delete_in_chunks
from tests.web.google import google_dance

pytestmark = pytest.mark.django_db


@pytest.fixture
def connected(alice_mailbox, make_messages, alice_labels):
    Mailbox.objects.filter(pk=alice_mailbox.pk).update(access_token="ya29.alice")
    make_messages(alice_mailbox, 5)
    return alice_mailbox


def test_the_dashboard_offers_both_behind_a_confirmation(alice_client, connected):
    html = alice_client.get("/").content.decode()

    assert f'href="/mailboxes/{connected.pk}/disconnect/confirm/">Disconnect…</a>' in html
    assert f'href="/mailboxes/{connected.pk}/delete/confirm/">Delete…</a>' in html


def test_the_confirmation_says_what_disconnecting_does_and_posts_it(alice_client, connected):
    response = alice_client.get(f"/mailboxes/{connected.pk}/disconnect/confirm/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Disconnect alice@example.com?" in html
    assert "The 5 messages stored here stay" in html
    assert f'<form method="post" action="/mailboxes/{connected.pk}/disconnect/"' in html
    assert Mailbox.objects.get().refresh_token, "asking changes nothing"


def test_disconnecting_deletes_the_tokens_keeps_the_mail_and_no_sync_can_start(
    alice_client, connected
):
    response = alice_client.post(f"/mailboxes/{connected.pk}/disconnect/")

    assert response.status_code == 302
    mailbox = Mailbox.objects.get()
    assert (mailbox.access_token, mailbox.refresh_token, mailbox.needs_reconnect) == (
        "",
        "",
        True,
    )
    assert Message.objects.filter(mailbox=mailbox).count() == 5
    page = alice_client.get("/").content.decode()
    assert "Disconnected alice@example.com" in page
    assert "Reconnect your Google account" in page
    alice_client.post(f"/mailboxes/{mailbox.pk}/sync/")
    assert not SyncRun.objects.exists()


def test_disconnecting_cancels_the_running_sync_first(alice_client, connected, make_run):
    run = make_run(connected, SyncRun.Status.RUNNING, worker="w1")

    alice_client.post(f"/mailboxes/{connected.pk}/disconnect/")

    run.refresh_from_db()
    assert (run.status, run.failure) == (SyncRun.Status.FAILED, SyncRun.Failure.CANCELLED)
    assert run.error == "Cancelled by alice (disconnecting the mailbox)"


def test_reconnecting_through_google_restores_a_disconnected_mailbox(
    alice_client, connected, emulate_google
):
    emulate_google()
    alice_client.post(f"/mailboxes/{connected.pk}/disconnect/")

    google_dance(alice_client, login_hint="alice@example.com")

    mailbox = Mailbox.objects.get()
    assert not mailbox.needs_reconnect
    assert mailbox.refresh_token.startswith("1//")
    assert Message.objects.filter(mailbox=mailbox).count() == 5
    assert "Reconnected alice@example.com" in alice_client.get("/").content.decode()


def test_deleting_removes_the_mailbox_with_its_messages_labels_runs_and_tokens(
    alice_client, connected, make_run, bob_mailbox, make_messages
):
    run = make_run(connected, SyncRun.Status.RUNNING, worker="w1")
    make_run(connected, SyncRun.Status.SUCCEEDED)
    make_messages(bob_mailbox, 2)

    confirm = alice_client.get(f"/mailboxes/{connected.pk}/delete/confirm/").content.decode()
    response = alice_client.post(f"/mailboxes/{connected.pk}/delete/")

    assert "Delete alice@example.com?" in confirm
    assert "A sync of this mailbox is running: it will be cancelled." in confirm
    assert response.status_code == 302
    assert list(Mailbox.objects.values_list("email", flat=True)) == ["bob@example.com"]
    assert Message.objects.count() == 2
    assert not Label.objects.exists()
    assert not SyncRun.objects.filter(pk=run.pk).exists()
    assert "Deleted alice@example.com and its 5 messages." in (
        alice_client.get("/").content.decode()
    )


def test_big_deletions_go_in_chunks(alice_mailbox, make_messages):
    make_messages(alice_mailbox, 7)

    with CaptureQueriesContext(connection) as queries:
        deleted = delete_in_chunks(Message.objects.filter(mailbox=alice_mailbox), chunk=3)

    assert deleted == 7
    assert not Message.objects.exists()
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3


@pytest.mark.parametrize("action", ["disconnect", "delete"])
def test_someone_elses_mailbox_is_not_found(bob_client, connected, action):
    confirm = bob_client.get(f"/mailboxes/{connected.pk}/{action}/confirm/")
    done = bob_client.post(f"/mailboxes/{connected.pk}/{action}/")

    assert (confirm.status_code, done.status_code) == (404, 404)
    mailbox = Mailbox.objects.get()
    assert mailbox.refresh_token and not mailbox.needs_reconnect
    assert Message.objects.count() == 5


@pytest.mark.parametrize("action", ["disconnect", "delete"])
def test_the_actions_take_only_post(alice_client, connected, action):
    response = alice_client.get(f"/mailboxes/{connected.pk}/{action}/")

    assert response.status_code == 405
    assert Mailbox.objects.get().refresh_token
