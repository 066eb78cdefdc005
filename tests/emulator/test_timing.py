"""Calls take time: a service time each, a batch's calls a few at a time, latency per request.

Time is a FakeClock that moves only when the emulator sleeps, so these tests measure
the emulator's own account of time, not the machine's.
"""

import statistics
import threading
import time
from collections.abc import Callable

import pytest

from gmail_emulator import GmailEmulator
from gmail_emulator.timing import ServiceTime, finish_times
from tests.plugins.emulator import gmail_batch, gmail_service
from tests.support.clock import FakeClock


def timed(make_gmail_emulator, **options) -> tuple[GmailEmulator, FakeClock]:
    clock = FakeClock()
    emulator = make_gmail_emulator(
        max_concurrent_per_user=0, clock=clock.time, sleep=clock.sleep, **options
    )
    return emulator, clock


def batch_seconds(emulator: GmailEmulator, clock: FakeClock, count: int) -> float:
    """How long a batch of `count` messages.get takes, by the emulator's clock."""
    return send_batch(emulator, count, clock.time)


def send_batch(emulator: GmailEmulator, count: int, now: Callable[[], float]) -> float:
    service = gmail_service(emulator)
    batch = gmail_batch(emulator)
    for message_id in emulator.mailbox().message_ids()[:count]:
        batch.add(service.users().messages().get(userId="me", id=message_id))
    started = now()
    batch.execute()
    return now() - started


def test_a_batch_of_50_takes_longer_than_a_batch_of_5(make_gmail_emulator):
    emulator, clock = timed(make_gmail_emulator, service_ms=50, batch_parallelism=5)

    five = batch_seconds(emulator, clock, 5)
    fifty = batch_seconds(emulator, clock, 50)

    # Five calls side by side end with the slowest; fifty take ten rounds of five.
    assert 0.05 <= five <= 0.25
    assert 0.35 <= fifty <= 1.0
    assert fifty > 3 * five


def test_a_batchs_calls_are_served_a_few_at_a_time(make_gmail_emulator):
    emulator, clock = timed(
        make_gmail_emulator, service_ms=40, service_jitter=0, batch_parallelism=5
    )

    assert batch_seconds(emulator, clock, 12) == pytest.approx(3 * 0.04)
    assert batch_seconds(emulator, clock, 5) == pytest.approx(0.04)


def test_latency_is_paid_once_per_http_request_whatever_the_batch_holds(make_gmail_emulator):
    emulator, clock = timed(make_gmail_emulator, service_ms=0, latency_ms=100)
    started = clock.time()
    gmail_service(emulator).users().getProfile(userId="me").execute()
    single = clock.time() - started

    assert single == pytest.approx(0.1)
    assert batch_seconds(emulator, clock, 50) == pytest.approx(0.1)


def test_service_time_can_change_while_running(make_gmail_emulator):
    emulator, clock = timed(make_gmail_emulator, service_ms=40, service_jitter=0)

    emulator.service_ms = 0

    assert batch_seconds(emulator, clock, 10) == 0


def test_service_time_follows_the_calls_quota_cost(make_gmail_emulator):
    emulator, clock = timed(make_gmail_emulator, service_ms=50, service_jitter=0)
    users = gmail_service(emulator).users()
    thread_id = emulator.mailbox().get(emulator.mailbox().message_ids()[0]).thread_id
    seconds = {}
    for name, request in {
        "users.getProfile": users.getProfile(userId="me"),
        "messages.list": users.messages().list(userId="me"),
        "threads.get": users.threads().get(userId="me", id=thread_id),
    }.items():
        started = clock.time()
        request.execute()
        seconds[name] = clock.time() - started

    assert seconds == pytest.approx(
        {"users.getProfile": 0.01, "messages.list": 0.05, "threads.get": 0.1}
    )


def test_calls_keep_their_place_until_their_service_is_over(make_gmail_emulator):
    holding = threading.Event()
    done = threading.Event()

    def sleep(seconds: float) -> None:
        # The first batch to be served waits here, its calls in flight, until told.
        if not holding.is_set():
            holding.set()
            done.wait(10)

    emulator = make_gmail_emulator(service_ms=10, sleep=sleep)
    first = threading.Thread(target=send_batch, args=(emulator, 6, time.perf_counter))
    first.start()
    holding.wait(10)
    statuses = []
    service = gmail_service(emulator)
    batch = gmail_batch(
        emulator, lambda _, response, error: statuses.append(error.status_code if error else 200)
    )
    for message_id in emulator.mailbox().message_ids()[:6]:
        batch.add(service.users().messages().get(userId="me", id=message_id))
    batch.execute()
    done.set()
    first.join(10)

    # Six of the default ten places are held by the first batch.
    assert statuses == [200] * 4 + [429] * 2


def test_the_served_emulator_really_waits_out_the_service_time(make_gmail_emulator):
    emulator = make_gmail_emulator(
        service_ms=20, service_jitter=0, batch_parallelism=5, max_concurrent_per_user=0
    )

    seconds = send_batch(emulator, 50, time.perf_counter)

    # Only a lower bound: a sleep is never shorter than asked, however loaded the machine.
    assert seconds >= 10 * 0.02


def test_calls_run_in_order_on_the_first_free_lane():
    assert finish_times([3, 1, 1, 1], 2) == [3, 1, 2, 3]
    assert finish_times([1, 1, 1], 5) == [1, 1, 1]
    assert finish_times([], 5) == []


def test_jitter_keeps_the_mean_and_follows_the_seed():
    first = ServiceTime(service_ms=50, jitter=0.5, seed=3)
    second = ServiceTime(service_ms=50, jitter=0.5, seed=3)

    samples = [first.seconds(5) for _ in range(4000)]

    assert samples[:20] == [second.seconds(5) for _ in range(20)]
    assert statistics.fmean(samples) == pytest.approx(0.05, rel=0.05)
    assert max(samples) > 2.5 * statistics.median(samples)
    assert first.seconds(0) == 0.0
