"""URLs. The paths of the progress poll and the JSON API are an interface: keep them."""

from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path

from syncapp.views import (
    accounts,
    api,
    dashboard,
    export,
    health,
    mail,
    mailboxes,
    push,
    runs,
)

handler404 = "syncapp.views.errors.page_not_found"
handler500 = "syncapp.views.errors.server_error"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("accounts/login/", accounts.login, name="login"),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("oauth/", include("social_django.urls", namespace="social")),
    path("mailboxes/<int:mailbox_id>/sync/", dashboard.mailbox_sync, name="mailbox-sync"),
    path(
        "mailboxes/<int:mailbox_id>/disconnect/confirm/",
        mailboxes.mailbox_confirm,
        {"action": "disconnect"},
        name="mailbox-disconnect-confirm",
    ),
    path(
        "mailboxes/<int:mailbox_id>/delete/confirm/",
        mailboxes.mailbox_confirm,
        {"action": "delete"},
        name="mailbox-delete-confirm",
    ),
    path(
        "mailboxes/<int:mailbox_id>/disconnect/",
        mailboxes.mailbox_disconnect,
        name="mailbox-disconnect",
    ),
    path("mailboxes/<int:mailbox_id>/delete/", mailboxes.mailbox_remove, name="mailbox-delete"),
    path("mailboxes/<int:mailbox_id>/runs/", runs.run_history, name="run-history"),
    path("mailboxes/<int:mailbox_id>/messages/", mail.message_list, name="message-list"),
    path("mailboxes/<int:mailbox_id>/export/", export.export, name="mailbox-export"),
    path("messages/<int:message_id>/", mail.message_detail, name="message-detail"),
    path("messages/<int:message_id>/body.html", mail.message_body, name="message-body"),
    path("messages/<int:message_id>/cid/<path:content_id>/", mail.message_cid, name="message-cid"),
    path(
        "messages/<int:message_id>/attachments/<int:index>/",
        mail.message_attachment,
        name="message-attachment",
    ),
    path("runs/<int:run_id>/progress/", runs.run_progress, name="run-progress"),
    path("runs/<int:run_id>/retry/", runs.run_retry, name="run-retry"),
    path("runs/<int:run_id>/cancel/", runs.run_cancel, name="run-cancel"),
    path("api/sync/", api.sync, name="api-sync"),
    path("api/runs/<int:run_id>/", api.run_detail, name="api-run"),
    path("api/runs/<int:run_id>/cancel/", api.run_cancel, name="api-run-cancel"),
    path("gmail/push/", push.gmail_push, name="gmail-push"),
    path("health/", health.health, name="health"),
    path("staff/runbook/", health.runbook, name="runbook"),
    path("admin/", admin.site.urls),
]
