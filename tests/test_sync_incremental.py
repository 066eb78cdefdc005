"""Incremental sync follows Gmail's history, and falls back when it is gone."""

import pytest

from syncapp.models import Message, SyncRun
from tests.helpers import assert_database_matches, fetched_message_ids, run_sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def synced(emulate, alice_mailbox):
    """Alice's mailbox after a first full sync, with the emulator behind it."""
    emulator = emulate(email=alice_mailbox.email, messages=120, seed=11)
    run = run_sync(alice_mailbox)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    alice_mailbox.refresh_from_db()
    emulator.clear_request_log()
    return emulator


def test_it_applies_additions_deletions_and_label_changes(synced, alice_mailbox):
    gmail = synced.mailbox()
    ids = gmail.message_ids()
    added = gmail.add_messages(7)
    for gmail_id in ids[:3]:
        gmail.delete_message(gmail_id)
    gmail.modify_labels(ids[10], add=["STARRED"], remove=["INBOX"])
    gmail.modify_labels(ids[11], add=["Label_1"])
    gmail.modify_labels(added[0], add=["IMPORTANT"])

    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.kind == SyncRun.Kind.INCREMENTAL
    assert (run.new_count, run.deleted_count, run.updated_count) == (7, 3, 2)
    assert run.percent == 100
    assert_database_matches(alice_mailbox, gmail)
    fetched = {r.message_id for r in synced.request_log if r.method == "messages.get"}
    assert fetched == set(added)
    alice_mailbox.refresh_from_db()
    assert alice_mailbox.history_id == str(gmail.history_id)


def test_a_label_added_then_removed_ends_as_it_began(synced, alice_mailbox):
    gmail = synced.mailbox()
    gmail_id = gmail.message_ids()[20]
    before = sorted(Message.objects.get(gmail_id=gmail_id).label_ids)
    gmail.modify_labels(gmail_id, add=["Label_2"])
    gmail.modify_labels(gmail_id, remove=["Label_2"])

    run_sync(alice_mailbox)

    assert sorted(Message.objects.get(gmail_id=gmail_id).label_ids) == before
    assert_database_matches(alice_mailbox, gmail)


def test_a_message_added_then_deleted_is_never_fetched(synced, alice_mailbox):
    gmail = synced.mailbox()
    [gmail_id] = gmail.add_messages(1)
    gmail.delete_message(gmail_id)

    run_sync(alice_mailbox)

    assert not Message.objects.filter(gmail_id=gmail_id).exists()
    assert [r for r in synced.request_log if r.method == "messages.get"] == []


def test_nothing_changed_costs_two_calls(synced, alice_mailbox):
    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert sorted(r.method for r in synced.request_log) == ["history.list", "labels.list"]
    assert (run.new_count, run.updated_count, run.deleted_count) == (0, 0, 0)


def test_an_expired_history_id_falls_back_to_a_full_sync(synced, alice_mailbox):
    gmail = synced.mailbox()
    gmail.add_messages(4)
    gmail.delete_message(gmail.message_ids()[-1])
    gmail.modify_labels(gmail.message_ids()[-2], add=["STARRED"])
    gmail.expire_history()

    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.kind == SyncRun.Kind.FULL
    assert run.fell_back_to_full
    assert (run.new_count, run.deleted_count) == (4, 1)
    assert_database_matches(alice_mailbox, gmail)
    fetched = fetched_message_ids(synced)
    assert len(fetched) == 4, "the fallback fetched messages it already had"
