"""A spent quota ends the slice instead of sleeping: the next slice is due when the
quota refills, and the upkeep pass queues it then. Time is a fake clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from syncapp.gmail.client import gmail_client_for
from syncapp.gmail.failures import Failure
from syncapp.gmail.ledger import Limits, MemoryLedger, QuotaSpent
from syncapp.models import SyncRun
from syncapp.runs import sync_run_start
from syncapp.slices import sync_runs_continue
from syncapp.worker.execute import sync_run_execute
from tests.support.clock import FakeClock

pytestmark = pytest.mark.django_db(transaction=True)

# A user's bucket holds 3,000 units (half a minute) and refills 100 units a second.
TIGHT = Limits(user_per_minute=6000, project_per_minute=1_200_000, daily_budget=80_000_000)


def test_a_slice_that_meets_a_spent_quota_yields_and_the_upkeep_pass_queues_it_when_due(
    emulate, alice_mailbox, enqueued
):
    emulate(email=alice_mailbox.email, messages=120, seed=5)
    clock = FakeClock(start=time.time())
    ledger = MemoryLedger(limits=TIGHT)
    # Another slice has spent this user's whole burst, 30 seconds of quota, and more: even
    # the first few messages.get (5 calls in flight, 25 units) would wait over 0.25 s.
    started = clock.time()
    assert ledger.take(user=alice_mailbox.email, units=3030, now=started).granted
    factory = partial(gmail_client_for, ledger=ledger, clock=clock.time, sleep=clock.sleep)
    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.CLI, enqueue=False)

    sync_run_execute(run_id=run.pk, client_factory=factory, slice_seconds=300)

    run.refresh_from_db()
    assert (run.status, run.worker) == (SyncRun.Status.RUNNING, "")
    assert run.next_slice_at is not None
    # It yields at the first call it cannot pay for at once, and comes back when
    # the bucket is half full again: a late start then wastes none of the refill.
    half_full = datetime.fromtimestamp(started + 15, UTC)
    assert abs((run.next_slice_at - half_full).total_seconds()) < 0.5
    assert clock.time() - started < 0.5, "it slept no more than a fraction of a second"
    assert enqueued == [], "nothing queued before the quota refills"
    assert sync_runs_continue(now=run.next_slice_at - timedelta(seconds=1)) == []
    assert sync_runs_continue(now=run.next_slice_at) == [run.pk]
    assert enqueued == [run.pk]
    run.refresh_from_db()
    assert (run.next_slice_at, run.queued_at is not None) == (None, True)


def test_syncing_in_process_sleeps_through_a_spent_quota_and_finishes(
    emulate, alice_mailbox, enqueued
):
    emulate(email=alice_mailbox.email, messages=120, seed=5)
    clock = FakeClock(start=time.time())
    started = clock.time()
    ledger = MemoryLedger(limits=TIGHT)
    assert ledger.take(user=alice_mailbox.email, units=3000, now=started).granted
    factory = partial(gmail_client_for, ledger=ledger, clock=clock.time, sleep=clock.sleep)
    run, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.CLI, enqueue=False)

    run = sync_run_execute(run_id=run.pk, client_factory=factory, slice_seconds=0)

    assert run is not None and run.status == SyncRun.Status.SUCCEEDED, run and run.error
    assert run.processed == 120
    # 120 messages.get at 5 units, refilling at 100 units a second (the last batch
    # goes once the bucket has room for it).
    assert clock.time() - started >= 5, "it waited for the quota on the fake clock"


def test_a_project_rate_limit_pauses_another_mailboxs_calls(alice_mailbox, bob_mailbox):
    clock = FakeClock(start=time.time())
    ledger = MemoryLedger(limits=TIGHT)
    alice, bob = (
        gmail_client_for(mailbox, on_token_refresh=print, ledger=ledger, clock=clock.time)
        for mailbox in (alice_mailbox, bob_mailbox)
    )
    bob.quota_may_yield = True
    message = "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute'"
    failure = Failure(True, f"rate limited ({message})", clock.time() + 30, project=True)

    with pytest.raises(Exception):  # noqa: B017 - the wait fits no retry budget
        alice._backoff.wait(0, failure, deadline=clock.time())
    with pytest.raises(QuotaSpent) as spent:
        bob._pay(1)

    assert spent.value.reason == "the project is paused"
    assert spent.value.retry_at == pytest.approx(clock.time() + 30)


def test_the_daily_budget_ends_the_slice_until_the_next_utc_day(alice_mailbox):
    clock = FakeClock(start=datetime(2026, 12, 1, 23, 0, tzinfo=UTC).timestamp())
    ledger = MemoryLedger(limits=Limits(6000, 1_200_000, daily_budget=100))
    client = gmail_client_for(
        alice_mailbox, on_token_refresh=print, ledger=ledger, clock=clock.time
    )
    client.quota_may_yield = True
    client._pay(100)

    with pytest.raises(QuotaSpent) as spent:
        client._pay(5)

    assert spent.value.reason == "the daily budget is spent"
    assert spent.value.retry_at == datetime(2026, 12, 2, tzinfo=UTC).timestamp()
