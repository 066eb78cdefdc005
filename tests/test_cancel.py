"""Stopping a run on request: the service, and Ctrl-C in `syncmail`."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from syncapp.models import Message, SyncRun
from syncapp.runs import sync_run_claim, sync_run_release, sync_run_start
from syncapp.stopping import RunAlreadyEnded, sync_run_cancel
from syncapp.worker.execute import sync_run_execute
from syncapp.worker.reaper import sync_runs_retry_due

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_waiting_run_cancelled_ends_failed_with_who_cancelled_it(alice_mailbox, enqueued):
    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)

    cancelled = sync_run_cancel(run=run, by="alice")

    assert cancelled.status == SyncRun.Status.FAILED
    assert cancelled.failure == SyncRun.Failure.CANCELLED
    assert cancelled.error == "Cancelled by alice"
    assert cancelled.finished_at is not None


def test_a_cancelled_run_is_never_retried_by_itself(alice_mailbox, enqueued):
    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)
    sync_run_claim(run_id=run.pk, worker="w1")

    sync_run_cancel(run=run, by="alice")

    run.refresh_from_db()
    assert run.retry_at is None
    assert sync_runs_retry_due(now=timezone.now() + timedelta(days=1)) == []
    assert SyncRun.objects.count() == 1


def test_cancelling_an_ended_run_raises_and_changes_nothing(alice_mailbox, enqueued):
    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)
    sync_run_release(run_id=run.pk, by="admin")

    with pytest.raises(RunAlreadyEnded):
        sync_run_cancel(run=run, by="alice")

    run.refresh_from_db()
    assert run.failure == SyncRun.Failure.RELEASED


def test_a_run_cancelled_under_its_worker_keeps_what_was_stored_and_stops(
    emulate, alice_mailbox, settings
):
    settings.GMAIL_BATCH_SIZE = 10
    emulate(email=alice_mailbox.email, messages=60, seed=1)
    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.CLI, enqueue=False)
    stored_when_cancelled = []

    def cancel_after_first_batch(progress):
        if progress.processed > 0 and not stored_when_cancelled:
            stored_when_cancelled.append(Message.objects.count())
            sync_run_cancel(run=run, by="alice")

    sync_run_execute(run_id=run.pk, observer=cancel_after_first_batch)

    run.refresh_from_db()
    assert (run.status, run.failure, run.error) == ("FAILED", "cancelled", "Cancelled by alice")
    [stored] = stored_when_cancelled
    assert 0 < stored < 60
    assert Message.objects.count() == stored


def syncmail(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("syncmail", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_ctrl_c_in_syncmail_cancels_the_run_and_exits_130_without_a_traceback(
    emulate, alice_mailbox, settings, monkeypatch
):
    settings.GMAIL_BATCH_SIZE = 10
    emulate(email=alice_mailbox.email, messages=60, seed=1)

    def ctrl_c_after_first_batch(bar, progress):
        if progress.processed > 0:
            raise KeyboardInterrupt

    monkeypatch.setattr(
        "syncapp.management.commands.syncmail._ProgressBar.show", ctrl_c_after_first_batch
    )

    with pytest.raises(CommandError) as stopped:
        syncmail("--user", "alice")

    run = SyncRun.objects.get()
    assert stopped.value.returncode == 130
    stored = Message.objects.count()
    assert f"run {run.pk} cancelled; the {stored} message(s) stored are kept" in str(stopped.value)
    assert 0 < stored < 60
    assert run.status == SyncRun.Status.FAILED
    assert run.failure == SyncRun.Failure.CANCELLED
    assert run.error.startswith("Cancelled by ")
    assert run.error.endswith("(Ctrl-C in syncmail)")
    assert run.retry_at is None


def test_ctrl_c_while_waiting_on_a_queued_run_cancels_it(alice_mailbox, enqueued, monkeypatch):
    def ctrl_c(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr("syncapp.management.commands.syncmail.time.sleep", ctrl_c)

    with pytest.raises(CommandError) as stopped:
        syncmail("--user", "alice", "--enqueue", "--wait")

    run = SyncRun.objects.get()
    assert stopped.value.returncode == 130
    assert run.failure == SyncRun.Failure.CANCELLED
