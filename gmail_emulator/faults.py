"""Injected faults: rate-limit answers, backend errors, dropped and slow requests."""

import random
import threading

from . import errors


class Faults:
    """Fault settings; the random ones draw from an RNG seeded by the emulator's seed."""

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"faults:{seed}")
        self._rate_limited: list[tuple[str, int]] = []
        self.error_rate = 0.0
        self.drop_rate = 0.0
        self.slow_rate = 0.0
        self.slow_seconds = 0.0

    def rate_limit_next(
        self, n: int, *, reason: str = "rateLimitExceeded", status: int = 429
    ) -> None:
        """Answer the next `n` API calls (inner batch calls count one each) with a rate limit."""
        with self._lock:
            self._rate_limited.extend([(reason, status)] * n)

    def clear(self) -> None:
        with self._lock:
            self._rate_limited.clear()
            self.error_rate = self.drop_rate = self.slow_rate = self.slow_seconds = 0.0

    def rate_limit(self, now: float) -> errors.ApiError | None:
        with self._lock:
            if not self._rate_limited:
                return None
            reason, status = self._rate_limited.pop(0)
        if status == 429:
            return errors.user_rate_limited(now + 1, reason)
        if status == 403:
            return errors.usage_limit_forbidden(reason)
        return errors.ApiError(status, "Rate Limit Exceeded", reason)

    def backend_error(self) -> errors.ApiError | None:
        return errors.backend_error() if self._roll(self.error_rate) else None

    def drop(self) -> bool:
        return self._roll(self.drop_rate)

    def delay(self) -> float:
        return self.slow_seconds if self._roll(self.slow_rate) else 0.0

    def _roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate
