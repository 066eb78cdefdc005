"""A bulk worker process executes several runs' slices at once."""

import threading

import pytest

from syncapp.worker.pool import serve_slices

# Long enough for a loaded machine; a barrier that is never met fails the test at once.
MEET_TIMEOUT_SECONDS = 10


class DueRuns:
    """Runs whose slices are due, taken one at a time."""

    def __init__(self, *run_ids: int) -> None:
        self.waiting = list(run_ids)
        self.lock = threading.Lock()

    def take(self) -> int | None:
        with self.lock:
            return self.waiting.pop(0) if self.waiting else None


def test_it_executes_due_slices_beside_the_first():
    due = DueRuns(2, 3)
    # Met only if the three slices run at the same time.
    together = threading.Barrier(3, timeout=MEET_TIMEOUT_SECONDS)
    executed = []

    def execute(run_id):
        together.wait()
        executed.append(run_id)

    serve_slices(first=1, execute=execute, take_waiting=due.take, may_take=lambda: True, threads=3)

    assert sorted(executed) == [1, 2, 3]


def test_every_thread_takes_another_due_run_when_its_slice_ends():
    due = DueRuns(*range(2, 12))
    executed = []

    serve_slices(
        first=1, execute=executed.append, take_waiting=due.take, may_take=lambda: True, threads=4
    )

    assert sorted(executed) == list(range(1, 12))
    assert due.waiting == []


def test_it_takes_nothing_more_when_the_task_has_no_time_left():
    due = DueRuns(2, 3)
    executed = []

    serve_slices(
        first=1, execute=executed.append, take_waiting=due.take, may_take=lambda: False, threads=3
    )

    assert executed == [1]
    assert due.waiting == [2, 3]


def test_a_timeout_in_the_first_slice_reaches_the_task_and_the_others_take_no_more():
    due = DueRuns(2)
    helper_started = threading.Event()
    executed = []

    def execute(run_id):
        if run_id == 1:
            assert helper_started.wait(MEET_TIMEOUT_SECONDS)
            raise TimeoutError("the task's timeout")
        helper_started.set()
        executed.append(run_id)

    with pytest.raises(TimeoutError):
        serve_slices(
            first=1, execute=execute, take_waiting=due.take, may_take=lambda: True, threads=2
        )

    assert executed == [2]


def test_one_thread_serves_the_first_slice_and_then_the_due_ones_in_turn():
    due = DueRuns(2, 3)
    threads_seen = set()
    executed = []

    def execute(run_id):
        threads_seen.add(threading.get_ident())
        executed.append(run_id)

    serve_slices(first=1, execute=execute, take_waiting=due.take, may_take=lambda: True, threads=1)

    assert executed == [1, 2, 3]
    assert threads_seen == {threading.get_ident()}
