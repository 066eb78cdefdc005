"""From a click to a running sync: the API's POST to the run being RUNNING.

A real `manage.py qcluster` (one worker, the ORM broker, a queue of this run's
own) serves the harness database. A user signed in through the login form, with
CSRF enforced, POSTs /api/sync/ through Django's test client (the whole
middleware stack, in this process); the run is created, committed and queued
by the view. The latency is the run's `started_at` (written by the worker when
it claims the run) minus the moment just before the POST was sent: both read
from this machine's wall clock. Each run syncs a tiny mailbox, and the next POST
waits until it has finished.
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from bench.emulator import EmulatorProcess
from bench.environment import child_env
from bench.figures import Figure
from bench.fixtures import PASSWORD, mailbox_create, mailbox_delete, web_client
from syncapp.models import SyncRun, WorkerProcess
from tests.support.processes import QCLUSTER, Spawned
from tests.support.waiting import wait_for

POLL_SECONDS = 0.01
RUN_TIMEOUT_SECONDS = 60
CLUSTER_READY_TIMEOUT_SECONDS = 60


def signed_in_client(username: str):
    """A client signed in through the login form, CSRF enforced as in a browser."""
    client = web_client(enforce_csrf_checks=True)
    client.get("/accounts/login/")
    response = client.post(
        "/accounts/login/",
        {
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
        },
    )
    if response.status_code != 302:
        raise RuntimeError(f"could not sign in as {username}: HTTP {response.status_code}")
    return client


def _one_start(client) -> float:
    """POST a sync, wait for it to end; seconds from the POST to RUNNING."""
    sent = time.time()
    response = client.post(
        "/api/sync/",
        b"{}",
        content_type="application/json",
        headers={"X-CSRFToken": client.cookies["csrftoken"].value},
    )
    if response.status_code != 202:
        raise RuntimeError(f"POST /api/sync/ answered {response.status_code}: {response.content}")
    run_id = response.json()["run"]["id"]
    started_at = wait_for(
        lambda: (
            SyncRun.objects.filter(pk=run_id, started_at__isnull=False)
            .values_list("started_at", flat=True)
            .first()
        ),
        timeout=RUN_TIMEOUT_SECONDS,
        what=f"run {run_id} to start",
        interval=POLL_SECONDS,
    )
    run = wait_for(
        lambda: SyncRun.objects.finished().filter(pk=run_id).first(),
        timeout=RUN_TIMEOUT_SECONDS,
        what=f"run {run_id} to finish",
        interval=POLL_SECONDS,
    )
    if run.status != SyncRun.Status.SUCCEEDED:
        raise RuntimeError(f"run {run_id} {run.status}: {run.error}")
    return started_at.timestamp() - sent


def start_latency(*, runs: int, log_dir: Path) -> list[Figure]:
    with EmulatorProcess(messages=10, seed=16, log_dir=log_dir) as emulator:
        mailbox = mailbox_create("bench-latency")
        try:
            client = signed_in_client("bench-latency")
            env = child_env(
                GMAIL_API_ENDPOINT=emulator.url,
                GOOGLE_TOKEN_URI=emulator.url + "token",
                Q_WORKERS="1",
            )
            launched = timezone.now() - timedelta(seconds=1)
            with Spawned(QCLUSTER, name="qcluster", log_dir=log_dir, env=env) as cluster:
                try:
                    wait_for(
                        lambda: WorkerProcess.objects.seen_since(launched).exists(),
                        timeout=CLUSTER_READY_TIMEOUT_SECONDS,
                        what="the qcluster's worker to report itself",
                        interval=POLL_SECONDS,
                    )
                    _one_start(client)  # warm-up: first imports in the worker, not counted
                    latencies = [_one_start(client) for _ in range(runs)]
                except (TimeoutError, RuntimeError) as exc:
                    raise RuntimeError(f"{exc}\n{cluster.output()}") from exc
        finally:
            mailbox_delete(mailbox)
    median = statistics.median(latencies)
    note = f"{runs} runs: min {min(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    return [Figure("start_latency_median_s", round(median, 3), note)]
