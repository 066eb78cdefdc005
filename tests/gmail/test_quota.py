"""The client's token bucket paces calls to the configured quota."""

from syncapp.gmail.quota import TokenBucket
from tests.clock import FakeClock


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
