"""The client's calls in flight grow while Gmail allows them and shrink when it refuses."""

import threading

from syncapp.gmail.inflight import INITIAL_CALLS, PROBE_AFTER_WINDOWS, CallsInFlight


def answer(in_flight: CallsInFlight, calls: int) -> None:
    """Send and get answers to `calls` calls, one grant at a time."""
    while calls:
        grant = in_flight.acquire(calls)
        in_flight.release(grant, refused=0)
        calls -= grant.calls


def refuse_once(in_flight: CallsInFlight) -> None:
    grant = in_flight.acquire(in_flight.limit)
    in_flight.release(grant, refused=1)


def test_it_starts_conservatively():
    in_flight = CallsInFlight(maximum=150)

    assert in_flight.limit == INITIAL_CALLS == 5
    assert in_flight.acquire(50).calls == 5


def test_it_grows_by_one_call_after_each_window_answered_without_refusal():
    in_flight = CallsInFlight(maximum=150)

    answer(in_flight, 5 + 6 + 7)

    assert in_flight.limit == 8


def test_it_never_grows_past_its_maximum():
    in_flight = CallsInFlight(maximum=6)

    answer(in_flight, 500)

    assert in_flight.limit == 6


def test_a_refusal_shrinks_it_by_thirty_percent_but_never_below_one():
    in_flight = CallsInFlight(maximum=150, initial=10)

    refuse_once(in_flight)
    after_one = in_flight.limit
    for _ in range(10):
        refuse_once(in_flight)

    assert after_one == 7
    assert in_flight.limit == 1


def test_refusals_of_calls_sent_before_a_shrink_shrink_it_once():
    in_flight = CallsInFlight(maximum=150, initial=10)
    first = in_flight.acquire(4)
    second = in_flight.acquire(4)

    in_flight.release(first, refused=2)
    in_flight.release(second, refused=1)

    assert in_flight.limit == 7


def test_after_a_refusal_it_stays_below_the_refused_level_then_probes_it_again():
    in_flight = CallsInFlight(maximum=150, initial=11)
    refuse_once(in_flight)

    answer(in_flight, 7 + 8 + 9)
    settled = in_flight.limit
    answer(in_flight, 10 * (PROBE_AFTER_WINDOWS - 1))
    before_probe = in_flight.limit
    answer(in_flight, 10)

    assert (settled, before_probe, in_flight.limit) == (10, 10, 11)


def test_a_level_that_gets_through_is_no_longer_avoided():
    in_flight = CallsInFlight(maximum=150, initial=11)
    refuse_once(in_flight)
    answer(in_flight, 7 + 8 + 9 + 10 * PROBE_AFTER_WINDOWS)

    answer(in_flight, 11 + 12)

    assert in_flight.limit == 13


def test_a_thread_takes_no_more_than_its_share_while_another_holds_calls():
    in_flight = CallsInFlight(maximum=150, initial=10)

    first = in_flight.acquire(3)
    second = in_flight.acquire(50)

    assert (first.calls, second.calls) == (3, 5)


def test_a_thread_waits_until_calls_are_given_back():
    in_flight = CallsInFlight(maximum=150, initial=2)
    held = in_flight.acquire(2)
    granted = []
    waiter = threading.Thread(target=lambda: granted.append(in_flight.acquire(2)))
    waiter.start()
    waiter.join(0.2)
    waiting_while_held = waiter.is_alive()

    in_flight.release(held, refused=0)
    waiter.join(5)

    assert waiting_while_held
    assert [grant.calls for grant in granted] == [2]


def test_it_does_not_grow_while_its_calls_go_unused():
    # Quota pacing lets one call out at a time: Gmail's limit is never tested.
    in_flight = CallsInFlight(maximum=150)

    for _ in range(100):
        in_flight.release(in_flight.acquire(1), refused=0)

    assert in_flight.limit == INITIAL_CALLS


def test_a_thread_is_told_its_share_before_it_pays_quota_for_it():
    in_flight = CallsInFlight(maximum=150, initial=10)
    held = in_flight.acquire(4)

    assert in_flight.share(50) == 5
    assert in_flight.share(3) == 3
    in_flight.release(held, refused=0)
    assert in_flight.share(50) == 10
