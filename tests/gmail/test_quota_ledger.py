"""The shared quota ledger: its arithmetic on every backend, and atomicity between
callers on separate connections. Time is passed in: no test sleeps."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
import redis
from django.db import connections

from syncapp.gmail.ledger import (
    DatabaseLedger,
    Limits,
    MemoryLedger,
    RedisLedger,
    connection_kept,
)

LIMITS = Limits(user_per_minute=480, project_per_minute=12000, daily_budget=100_000)
# Burst: 250 units per user (one batch, more than its half minute's 240), 400 for the
# project; 8 units/s per user.
NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC).timestamp()
REDIS_URL = "redis://127.0.0.1:6379/15"

pytestmark = pytest.mark.django_db(transaction=True)


def redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not reachable at " + REDIS_URL)
    return client


@pytest.fixture(params=["memory", "database", "redis"])
def make_ledger(request):
    made: list[tuple[redis.Redis, str]] = []

    def make(limits: Limits = LIMITS):
        if request.param == "memory":
            return MemoryLedger(limits=limits)
        if request.param == "database":
            return DatabaseLedger(limits=limits)
        client = redis_or_skip()
        prefix = f"mailsync-test-{uuid.uuid4().hex}:"
        made.append((client, prefix))
        return RedisLedger(limits=limits, redis_client=client, prefix=prefix)

    yield make
    for client, prefix in made:
        for key in client.scan_iter(prefix + "*"):
            client.delete(key)


def test_a_users_burst_is_granted_then_the_next_call_waits_for_its_units(make_ledger):
    ledger = make_ledger()
    assert ledger.take(user="a@x", units=250, now=NOON).granted
    answer = ledger.take(user="a@x", units=50, now=NOON)
    assert not answer.granted
    assert answer.wait == pytest.approx(6.25)
    assert answer.reason == "the user's quota"
    assert ledger.take(user="a@x", units=50, now=NOON + 6.25).granted


def test_a_users_bucket_holds_half_a_minute_and_says_when_half_of_it_is_back(make_ledger):
    limits = Limits(user_per_minute=6000, project_per_minute=1_200_000, daily_budget=10**8)
    ledger = make_ledger(limits)
    assert ledger.take(user="a@x", units=3000, now=NOON).granted
    answer = ledger.take(user="a@x", units=250, now=NOON + 1)

    assert answer.wait == pytest.approx(1.5)
    # 250 units are there after 1.5 s, 1,500 (half the burst) 12.5 s later.
    assert limits.refilled_in(answer, units=250) == pytest.approx(14)
    assert limits.refilled_in(answer, units=2000) == pytest.approx(1.5 + 0)


def test_a_refused_call_spends_nothing(make_ledger):
    ledger = make_ledger()
    ledger.take(user="a@x", units=250, now=NOON)
    for _ in range(5):
        ledger.take(user="a@x", units=50, now=NOON + 0.1)
    assert ledger.units_today(now=NOON) == 250
    assert ledger.take(user="a@x", units=50, now=NOON + 6.25).granted


def test_the_project_quota_holds_every_user_together(make_ledger):
    ledger = make_ledger()
    assert ledger.take(user="a@x", units=250, now=NOON).granted
    assert ledger.take(user="b@x", units=150, now=NOON).granted
    answer = ledger.take(user="c@x", units=100, now=NOON)
    assert answer.reason == "the project's quota"
    # 200 units per second for the project: 100 units refill in half a second.
    assert answer.wait == pytest.approx(0.5)


def test_a_project_pause_stops_every_user_until_it_ends(make_ledger):
    ledger = make_ledger()
    ledger.pause_project(until=NOON + 30, now=NOON)
    answer = ledger.take(user="fresh@x", units=1, now=NOON + 10)
    assert answer.reason == "the project is paused"
    assert answer.wait == pytest.approx(20)
    assert ledger.take(user="fresh@x", units=1, now=NOON + 30).granted


def test_the_daily_budget_refuses_calls_until_the_next_utc_day(make_ledger):
    ledger = make_ledger(Limits(user_per_minute=6000, project_per_minute=12000, daily_budget=300))
    assert ledger.take(user="a@x", units=250, now=NOON).granted
    answer = ledger.take(user="b@x", units=100, now=NOON + 60)
    assert answer.reason == "the daily budget is spent"
    assert answer.wait == pytest.approx(12 * 3600 - 60)
    assert ledger.units_today(now=NOON) == 250
    tomorrow = NOON + 12 * 3600
    assert ledger.take(user="b@x", units=100, now=tomorrow).granted
    assert ledger.units_today(now=tomorrow) == 100


def test_two_callers_on_separate_connections_never_grant_more_than_the_quota(make_ledger):
    ledger = make_ledger()
    granted: list[int] = []

    def draw() -> None:
        try:
            for step in range(40):
                # Time stands still, then moves by 5 seconds: 250 + 40 units at most.
                now = NOON if step < 20 else NOON + 5
                if ledger.take(user="a@x", units=10, now=now).granted:
                    granted.append(10)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=draw) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 290
    assert ledger.units_today(now=NOON) == 290


def test_a_fetching_thread_keeps_its_connection_for_the_takes_of_a_block_and_then_closes_it():
    ledger = DatabaseLedger(limits=LIMITS)
    seen = {}

    def fetch() -> None:
        connection = connections["default"]
        ledger.take(user="a@x", units=10, now=NOON)
        seen["open after a take alone"] = connection.connection is not None
        with connection_kept():
            ledger.take(user="a@x", units=10, now=NOON)
            first = connection.connection
            ledger.take(user="a@x", units=10, now=NOON)
            seen["one connection for the block"] = (
                first is not None and connection.connection is first
            )
        seen["open after the block"] = connection.connection is not None

    thread = threading.Thread(target=fetch)
    thread.start()
    thread.join()
    assert seen == {
        "open after a take alone": False,
        "one connection for the block": True,
        "open after the block": False,
    }
