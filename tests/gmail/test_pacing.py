"""The client's token bucket paces calls to the configured quota."""

import pytest

from syncapp.gmail.pacing import TokenBucket
from tests.support.clock import FakeClock


def bucket(clock, *, units_per_minute=600, burst_units=50):
    return TokenBucket(
        units_per_minute=units_per_minute,
        burst_units=burst_units,
        clock=clock.time,
        sleep=clock.sleep,
    )


def test_a_burst_within_capacity_does_not_wait():
    clock = FakeClock()
    pacing = bucket(clock)

    for _ in range(10):
        pacing.acquire(5)

    assert clock.slept == []


def test_it_holds_the_long_run_rate_to_the_quota():
    clock = FakeClock()
    pacing = bucket(clock, units_per_minute=600)
    started = clock.time()

    for _ in range(100):
        pacing.acquire(5)

    # 500 units at 10 units/s, less the 50 the bucket held at the start.
    assert abs((clock.time() - started) - 45.0) < 0.01


def test_a_request_dearer_than_the_bucket_is_paid_for_afterwards():
    clock = FakeClock()
    pacing = bucket(clock, units_per_minute=600, burst_units=50)

    pacing.acquire(250)
    waited_before = clock.time()
    pacing.acquire(1)

    assert clock.time() - waited_before >= 20.0


def test_pause_until_holds_every_caller_until_the_moment_named():
    clock = FakeClock()
    pacing = bucket(clock)
    resume_at = clock.time() + 30

    pacing.pause_until(resume_at)
    pacing.acquire(1)

    assert clock.time() >= resume_at


def test_a_first_429_empties_the_bucket_without_slowing_down():
    clock = FakeClock()
    pacing = bucket(clock, units_per_minute=600, burst_units=50)
    resume_at = clock.time() + 1

    pacing.pause_until(resume_at)
    pacing.acquire(20)

    assert pacing.rate == 10.0
    # Refilled from empty at the full rate from the moment Gmail named: 20 units in 2 s.
    assert abs(clock.time() - (resume_at + 2.0)) < 0.01


@pytest.mark.parametrize(("seconds_between", "rate"), [(5, 0.8 * 10), (60, 10.0)])
def test_a_429_slows_the_rate_once_for_the_batches_in_flight_only_soon_after_another(
    seconds_between, rate
):
    clock = FakeClock()
    pacing = bucket(clock, units_per_minute=600)
    pacing.pause_until(clock.time() + 1)
    clock.sleep(seconds_between)

    pacing.pause_until(clock.time() + 1)
    pacing.pause_until(clock.time() + 1)

    assert pacing.rate == rate


def test_repeated_429s_settle_the_rate_below_the_configured_one():
    clock = FakeClock()
    pacing = bucket(clock, units_per_minute=600)

    for _ in range(4):
        pacing.pause_until(clock.time() + 1)
        clock.sleep(2)

    assert abs(pacing.rate - 10 * 0.8**3) < 1e-9


def test_quiet_time_brings_the_rate_back_to_the_configured_one():
    clock = FakeClock()
    pacing = bucket(clock, units_per_minute=600)
    pacing.pause_until(clock.time())
    clock.sleep(2)
    pacing.pause_until(clock.time())

    clock.sleep(2)
    pacing.acquire(1)
    assert pacing.rate == 8.0, "recovered before the quiet time was over"

    clock.sleep(60)
    pacing.acquire(1)
    assert pacing.rate == 10.0
