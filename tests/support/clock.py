"""Controlled time for tests."""

import threading


class FakeClock:
    """Time that moves only when told to: shared by the client and the emulator.

    `sleep` moves it and records the wait, for a client that backs off; `advance`
    moves it for time that passes while nobody waits (a bucket refilling).
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
