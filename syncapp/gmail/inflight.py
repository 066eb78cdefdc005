"""How many calls one mailbox's client keeps in flight, adapted to Gmail's concurrency limit.

Gmail answers 429 "Too many concurrent requests for user" past a per-user limit it does
not publish, and counts every inner call of a batch. So the fetching threads of a client
share one limit on calls in flight, adapted the way TCP adapts its window (AIMD): it
starts low, grows by one call after each window of `limit` calls answered without that
429, and shrinks by 30% when one comes. It then grows back to just below the level that
was refused, and tries that level again only after PROBE_AFTER_WINDOWS quiet windows, so
that a client settled under Gmail's limit meets that 429 rarely.

Like TCP (RFC 7661), it grows only in windows that used it: while quota pacing holds
the calls back, answered calls say nothing about Gmail's limit. Callers pay their quota
before taking calls (`share` says how many to pay for), so that the calls counted in
flight are the ones Gmail sees.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# Clients known to work with Gmail keep about five fetches in flight.
INITIAL_CALLS = 5
DECREASE = 0.7
PROBE_AFTER_WINDOWS = 20


@dataclass(frozen=True, slots=True)
class Grant:
    """Calls a thread may send at once, and the limit's generation they were sent under."""

    calls: int
    generation: int


class CallsInFlight:
    """The calls in flight of one client, shared by its threads."""

    def __init__(self, *, maximum: int, initial: int = INITIAL_CALLS) -> None:
        self.maximum = max(1, maximum)
        self.limit = min(initial, self.maximum)
        self._in_flight = 0
        self._grants = 0
        self._waiting = 0
        # Bumped by each shrink: refusals of calls sent before it are already accounted for.
        self._generation = 0
        self._refused_at: int | None = None
        self._answered = 0
        self._quiet_windows = 0
        # Whether the calls in flight reached the limit during the current window.
        self._used = False
        self._changed = threading.Condition()

    def share(self, wanted: int) -> int:
        """How many of `wanted` calls this thread may expect to take now: its fair share."""
        with self._changed:
            return max(1, min(wanted, self._share()))

    def acquire(self, wanted: int) -> Grant:
        """Wait for a free call, then take up to `wanted`, and no more than a fair share.

        The share splits the limit between the threads holding or waiting for calls,
        so that each of them keeps a batch in flight.
        """
        with self._changed:
            self._waiting += 1
            try:
                self._changed.wait_for(lambda: self._in_flight < self.limit)
            finally:
                self._waiting -= 1
            calls = max(1, min(wanted, self.limit - self._in_flight, self._share()))
            self._in_flight += calls
            self._grants += 1
            if self._in_flight >= self.limit:
                self._used = True
            return Grant(calls, self._generation)

    def release(self, grant: Grant, *, refused: int) -> None:
        """Give the calls back; `refused` of them met Gmail's concurrency limit."""
        with self._changed:
            self._in_flight -= grant.calls
            self._grants -= 1
            if refused:
                if grant.generation == self._generation:
                    self._shrink()
            else:
                self._count_answered(grant.calls)
            self._changed.notify_all()

    def _share(self) -> int:
        # The asking thread, the others waiting, and those holding calls.
        return math.ceil(self.limit / (self._grants + self._waiting + 1))

    def _shrink(self) -> None:
        self._refused_at = self.limit
        self.limit = max(1, math.floor(self.limit * DECREASE))
        logger.info(
            "Gmail refused calls for concurrency: calls in flight %d -> %d",
            self._refused_at,
            self.limit,
        )
        self._generation += 1
        self._answered = 0
        self._quiet_windows = 0
        self._used = False

    def _count_answered(self, calls: int) -> None:
        self._answered += calls
        if self._answered < self.limit:
            return
        self._answered = 0
        used, self._used = self._used, self._in_flight >= self.limit
        if not used:
            return
        self._quiet_windows += 1
        if self._refused_at is not None and self.limit >= self._refused_at:
            # A whole window at the refused level went through: Gmail allows more now.
            self._refused_at = None
        below_refused = self._refused_at is None or self.limit + 1 < self._refused_at
        if below_refused or self._quiet_windows >= PROBE_AFTER_WINDOWS:
            self.limit = min(self.limit + 1, self.maximum)
            self._quiet_windows = 0
