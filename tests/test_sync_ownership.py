"""A run belongs to the worker that claimed it, and to nobody once released."""

import pytest
from django.forms.models import model_to_dict

from syncapp.models import Message, SyncRun
from syncapp.runs import sync_run_fail, sync_run_start
from syncapp.worker.execute import sync_run_execute
from tests.helpers import fetched_message_ids, run_sync

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_duplicate_delivery_touches_nothing(emulate, alice_mailbox):
    emulator = emulate(email=alice_mailbox.email, messages=30, seed=1)
    run = run_sync(alice_mailbox)
    requests_before = len(emulator.request_log)
    row_before = model_to_dict(SyncRun.objects.get(pk=run.pk))

    again = sync_run_execute(run_id=run.pk)

    assert again is None
    assert model_to_dict(SyncRun.objects.get(pk=run.pk)) == row_before
    assert len(emulator.request_log) == requests_before
    assert Message.objects.count() == 30


def test_a_released_run_writes_nothing_more(emulate, alice_mailbox, settings):
    settings.GMAIL_BATCH_SIZE = 10
    emulate(email=alice_mailbox.email, messages=50, seed=1)
    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.CLI, enqueue=False)
    stored_at_release = []

    def release_after_first_batch(progress):
        if progress.processed > 0 and not stored_at_release:
            stored_at_release.append(Message.objects.count())
            sync_run_fail(
                run_id=run.pk, worker=None, error="Released by an admin", failure="released"
            )

    sync_run_execute(run_id=run.pk, observer=release_after_first_batch)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert run.error == "Released by an admin"
    [stored] = stored_at_release
    assert 0 < stored < 50
    assert Message.objects.count() == stored


def test_a_retry_continues_from_the_dead_runs_checkpoint(emulate, alice_mailbox, settings):
    settings.GMAIL_BATCH_SIZE = 10
    settings.SYNC_PROGRESS_INTERVAL_SECONDS = 0
    emulator = emulate(email=alice_mailbox.email, messages=1200, seed=9)
    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.CLI, enqueue=False)

    class WorkerKilled(BaseException):
        """Stands for kill -9: nothing in the worker gets to clean up."""

    def die_in_the_second_page(progress):
        if progress.processed >= 620:
            raise WorkerKilled

    with pytest.raises(WorkerKilled):
        sync_run_execute(run_id=run.pk, observer=die_in_the_second_page)
    dead = SyncRun.objects.get(pk=run.pk)
    assert dead.status == SyncRun.Status.RUNNING
    assert dead.checkpoint["page_token"], "the dead run never left the first page"
    stored_before = set(Message.objects.values_list("gmail_id", flat=True))
    sync_run_fail(
        run_id=run.pk, worker=None, error="The worker stopped responding", failure="worker_lost"
    )
    emulator.clear_request_log()

    retry, _ = sync_run_start(
        mailbox=alice_mailbox, trigger=SyncRun.Trigger.RETRY, enqueue=False, resume=dead
    )
    finished = sync_run_execute(run_id=retry.pk)

    assert finished.status == SyncRun.Status.SUCCEEDED, finished.error
    assert finished.retry_of_id == dead.pk
    assert finished.processed == finished.total == 1200
    fetched = set(fetched_message_ids(emulator))
    assert fetched, "the retry fetched nothing"
    assert not fetched & stored_before, "the retry fetched messages it already had"
    listed = [r for r in emulator.request_log if r.method == "messages.list"]
    # Its two pages left (of three), and the search for the large messages.
    assert len(listed) == 3, "the retry listed from the start instead of its checkpoint"
    assert Message.objects.count() == 1200


def test_a_retrys_counts_are_its_own_and_add_up_with_the_dead_runs(
    emulate, alice_mailbox, settings
):
    settings.GMAIL_BATCH_SIZE = 10
    settings.SYNC_PROGRESS_INTERVAL_SECONDS = 0
    emulate(email=alice_mailbox.email, messages=1200, seed=9)
    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.CLI, enqueue=False)

    class WorkerKilled(BaseException):
        pass

    def die_in_the_second_page(progress):
        if progress.processed >= 620:
            raise WorkerKilled

    with pytest.raises(WorkerKilled):
        sync_run_execute(run_id=run.pk, observer=die_in_the_second_page)
    stored_by_the_dead_run = Message.objects.count()
    sync_run_fail(run_id=run.pk, worker=None, error="The worker died", failure="worker_lost")
    dead = SyncRun.objects.get(pk=run.pk)

    retry, _ = sync_run_start(
        mailbox=alice_mailbox, trigger=SyncRun.Trigger.RETRY, enqueue=False, resume=dead
    )
    finished = sync_run_execute(run_id=retry.pk)

    assert finished.status == SyncRun.Status.SUCCEEDED, finished.error
    assert finished.new_count == 1200 - stored_by_the_dead_run
    assert dead.new_count + finished.new_count <= 1200
    assert finished.new_count <= finished.processed == finished.total == 1200
