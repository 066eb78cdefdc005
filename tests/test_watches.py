"""Gmail watches: made when a mailbox syncs without one, renewed soonest-expiring first,
stopped on disconnect; a watched mailbox is polled rarely, and the poll catches what
a lost notification missed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gmail_emulator.push import PushOptions
from syncapp.models import GmailWatch, Mailbox, Message, SyncRun
from syncapp.scheduling import mailboxes_sync_all
from syncapp.watches import mailboxes_stop_watches, mailboxes_watch, watches_renew
from syncapp.worker.execute import sync_run_execute
from tests.helpers import run_sync

pytestmark = pytest.mark.django_db(transaction=True)

TOPIC = "projects/mailsync/topics/gmail"


@pytest.fixture
def topic(settings):
    settings.GMAIL_PUBSUB_TOPIC = TOPIC
    return settings


def test_it_watches_a_mailbox_that_syncs_without_a_live_watch(emulate, topic, alice_mailbox):
    emulator = emulate(email=alice_mailbox.email)
    run_sync(alice_mailbox)
    watch = GmailWatch.objects.get(mailbox=alice_mailbox)
    assert emulator.watched(alice_mailbox.email)
    assert watch.expires_at > timezone.now() + timedelta(days=6)
    assert watch.email == "alice@example.com" and watch.error == ""
    emulator.clear_request_log()
    run_sync(alice_mailbox)
    assert "users.watch" not in [r.method for r in emulator.request_log]


def test_it_does_not_watch_without_a_topic(emulate, alice_mailbox):
    emulator = emulate(email=alice_mailbox.email)
    run_sync(alice_mailbox)
    assert not GmailWatch.objects.exists()
    assert not emulator.watched(alice_mailbox.email)


def test_it_polls_a_watched_mailbox_every_6_hours_and_others_every_15_minutes(
    emulate, topic, alice_mailbox, bob_mailbox
):
    emulate(email=alice_mailbox.email).add_mailbox(bob_mailbox.email)
    run_sync(alice_mailbox)
    topic.GMAIL_PUBSUB_TOPIC = ""
    run_sync(bob_mailbox)
    alice_mailbox.refresh_from_db()
    bob_mailbox.refresh_from_db()
    now = timezone.now()
    assert alice_mailbox.next_sync_at - now > timedelta(hours=5, minutes=59)
    assert bob_mailbox.next_sync_at - now < timedelta(minutes=16)


def test_a_failed_watch_leaves_the_mailbox_polled_and_says_why(emulate, topic, alice_mailbox):
    topic.GMAIL_PUBSUB_TOPIC = "not-a-topic"
    emulate(email=alice_mailbox.email)
    run = run_sync(alice_mailbox)
    assert run.status == SyncRun.Status.SUCCEEDED
    watch = GmailWatch.objects.get(mailbox=alice_mailbox)
    assert watch.expires_at is None and "topicName" in watch.error
    alice_mailbox.refresh_from_db()
    assert alice_mailbox.next_sync_at - timezone.now() < timedelta(minutes=16)


def test_the_periodic_sync_catches_what_dropped_notifications_missed(
    emulate, topic, alice_mailbox
):
    emulator = emulate(
        email=alice_mailbox.email,
        push=PushOptions(endpoint="http://127.0.0.1:9/gmail/push/", drop_rate=1.0),
    )
    run_sync(alice_mailbox)
    added = emulator.mailbox().add_messages(3)
    assert emulator.push_log == []  # every notification was lost
    now = timezone.now()
    assert mailboxes_sync_all(now=now + timedelta(hours=5)) == []
    [run_id] = mailboxes_sync_all(now=now + timedelta(hours=7))
    assert sync_run_execute(run_id=run_id).status == SyncRun.Status.SUCCEEDED
    stored = set(Message.objects.filter(mailbox=alice_mailbox).values_list("gmail_id", flat=True))
    assert set(added) <= stored
    alice_mailbox.refresh_from_db()
    # Still watched: the next poll is hours away again.
    assert alice_mailbox.next_sync_at > now + timedelta(hours=5, minutes=59)


def make_watched(owner, email: str, expires_in: timedelta, **mailbox) -> Mailbox:
    created = Mailbox.objects.create(owner=owner, email=email, **mailbox)
    GmailWatch.objects.create(mailbox=created, email=email, expires_at=timezone.now() + expires_in)
    return created


def test_the_renewal_takes_the_soonest_expiring_watches_first(topic, alice, monkeypatch):
    batches: list[list[int]] = []
    monkeypatch.setattr(
        "syncapp.watches.queue.enqueue_watches",
        lambda *, mailbox_ids: batches.append(mailbox_ids),
    )
    later = make_watched(alice, "later@example.com", timedelta(days=3))
    lapsed = make_watched(alice, "lapsed@example.com", timedelta(hours=-2))
    soon = make_watched(alice, "soon@example.com", timedelta(hours=5))
    make_watched(alice, "fresh@example.com", timedelta(days=7))
    make_watched(alice, "gone@example.com", timedelta(hours=1), needs_reconnect=True)

    assert watches_renew(now=timezone.now(), batch_size=2) == 2
    assert batches == [[lapsed.pk, soon.pk], [later.pk]]


def test_renewing_watches_a_mailbox_again(emulate, topic, alice_mailbox):
    emulator = emulate(email=alice_mailbox.email)
    GmailWatch.objects.create(
        mailbox=alice_mailbox, email=alice_mailbox.email, expires_at=timezone.now()
    )
    assert mailboxes_watch(mailbox_ids=[alice_mailbox.pk]) == 1
    assert emulator.watched(alice_mailbox.email)
    watch = GmailWatch.objects.get(mailbox=alice_mailbox)
    assert watch.expires_at > timezone.now() + timedelta(days=6)


def test_disconnecting_stops_the_watch(emulate, topic, alice, alice_mailbox):
    emulator = emulate(email=alice_mailbox.email)
    run_sync(alice_mailbox)
    mailboxes_stop_watches(owner_id=alice.pk, email="ALICE@example.com")
    assert not emulator.watched(alice_mailbox.email)
    assert not GmailWatch.objects.exists()
    assert "users.stop" in [r.method for r in emulator.request_log]
