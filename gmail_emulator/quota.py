"""Limits: quota units per minute (a bucket per user and one per project), calls in flight."""

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
    "users.watch": 100,
    "users.stop": 50,
}
# A bucket always holds at least the dearest read, however small the quota (a watch,
# dearer, is paid for from a quota of at least 200 units per minute).
_DEAREST_READ = COSTS["threads.get"]
# Gmail counts units per minute: half a minute's may be spent at once (the app's
# ledger holds as much, syncapp.gmail.ledger.USER_BURST_SECONDS).
BURST_SECONDS = 30
# Gmail does not publish its limit. Clients that work with Gmail keep about 5 calls in
# flight; batches of 50 meet the limit.
DEFAULT_MAX_CONCURRENT_PER_USER = 10


class Quota:
    """A token bucket per user, refilling at units_per_minute / 60 per second, and one
    for the whole project (every user's calls) refilling at project_units_per_minute / 60.

    Each bucket holds BURST_SECONDS of refill, and never less than the dearest call,
    so that every call can eventually be paid. A call is charged to both or to neither.
    """

    def __init__(
        self, units_per_minute: float | None, project_units_per_minute: float | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._units_per_minute = units_per_minute
        self._project_units_per_minute = project_units_per_minute
        self._buckets: dict[str, tuple[float, float]] = {}  # user -> (units, at)
        self._project: tuple[float, float] | None = None  # (units, at)

    @property
    def units_per_minute(self) -> float | None:
        return self._units_per_minute

    @units_per_minute.setter
    def units_per_minute(self, value: float | None) -> None:
        with self._lock:
            self._units_per_minute = value
            self._buckets.clear()

    @property
    def project_units_per_minute(self) -> float | None:
        return self._project_units_per_minute

    @project_units_per_minute.setter
    def project_units_per_minute(self, value: float | None) -> None:
        with self._lock:
            self._project_units_per_minute = value
            self._project = None

    def charge(self, user: str, units: int, now: float) -> None:
        """Take `units` from the user's bucket and the project's, or raise Google's 429."""
        with self._lock:
            user_bucket = None
            if self._units_per_minute is not None:
                user_bucket = _refilled(self._buckets.get(user), self._units_per_minute, now)
                if user_bucket < units:
                    self._buckets[user] = (user_bucket, now)
                    rate = self._units_per_minute / 60
                    raise errors.user_rate_limited(now + (units - user_bucket) / rate)
            if self._project_units_per_minute is not None:
                project = _refilled(self._project, self._project_units_per_minute, now)
                if project < units:
                    self._project = (project, now)
                    raise errors.project_rate_limited()
                self._project = (project - units, now)
            if user_bucket is not None:
                self._buckets[user] = (user_bucket - units, now)


def _refilled(bucket: tuple[float, float] | None, units_per_minute: float, now: float) -> float:
    """The units in a bucket (None: never used, so full) once refilled up to `now`."""
    rate = units_per_minute / 60
    capacity = max(rate * BURST_SECONDS, _DEAREST_READ)
    available, at = bucket if bucket is not None else (capacity, now)
    return min(capacity, available + max(0.0, now - at) * rate)


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
