"""Large messages are fetched on their own, so a sync holds about one of them at a time."""

import tracemalloc

import pytest

from syncapp.models import Message, SyncRun
from syncapp.originals import original_bytes
from tests.helpers import assert_database_matches, run_sync

pytestmark = pytest.mark.django_db(transaction=True)

# Each large message carries one file of this many bytes: about 4 MB once encoded.
LARGE_FILE = 3_000_000


def large_ids(emulator, larger_than):
    mailbox = emulator.mailbox()
    return {i for i in mailbox.message_ids() if mailbox.get(i).size_estimate > larger_than}


def test_it_fetches_the_large_messages_alone_and_keeps_them_whole(
    emulate, alice_mailbox, settings
):
    settings.GMAIL_LARGE_MESSAGE_BYTES = 1_000_000
    emulator = emulate(
        email=alice_mailbox.email, messages=40, large_messages=3, large_message_bytes=LARGE_FILE
    )
    large = large_ids(emulator, 1_000_000)

    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert len(large) == 3
    assert_database_matches(alice_mailbox, emulator.mailbox())
    fetches = [r for r in emulator.request_log if r.method == "messages.get"]
    assert {r.message_id for r in fetches if not r.in_batch} == large
    assert all(r.in_batch for r in fetches if r.message_id not in large)
    for message in Message.objects.filter(mailbox=alice_mailbox, gmail_id__in=large):
        assert original_bytes(message=message) == emulator.mailbox().get(message.gmail_id).raw
        assert message.attachment_names and message.attachment_names[0].startswith("VID_")


def test_it_lists_the_large_messages_with_one_search(emulate, alice_mailbox, settings):
    settings.GMAIL_LARGE_MESSAGE_BYTES = 1_000_000
    emulator = emulate(
        email=alice_mailbox.email, messages=40, large_messages=3, large_message_bytes=LARGE_FILE
    )

    run_sync(alice_mailbox)

    listings = [r for r in emulator.request_log if r.method == "messages.list"]
    # The mailbox's page of ids, and the page of its large ones: 5 units more in all.
    assert len(listings) == 2


def test_a_sync_of_large_messages_holds_about_one_of_them_at_a_time(
    emulate, alice_mailbox, settings
):
    settings.GMAIL_LARGE_MESSAGE_BYTES = 1_000_000
    settings.GMAIL_RAW_BATCH_SIZE = 20
    emulator = emulate(
        email=alice_mailbox.email, messages=20, large_messages=4, large_message_bytes=LARGE_FILE
    )
    one = max(emulator.mailbox().get(i).size_estimate for i in large_ids(emulator, 1_000_000))

    tracemalloc.start()
    try:
        run = run_sync(alice_mailbox)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    # Python's allocations, the emulator's (in this process) included: about 5 times
    # one message's size; 35 times when the four came in one batch.
    assert peak < 10 * one
