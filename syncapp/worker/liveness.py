"""Which sync workers are alive, and what they are doing.

Every django-q worker process runs a liveness thread (started when django-q
spawns it) that records itself in WorkerProcess every SYNC_HEARTBEAT_SECONDS,
with the run it is executing, and then runs the reaper; between beats, every
second, it queues the runs whose quota has refilled. This works the same on
the ORM broker and on Redis, and across hosts: it needs only the database.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import ClassVar

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from syncapp.models import WorkerProcess
from syncapp.slices import sync_runs_due
from syncapp.worker.reaper import sync_runs_reap

logger = logging.getLogger(__name__)

# Runs whose next slice waits for their quota are queued this soon after it refills.
QUEUE_DUE_EVERY_SECONDS = 1.0


class _Current:
    """What this process is executing (its threads may each hold a run's slice), read
    by its liveness thread."""

    run_ids: ClassVar[list[int]] = []
    idle_since: datetime | None = None
    lock = threading.Lock()

    @classmethod
    def run_id(cls) -> int | None:
        """The run the process has held longest: it is busy while it holds any."""
        with cls.lock:
            return cls.run_ids[0] if cls.run_ids else None


@contextlib.contextmanager
def executing(run_id: int) -> Iterator[None]:
    """Mark this worker process busy with a run while the block runs."""
    with _Current.lock:
        _Current.run_ids.append(run_id)
    try:
        yield
    finally:
        with _Current.lock:
            _Current.run_ids.remove(run_id)
            if not _Current.run_ids:
                _Current.idle_since = timezone.now()


def worker_beat(
    *, name: str, started_at: datetime, queue: str = "", now: datetime | None = None
) -> None:
    """Record that this worker process is alive, and whether it is busy."""
    now = now or timezone.now()
    run_id = _Current.run_id()
    if run_id is None and _Current.idle_since is None:
        _Current.idle_since = started_at
    WorkerProcess.objects.update_or_create(
        name=name,
        defaults={
            "host": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": started_at,
            "seen_at": now,
            "queue": queue,
            "run_id": run_id,
            "idle_since": None if run_id is not None else _Current.idle_since,
        },
    )


def liveness_step(*, name: str, started_at: datetime, queue: str = "") -> bool:
    """One beat: report this process alive, then end dead runs; False when the
    database could not be reached (the next beat tries again)."""
    try:
        worker_beat(name=name, started_at=started_at, queue=queue)
        sync_runs_reap()
    except DatabaseError:
        logger.warning("worker liveness: database unavailable", exc_info=True)
        return False
    except Exception:
        logger.exception("worker liveness: reaping failed")
        return False
    return True


def due_step(*, now: datetime | None = None) -> bool:
    """Between beats: queue the runs whose quota has refilled (one UPDATE, no lock),
    so that a due slice waits a second, not a heartbeat; False when the database
    could not be reached."""
    try:
        sync_runs_due(now=now or timezone.now())
    except DatabaseError:
        logger.warning("worker liveness: database unavailable", exc_info=True)
        return False
    return True


class Liveness(threading.Thread):
    """Beats for this worker process until the process ends."""

    def __init__(self, *, queue: str) -> None:
        super().__init__(name="mailsync-liveness", daemon=True)
        self.queue = queue
        self.worker_name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.started_at = timezone.now()
        self.stopping = threading.Event()

    def run(self) -> None:
        interval = settings.SYNC_HEARTBEAT_SECONDS
        next_beat = 0.0
        while True:
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + interval
                ok = liveness_step(
                    name=self.worker_name, started_at=self.started_at, queue=self.queue
                )
            else:
                ok = due_step()
            if not ok:
                # The next step must not reuse a connection that may be broken.
                connection.close()
            close_old_connections()
            if self.stopping.wait(min(interval, QUEUE_DUE_EVERY_SECONDS)):
                return


_started: Liveness | None = None
_lock = threading.Lock()


def start_liveness(*, queue: str) -> Liveness:
    """Start this process's liveness thread once; `queue` is the one its cluster serves."""
    global _started
    with _lock:
        if _started is None or not _started.is_alive():
            _started = Liveness(queue=queue)
            _started.start()
            logger.info("worker %s: liveness started", _started.worker_name)
        return _started
