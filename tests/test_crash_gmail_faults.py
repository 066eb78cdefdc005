"""Gmail misbehaving: every run ends, SUCCEEDED when the work can be done, FAILED with the
reason otherwise, and a SUCCEEDED run leaves the database equal to Gmail.

Most cases run the sync in this process with a fake clock shared by the client and the
emulator, so backoffs cost no real time; the last one goes through a real cluster.
"""

from datetime import timedelta
from functools import partial

import pytest
from django.utils import timezone

from syncapp.gmail.client import gmail_client_for
from syncapp.models import Message, SyncRun, WorkerProcess
from syncapp.runs import sync_run_start
from syncapp.worker.reaper import sync_runs_reap
from tests.helpers import assert_database_matches, run_sync
from tests.support.clock import FakeClock
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def gmail(emulate, alice_mailbox, clock, settings):
    """Alice's Gmail on the fake clock, fetched in batches of ten."""
    settings.GMAIL_BATCH_SIZE = 10
    return emulate(email=alice_mailbox.email, messages=120, seed=31, clock=clock.time)


@pytest.fixture
def sync(alice_mailbox, clock):
    """Sync alice's mailbox in this process, in one slice as `syncmail` does (it sleeps
    through a spent quota instead of yielding); the client waits on the fake clock."""

    def run(**execute):
        return run_sync(
            alice_mailbox,
            client_factory=partial(gmail_client_for, clock=clock.time, sleep=clock.sleep),
            slice_seconds=0,
            **execute,
        )

    return run


def assert_synced(run, mailbox, gmail):
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.percent == 100
    assert not SyncRun.objects.active().exists()
    assert_database_matches(mailbox, gmail.mailbox())


def statuses(gmail):
    return [entry.status for entry in gmail.request_log]


def test_a_burst_of_rate_limits_is_waited_out(gmail, sync, alice_mailbox, clock):
    gmail.faults.rate_limit_next(8)

    run = sync()

    assert_synced(run, alice_mailbox, gmail)
    assert statuses(gmail).count(429) == 8
    # Each 429 names a time one second ahead; the client waited for it.
    assert sum(clock.slept) >= 1.0


def test_occasional_server_errors_are_retried(gmail, sync, alice_mailbox, clock):
    gmail.faults.error_rate = 0.05

    run = sync()

    assert_synced(run, alice_mailbox, gmail)
    assert 500 in statuses(gmail)
    assert clock.slept, "the client did not back off"


def test_dropped_connections_are_retried(gmail, sync, alice_mailbox, monkeypatch):
    gmail.faults.drop_rate = 0.1
    # A dropped request leaves no entry in the emulator's log: count the drops here.
    rolls = []
    roll = gmail.faults.drop

    def counted_drop():
        rolls.append(roll())
        return rolls[-1]

    monkeypatch.setattr(gmail.faults, "drop", counted_drop)

    run = sync()

    assert_synced(run, alice_mailbox, gmail)
    assert rolls.count(True) >= 1, "no connection was dropped"


def test_answers_slower_than_the_client_timeout_are_asked_for_again(
    gmail, sync, alice_mailbox, clock, settings
):
    settings.GMAIL_REQUEST_TIMEOUT_SECONDS = 1
    gmail.faults.slow_seconds = 2
    gmail.faults.slow_rate = 0.15

    run = sync()

    assert_synced(run, alice_mailbox, gmail)
    assert clock.slept, "no answer was slow, or the client did not give up on it"


def test_a_token_revoked_mid_sync_fails_the_run_for_good(gmail, sync, alice_mailbox):
    def revoke_after_two_batches(progress):
        if progress.processed >= 20:
            gmail.revoke(alice_mailbox.email)

    run = sync(observer=revoke_after_two_batches)

    assert run.status == SyncRun.Status.FAILED
    assert run.failure == SyncRun.Failure.RECONNECT
    assert run.error.startswith("Reconnect your Google account")
    assert run.retry_at is None
    alice_mailbox.refresh_from_db()
    assert alice_mailbox.needs_reconnect
    assert 20 <= Message.objects.filter(mailbox=alice_mailbox).count() < 120
    # Long after any retry would have been due, none was started.
    assert sync_runs_reap(now=timezone.now() + timedelta(hours=1)).retried == []
    assert list(SyncRun.objects.filter(mailbox=alice_mailbox)) == [run]


def test_an_expired_history_id_falls_back_to_a_full_sync_despite_rate_limits(
    gmail, sync, alice_mailbox
):
    assert_synced(sync(), alice_mailbox, gmail)
    alice_mailbox.refresh_from_db()
    mailbox = gmail.mailbox()
    mailbox.add_messages(5)
    mailbox.delete_message(mailbox.message_ids()[-1])
    mailbox.modify_labels(mailbox.message_ids()[-3], add=["STARRED"], remove=["INBOX"])
    mailbox.expire_history()
    gmail.faults.rate_limit_next(3)

    run = sync()

    assert_synced(run, alice_mailbox, gmail)
    assert (run.kind, run.fell_back_to_full) == (SyncRun.Kind.FULL, True)
    assert (run.new_count, run.deleted_count) == (5, 1)


def test_a_sync_through_the_workers_rides_out_429s_500s_and_drops(
    emulate, alice_mailbox, start_cluster, broker, fast_timings
):
    fast_timings.GMAIL_BATCH_SIZE = 40
    gmail = emulate(email=alice_mailbox.email, messages=80, seed=32)
    gmail.faults.rate_limit_next(2)
    gmail.faults.error_rate = 0.05
    gmail.faults.drop_rate = 0.03
    cluster = start_cluster()
    wait_for(lambda: WorkerProcess.objects.exists(), timeout=30, what="the cluster's workers")

    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)
    finished = wait_for(
        lambda: SyncRun.objects.finished().filter(pk=run.pk).first(),
        timeout=60,
        what=lambda: f"the run to end\n{cluster.output()}",
    )

    assert_synced(finished, alice_mailbox, gmail)
    assert {429, 500} <= set(statuses(gmail))
