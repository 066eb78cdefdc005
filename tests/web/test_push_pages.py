"""What pages say about push: live or polled per mailbox, and the staff page's watches
and notification rate."""

from datetime import timedelta

import pytest
from django.utils import timezone

from syncapp.models import GmailWatch, Mailbox, PushCount

pytestmark = pytest.mark.django_db


def test_the_dashboard_says_a_watched_mailbox_is_live_and_when_the_last_change_came(
    client, alice, alice_mailbox
):
    GmailWatch.objects.create(
        mailbox=alice_mailbox,
        email=alice_mailbox.email,
        expires_at=timezone.now() + timedelta(days=6),
        last_change_at=timezone.now() - timedelta(minutes=3),
    )
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert "Live (push)" in page
    assert "Last change" in page and "3\xa0minutes ago" in page


def test_the_dashboard_says_a_mailbox_whose_watch_failed_is_polled_and_why(
    client, alice, alice_mailbox
):
    GmailWatch.objects.create(mailbox=alice_mailbox, email=alice_mailbox.email, error="400")
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert "Polled: Gmail refused to push its changes" in page
    assert "Live (push)" not in page


def test_the_dashboard_says_an_unwatched_mailbox_is_polled(client, alice, alice_mailbox):
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert "Polled" in page and "Last change" not in page


def test_the_staff_page_lists_watches_expiring_within_a_day_and_notifications_a_minute(
    client, django_user_model, alice
):
    now = timezone.now()
    for email, expires_in in (("soon@example.com", 3), ("later@example.com", 50)):
        mailbox = Mailbox.objects.create(owner=alice, email=email)
        GmailWatch.objects.create(
            mailbox=mailbox, email=email, expires_at=now + timedelta(hours=expires_in)
        )
    minute = now.replace(second=0, microsecond=0)
    PushCount.objects.create(minute=minute - timedelta(minutes=1), notifications=30)
    PushCount.objects.create(minute=minute - timedelta(minutes=2), notifications=12)
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    page = client.get("/staff/runbook/").content.decode()
    assert "soon@example.com" in page and "later@example.com" not in page
    assert '<strong id="push-per-minute">4.2</strong>' in page


def test_the_newest_page_of_a_live_mailbox_refreshes_itself(client, alice, alice_mailbox):
    client.force_login(alice)
    url = f"/mailboxes/{alice_mailbox.pk}/messages/"
    assert "every 3s" not in client.get(url).content.decode()
    GmailWatch.objects.create(
        mailbox=alice_mailbox, email="x", expires_at=timezone.now() + timedelta(days=1)
    )
    assert "every 3s" in client.get(url).content.decode()
    assert "every 3s" not in client.get(url + "?q=hello").content.decode()
    partial = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="messages"' in partial
    assert "<nav" not in partial
