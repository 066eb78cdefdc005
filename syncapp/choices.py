"""The values a run's status, kind, trigger and failure take, as the database constrains them."""

from __future__ import annotations

from django.db import models


class RunStatus(models.TextChoices):
    CREATED = "CREATED", "Waiting for a worker"
    RUNNING = "RUNNING", "Running"
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"


class RunKind(models.TextChoices):
    FULL = "full", "Full"
    INCREMENTAL = "incremental", "Incremental"


class RunTrigger(models.TextChoices):
    WEB = "web", "Web"
    CLI = "cli", "Command line"
    SCHEDULE = "schedule", "Schedule"
    RETRY = "retry", "Retry"
    PUSH = "push", "Push notification"


class RunFailure(models.TextChoices):
    """Why a run failed; decides whether it is retried by itself."""

    WORKER_LOST = "worker_lost", "The worker stopped responding"
    TASK_LOST = "task_lost", "The queued task was lost"
    NO_WORKER = "no_worker", "No worker was running"
    NOT_QUEUED = "not_queued", "Could not be queued"
    GMAIL_UNAVAILABLE = "gmail_unavailable", "Gmail kept failing"
    DATABASE = "database", "The database failed"
    RECONNECT = "reconnect", "Access to Gmail was revoked"
    GMAIL_REFUSED = "gmail_refused", "Gmail refused a request"
    RELEASED = "released", "Released by hand"
    CANCELLED = "cancelled", "Cancelled"
    ERROR = "error", "Unexpected error"


ACTIVE_STATUSES = (RunStatus.CREATED, RunStatus.RUNNING)
FINISHED_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED)
