"""Helpers for the crash tests: waiting on real processes, with a bound."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], *, timeout: float, what: str) -> T:
    """Poll until `condition` is truthy; fail with `what` after `timeout` seconds.

    These tests watch other processes (a cluster, the emulator) whose clocks we
    cannot move, so they poll, briefly and with a bound.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)
