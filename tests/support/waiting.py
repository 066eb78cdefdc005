"""Waiting, with a bound, for what another process or thread does."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T],
    *,
    timeout: float,
    what: str | Callable[[], str],
    interval: float = 0.1,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `condition` until it answers something truthy, and return that answer.

    After `timeout` seconds, raise TimeoutError naming `what`. A callable `what` is
    called only then, so that a process's log is read as it stands at the timeout.
    Callers poll because they watch clocks they cannot move (a cluster's, a server's);
    `clock` and `sleep` are for testing this function itself.
    """
    deadline = clock() + timeout
    while True:
        answer = condition()
        if answer:
            return answer
        if clock() >= deadline:
            described = what() if callable(what) else what
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {described}")
        sleep(interval)
