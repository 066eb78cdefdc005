"""A short chaos run: workers killed, Gmail failing, mailboxes changing; its verdict is OK."""

import sys

import pytest

from bench.chaos_harness import chaos_run
from syncapp.models import SyncRun, WorkerProcess
from tests.support.processes import Spawned, alive

# Marked here: the harness starts its clusters itself, not through a fixture.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.crash]


def test_chaos_ends_every_run_and_leaves_the_database_equal_to_gmail(tmp_path):
    said: list[str] = []

    report = chaos_run(
        seed=11,
        mailboxes=3,
        messages=100,
        clusters=2,
        seconds=18,
        log_dir=tmp_path,
        write=said.append,
    )

    summary = "\n".join([*said, *report.lines()])
    assert report.ok, summary
    assert (report.lost, report.duplicated, report.still_active) == (0, 0, 0), summary
    assert sum(report.runs_started.values()) >= 5, summary
    assert report.actions.kills >= 1, summary
    assert not SyncRun.objects.active().exists()
    workers = list(WorkerProcess.objects.values_list("pid", flat=True))
    assert workers, "no worker ever reported itself"
    assert [pid for pid in workers if alive(pid)] == [], "a worker outlived the chaos"


def test_python_m_bench_chaos_runs_on_a_database_of_its_own_and_exits_0_when_ok(tmp_path):
    command = [sys.executable, "-m", "bench.chaos", "--minutes", "0.05", "--mailboxes", "1"]
    command += ["--messages", "20", "--clusters", "1", "--seed", "3"]
    command += ["--log-dir", str(tmp_path / "logs")]
    with Spawned(command, name="chaos", log_dir=tmp_path) as chaos:
        code, _ = chaos.wait_with_rusage(timeout=120)

    assert code == 0, chaos.output()
    assert "result: OK" in chaos.output()
    assert not SyncRun.objects.exists(), "it used the test database"
