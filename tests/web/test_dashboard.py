"""The dashboard and its Sync buttons."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from syncapp.models import Mailbox, SyncRun
from tests.web import HTMX

pytestmark = pytest.mark.django_db


def test_it_lists_alices_mailboxes_with_their_count_last_sync_and_last_run(
    alice_client, alice, alice_mailbox, bob_mailbox, make_messages, make_run
):
    Mailbox.objects.filter(pk=alice_mailbox.pk).update(
        last_synced_at=timezone.now() - timedelta(hours=3)
    )
    other = Mailbox.objects.create(owner=alice, email="alice.work@example.com")
    make_messages(alice_mailbox, 7)
    run = make_run(alice_mailbox, SyncRun.Status.SUCCEEDED, new_count=7)

    html = alice_client.get("/").content.decode()

    assert "alice@example.com" in html
    assert "alice.work@example.com" in html
    assert "bob@example.com" not in html
    assert '<strong class="mailbox__count">7</strong> messages' in html
    assert "Last synced" in html and "3\xa0hours ago" in html
    assert f'id="run-{run.pk}"' in html
    assert f'id="mailbox-{other.pk}-run"' in html
    assert "Never synced" in html


def test_reloading_during_a_run_shows_that_run_still_polling(
    alice_client, alice_mailbox, make_run
):
    make_run(alice_mailbox, SyncRun.Status.SUCCEEDED)
    running = make_run(alice_mailbox, SyncRun.Status.RUNNING, processed=5, total=10, percent=50)

    html = alice_client.get("/").content.decode()

    assert f'hx-get="/runs/{running.pk}/progress/"' in html
    assert 'hx-trigger="every 1s"' in html
    assert 'aria-valuenow="50"' in html


def test_the_sync_button_starts_a_run_and_shows_its_progress(
    alice_client, alice_mailbox, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"/mailboxes/{alice_mailbox.pk}/sync/", **HTMX)

    run = SyncRun.objects.get()
    assert response.status_code == 200
    assert run.trigger == SyncRun.Trigger.WEB
    assert enqueued == [run.pk]
    html = response.content.decode()
    assert f'id="run-{run.pk}"' in html
    assert "Waiting for a worker" in html
    assert "<html" not in html


def test_clicking_sync_twice_shows_the_same_run(alice_client, alice_mailbox, enqueued):
    first = alice_client.post(f"/mailboxes/{alice_mailbox.pk}/sync/", **HTMX)
    second = alice_client.post(f"/mailboxes/{alice_mailbox.pk}/sync/", {"full": "1"}, **HTMX)

    run = SyncRun.objects.get()
    assert f'id="run-{run.pk}"' in first.content.decode()
    assert f'id="run-{run.pk}"' in second.content.decode()


def test_full_resync_starts_a_full_run(alice_client, alice_mailbox, enqueued):
    Mailbox.objects.filter(pk=alice_mailbox.pk).update(history_id="9000")

    alice_client.post(f"/mailboxes/{alice_mailbox.pk}/sync/", {"full": "1"}, **HTMX)

    assert SyncRun.objects.get().kind == SyncRun.Kind.FULL


def test_sync_starts_an_incremental_run_once_the_mailbox_has_synced(
    alice_client, alice_mailbox, enqueued
):
    Mailbox.objects.filter(pk=alice_mailbox.pk).update(history_id="9000")

    alice_client.post(f"/mailboxes/{alice_mailbox.pk}/sync/", **HTMX)

    assert SyncRun.objects.get().kind == SyncRun.Kind.INCREMENTAL


def test_without_javascript_the_sync_button_starts_a_run_and_comes_back(
    alice_client, alice_mailbox, enqueued
):
    response = alice_client.post(f"/mailboxes/{alice_mailbox.pk}/sync/")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert SyncRun.objects.count() == 1


def test_bob_cannot_sync_alices_mailbox(bob_client, alice_mailbox, enqueued):
    response = bob_client.post(f"/mailboxes/{alice_mailbox.pk}/sync/", **HTMX)

    assert response.status_code == 404
    assert not SyncRun.objects.exists()


def test_a_revoked_mailbox_asks_to_reconnect_instead_of_offering_sync(
    alice_client, alice_mailbox, settings
):
    settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET = "id", "secret"
    Mailbox.objects.filter(pk=alice_mailbox.pk).update(needs_reconnect=True)

    html = alice_client.get("/").content.decode()

    assert "Reconnect your Google account" in html
    assert 'action="/oauth/login/google-oauth2/"' in html
    assert 'name="login_hint" value="alice@example.com"' in html
    assert f'hx-post="/mailboxes/{alice_mailbox.pk}/sync/"' not in html


def test_a_revoked_mailbox_is_not_synced_from_an_old_page(alice_client, alice_mailbox, enqueued):
    Mailbox.objects.filter(pk=alice_mailbox.pk).update(needs_reconnect=True)

    response = alice_client.post(f"/mailboxes/{alice_mailbox.pk}/sync/", **HTMX)

    assert response["HX-Refresh"] == "true"
    assert not SyncRun.objects.exists()


def test_connecting_gmail_is_offered_only_when_google_is_configured(alice_client, settings):
    settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET = "", ""
    assert "Connect a Gmail account" not in alice_client.get("/").content.decode()

    settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET = "id", "secret"
    assert "Connect a Gmail account" in alice_client.get("/").content.decode()


def test_htmx_posts_carry_the_csrf_token_and_htmx_comes_from_our_static_files(alice_client):
    response = alice_client.get("/")
    html = response.content.decode()

    assert re.search(r"<body hx-headers='\{\"x-csrftoken\": \"\w{64}\"\}'>", html)
    assert 'src="/static/django_htmx/htmx-2.min.js"' in html
    assert "unpkg" not in html and "cdn" not in html.lower()


def test_a_sync_without_the_csrf_token_is_refused(alice, alice_mailbox, enqueued):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    refused = client.post(f"/mailboxes/{alice_mailbox.pk}/sync/", **HTMX)
    assert refused.status_code == 403
    assert not SyncRun.objects.exists()

    # The token htmx sends: the one in <body hx-headers>.
    token = re.search(r'"x-csrftoken": "(\w+)"', client.get("/").content.decode())[1]
    accepted = client.post(f"/mailboxes/{alice_mailbox.pk}/sync/", HTTP_X_CSRFTOKEN=token, **HTMX)
    assert accepted.status_code == 200
    assert SyncRun.objects.count() == 1


def test_the_dashboard_warns_when_no_worker_runs_instead_of_a_bar_stuck_at_zero(
    alice_client, alice_mailbox, enqueued
):
    alice_client.post(f"/mailboxes/{alice_mailbox.pk}/sync/")

    html = alice_client.get("/").content.decode()

    assert "No sync worker is running; your sync is queued." in html


def test_full_resync_is_offered_only_once_the_mailbox_has_been_synced(alice_client, alice_mailbox):
    assert "Full resync" not in alice_client.get("/").content.decode()

    Mailbox.objects.filter(pk=alice_mailbox.pk).update(history_id="1234")

    assert "Full resync" in alice_client.get("/").content.decode()


def test_during_a_run_the_head_says_syncing_now_with_a_busy_sync_button_and_refreshes(
    alice_client, alice_mailbox, make_messages, make_run
):
    Mailbox.objects.filter(pk=alice_mailbox.pk).update(history_id="1234")
    make_messages(alice_mailbox, 3)
    make_run(alice_mailbox, SyncRun.Status.RUNNING, processed=3, total=10)

    html = alice_client.get("/").content.decode()

    assert "Never synced" not in html
    assert '<strong class="mailbox__count">3</strong> messages so far' in html
    assert "Syncing now" in html
    assert re.search(r'aria-busy="true"[^>]*>Syncing…</button>', html)
    assert "Full resync" not in html
    assert re.search(r'hx-trigger="[^"]*every 3s"', html)


def test_an_idle_head_does_not_poll_and_counts_have_thousands_separators(
    alice_client, alice_mailbox, make_run
):
    make_run(alice_mailbox, SyncRun.Status.SUCCEEDED, processed=12345, total=12345, new_count=2000)

    html = alice_client.get("/").content.decode()

    assert "every 3s" not in html
    assert "<strong>2,000</strong> new" in html
    assert "(12,345 messages checked)" in html


def test_starting_a_sync_tells_the_page_so_the_head_shows_it_running(
    alice_client, alice_mailbox, enqueued
):
    response = alice_client.post(f"/mailboxes/{alice_mailbox.pk}/sync/", **HTMX)

    assert f"mailbox-{alice_mailbox.pk}-run-started" in response["HX-Trigger"]
