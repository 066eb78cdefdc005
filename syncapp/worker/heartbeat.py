"""A run's heartbeat, beaten from its own thread and database connection.

A long Gmail call or a rate-limit backoff blocks the sync thread for minutes;
the heartbeat must not wait for it, or a healthy run would look dead.
"""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType

from django.db import DatabaseError, connection

from syncapp.runs import sync_run_heartbeat

logger = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, *, run_id: int, worker: str, interval: float) -> None:
        self.run_id = run_id
        self.worker = worker
        self.interval = interval
        # Set when a beat finds the run no longer ours (released or ended).
        self.lost = threading.Event()
        # When the run's own progress write last proved it alive (it sets
        # heartbeat_at too): no beat is needed until an interval has passed.
        self.last_proof = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat_until_stopped, name=f"heartbeat-run-{run_id}", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def proven_alive(self) -> None:
        """The run wrote its progress (and heartbeat_at with it) just now."""
        self.last_proof = time.monotonic()

    def _beat_until_stopped(self) -> None:
        next_beat = self.last_proof + self.interval
        try:
            while not self._stop.wait(max(0.0, next_beat - time.monotonic())):
                proof_expires = self.last_proof + self.interval
                if time.monotonic() < proof_expires:
                    next_beat = proof_expires
                    continue
                next_beat = time.monotonic() + self.interval
                try:
                    alive = sync_run_heartbeat(run_id=self.run_id, worker=self.worker)
                except DatabaseError:
                    # One missed beat is harmless; the stale bound allows for several.
                    logger.warning("run %s: heartbeat failed", self.run_id, exc_info=True)
                    connection.close()
                    continue
                if not alive:
                    logger.warning("run %s: no longer owned by %s", self.run_id, self.worker)
                    self.lost.set()
                    return
                self.last_proof = time.monotonic()
        finally:
            connection.close()
