"""Gmail's quota shared by every worker on every host: per user, per project, per day.

Each call (or batch) asks the ledger first. The ledger grants the units, spending
them, or answers how long until it would (and spends nothing). Per user and per
project the quota is a GCRA: a theoretical arrival time (`tat`) that each grant
moves on by units / rate, allowed to run ahead of now by a burst's worth. The
day's units are a counter per UTC day, against GMAIL_DAILY_UNITS_BUDGET. A
project-level 429 pauses every worker until a moment kept in the ledger too.

Two backends, chosen by settings (`quota_ledger()`): Redis when REDIS_URL is set
(one Lua script, atomic), the database otherwise (a row per key, updated in one
transaction: row locks on PostgreSQL, SQLite's immediate transactions on one
host). `MemoryLedger` serves one process (tests, benchmarks).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Protocol

import redis
from django.conf import settings
from django.db import connections, transaction

from syncapp.models import QuotaCounter

# A user's bucket holds half a minute of its quota: Gmail counts units per minute,
# so a slice may spend that at full speed, then yield while the bucket refills
# (the emulator's bucket holds as much, gmail_emulator.quota.BURST_SECONDS).
USER_BURST_SECONDS = 30
# The project's bucket: this share of a minute's units.
BURST_SHARE_OF_MINUTE = 1 / 30
# A slice that yields comes back once its mailbox's bucket is this full again: a
# worker busy elsewhere may start it a few seconds late and waste none of the refill
# (a full bucket refills no more), and it still spends half a burst at full speed.
RETURN_AT_BURST_SHARE = 0.5
# A user's bucket always holds one full batch (50 x messages.get), else a batch
# could never be paid for at once.
MIN_USER_BURST_UNITS = 250
PAUSE_KEY = "quota:project:paused-until"
USER_QUOTA = "the user's quota"
PROJECT_KEY = "quota:project"


class QuotaSpent(Exception):
    """The quota will not allow the next call for a while: the slice should end and
    the next one start at `retry_at` (epoch seconds). Not a failure."""

    def __init__(self, *, retry_at: float, reason: str) -> None:
        super().__init__(f"Gmail quota spent ({reason}); next call at {retry_at:.0f}")
        self.retry_at = retry_at
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Limits:
    user_per_minute: int
    project_per_minute: int
    daily_budget: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            user_per_minute=settings.GMAIL_QUOTA_UNITS_PER_MINUTE,
            project_per_minute=settings.GMAIL_PROJECT_QUOTA_UNITS_PER_MINUTE,
            daily_budget=settings.GMAIL_DAILY_UNITS_BUDGET,
        )

    def user_bucket(self) -> tuple[float, float]:
        """Seconds per unit and burst units of one user's quota."""
        burst = max(self.user_per_minute * USER_BURST_SECONDS / 60, MIN_USER_BURST_UNITS)
        return 60.0 / self.user_per_minute, burst

    def refilled_in(self, answer: Answer, *, units: int) -> float:
        """Seconds until the user's bucket holds RETURN_AT_BURST_SHARE of its burst (or
        `units`, if more), after a refusal of `units` for the user's quota (other
        refusals: until they lift). A slice that yields comes back then."""
        if answer.reason != USER_QUOTA:
            return answer.wait
        interval, burst = self.user_bucket()
        needed = min(float(units), burst)
        # decide(): wait = tat - now - (burst - needed) * interval: `needed` are there
        # after `wait`, and each interval one more.
        return answer.wait + (max(needed, burst * RETURN_AT_BURST_SHARE) - needed) * interval

    def project_bucket(self) -> tuple[float, float]:
        burst = max(self.project_per_minute * BURST_SHARE_OF_MINUTE, MIN_USER_BURST_UNITS)
        return 60.0 / self.project_per_minute, burst


@dataclass(frozen=True, slots=True)
class Answer:
    """Granted (wait 0, the units spent) or how long until it would be, and why."""

    wait: float
    reason: str = ""

    @property
    def granted(self) -> bool:
        return self.wait <= 0


class QuotaLedger(Protocol):
    limits: Limits

    def take(self, *, user: str, units: int, now: float) -> Answer:
        """Spend `units` of this user's, the project's and the day's quota, or none."""
        ...

    def pause_project(self, *, until: float, now: float) -> None:
        """Gmail said the whole project is over its quota: every caller waits."""

    def units_today(self, *, now: float) -> int: ...


def user_key(user: str) -> str:
    return f"quota:user:{user.lower()}"


def day_key(now: float) -> str:
    return f"quota:day:{datetime.fromtimestamp(now, UTC):%Y-%m-%d}"


def seconds_to_next_day(now: float) -> float:
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day + timedelta(days=1)).timestamp() - now


def gcra(
    tat: float, *, now: float, units: int, interval: float, burst: float
) -> tuple[float, float]:
    """The bucket's next `tat` if granted, and the wait (<= 0: granted).

    Room for the request (at most a whole burst) must exist now; a request dearer
    than the burst leaves a debt that the next callers wait out."""
    tat = max(tat, now)
    needed = min(float(units), burst)
    wait = tat - (now + (burst - needed) * interval)
    return tat + units * interval, wait


def decide(
    values: dict[str, float], *, user: str, units: int, now: float, limits: Limits
) -> tuple[Answer, dict[str, float]]:
    """The answer and, when granted, the values to write: the arithmetic of every
    backend but Redis's Lua (which mirrors it)."""
    paused = values.get(PAUSE_KEY, 0.0) - now
    if paused > 0:
        return Answer(paused, "the project is paused"), {}
    interval, burst = limits.user_bucket()
    user_tat, user_wait = gcra(
        values.get(user_key(user), 0.0), now=now, units=units, interval=interval, burst=burst
    )
    interval, burst = limits.project_bucket()
    project_tat, project_wait = gcra(
        values.get(PROJECT_KEY, 0.0), now=now, units=units, interval=interval, burst=burst
    )
    used = values.get(day_key(now), 0.0)
    if used + units > limits.daily_budget:
        return Answer(seconds_to_next_day(now), "the daily budget is spent"), {}
    if user_wait > 0 or project_wait > 0:
        reason = USER_QUOTA if user_wait >= project_wait else "the project's quota"
        return Answer(max(user_wait, project_wait), reason), {}
    writes = {user_key(user): user_tat, PROJECT_KEY: project_tat, day_key(now): used + units}
    return Answer(0.0), writes


class MemoryLedger:
    """One process's ledger: tests and benchmarks."""

    def __init__(self, *, limits: Limits) -> None:
        self.limits = limits
        self.values: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, *, user: str, units: int, now: float) -> Answer:
        with self._lock:
            answer, writes = decide(
                self.values, user=user, units=units, now=now, limits=self.limits
            )
            self.values.update(writes)
            return answer

    def pause_project(self, *, until: float, now: float) -> None:
        with self._lock:
            self.values[PAUSE_KEY] = max(self.values.get(PAUSE_KEY, 0.0), until)

    def units_today(self, *, now: float) -> int:
        return int(self.values.get(day_key(now), 0.0))


class DatabaseLedger:
    """The ledger in the database: one QuotaCounter row per key, one transaction per take.

    Threads other than the one that made the ledger (the fetching threads) close
    their connection after each take, so that none is left open when they end, except
    within `connection_kept()`, which closes it at its end.
    """

    def __init__(self, *, limits: Limits, using: str = "default") -> None:
        self.limits = limits
        self.using = using
        self._owner = threading.get_ident()

    def take(self, *, user: str, units: int, now: float) -> Answer:
        keys = [PAUSE_KEY, user_key(user), PROJECT_KEY, day_key(now)]
        try:
            counters = QuotaCounter.objects.using(self.using)
            counters.bulk_create(
                [QuotaCounter(key=key, value=0.0) for key in keys], ignore_conflicts=True
            )
            with transaction.atomic(using=self.using):
                rows = counters.select_for_update().filter(key__in=keys)
                values = dict(rows.values_list("key", "value"))
                answer, writes = decide(
                    values, user=user, units=units, now=now, limits=self.limits
                )
                for key, value in writes.items():
                    counters.filter(key=key).update(value=value)
            return answer
        finally:
            self._close_if_borrowed()

    def pause_project(self, *, until: float, now: float) -> None:
        try:
            counters = QuotaCounter.objects.using(self.using)
            counters.bulk_create([QuotaCounter(key=PAUSE_KEY, value=0.0)], ignore_conflicts=True)
            counters.filter(key=PAUSE_KEY, value__lt=until).update(value=until)
        finally:
            self._close_if_borrowed()

    def units_today(self, *, now: float) -> int:
        row = QuotaCounter.objects.using(self.using).filter(key=day_key(now)).first()
        return int(row.value) if row else 0

    def _close_if_borrowed(self) -> None:
        if threading.get_ident() != self._owner and not getattr(_kept, "depth", 0):
            connections[self.using].close()


_kept = threading.local()


@contextmanager
def connection_kept() -> Iterator[None]:
    """Within this, the database ledger's takes on this thread keep its connection, and
    the block closes it at its end: for a fetching thread that pays for several calls
    in a row, one connection instead of one for each take (each a new one on
    PostgreSQL, and Django's set-up of each new one on SQLite)."""
    _kept.depth = getattr(_kept, "depth", 0) + 1
    try:
        yield
    finally:
        _kept.depth -= 1
        if not _kept.depth:
            connections.close_all()


# KEYS: pause, user, project, day. ARGV: now, units, then seconds per unit and burst
# units of the user and of the project, the daily budget, seconds to the next day.
# Numbers go back as strings: Redis turns Lua numbers into integers.
TAKE_SCRIPT = """
local now, units = tonumber(ARGV[1]), tonumber(ARGV[2])
local paused = tonumber(redis.call('GET', KEYS[1]) or '0') - now
if paused > 0 then return {tostring(paused), 'the project is paused'} end
local function gcra(key, interval, burst)
  local tat = math.max(tonumber(redis.call('GET', key) or '0'), now)
  local wait = tat - (now + (burst - math.min(units, burst)) * interval)
  return tat + units * interval, wait
end
local user_tat, user_wait = gcra(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
local project_tat, project_wait = gcra(KEYS[3], tonumber(ARGV[5]), tonumber(ARGV[6]))
local used = tonumber(redis.call('GET', KEYS[4]) or '0')
if used + units > tonumber(ARGV[7]) then return {ARGV[8], 'the daily budget is spent'} end
if user_wait > 0 or project_wait > 0 then
  if user_wait >= project_wait then return {tostring(user_wait), "the user's quota"} end
  return {tostring(project_wait), "the project's quota"}
end
redis.call('SET', KEYS[2], tostring(user_tat), 'EX', math.ceil(user_tat - now) + 60)
redis.call('SET', KEYS[3], tostring(project_tat), 'EX', math.ceil(project_tat - now) + 60)
redis.call('INCRBY', KEYS[4], units)
redis.call('EXPIRE', KEYS[4], 2 * 86400)
return {'0', ''}
"""

PAUSE_SCRIPT = """
local until_ = tonumber(ARGV[1])
if tonumber(redis.call('GET', KEYS[1]) or '0') < until_ then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', math.ceil(until_ - tonumber(ARGV[2])) + 60)
end
return 0
"""


class RedisLedger:
    """The ledger in Redis: every take is one Lua script, atomic."""

    def __init__(self, *, limits: Limits, redis_client: Any, prefix: str = "mailsync:") -> None:
        self.limits = limits
        self.prefix = prefix
        self._redis = redis_client
        self._take = redis_client.register_script(TAKE_SCRIPT)
        self._pause = redis_client.register_script(PAUSE_SCRIPT)

    def take(self, *, user: str, units: int, now: float) -> Answer:
        keys = [PAUSE_KEY, user_key(user), PROJECT_KEY, day_key(now)]
        user_interval, user_burst = self.limits.user_bucket()
        project_interval, project_burst = self.limits.project_bucket()
        wait, reason = self._take(
            keys=[self.prefix + key for key in keys],
            args=[
                repr(now),
                units,
                repr(user_interval),
                repr(user_burst),
                repr(project_interval),
                repr(project_burst),
                self.limits.daily_budget,
                repr(seconds_to_next_day(now)),
            ],
        )
        return Answer(float(wait), reason.decode() if isinstance(reason, bytes) else reason)

    def pause_project(self, *, until: float, now: float) -> None:
        self._pause(keys=[self.prefix + PAUSE_KEY], args=[repr(until), repr(now)])

    def units_today(self, *, now: float) -> int:
        return int(self._redis.get(self.prefix + day_key(now)) or 0)


@cache
def quota_ledger() -> QuotaLedger:
    """This process's ledger, by settings: Redis when REDIS_URL is set, else the database."""
    limits = Limits.from_settings()
    if settings.REDIS_URL:
        return RedisLedger(limits=limits, redis_client=redis.Redis.from_url(settings.REDIS_URL))
    return DatabaseLedger(limits=limits)
