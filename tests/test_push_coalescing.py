"""A burst of push notifications costs one or two runs, and never misses a change."""

import pytest
from django.utils import timezone

from syncapp.models import GmailWatch, Mailbox, SyncRun
from syncapp.push import push_notification_receive
from syncapp.worker.execute import sync_run_execute
from tests.helpers import assert_database_matches, run_sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def gmail(emulate, alice_mailbox):
    """Alice's mailbox in the emulator, synced once and watched."""
    emulator = emulate(email=alice_mailbox.email, messages=40, seed=3)
    assert run_sync(alice_mailbox).status == SyncRun.Status.SUCCEEDED
    GmailWatch.objects.create(mailbox=alice_mailbox, email=alice_mailbox.email)
    return emulator.mailbox()


def notify(gmail, history_id: int | None = None) -> list[int]:
    return push_notification_receive(
        email=gmail.email.upper(), history_id=history_id or gmail.history_id, now=timezone.now()
    )


def execute_pushed_runs(mailbox: Mailbox) -> None:
    for run in SyncRun.objects.filter(mailbox=mailbox, trigger=SyncRun.Trigger.PUSH).active():
        sync_run_execute(run_id=run.pk)


def test_it_turns_a_burst_of_100_notifications_into_at_most_2_runs(gmail, alice_mailbox, enqueued):
    for number in range(100):
        gmail.add_message(subject=f"burst {number}")
        notify(gmail)
        if number == 49:
            # Halfway through, the run the burst started ends.
            execute_pushed_runs(alice_mailbox)
    execute_pushed_runs(alice_mailbox)

    pushed = SyncRun.objects.filter(mailbox=alice_mailbox, trigger=SyncRun.Trigger.PUSH)
    assert 1 <= pushed.count() <= 2
    assert len(enqueued) == pushed.count()
    assert all(run.status == SyncRun.Status.SUCCEEDED for run in pushed)
    assert_database_matches(alice_mailbox, gmail)


def test_it_starts_nothing_for_a_notification_already_seen(gmail, alice_mailbox, enqueued):
    gmail.add_message()
    assert notify(gmail)
    execute_pushed_runs(alice_mailbox)
    assert notify(gmail) == []
    assert notify(gmail, history_id=gmail.history_id - 1) == []


def test_it_runs_once_more_when_a_run_ends_short_of_the_pending_change(
    gmail, alice_mailbox, enqueued
):
    gmail.add_message()
    [first] = notify(gmail)
    # A change Gmail has announced but the run will not see: it arrives while the run runs.
    notify(gmail, history_id=gmail.history_id + 10_000)
    sync_run_execute(run_id=first)
    follow_ups = SyncRun.objects.exclude(pk=first).filter(trigger=SyncRun.Trigger.PUSH)
    assert follow_ups.count() == 1
    # The follow-up moves Gmail's history no further: no run after it.
    sync_run_execute(run_id=follow_ups.get().pk)
    assert SyncRun.objects.filter(trigger=SyncRun.Trigger.PUSH).count() == 2
    assert not SyncRun.objects.active().exists()


def test_it_leaves_a_mailbox_that_must_reconnect_alone(gmail, alice_mailbox, enqueued):
    Mailbox.objects.filter(pk=alice_mailbox.pk).update(needs_reconnect=True)
    gmail.add_message()
    assert notify(gmail) == []
