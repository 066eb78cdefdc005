"""A full sync copies the mailbox exactly, against the Gmail emulator."""

from functools import partial

import pytest

from syncapp.gmail.client import gmail_client_for
from syncapp.models import Label, Message, SyncRun
from tests.helpers import assert_database_matches, fetched_message_ids, run_sync
from tests.support.clock import FakeClock

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_copies_a_500_message_mailbox(emulate, alice_mailbox):
    emulator = emulate(email=alice_mailbox.email, messages=500, seed=7)
    history_id_at_start = emulator.mailbox().history_id

    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.kind == SyncRun.Kind.FULL
    assert (run.percent, run.processed, run.total, run.new_count) == (100, 500, 500, 500)
    assert_database_matches(alice_mailbox, emulator.mailbox())
    alice_mailbox.refresh_from_db()
    assert alice_mailbox.history_id == str(history_id_at_start)
    assert alice_mailbox.last_synced_at == run.finished_at
    assert Label.objects.filter(mailbox=alice_mailbox, label_id="INBOX").exists()


def test_it_fetches_every_message_once_in_batches(emulate, alice_mailbox, settings):
    settings.GMAIL_BATCH_SIZE = 20
    emulator = emulate(email=alice_mailbox.email, messages=100, seed=3)

    run_sync(alice_mailbox)

    assert sorted(fetched_message_ids(emulator)) == sorted(emulator.mailbox().message_ids())
    fetches = [r for r in emulator.request_log if r.method in ("messages.get", "threads.get")]
    assert all(r.in_batch for r in fetches)


def test_it_fetches_each_original_with_messages_get_never_threads_get(emulate, alice_mailbox):
    emulator = emulate(email=alice_mailbox.email, messages=120, seed=14)

    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    fetches = [r for r in emulator.request_log if r.method in ("messages.get", "threads.get")]
    assert {r.method for r in fetches} == {"messages.get"}
    assert sum(r.units for r in fetches if r.status == 200) == 5 * 120
    assert not Message.objects.filter(mailbox=alice_mailbox, original__isnull=True).exists()


def test_a_second_full_sync_fetches_nothing_stored(emulate, alice_mailbox):
    emulator = emulate(email=alice_mailbox.email, messages=80, seed=2)
    run_sync(alice_mailbox)
    emulator.clear_request_log()

    run = run_sync(alice_mailbox, kind=SyncRun.Kind.FULL)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert fetched_message_ids(emulator) == []
    assert run.processed == 80
    assert_database_matches(alice_mailbox, emulator.mailbox())


@pytest.mark.parametrize("chunk", [2000, 2], ids=["one-chunk", "chunks-of-2"])
def test_a_full_sync_removes_messages_deleted_in_gmail(emulate, alice_mailbox, monkeypatch, chunk):
    monkeypatch.setattr("syncapp.storage.DELETE_CHUNK", chunk)
    emulator = emulate(email=alice_mailbox.email, messages=60, seed=4)
    run_sync(alice_mailbox)
    gone = emulator.mailbox().message_ids()[:5]
    for gmail_id in gone:
        emulator.mailbox().delete_message(gmail_id)

    run = run_sync(alice_mailbox, kind=SyncRun.Kind.FULL)

    assert run.deleted_count == 5
    assert not Message.objects.filter(gmail_id__in=gone).exists()
    assert_database_matches(alice_mailbox, emulator.mailbox())


def test_every_hostile_message_is_stored(emulate, alice_mailbox):
    emulator = emulate(email=alice_mailbox.email, messages=40, seed=5)
    hostile = emulator.mailbox().hostile_ids

    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    stored = Message.objects.filter(mailbox=alice_mailbox, gmail_id__in=hostile.values())
    assert stored.count() == len(set(hostile.values()))
    for message in stored:
        for text in (message.subject, message.sender, message.body_text, message.snippet):
            assert "\x00" not in text
    long_subject = stored.get(gmail_id=hostile["long_subject"]).subject
    assert len(long_subject) == Message.SUBJECT_MAX
    assert stored.get(gmail_id=hostile["missing_date"]).date is None


def test_a_quota_smaller_than_the_demand_still_succeeds(emulate, alice_mailbox):
    clock = FakeClock()
    # Gmail allows 600 units a minute; the client believes it has ten times more.
    emulator = emulate(
        email=alice_mailbox.email,
        messages=120,
        seed=6,
        quota_units_per_minute=600,
        clock=clock.time,
    )
    factory = partial(
        gmail_client_for, quota_units_per_minute=6000, clock=clock.time, sleep=clock.sleep
    )

    # As syncmail does: one slice, sleeping through waits for quota. The 429s are paid
    # for again when retried, and may exhaust the shared ledger's burst, which would
    # end a worker's slice instead.
    run = run_sync(alice_mailbox, client_factory=factory, slice_seconds=0)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert any(r.status == 429 for r in emulator.request_log)
    assert_database_matches(alice_mailbox, emulator.mailbox())
    # Gmail refills 10 units a second, after a burst of 30 seconds' worth: the
    # units it granted cannot have been spent any faster.
    granted = sum(r.units for r in emulator.request_log if r.status == 200)
    assert sum(clock.slept) >= (granted - 300) / 10


def test_progress_reaches_the_observer_batch_by_batch(emulate, alice_mailbox, settings):
    settings.GMAIL_BATCH_SIZE = 25
    emulate(email=alice_mailbox.email, messages=100, seed=8)
    seen = []

    run_sync(alice_mailbox, observer=seen.append)

    processed = [p.processed for p in seen]
    assert processed == sorted(processed)
    assert processed[-1] == 100
    assert len(set(processed)) >= 4, "progress did not move batch by batch"
    assert all(p.percent <= 99 for p in seen)


def test_a_full_resync_picks_up_label_changes_without_fetching_again(emulate, alice_mailbox):
    emulator = emulate(email=alice_mailbox.email, messages=80, seed=12)
    run_sync(alice_mailbox)
    gmail = emulator.mailbox()
    old = gmail.message_ids()[-5:]
    gmail.modify_labels(old[0], add=["STARRED"], remove=["INBOX"])
    gmail.modify_labels(old[1], add=["Label_2"])
    gmail.modify_labels(old[2], remove=list(gmail.get(old[2]).label_ids))
    emulator.clear_request_log()

    run = run_sync(alice_mailbox, kind=SyncRun.Kind.FULL)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.updated_count == 3
    assert_database_matches(alice_mailbox, gmail)
    assert fetched_message_ids(emulator) == []


def test_batches_in_flight_survive_gmails_concurrency_limit(emulate, alice_mailbox, settings):
    settings.GMAIL_BATCH_SIZE = 10
    settings.GMAIL_CONCURRENT_BATCHES = 3
    emulator = emulate(
        email=alice_mailbox.email, messages=60, seed=13, latency_ms=50, max_concurrent_per_user=1
    )

    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert any(r.status == 429 for r in emulator.request_log), "no batches ever overlapped"
    assert_database_matches(alice_mailbox, emulator.mailbox())
