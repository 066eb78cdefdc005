"""Stopping a run on request: a person's Cancel, or Ctrl-C in `syncmail`.

A cancelled run ends FAILED at once, whoever holds it, with failure
`cancelled`, which is never retried by itself. Its worker finds the run gone at
its next write (RunLost) and stops; what it stored before stays stored.
"""

from __future__ import annotations

import logging

from syncapp.models import RunFailure, SyncRun
from syncapp.runs import sync_run_fail

logger = logging.getLogger(__name__)


class RunAlreadyEnded(Exception):
    """The run had ended before it could be cancelled."""

    def __init__(self, run: SyncRun) -> None:
        super().__init__(f"Run {run.pk} has already ended ({run.get_status_display().lower()}).")
        self.run = run


def sync_run_cancel(*, run: SyncRun, by: str) -> SyncRun:
    """End an active (waiting or running) run as cancelled by `by`; the run, read back.

    Raises RunAlreadyEnded when it had already ended, so a second click, or a
    click racing the run's own end, changes nothing.
    """
    cancelled = sync_run_fail(
        run_id=run.pk, worker=None, error=f"Cancelled by {by}", failure=RunFailure.CANCELLED
    )
    run.refresh_from_db()
    if not cancelled:
        raise RunAlreadyEnded(run)
    logger.info("run %s cancelled by %s", run.pk, by)
    return run
