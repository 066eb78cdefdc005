"""Nothing listed is skipped: only a message's own 404 proves it gone."""

import pytest
from django.urls import reverse

from syncapp.gmail.client import GmailClient
from syncapp.models import Message, SyncRun
from tests.helpers import assert_database_matches, run_sync

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_batch_part_answering_404_while_the_message_exists_loses_nothing(
    emulate, alice_mailbox, monkeypatch
):
    emulator = emulate(email=alice_mailbox.email, messages=40, seed=3, profile="tiny")
    unlucky = emulator.mailbox().message_ids()[:3]
    real_get_messages = GmailClient.get_messages

    def batch_misses_some(self, ids, **kwargs):
        result = real_get_messages(self, ids, **kwargs)
        for gmail_id in unlucky:
            if result.found.pop(gmail_id, None) is not None:
                result.missing.append(gmail_id)
        return result

    monkeypatch.setattr(GmailClient, "get_messages", batch_misses_some)

    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.vanished_count == 0
    assert_database_matches(alice_mailbox, emulator.mailbox())
    alone = [
        r.message_id for r in emulator.request_log if r.method == "messages.get" and not r.in_batch
    ]
    assert sorted(alone) == sorted(unlucky)


def test_a_message_a_batch_leaves_out_is_fetched_on_its_own(emulate, alice_mailbox, monkeypatch):
    emulator = emulate(email=alice_mailbox.email, messages=20, seed=5, profile="tiny")
    left_out = emulator.mailbox().message_ids()[-1]
    real_get_messages = GmailClient.get_messages

    def batch_forgets_one(self, ids, **kwargs):
        result = real_get_messages(self, ids, **kwargs)
        result.found.pop(left_out, None)
        return result

    monkeypatch.setattr(GmailClient, "get_messages", batch_forgets_one)

    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert Message.objects.filter(gmail_id=left_out).exists()
    assert run.vanished_count == 0


def test_a_message_deleted_mid_sync_is_counted_as_vanished_and_the_run_says_so(
    emulate, alice_mailbox, alice, client, monkeypatch
):
    emulator = emulate(email=alice_mailbox.email, messages=30, seed=1, profile="tiny")
    doomed = emulator.mailbox().message_ids()[5]
    real_get_messages = GmailClient.get_messages

    def delete_then_fetch(self, ids, **kwargs):
        if doomed in emulator.mailbox().message_ids():
            emulator.mailbox().delete_message(doomed)
        return real_get_messages(self, ids, **kwargs)

    monkeypatch.setattr(GmailClient, "get_messages", delete_then_fetch)

    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.vanished_count, run.processed, run.total) == (1, 30, 30)
    assert Message.objects.count() == 29
    single = [r for r in emulator.request_log if r.message_id == doomed and not r.in_batch]
    assert [r.status for r in single] == [404]
    client.force_login(alice)
    page = client.get(reverse("run-progress", args=[run.pk])).content.decode()
    assert "1 listed message vanished from Gmail during the sync" in page
    history = client.get(reverse("run-history", args=[alice_mailbox.pk])).content.decode()
    assert "+1 vanished during the sync" in history
