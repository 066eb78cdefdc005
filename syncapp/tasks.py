"""The only module that talks to django-q2.

Enqueue a run only after its row is committed (see runs.sync_run_start); the
task itself just loads the run by id and executes it, and its claim makes a
duplicate delivery harmless.
"""

from __future__ import annotations

from django_q.tasks import async_task


def enqueue_sync_run(*, run_id: int) -> str:
    """Hand a committed run to the workers; returns the django-q task id."""
    return async_task(
        "syncapp.tasks.execute_sync_run",
        run_id,
        task_name=f"sync-run-{run_id}",
        group="sync",
    )


def execute_sync_run(run_id: int) -> None:
    """Entry point for django-q workers."""
    # Imported here because execution depends on runs, which enqueues through us.
    from syncapp.execute import sync_run_execute

    sync_run_execute(run_id=run_id)
