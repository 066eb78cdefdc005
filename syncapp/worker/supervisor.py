"""This host's worker clusters: one django-q2 qcluster per lane, started and stopped together."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from syncapp.models import WorkerProcess

logger = logging.getLogger(__name__)

MANAGE_PY = Path(settings.BASE_DIR) / "manage.py"
STOP_GRACE_SECONDS = 30.0


class AnotherHostOnSQLite(Exception):
    """SQLite is one file on one host: workers elsewhere cannot share it."""


def lane_queues(lanes: Sequence[str]) -> dict[str, str]:
    """Each lane to start, with the queue its cluster serves."""
    if not settings.SYNC_LANES:
        return {"all": settings.SYNC_QUEUE}
    return {lane: f"{settings.SYNC_QUEUE}.{lane}" for lane in lanes}


def refuse_second_sqlite_host() -> None:
    if connection.vendor != "sqlite":
        return
    elsewhere = (
        WorkerProcess.objects.alive(now=timezone.now())
        .exclude(host=socket.gethostname()[:255])
        .values_list("host", flat=True)
        .first()
    )
    if elsewhere:
        raise AnotherHostOnSQLite(
            f"sync workers are running on {elsewhere}, and SQLite serves one host only: "
            "use PostgreSQL (DATABASE_URL) and Redis (REDIS_URL) for workers on several hosts"
        )


class Supervisor:
    """Runs a qcluster per lane until told to stop or until one of them dies."""

    def __init__(self, *, lanes: Sequence[str], workers: int) -> None:
        self.queues = lane_queues(lanes)
        self.workers = workers
        self.clusters: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        for lane, queue in self.queues.items():
            env = {**os.environ, "Q_CLUSTER_NAME": queue, "Q_WORKERS": str(self.workers)}
            self.clusters[lane] = subprocess.Popen(
                [sys.executable, str(MANAGE_PY), "qcluster"],
                env=env,
                start_new_session=True,
                preexec_fn=_stop_with_parent,
            )
            logger.info("lane %s: qcluster %s serves %s", lane, self.clusters[lane].pid, queue)

    def run_until(self, stopping: threading.Event) -> int:
        """Wait for `stopping` (0) or a cluster that exits by itself (1), then stop them all."""
        try:
            while not stopping.wait(0.5):
                dead = [lane for lane, p in self.clusters.items() if p.poll() is not None]
                if dead:
                    logger.error("lane %s: its cluster exited; stopping the others", dead[0])
                    return 1
            return 0
        finally:
            self.stop()

    def stop(self, *, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM every cluster (qcluster finishes its tasks), then SIGKILL what is left."""
        for process in self.clusters.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.clusters.values():
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()


PR_SET_PDEATHSIG = 1


def _stop_with_parent() -> None:
    """In a cluster, before it starts: be sent SIGTERM when syncworkers dies, even
    by SIGKILL, so that no cluster outlives it (Linux; elsewhere a no-op)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
