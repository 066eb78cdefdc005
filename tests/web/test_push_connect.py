"""Connecting a Gmail account watches it; disconnecting stops the watch."""

import pytest

from syncapp.models import GmailWatch, Mailbox
from syncapp.watches import mailboxes_watch
from tests.web.test_google_sign_in import google_dance

pytestmark = pytest.mark.django_db

TOPIC = "projects/mailsync/topics/gmail"


@pytest.fixture
def queued_watches(monkeypatch) -> list[list[int]]:
    queued: list[list[int]] = []
    monkeypatch.setattr(
        "syncapp.watches.queue.enqueue_watches",
        lambda *, mailbox_ids: queued.append(mailbox_ids),
    )
    return queued


def test_connecting_a_mailbox_has_a_worker_watch_it(
    client, emulate_google, settings, queued_watches, django_capture_on_commit_callbacks
):
    settings.GMAIL_PUBSUB_TOPIC = TOPIC
    emulator = emulate_google(email="dora.explorer@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        google_dance(client)
    mailbox = Mailbox.objects.get()
    assert queued_watches == [[mailbox.pk]]

    assert mailboxes_watch(mailbox_ids=queued_watches[0]) == 1
    assert emulator.watched("dora.explorer@example.com")


def test_connecting_watches_nothing_without_a_topic(
    client, emulate_google, queued_watches, django_capture_on_commit_callbacks
):
    emulate_google()
    with django_capture_on_commit_callbacks(execute=True):
        google_dance(client)
    assert queued_watches == []


def test_disconnecting_stops_the_mailboxs_watch(alice_client, alice, emulate_google, settings):
    settings.GMAIL_PUBSUB_TOPIC = TOPIC
    emulator = emulate_google()
    google_dance(alice_client, login_hint="alice@example.com")
    mailboxes_watch(mailbox_ids=[alice.mailboxes.get().pk])
    assert emulator.watched("alice@example.com")

    alice_client.post("/oauth/disconnect/google-oauth2/")

    assert not emulator.watched("alice@example.com")
    assert not GmailWatch.objects.exists()
