"""Per-user limits: quota units per minute (a token bucket) and calls in flight."""

import threading
from collections import Counter

from . import errors

COSTS = {
    "users.getProfile": 1,
    "labels.list": 1,
    "history.list": 2,
    "messages.list": 5,
    "messages.get": 5,
    "messages.attachments.get": 5,
    "threads.list": 10,
    "threads.get": 10,
}
BURST_SECONDS = 4
# Gmail does not publish its limit. Clients that work with Gmail keep about 5 calls in
# flight; batches of 50 meet the limit.
DEFAULT_MAX_CONCURRENT_PER_USER = 10


class Quota:
    """A token bucket per user, refilling at units_per_minute / 60 per second.

    The bucket holds BURST_SECONDS of refill, and never less than the dearest call,
    so that every call can eventually be paid.
    """

    def __init__(self, units_per_minute: float | None) -> None:
        self._lock = threading.Lock()
        self._units_per_minute = units_per_minute
        self._buckets: dict[str, tuple[float, float]] = {}  # user -> (units, at)

    @property
    def units_per_minute(self) -> float | None:
        return self._units_per_minute

    @units_per_minute.setter
    def units_per_minute(self, value: float | None) -> None:
        with self._lock:
            self._units_per_minute = value
            self._buckets.clear()

    def charge(self, user: str, units: int, now: float) -> None:
        """Take `units` from the user's bucket, or raise Google's 429."""
        with self._lock:
            if self._units_per_minute is None:
                return
            rate = self._units_per_minute / 60
            capacity = max(rate * BURST_SECONDS, max(COSTS.values()))
            available, at = self._buckets.get(user, (capacity, now))
            available = min(capacity, available + max(0.0, now - at) * rate)
            if available < units:
                self._buckets[user] = (available, now)
                raise errors.user_rate_limited(now + (units - available) / rate)
            self._buckets[user] = (available - units, now)


class ConcurrencyLimit:
    """Counts each user's API calls in flight, every inner call of a batch as one.

    A call over `limit` is refused (Gmail answers 429 "Too many concurrent requests for
    user"); 0 means no limit. Admitted calls are counted whatever the limit, so that it
    can change while calls are in flight.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()

    def enter(self, user: str | None) -> bool:
        """Admit one call of `user` (True), or refuse it; an admitted call must `leave`."""
        if user is None:
            # Without a bearer token the call is answered 401 before Gmail counts it.
            return True
        with self._lock:
            if self.limit and self._in_flight[user] >= self.limit:
                return False
            self._in_flight[user] += 1
            return True

    def leave(self, user: str | None) -> None:
        if user is not None:
            with self._lock:
                self._in_flight[user] -= 1
