"""Client-side pacing, so that Gmail's per-user quota is met without 429s."""

from __future__ import annotations

import threading
from collections.abc import Callable

MIN_WAIT_SECONDS = 0.001
SLOW_DOWN = 0.8
# 429s this close together are one event (the batches in flight meet it together).
ONE_EVENT_SECONDS = 1.0
# A 429 this soon after the last one says the rate is too high; a later one only that
# Gmail's bucket held less than ours.
RATE_TOO_HIGH_WITHIN_SECONDS = 15.0
MIN_RATE_SHARE = 0.1
# After this long without a 429, the rate climbs back by this share of the
# configured rate per second.
QUIET_SECONDS = 3.0
RECOVERY_PER_SECOND = 0.1


class TokenBucket:
    """Quota units refilling at a steady rate, spent before each call.

    A 429 from Gmail means it counts differently from us. `pause_until` holds every
    caller until the time Gmail named and refills from empty from then on. A first
    429 says no more than that Gmail's bucket held less than ours (ours starts full;
    the user's quota may have been spent by an earlier slice or another client), so
    the level is all it corrects. A 429 that follows soon after says that even from
    empty, paced at our rate, we spend faster than Gmail grants (a smaller quota than
    configured): each lowers the rate by a fifth, so that the client settles at what
    Gmail really allows instead of meeting a 429 again and again. Quiet time brings
    the rate back up to the configured one.
    """

    def __init__(
        self,
        *,
        units_per_minute: int,
        burst_units: int,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.configured_rate = units_per_minute / 60.0
        self.rate = self.configured_rate
        self.capacity = float(max(burst_units, 1))
        self._limited_at = float("-inf")
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._updated = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def acquire(self, units: int) -> None:
        """Wait until `units` can be spent, then spend them."""
        while True:
            with self._lock:
                now = self._clock()
                self._refill(now)
                wait = self._paused_until - now
                if wait <= 0:
                    needed = min(float(units), self.capacity)
                    if self._tokens >= needed:
                        # A request dearer than the whole bucket leaves a debt
                        # that the following callers wait out.
                        self._tokens -= units
                        return
                    wait = (needed - self._tokens) / self.rate
            # A floor on the wait: a shortfall of a rounding error must not spin.
            self._sleep(max(wait, MIN_WAIT_SECONDS))

    def pause_until(self, moment: float) -> None:
        with self._lock:
            now = self._clock()
            since_last = now - self._limited_at
            if since_last >= ONE_EVENT_SECONDS:
                if since_last < RATE_TOO_HIGH_WITHIN_SECONDS:
                    self.rate = max(self.configured_rate * MIN_RATE_SHARE, self.rate * SLOW_DOWN)
                self._limited_at = now
            self._paused_until = max(self._paused_until, moment)
            # Refill only from the moment Gmail named, with an empty bucket.
            self._tokens = min(self._tokens, 0.0)
            self._updated = max(self._updated, moment)

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        # Not back to before a pause's moment: nothing refills until then.
        self._updated = max(self._updated, now)
        if self.rate < self.configured_rate and now - self._limited_at > QUIET_SECONDS:
            recovered = self.configured_rate * RECOVERY_PER_SECOND * elapsed
            self.rate = min(self.configured_rate, self.rate + recovered)
