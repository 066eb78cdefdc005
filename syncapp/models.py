from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from syncapp.choices import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    RunFailure,
    RunKind,
    RunStatus,
    RunTrigger,
)
from syncapp.fields import EncryptedTextField
from syncapp.mail_models import Blob, Label, LabelMembership, Message
from syncapp.push_models import GmailWatch, PushCount

__all__ = [
    "Blob",
    "GmailWatch",
    "Label",
    "LabelMembership",
    "Message",
    "PushCount",
    "RunFailure",
    "RunKind",
    "RunStatus",
    "RunTrigger",
]


class MailboxQuerySet(models.QuerySet["Mailbox"]):
    def due(self, *, now: datetime) -> MailboxQuerySet:
        """Connected mailboxes whose next scheduled sync is due."""
        return self.filter(needs_reconnect=False, next_sync_at__lte=now)


class Mailbox(models.Model):
    """A Gmail account that a user has connected, and where its last sync ended."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mailboxes"
    )
    email = models.EmailField()
    # OAuth credentials, the access token refreshed and saved back. Encrypted at rest
    # (syncapp.fields); never shown in the admin, logs or errors.
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    # Gmail history ids are 64-bit numbers sent as strings. Pending: the newest a push named.
    history_id = models.CharField(max_length=32, blank=True)
    pending_history_id = models.PositiveBigIntegerField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    needs_reconnect = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the schedule's tick syncs it next; a run that succeeds moves it on.
    next_sync_at = models.DateTimeField(default=timezone.now)

    objects = MailboxQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "email"], name="mailbox_unique_per_owner"),
        ]
        indexes = [
            # The schedule's tick (scheduling.mailboxes_sync_all) scans connected mailboxes by it.
            models.Index(
                fields=["next_sync_at"], condition=Q(needs_reconnect=False), name="mailbox_due"
            ),
        ]
        ordering = ["email"]
        verbose_name_plural = "mailboxes"

    def __str__(self) -> str:
        return self.email


def alive_cutoff(now: datetime) -> datetime:
    """Worker processes seen since this moment are alive."""
    return now - timedelta(seconds=settings.SYNC_STALE_SECONDS)


class SyncRunQuerySet(models.QuerySet["SyncRun"]):
    """What the services, the reaper, /health/ and the pages look for."""

    def active(self) -> SyncRunQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)

    def finished(self) -> SyncRunQuerySet:
        return self.filter(status__in=FINISHED_STATUSES)

    def unheld(self) -> SyncRunQuerySet:
        """Runs a worker may take: waiting for their first slice, or between slices."""
        return self.filter(Q(status=RunStatus.CREATED) | Q(status=RunStatus.RUNNING, worker=""))

    def owned_by(self, worker: str) -> SyncRunQuerySet:
        """Running runs that this worker claimed and still holds."""
        return self.filter(status=RunStatus.RUNNING, worker=worker)

    def stale(self, *, before: datetime) -> SyncRunQuerySet:
        """Running runs whose last heartbeat is older than `before`."""
        return self.filter(status=RunStatus.RUNNING, heartbeat_at__lt=before)

    def waiting_since(self, moment: datetime) -> SyncRunQuerySet:
        """Runs still waiting for a worker that were created before `moment`."""
        return self.filter(status=RunStatus.CREATED, created_at__lt=moment)

    def retry_due(self, *, now: datetime) -> SyncRunQuerySet:
        return self.filter(status=RunStatus.FAILED, retry_at__lte=now)


class WorkerProcessQuerySet(models.QuerySet["WorkerProcess"]):
    def alive(self, *, now: datetime) -> WorkerProcessQuerySet:
        return self.filter(seen_at__gte=alive_cutoff(now))

    def seen_since(self, moment: datetime) -> WorkerProcessQuerySet:
        return self.filter(seen_at__gte=moment)

    def idle_since(self, moment: datetime, *, now: datetime) -> WorkerProcessQuerySet:
        """Live worker processes that have had nothing to do since `moment`."""
        return self.alive(now=now).filter(run__isnull=True, idle_since__lte=moment)


class SyncRun(models.Model):
    """One execution of a sync of one mailbox, from the click to its end."""

    Status = RunStatus
    Kind = RunKind
    Trigger = RunTrigger
    Failure = RunFailure

    # Failures that say nothing about the mailbox: running again can succeed.
    RETRYABLE_FAILURES = (
        Failure.WORKER_LOST,
        Failure.TASK_LOST,
        Failure.NOT_QUEUED,
        Failure.GMAIL_UNAVAILABLE,
        Failure.DATABASE,
    )
    ACTIVE_STATUSES = ACTIVE_STATUSES
    FINISHED_STATUSES = FINISHED_STATUSES

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATED)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.INCREMENTAL)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.WEB)
    fell_back_to_full = models.BooleanField(default=False)  # an incremental run synced in full
    # The run a retry continues from, and how far that run had got (its speed starts there).
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    resumed_from = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Which worker claimed the run; every later write by that worker names it,
    # so a worker whose run was released can no longer change it.
    worker = models.CharField(max_length=64, blank=True)
    # The django-q task that carries the run; empty for runs executed in-process.
    task_id = models.CharField(max_length=64, blank=True)
    processed = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    percent = models.PositiveSmallIntegerField(default=0)
    new_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    deleted_count = models.PositiveIntegerField(default=0)
    unparsable_count = models.PositiveIntegerField(default=0)
    # Listed, then answering 404 when fetched on their own: deleted in Gmail mid-sync.
    vanished_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    failure = models.CharField(max_length=32, choices=Failure.choices, blank=True)
    # 1 for a first run, 2 for its first automatic retry, and so on.
    attempt = models.PositiveSmallIntegerField(default=1)
    # When a failed run's automatic retry is due; cleared once it is started.
    retry_at = models.DateTimeField(null=True, blank=True)
    # Where the run is, so that a retry can continue instead of starting over.
    checkpoint = models.JSONField(default=dict, blank=True)
    # When and where its current task (the first slice, or the next) was queued.
    queued_at = models.DateTimeField(null=True, blank=True)
    queue = models.CharField(max_length=100, blank=True)
    # Slices begun. Between slices a RUNNING run has no worker: its next slice is queued.
    slices = models.PositiveIntegerField(default=0)
    # Slices that ended without finishing their work (a worker died, a timeout): the
    # next slice continued from the checkpoint. In a row: without progress between.
    interruptions = models.PositiveSmallIntegerField(default=0)
    interruptions_in_a_row = models.PositiveSmallIntegerField(default=0)
    processed_at_interruption = models.PositiveIntegerField(default=0)
    last_interruption = models.CharField(max_length=500, blank=True)
    # Set when a slice ended on a spent Gmail quota: its next slice is queued by the
    # upkeep pass once this moment comes (syncapp.slices.sync_runs_continue), not at once.
    next_slice_at = models.DateTimeField(null=True, blank=True)

    objects = SyncRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["mailbox", "-created_at"], name="syncrun_mailbox_recent"),
            # The reaper's scans: active runs, and failed runs with a retry due.
            models.Index(
                fields=["status", "heartbeat_at"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="syncrun_active",
            ),
            models.Index(
                fields=["retry_at"], condition=Q(retry_at__isnull=False), name="syncrun_retry_due"
            ),
            # The upkeep pass's scan for runs whose next slice is due (sync_runs_continue).
            models.Index(
                fields=["next_slice_at"],
                condition=Q(next_slice_at__isnull=False),
                name="syncrun_next_slice_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RunStatus.values),
                name="syncrun_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=RunKind.values), name="syncrun_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(trigger__in=RunTrigger.values),
                name="syncrun_trigger_valid",
            ),
            models.CheckConstraint(
                condition=Q(percent__gte=0, percent__lte=100), name="syncrun_percent_range"
            ),
            models.CheckConstraint(
                condition=~Q(status=RunStatus.CREATED)
                | Q(started_at__isnull=True, finished_at__isnull=True),
                name="syncrun_created_not_started",
            ),
            models.CheckConstraint(
                condition=~Q(status=RunStatus.RUNNING)
                | Q(started_at__isnull=False, finished_at__isnull=True, percent__lte=99),
                name="syncrun_running_fields",
            ),
            models.CheckConstraint(
                condition=~Q(status=RunStatus.SUCCEEDED)
                | Q(finished_at__isnull=False, percent=100),
                name="syncrun_succeeded_fields",
            ),
            models.CheckConstraint(
                condition=~Q(status=RunStatus.FAILED)
                | (Q(finished_at__isnull=False) & ~Q(error="")),
                name="syncrun_failed_fields",
            ),
            models.CheckConstraint(
                condition=~Q(status=RunStatus.FAILED) | ~Q(failure=""),
                name="syncrun_failed_has_failure",
            ),
            models.CheckConstraint(
                condition=Q(retry_at__isnull=True) | Q(status=RunStatus.FAILED),
                name="syncrun_retry_only_when_failed",
            ),
            models.CheckConstraint(
                condition=Q(processed__lte=F("total")) | Q(total=0),
                name="syncrun_processed_within_total",
            ),
            models.CheckConstraint(
                condition=Q(interruptions_in_a_row__lte=F("interruptions")),
                name="syncrun_interruptions_in_a_row_counted",
            ),
            # The one-active-run rule. sync_run_start relies on it to settle races.
            models.UniqueConstraint(
                fields=["mailbox"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="syncrun_one_active_per_mailbox",
            ),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.mailbox_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


class WorkerProcess(models.Model):
    """A django-q worker process that is (or was) alive, as it reports itself.

    Each worker process beats every SYNC_HEARTBEAT_SECONDS from its own thread,
    saying whether it is executing a run. This is how the app knows that sync
    workers are alive, on any broker and any number of hosts.
    """

    name = models.CharField(max_length=128, unique=True)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)
    # The run it is executing, if any.
    run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The queue its cluster serves: a lane's, or the one queue.
    queue = models.CharField(max_length=100, blank=True)
    # Since when it has had nothing to do; an idle worker takes a queued task
    # within a moment, so a run left waiting beside one has lost its task.
    idle_since = models.DateTimeField(null=True, blank=True)

    objects = WorkerProcessQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "worker processes"

    def __str__(self) -> str:
        return self.name


class QuotaCounter(models.Model):
    """One number of the Gmail quota ledger kept in the database (without REDIS_URL):
    a bucket's theoretical arrival time, a day's units, the project's pause.
    See syncapp.gmail.ledger."""

    key = models.CharField(max_length=200, primary_key=True)
    value = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return f"{self.key} = {self.value}"
