"""Progress is written at most once a second, as one UPDATE each time."""

import threading

import pytest

from syncapp.models import SyncRun
from syncapp.runs import RunLost, sync_run_claim, sync_run_fail
from syncapp.sync.checkpoint import Checkpoint
from syncapp.worker.recorder import RunRecorder

pytestmark = pytest.mark.django_db


class StillAlive:
    lost = threading.Event()

    def proven_alive(self):
        pass


@pytest.fixture
def recorder(alice_mailbox):
    run = SyncRun.objects.create(mailbox=alice_mailbox, kind="full", trigger="cli")
    sync_run_claim(run_id=run.pk, worker="worker-1")
    now = [100.0]
    recorder = RunRecorder(
        run_id=run.pk,
        worker="worker-1",
        mailbox=alice_mailbox,
        heartbeat=StillAlive(),
        checkpoint=Checkpoint(),
        clock=lambda: now[0],
    )
    recorder.now = now
    return recorder


def test_many_reports_within_a_second_cost_one_update(recorder, django_assert_num_queries):
    with django_assert_num_queries(1):
        for processed in range(10):
            recorder.figures.processed = processed
            recorder.figures.total = 10
            recorder.report()

    run = SyncRun.objects.get(pk=recorder.run_id)
    assert (run.processed, run.total, run.percent) == (0, 10, 0)


def test_the_next_second_writes_the_latest_figures(recorder, django_assert_num_queries):
    recorder.figures.total = 200
    recorder.report()
    recorder.figures.processed = 150
    recorder.now[0] += 1.0

    with django_assert_num_queries(1):
        recorder.report()

    run = SyncRun.objects.get(pk=recorder.run_id)
    assert (run.processed, run.percent) == (150, 75)


def test_percent_stays_below_100_until_the_run_ends(recorder):
    recorder.figures.processed = recorder.figures.total = 10
    recorder.report(force=True)

    assert SyncRun.objects.get(pk=recorder.run_id).percent == 99


def test_a_report_on_a_released_run_raises_run_lost(recorder):
    sync_run_fail(run_id=recorder.run_id, worker=None, error="Released", failure="released")

    with pytest.raises(RunLost):
        recorder.report(force=True)
