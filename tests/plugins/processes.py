"""Fixtures that start real processes (django-q clusters) and always stop them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

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


@pytest.fixture
def start_cluster(tmp_path, settings):
    """Start qclusters sharing the test database; each is killed at teardown."""
    clusters: list[Cluster] = []

    def start(**env_overrides: str) -> Cluster:
        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_children(),
            "SECRET_KEY": "test-secret-key",
            "DEBUG": "False",
            "GMAIL_API_ENDPOINT": settings.GMAIL_API_ENDPOINT,
            "GOOGLE_TOKEN_URI": settings.GOOGLE_TOKEN_URI,
            "GMAIL_QUOTA_UNITS_PER_MINUTE": str(settings.GMAIL_QUOTA_UNITS_PER_MINUTE),
            "Q_WORKERS": "1",
            **env_overrides,
        }
        cluster = Cluster(env, tmp_path / f"qcluster-{len(clusters)}.log")
        clusters.append(cluster)
        return cluster

    yield start
    for cluster in clusters:
        cluster.kill()
