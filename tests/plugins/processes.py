"""Fixtures that start real processes (django-q clusters) and always stop them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from django.db import connection
from django_q.conf import Conf

ROOT = Path(__file__).resolve().parents[2]


def database_url_for_children() -> str:
    """The URL of the test database, for processes that must share it."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


class Cluster:
    """A `manage.py qcluster` in its own process group, so kill -9 takes all of it."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        self._log_file.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


# Sync timings a cluster takes from the test that starts it, so that both
# sides agree on what "stale" means.
TIMINGS = [
    "SYNC_HEARTBEAT_SECONDS",
    "SYNC_STALE_SECONDS",
    "SYNC_QUEUE_TIMEOUT_SECONDS",
    "SYNC_QUEUE_GRACE_SECONDS",
    "SYNC_MAX_RETRIES",
    "SYNC_RETRY_DELAY_SECONDS",
    "GMAIL_QUOTA_UNITS_PER_MINUTE",
    "GMAIL_BATCH_SIZE",
    "GMAIL_CONCURRENT_BATCHES",
    "GMAIL_REQUEST_TIMEOUT_SECONDS",
    "GMAIL_RETRY_BUDGET_SECONDS",
]


@pytest.fixture
def fast_timings(settings):
    """Heartbeats every second and a run stale after four: crash tests end in seconds."""
    settings.SYNC_HEARTBEAT_SECONDS = 1
    settings.SYNC_STALE_SECONDS = 4
    settings.SYNC_QUEUE_GRACE_SECONDS = 3
    settings.SYNC_RETRY_DELAY_SECONDS = 1
    # One batch in flight: the crash tests must catch a sync in its middle, and
    # the database sees its progress only once a second.
    settings.GMAIL_CONCURRENT_BATCHES = 1
    return settings


@pytest.fixture
def queue_name(monkeypatch):
    """A queue of this test's own, so that runs on one machine never share one."""
    name = f"mailsync-test-{uuid.uuid4().hex[:10]}"
    # django-q reads Q_CLUSTER once at import; the broker name is set here instead.
    monkeypatch.setattr(Conf, "PREFIX", name)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", name)
    return name


@pytest.fixture(params=["orm", "redis"])
def broker(request, monkeypatch, queue_name):
    """Each test using it runs twice: on the ORM broker and on Redis."""
    if request.param == "orm":
        yield ""
        return
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", url)
    client = redis.Redis.from_url(url)
    try:
        yield url
    finally:
        client.delete(queue_name)
        client.close()


@pytest.fixture
def start_cluster(request, tmp_path, settings, queue_name):
    """Start qclusters sharing the test database and queue; each is killed at teardown."""
    clusters: list[Cluster] = []
    redis_url = request.getfixturevalue("broker") if "broker" in request.fixturenames else ""

    def start(**env_overrides: str) -> Cluster:
        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_children(),
            "TEST_DATABASE_NAME": "",
            "SECRET_KEY": "test-secret-key",
            "DEBUG": "False",
            "GMAIL_API_ENDPOINT": settings.GMAIL_API_ENDPOINT,
            "GOOGLE_TOKEN_URI": settings.GOOGLE_TOKEN_URI,
            "Q_CLUSTER_NAME": queue_name,
            "REDIS_URL": redis_url,
            "Q_WORKERS": "1",
            **{name: str(getattr(settings, name)) for name in TIMINGS},
            **env_overrides,
        }
        cluster = Cluster(env, tmp_path / f"qcluster-{len(clusters)}.log")
        clusters.append(cluster)
        return cluster

    yield start
    for cluster in clusters:
        cluster.kill()
