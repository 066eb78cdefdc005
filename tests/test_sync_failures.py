"""Whatever fails, at whatever stage, the run ends FAILED with a readable reason."""

from functools import partial

import pytest
from django.db import OperationalError

from syncapp.gmail.client import GmailClient, gmail_client_for
from syncapp.models import Message, SyncRun
from tests.helpers import run_sync
from tests.support.clock import FakeClock

pytestmark = pytest.mark.django_db(transaction=True)


def explode(*args, **kwargs):
    raise RuntimeError("it broke")


def database_gone(*args, **kwargs):
    raise OperationalError("server closed the connection unexpectedly")


@pytest.mark.parametrize(
    ("target", "replacement", "stage"),
    [
        ("syncapp.gmail.client.GmailClient.get_profile", explode, "reading the mailbox profile"),
        ("syncapp.gmail.client.GmailClient.list_labels", explode, "listing labels"),
        ("syncapp.gmail.client.GmailClient.list_messages", explode, "listing messages"),
        ("syncapp.gmail.client.GmailClient.get_messages", explode, "fetching messages"),
        ("syncapp.storage.messages_upsert", explode, "storing messages"),
        ("syncapp.storage.messages_delete_unseen", explode, "removing messages deleted in Gmail"),
        ("syncapp.worker.execute.sync_run_succeed", explode, "finishing"),
    ],
)
def test_an_error_at_any_stage_fails_the_run(
    emulate, alice_mailbox, monkeypatch, target, replacement, stage
):
    emulate(email=alice_mailbox.email, messages=30, seed=1)
    monkeypatch.setattr(target, replacement)

    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.FAILED
    assert run.error == f"Unexpected error while {stage}: RuntimeError: it broke"
    assert run.failure == SyncRun.Failure.ERROR
    assert run.retry_at is None, "a bug is not retried by itself"
    assert run.finished_at is not None
    assert not SyncRun.objects.active().exists()


@pytest.mark.parametrize(
    ("target", "stage"),
    [
        ("syncapp.storage.messages_upsert", "storing messages"),
        ("syncapp.worker.execute.sync_run_succeed", "finishing"),
    ],
)
def test_a_database_error_fails_the_run_and_schedules_a_retry(
    emulate, alice_mailbox, monkeypatch, target, stage
):
    emulate(email=alice_mailbox.email, messages=30, seed=1)
    monkeypatch.setattr(target, database_gone)

    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.FAILED
    assert run.error == (
        f"Database error while {stage}: "
        "OperationalError: server closed the connection unexpectedly"
    )
    assert run.failure == SyncRun.Failure.DATABASE
    assert run.retry_at is not None


def test_an_error_in_incremental_sync_fails_the_run(emulate, alice_mailbox, monkeypatch):
    emulate(email=alice_mailbox.email, messages=30, seed=1)
    run_sync(alice_mailbox)
    alice_mailbox.refresh_from_db()
    monkeypatch.setattr("syncapp.gmail.client.GmailClient.list_history", explode)

    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.FAILED
    assert run.error == "Unexpected error while reading changes: RuntimeError: it broke"


def test_gmail_failing_past_the_retry_budget_fails_the_run(emulate, alice_mailbox, settings):
    clock = FakeClock()
    settings.GMAIL_RETRY_BUDGET_SECONDS = 120
    emulator = emulate(email=alice_mailbox.email, messages=30, seed=1, clock=clock.time)
    emulator.faults.error_rate = 1.0

    run = run_sync(
        alice_mailbox,
        client_factory=partial(gmail_client_for, clock=clock.time, sleep=clock.sleep),
    )

    assert run.status == SyncRun.Status.FAILED
    assert run.error.startswith(
        "Gmail error while reading the mailbox profile: Gmail kept failing for 120 seconds"
    )
    assert "server error 500" in run.error
    assert 60 <= sum(clock.slept) <= 120


def test_a_revoked_token_fails_the_run_and_asks_to_reconnect(emulate, alice_mailbox):
    emulator = emulate(email=alice_mailbox.email, messages=30, seed=1)
    emulator.revoke(alice_mailbox.email)

    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.FAILED
    assert run.error.startswith("Reconnect your Google account")
    alice_mailbox.refresh_from_db()
    assert alice_mailbox.needs_reconnect
    assert Message.objects.count() == 0


def test_an_expired_access_token_is_refreshed_and_saved(emulate, alice_mailbox):
    emulator = emulate(email=alice_mailbox.email, messages=30, seed=1)
    alice_mailbox.access_token = "stale-token"
    alice_mailbox.save()
    emulator.expire_access_tokens(alice_mailbox.email)

    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    alice_mailbox.refresh_from_db()
    assert alice_mailbox.access_token not in ("", "stale-token")
    assert alice_mailbox.token_expires_at is not None
    assert [r.method for r in emulator.request_log].count("token") == 1


def test_messages_deleted_between_listing_and_fetching_count_as_vanished(
    emulate, alice_mailbox, monkeypatch
):
    emulator = emulate(email=alice_mailbox.email, messages=30, seed=1)
    doomed = emulator.mailbox().message_ids()[:2]
    real_get_messages = GmailClient.get_messages

    def delete_then_fetch(self, ids, **kwargs):
        for gmail_id in doomed:
            if gmail_id in emulator.mailbox().message_ids():
                emulator.mailbox().delete_message(gmail_id)
        return real_get_messages(self, ids, **kwargs)

    monkeypatch.setattr(GmailClient, "get_messages", delete_then_fetch)

    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert Message.objects.count() == 28
    assert run.processed == run.total == 30
    assert run.vanished_count == 2


def test_an_original_that_cannot_be_written_fails_the_run_without_retrying_gmail(
    emulate, alice_mailbox, monkeypatch
):
    emulator = emulate(email=alice_mailbox.email, messages=20, seed=1, profile="tiny")

    def disk_full(raw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("syncapp.sync.pipeline.originals.original_put", disk_full)

    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.FAILED
    assert "No space left on device" in run.error
    fetched = [r for r in emulator.request_log if r.method == "messages.get"]
    assert len(fetched) == len({r.message_id for r in fetched}), "nothing fetched twice"
    assert not Message.objects.exists()
