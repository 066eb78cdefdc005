import threading

import pytest
from django.db import connection
from django.utils import timezone

from syncapp.mailboxes import MailboxNeedsReconnect
from syncapp.models import Mailbox, SyncRun
from syncapp.runs import sync_run_is_latest, sync_run_retry, sync_run_start

pytestmark = pytest.mark.django_db


def test_it_creates_a_waiting_run_and_queues_it_after_commit(
    alice_mailbox, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run, created = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)
        assert enqueued == [], "queued before the run was committed"

    assert created
    assert enqueued == [run.pk]
    run.refresh_from_db()
    assert run.status == SyncRun.Status.CREATED
    assert run.task_id == f"task-for-{run.pk}"


def test_it_reuses_the_active_run(alice_mailbox, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)
        second, created = sync_run_start(
            mailbox=alice_mailbox, kind=SyncRun.Kind.FULL, trigger=SyncRun.Trigger.CLI
        )

    assert not created
    assert second.pk == first.pk
    assert enqueued == [first.pk]
    assert SyncRun.objects.count() == 1


def test_it_starts_a_new_run_once_the_last_one_ended(alice_mailbox, enqueued):
    first, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB, enqueue=False)
    SyncRun.objects.filter(pk=first.pk).update(
        status=SyncRun.Status.FAILED,
        error="boom",
        failure="error",
        finished_at=first.created_at,
    )

    second, created = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)

    assert created
    assert second.pk != first.pk


def test_a_mailbox_that_never_synced_gets_a_full_sync(alice_mailbox, enqueued):
    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)
    assert run.kind == SyncRun.Kind.FULL


def test_a_mailbox_that_synced_gets_an_incremental_sync(alice_mailbox, enqueued):
    alice_mailbox.history_id = "1234"
    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)
    assert run.kind == SyncRun.Kind.INCREMENTAL


def test_a_run_that_cannot_be_queued_fails_at_once(
    alice_mailbox, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*, run_id, lane):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr("syncapp.runs.queue.enqueue_sync_run", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert run.error == "Could not queue the sync: broker unreachable"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_racing_requests_get_one_run(alice, enqueued):
    mailbox = Mailbox.objects.create(owner=alice, email="race@example.com")
    start = threading.Barrier(20)
    ids = []

    def click():
        try:
            start.wait()
            run, _ = sync_run_start(mailbox=mailbox, trigger=SyncRun.Trigger.WEB)
            ids.append(run.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(ids) == 20
    assert len(set(ids)) == 1
    assert SyncRun.objects.filter(mailbox=mailbox).count() == 1
    assert enqueued == ids[:1]


def test_it_refuses_a_mailbox_that_needs_reconnecting(alice_mailbox, enqueued):
    alice_mailbox.needs_reconnect = True
    alice_mailbox.save()

    with pytest.raises(MailboxNeedsReconnect, match="Reconnect your Google account"):
        sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)

    assert not SyncRun.objects.exists()
    assert enqueued == []


def ended(mailbox, *, failure="", **fields):
    """A finished run: FAILED with `failure`, else SUCCEEDED."""
    if failure:
        fields.update(status=SyncRun.Status.FAILED, failure=failure, error="It failed.")
    else:
        fields.update(status=SyncRun.Status.SUCCEEDED, percent=100)
    return SyncRun.objects.create(mailbox=mailbox, finished_at=timezone.now(), **fields)


def test_it_resumes_only_the_mailboxs_latest_run(alice_mailbox, enqueued):
    old = ended(alice_mailbox, failure="error", checkpoint={"phase": "full", "mark": "old"})
    newer = ended(alice_mailbox)

    run, created = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.RETRY, resume=old)

    assert created
    assert run.retry_of is None and run.checkpoint == {}
    assert sync_run_is_latest(run) and not sync_run_is_latest(newer)


def test_an_automatic_retry_of_a_superseded_run_starts_nothing(alice_mailbox, enqueued):
    old = ended(alice_mailbox, failure="worker_lost")
    ended(alice_mailbox)

    assert sync_run_retry(failed=old) is None
    assert SyncRun.objects.count() == 2


def test_an_automatic_retry_of_a_revoked_mailbox_starts_nothing(alice_mailbox, enqueued):
    failed = ended(alice_mailbox, failure="worker_lost")
    Mailbox.objects.filter(pk=alice_mailbox.pk).update(needs_reconnect=True)
    failed.refresh_from_db()

    assert sync_run_retry(failed=failed) is None
    assert SyncRun.objects.count() == 1


def test_an_automatic_retry_of_the_latest_run_continues_it(alice_mailbox, enqueued):
    failed = ended(
        alice_mailbox, failure="worker_lost", checkpoint={"phase": "full"}, processed=40, total=90
    )

    retry = sync_run_retry(failed=failed)

    assert retry is not None
    assert (retry.retry_of, retry.attempt, retry.checkpoint) == (failed, 2, {"phase": "full"})
    # Its speed is measured from where the failed run had got.
    assert retry.resumed_from == 40
