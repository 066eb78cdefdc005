"""The admin: list pages kept narrow (short figures, errors cut to a line, ages),
the whole of each value on the detail page."""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin, messages
from django.contrib.humanize.templatetags.humanize import intcomma
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.text import Truncator
from django.utils.timesince import timesince

from syncapp.models import Label, Mailbox, Message, SyncRun, SyncRunQuerySet, WorkerProcess
from syncapp.runs import sync_run_release
from syncapp.views.presenters import human_duration

# A list column holds this many characters of a long text at most.
SHORT_TEXT = 60


def short_text(text: str, length: int = SHORT_TEXT) -> str:
    return Truncator(" ".join(text.split())).chars(length) or "-"


def short_moment(moment: datetime | None) -> str:
    """A moment in a list: the time today, else the day and time (the zone is the site's)."""
    if moment is None:
        return "-"
    local = timezone.localtime(moment)
    if local.date() == timezone.localdate():
        return date_format(local, "H:i:s")
    return date_format(local, "M j, H:i")


def age(moment: datetime | None) -> str:
    """How long ago, e.g. "3 min 5 s"."""
    if moment is None:
        return "-"
    return human_duration(max(0.0, (timezone.now() - moment).total_seconds()))


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "mailbox",
        "status",
        "kind",
        "trigger",
        "attempt",
        "progress",
        "heartbeat_age",
        "short_error",
        "created",
        "took",
    ]
    list_filter = ["status", "kind", "trigger", "failure", "mailbox"]
    search_fields = ["mailbox__email"]
    list_select_related = ["mailbox"]
    actions = ["release_selected"]
    # Progress is the worker's to write; the admin only releases.
    readonly_fields = [
        "mailbox",
        "status",
        "kind",
        "trigger",
        "fell_back_to_full",
        "retry_of",
        "attempt",
        "created_at",
        "started_at",
        "heartbeat_at",
        "heartbeat_age",
        "finished_at",
        "worker",
        "task_id",
        "processed",
        "total",
        "percent",
        "new_count",
        "updated_count",
        "deleted_count",
        "unparsable_count",
        "vanished_count",
        "error",
        "failure",
        "retry_at",
        "checkpoint",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="heartbeat age")
    def heartbeat_age(self, run: SyncRun) -> str:
        if not run.is_active or run.heartbeat_at is None:
            return "-"
        return timesince(run.heartbeat_at, timezone.now())

    @admin.display(description="progress", ordering="processed")
    def progress(self, run: SyncRun) -> str:
        if not run.total and not run.processed:
            return "-"
        return f"{intcomma(run.processed)} / {intcomma(run.total)} ({run.percent}%)"

    @admin.display(description="error")
    def short_error(self, run: SyncRun) -> str:
        return short_text(run.error)

    @admin.display(description="created", ordering="created_at")
    def created(self, run: SyncRun) -> str:
        return short_moment(run.created_at)

    @admin.display(description="took")
    def took(self, run: SyncRun) -> str:
        if run.finished_at is None:
            return "-"
        return human_duration(
            (run.finished_at - (run.started_at or run.created_at)).total_seconds()
        )

    @admin.action(description="Release selected stuck runs", permissions=["change"])
    def release_selected(self, request: HttpRequest, queryset: SyncRunQuerySet) -> None:
        by = request.user.get_username()
        released = sum(
            sync_run_release(run_id=run_id, by=by)
            for run_id in queryset.active().values_list("pk", flat=True)
        )
        skipped = queryset.count() - released
        self.message_user(request, f"Released {released} run(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} run(s) had already ended and were left alone.", messages.INFO
            )


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ["email", "owner", "last_synced", "next_sync", "needs_reconnect"]
    list_filter = ["needs_reconnect"]
    search_fields = ["email", "owner__username"]
    list_select_related = ["owner"]
    # Credentials are never shown, not even to staff.
    exclude = ["access_token", "refresh_token", "token_expires_at"]
    readonly_fields = ["history_id", "last_synced_at", "created_at"]

    @admin.display(description="last synced", ordering="last_synced_at")
    def last_synced(self, mailbox: Mailbox) -> str:
        return short_moment(mailbox.last_synced_at)

    @admin.display(description="next sync", ordering="next_sync_at")
    def next_sync(self, mailbox: Mailbox) -> str:
        return short_moment(mailbox.next_sync_at)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["short_subject", "short_sender", "mailbox", "internal_date"]
    list_filter = ["mailbox"]
    search_fields = ["subject", "sender", "gmail_id"]
    list_select_related = ["mailbox"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    @admin.display(description="subject", ordering="subject")
    def short_subject(self, message: Message) -> str:
        return short_text(message.subject)

    @admin.display(description="sender", ordering="sender")
    def short_sender(self, message: Message) -> str:
        return short_text(message.sender, 40)


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["name", "label_id", "type", "mailbox"]
    list_filter = ["type", "mailbox"]


@admin.register(WorkerProcess)
class WorkerProcessAdmin(admin.ModelAdmin):
    list_display = ["short_name", "queue", "pid", "running", "seen", "idle", "up"]
    ordering = ["-seen_at"]

    @admin.display(description="name", ordering="name")
    def short_name(self, worker: WorkerProcess) -> str:
        # host:pid:id; the host is the part that runs long.
        host, _, rest = worker.name.partition(":")
        return f"{short_text(host, 20)}:{rest}" if rest else short_text(worker.name, 30)

    @admin.display(description="run", ordering="run")
    def running(self, worker: WorkerProcess) -> str:
        return f"#{worker.run_id}" if worker.run_id else "-"

    @admin.display(description="seen ago", ordering="-seen_at")
    def seen(self, worker: WorkerProcess) -> str:
        return age(worker.seen_at)

    @admin.display(description="idle for")
    def idle(self, worker: WorkerProcess) -> str:
        return age(worker.idle_since)

    @admin.display(description="up for", ordering="started_at")
    def up(self, worker: WorkerProcess) -> str:
        return age(worker.started_at)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: WorkerProcess | None = None
    ) -> bool:
        return False
