"""Fixtures that start real processes (django-q clusters) and always stop them."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from django_q.conf import Conf

from tests.support.processes import FAST_TIMINGS, QCLUSTER, Spawned, cluster_env

# Fixtures that start real processes or servers; a test using one is slow and marked `crash`.
STARTS_PROCESSES = {"start_cluster", "live_server"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark before `-m` deselects: `-m "not crash"` then leaves these tests out."""
    for item in items:
        if STARTS_PROCESSES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.crash)


@pytest.fixture
def fast_timings(settings):
    """Heartbeats every second and a run stale after four: crash tests end in seconds."""
    for name, value in FAST_TIMINGS.items():
        setattr(settings, name, value)
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
def start_cluster(request, tmp_path, queue_name) -> Iterator[Callable[..., Spawned]]:
    """Start qclusters sharing the test's database, settings and queue.

    Each is killed at teardown, whether the test passed or not.
    """
    redis_url = request.getfixturevalue("broker") if "broker" in request.fixturenames else ""
    with contextlib.ExitStack() as started:

        def start(*, command: list[str] = QCLUSTER, **env_overrides: str) -> Spawned:
            env = cluster_env(queue=queue_name, redis_url=redis_url, workers=1, **env_overrides)
            cluster = Spawned(command, name=command[-1], log_dir=tmp_path, env=env)
            started.callback(cluster.kill)
            return cluster.start()

        yield start
