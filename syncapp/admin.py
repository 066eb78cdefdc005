from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils import timezone
from django.utils.timesince import timesince

from syncapp.models import Label, Mailbox, Message, SyncRun, SyncRunQuerySet, WorkerProcess
from syncapp.runs import sync_run_release


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "mailbox",
        "status",
        "kind",
        "trigger",
        "attempt",
        "percent",
        "heartbeat_age",
        "created_at",
        "finished_at",
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
    list_display = ["email", "owner", "last_synced_at", "needs_reconnect", "history_id"]
    list_filter = ["needs_reconnect"]
    search_fields = ["email", "owner__username"]
    # Credentials are never shown, not even to staff.
    exclude = ["access_token", "refresh_token", "token_expires_at"]
    readonly_fields = ["history_id", "last_synced_at", "created_at"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["subject", "sender", "mailbox", "internal_date"]
    list_filter = ["mailbox"]
    search_fields = ["subject", "sender", "gmail_id"]
    list_select_related = ["mailbox"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["name", "label_id", "type", "mailbox"]
    list_filter = ["type", "mailbox"]


@admin.register(WorkerProcess)
class WorkerProcessAdmin(admin.ModelAdmin):
    list_display = ["name", "host", "pid", "started_at", "seen_at", "run", "idle_since"]
    ordering = ["-seen_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: WorkerProcess | None = None
    ) -> bool:
        return False
