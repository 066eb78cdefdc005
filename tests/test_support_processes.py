"""`Spawned` stops a child's whole process group, gently or as a crash would."""

import sys

import pytest
from django.db import connection

from tests.support.processes import Spawned, alive, cluster_env, stop_all
from tests.support.waiting import wait_for

# Says "cleaned up" when asked to stop (SIGTERM), then waits to be stopped.
POLITE = """
import signal, sys, time
def bye(*_):
    print("cleaned up", file=sys.stderr, flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, bye)
print("ready", flush=True)
time.sleep(60)
"""
# Starts a child that ignores SIGTERM, says its pid, then waits; SIGTERM ends only itself.
LEAVES_A_CHILD = """
import subprocess, sys, time
ignores_sigterm = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); " \\
    "print('ready', flush=True); time.sleep(60)"
child = subprocess.Popen([sys.executable, "-c", ignores_sigterm], stdout=subprocess.PIPE)
child.stdout.readline()
print(child.pid, flush=True)
time.sleep(60)
"""

# The same, with the child in a session (and process group) of its own, as syncworkers
# starts its clusters.
LEAVES_A_CHILD_IN_ITS_OWN_GROUP = LEAVES_A_CHILD.replace(
    "stdout=subprocess.PIPE)", "stdout=subprocess.PIPE, start_new_session=True)"
)


def spawn(script: str, tmp_path, name: str = "child") -> Spawned:
    return Spawned([sys.executable, "-c", script], name=name, log_dir=tmp_path, stdio=True)


def test_stop_lets_the_process_clean_up(tmp_path):
    with spawn(POLITE, tmp_path) as child:
        child.readline(timeout=10)

    assert child.process.returncode == 0
    assert "cleaned up" in child.output()


def test_kill_ends_the_process_as_a_crash_would(tmp_path):
    child = spawn(POLITE, tmp_path).start()
    try:
        child.readline(timeout=10)

        child.kill()
    finally:
        child.stop()

    assert child.process.returncode == -9
    assert "cleaned up" not in child.output()


@pytest.mark.parametrize("end", ["stop", "kill"])
@pytest.mark.parametrize("script", [LEAVES_A_CHILD, LEAVES_A_CHILD_IN_ITS_OWN_GROUP])
def test_the_children_of_the_process_end_with_it(tmp_path, end, script):
    parent = spawn(script, tmp_path).start()
    try:
        grandchild = int(parent.readline(timeout=10))

        getattr(parent, end)()
    finally:
        parent.stop()

    assert not parent.running()
    wait_for(lambda: not alive(grandchild), timeout=5, what=f"child {grandchild} to end")


def test_stop_all_stops_whatever_is_still_running(tmp_path):
    children = [spawn(POLITE, tmp_path, name=f"child-{n}").start() for n in range(2)]
    try:
        for child in children:
            child.readline(timeout=10)

        stop_all()
    finally:
        for child in children:
            child.stop()

    assert [child.running() for child in children] == [False, False]
    assert all("cleaned up" in child.output() for child in children)


@pytest.mark.django_db
def test_a_cluster_shares_this_processs_database_settings_and_queue(settings):
    settings.SYNC_STALE_SECONDS = 7
    settings.GMAIL_API_ENDPOINT = "http://127.0.0.1:9/"

    env = cluster_env(queue="q-1", redis_url="", workers=2, GMAIL_BATCH_SIZE="5")

    assert env["DATABASE_URL"].endswith(str(connection.settings_dict["NAME"]))
    assert env["TEST_DATABASE_NAME"] == ""
    assert (env["Q_CLUSTER_NAME"], env["REDIS_URL"], env["Q_WORKERS"]) == ("q-1", "", "2")
    assert (env["SYNC_STALE_SECONDS"], env["GMAIL_API_ENDPOINT"]) == ("7", "http://127.0.0.1:9/")
    assert env["GMAIL_BATCH_SIZE"] == "5"
