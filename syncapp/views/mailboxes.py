"""Disconnecting and deleting a mailbox: a confirmation page (GET), then the action (POST)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from syncapp.models import Message, SyncRun
from syncapp.removal import mailbox_delete, mailbox_disconnect_now
from syncapp.selectors import mailbox_get_for_user
from syncapp.views.common import HtmxHttpRequest


@require_GET
@login_required
def mailbox_confirm(request: HtmxHttpRequest, mailbox_id: int, action: str) -> HttpResponse:
    """What disconnecting or deleting will do, and the button that does it."""
    mailbox = mailbox_get_for_user(user=request.user, mailbox_id=mailbox_id)
    context = {
        "mailbox": mailbox,
        "action": action,
        "message_count": Message.objects.filter(mailbox=mailbox).count(),
        "syncing": SyncRun.objects.filter(mailbox=mailbox).active().exists(),
    }
    return render(request, "mailboxes/confirm.html", context)


@require_POST
@login_required
def mailbox_disconnect(request: HtmxHttpRequest, mailbox_id: int) -> HttpResponse:
    mailbox = mailbox_get_for_user(user=request.user, mailbox_id=mailbox_id)
    mailbox_disconnect_now(mailbox=mailbox, by=request.user.get_username())
    messages.success(
        request,
        f"Disconnected {mailbox.email}: Mailsync no longer holds access to it. Its mail stays "
        "here; reconnect it to sync again.",
    )
    return redirect("dashboard")


@require_POST
@login_required
def mailbox_remove(request: HtmxHttpRequest, mailbox_id: int) -> HttpResponse:
    mailbox = mailbox_get_for_user(user=request.user, mailbox_id=mailbox_id)
    count = mailbox_delete(mailbox=mailbox, by=request.user.get_username())
    noun = "message" if count == 1 else "messages"
    messages.success(request, f"Deleted {mailbox.email} and its {intcomma(count)} {noun}.")
    return redirect("dashboard")
