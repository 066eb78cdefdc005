"""`wait_for`: the one bounded wait the tests and the bench use, on a fake clock."""

import pytest

from tests.support.clock import FakeClock
from tests.support.waiting import wait_for


def test_it_returns_the_first_truthy_answer_without_waiting_longer():
    clock = FakeClock()
    answers = iter([None, 0, "ready", "later"])

    answer = wait_for(
        lambda: next(answers), timeout=5, what="x", clock=clock.time, sleep=clock.sleep
    )

    assert answer == "ready"
    assert clock.slept == [0.1, 0.1]


def test_it_gives_up_after_the_timeout_naming_what_it_waited_for():
    clock = FakeClock()

    with pytest.raises(TimeoutError, match=r"^timed out after 2s waiting for the workers$"):
        wait_for(
            lambda: False,
            timeout=2,
            what="the workers",
            interval=0.5,
            clock=clock.time,
            sleep=clock.sleep,
        )

    assert clock.slept == [0.5, 0.5, 0.5, 0.5]


def test_it_describes_what_it_waited_for_as_it_stands_when_it_gives_up():
    clock = FakeClock()
    log: list[str] = []

    def condition() -> bool:
        log.append("not yet")
        return False

    with pytest.raises(TimeoutError) as raised:
        wait_for(
            condition,
            timeout=1,
            what=lambda: f"the run ({len(log)} checks)",
            interval=0.5,
            clock=clock.time,
            sleep=clock.sleep,
        )

    assert str(raised.value) == "timed out after 1s waiting for the run (3 checks)"
