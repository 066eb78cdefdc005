"""The database itself refuses a SyncRun in an impossible state.

Each test makes a valid run, then tries the violating write with a queryset
update(), which skips model validation: only a constraint can stop it.
"""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from syncapp.models import SyncRun

pytestmark = pytest.mark.django_db

Status = SyncRun.Status


def assert_refused(run, **fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        SyncRun.objects.filter(pk=run.pk).update(**fields)


@pytest.fixture
def created(alice_mailbox):
    return SyncRun.objects.create(mailbox=alice_mailbox, kind="full", trigger="web")


@pytest.fixture
def running(created):
    now = timezone.now()
    SyncRun.objects.filter(pk=created.pk).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now
    )
    return created


def test_a_valid_lifecycle_is_accepted(running):
    SyncRun.objects.filter(pk=running.pk).update(
        status=Status.SUCCEEDED, percent=100, finished_at=timezone.now()
    )
    assert SyncRun.objects.get(pk=running.pk).status == Status.SUCCEEDED


def test_it_refuses_an_unknown_status(created):
    assert_refused(created, status="PAUSED")


def test_it_refuses_an_unknown_kind_or_trigger(created):
    assert_refused(created, kind="partial")
    assert_refused(created, trigger="cron")


@pytest.mark.parametrize("percent", [-1, 101])
def test_it_refuses_a_percent_outside_0_to_100(created, percent):
    assert_refused(created, percent=percent)


def test_it_refuses_a_created_run_with_a_start_or_finish_time(created):
    assert_refused(created, started_at=timezone.now())
    assert_refused(created, finished_at=timezone.now())


def test_it_refuses_a_running_run_without_a_start_time(created):
    assert_refused(created, status=Status.RUNNING)


def test_it_refuses_a_running_run_with_a_finish_time(running):
    assert_refused(running, finished_at=timezone.now())


def test_it_refuses_a_running_run_at_100_percent(running):
    assert_refused(running, percent=100)


def test_it_refuses_success_without_a_finish_time(running):
    assert_refused(running, status=Status.SUCCEEDED, percent=100)


def test_it_refuses_success_below_100_percent(running):
    assert_refused(running, status=Status.SUCCEEDED, percent=99, finished_at=timezone.now())


def test_it_refuses_failure_without_a_finish_time(running):
    assert_refused(running, status=Status.FAILED, error="boom", failure="error")


def test_it_refuses_failure_without_an_error(running):
    assert_refused(
        running, status=Status.FAILED, finished_at=timezone.now(), error="", failure="error"
    )


def test_it_refuses_failure_without_a_kind_of_failure(running):
    assert_refused(running, status=Status.FAILED, finished_at=timezone.now(), error="boom")


def test_it_refuses_a_retry_time_on_a_run_that_did_not_fail(running):
    assert_refused(running, retry_at=timezone.now())


def test_it_refuses_more_processed_than_total(running):
    assert_refused(running, processed=11, total=10)


def test_it_refuses_a_second_active_run_for_a_mailbox(created, alice_mailbox):
    with pytest.raises(IntegrityError), transaction.atomic():
        SyncRun.objects.create(mailbox=alice_mailbox, kind="incremental", trigger="cli")


def test_it_refuses_reactivating_an_old_run_beside_an_active_one(created, alice_mailbox):
    old = SyncRun.objects.create(
        mailbox=alice_mailbox,
        kind="full",
        trigger="web",
        status=Status.FAILED,
        error="boom",
        failure=SyncRun.Failure.ERROR,
        finished_at=timezone.now(),
    )
    assert_refused(old, status=Status.CREATED, finished_at=None)


def test_it_allows_one_active_run_per_mailbox_side_by_side(created, bob_mailbox):
    other = SyncRun.objects.create(mailbox=bob_mailbox, kind="full", trigger="web")
    assert SyncRun.objects.active().count() == 2
    assert other.status == Status.CREATED
