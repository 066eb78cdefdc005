"""The recorder a worker's sync writes through: progress, checkpoint and mail, to its run."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from django.conf import settings
from django.db import transaction

from syncapp.figures import RunFigures
from syncapp.models import Mailbox, SyncRun
from syncapp.runs import RunLost, sync_run_assert_owned, sync_run_progress
from syncapp.sync.checkpoint import Checkpoint
from syncapp.worker.heartbeat import Heartbeat

T = TypeVar("T")
Observer = Callable[[RunFigures], None]


@dataclass
class RunRecorder:
    """Progress goes out at most once per SYNC_PROGRESS_INTERVAL_SECONDS (and
    when forced), each time as a single UPDATE that also proves the worker still
    owns the run. Message writes go through `store`, which locks the run row
    first, so nothing is written once the run has been released.
    """

    run_id: int
    worker: str
    mailbox: Mailbox
    heartbeat: Heartbeat
    checkpoint: Checkpoint
    observer: Observer | None = None
    clock: Callable[[], float] = time.monotonic
    figures: RunFigures = field(default_factory=RunFigures)
    stage: str = "starting"
    # When this slice's time is up, on `clock`.
    slice_ends_at: float = float("inf")
    _last_write: float = float("-inf")
    _fell_back: bool = False

    def report(self, *, force: bool = False) -> None:
        self._check_owned()
        if self.observer is not None:
            self.observer(self.figures.snapshot())
        now = self.clock()
        if not force and now - self._last_write < settings.SYNC_PROGRESS_INTERVAL_SECONDS:
            return
        sync_run_progress(
            run_id=self.run_id,
            worker=self.worker,
            figures=self.figures,
            checkpoint=self.checkpoint.as_json(),
            kind=SyncRun.Kind.FULL if self._fell_back else None,
        )
        self._last_write = now
        self.heartbeat.proven_alive()

    def store(self, write: Callable[[], T]) -> T:
        self._check_owned()
        with transaction.atomic():
            sync_run_assert_owned(run_id=self.run_id, worker=self.worker)
            return write()

    def fall_back_to_full(self) -> None:
        self._fell_back = True
        self.checkpoint = Checkpoint()
        self.figures = RunFigures()
        self.report(force=True)

    def slice_over(self) -> bool:
        return self.clock() >= self.slice_ends_at

    @property
    def fell_back(self) -> bool:
        return self._fell_back

    def _check_owned(self) -> None:
        if self.heartbeat.lost.is_set():
            raise RunLost(f"run {self.run_id} was released")
