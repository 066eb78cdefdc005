"""How long calls take: a service time per call, and the calls of a batch run side by side.

Google runs a batch's inner calls on its backends, a few at a time, and answers when
the slowest is done: a batch takes longer the more calls it holds, while the network's
latency is paid once per HTTP request.
"""

import heapq
import random
import threading

# A messages.get served in about 50 ms, in batches run five calls at a time: assumptions
# of this emulator (Google publishes neither), documented in its README.
DEFAULT_SERVICE_MS = 50.0
DEFAULT_SERVICE_JITTER = 0.5
DEFAULT_BATCH_PARALLELISM = 5
# The quota cost of the call that takes `service_ms`: messages.get.
_REFERENCE_UNITS = 5


class ServiceTime:
    """Each call's service time: `service_ms` for a messages.get, in proportion to quota cost.

    A jitter of j multiplies it by a log-normal factor of mean 1 and spread j, so that a
    few calls are much slower than the rest, as at Google. The factors come from an RNG
    seeded by the emulator's seed.
    """

    def __init__(self, *, service_ms: float, jitter: float, seed: int) -> None:
        self.service_ms = service_ms
        self._jitter = jitter
        self._rng = random.Random(f"service:{seed}")
        self._lock = threading.Lock()

    def seconds(self, units: int) -> float:
        """The service time of a call charged `units` (0: refused at the door, no time)."""
        if not units or self.service_ms <= 0:
            return 0.0
        with self._lock:
            # mu = -sigma^2 / 2 keeps the factor's mean at 1.
            factor = self._rng.lognormvariate(-(self._jitter**2) / 2, self._jitter)
        return self.service_ms / 1000 * units / _REFERENCE_UNITS * factor


def finish_times(durations: list[float], parallelism: int) -> list[float]:
    """When each call ends, the calls started in order on `parallelism` lanes."""
    lanes = [0.0] * max(1, min(parallelism, len(durations)))
    ends = []
    for duration in durations:
        start = heapq.heappop(lanes)
        ends.append(start + duration)
        heapq.heappush(lanes, start + duration)
    return ends
