"""Reading the synced mail: a mailbox's messages, and one message.

Every value in a message came from whoever sent it: templates only ever print
it escaped (autoescape, never |safe), and bodies are stored as plain text.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from syncapp.selectors import (
    Cursor,
    label_names_for_mailbox,
    mailbox_get_for_user,
    mailbox_is_pushed,
    message_get_for_user,
    message_page_for_mailbox,
)
from syncapp.views.common import HtmxHttpRequest

QUERY_MAX = 200


@require_GET
@login_required
@cache_control(private=True, no_store=True)
def message_list(request: HtmxHttpRequest, mailbox_id: int) -> HttpResponse:
    """Newest first, filtered by `label` and searched by `q`, paged by `before`."""
    mailbox = mailbox_get_for_user(user=request.user, mailbox_id=mailbox_id)
    # PostgreSQL refuses NUL in text and jsonb: typed or pasted, it only drops out.
    label = request.GET.get("label", "").replace("\x00", "")
    query = request.GET.get("q", "").replace("\x00", "").strip()[:QUERY_MAX]
    cursor = None
    if request.GET.get("before"):
        try:
            cursor = Cursor.parse(request.GET["before"])
        except ValueError:
            return HttpResponseBadRequest("This page link is not valid.")
    page = message_page_for_mailbox(mailbox=mailbox, label=label, query=query, cursor=cursor)
    filters = {key: value for key, value in (("label", label), ("q", query)) if value}
    older_url = None
    if page.next_cursor is not None:
        older_url = "?" + urlencode({**filters, "before": str(page.next_cursor)})
    template = "mail/message_list.html"
    return render(
        request,
        f"{template}#messages" if request.htmx else template,
        {
            "mailbox": mailbox,
            # Only the newest page, unfiltered, follows pushed changes.
            "live": cursor is None and not filters and mailbox_is_pushed(mailbox=mailbox),
            "page": page,
            "labels": sorted(label_names_for_mailbox(mailbox=mailbox).items(), key=_by_name),
            "label": label,
            "query": query,
            "newest_url": "?" + urlencode(filters) if cursor is not None else None,
            "older_url": older_url,
        },
    )


def _by_name(item: tuple[str, str]) -> str:
    return item[1].casefold()


@require_GET
@login_required
@cache_control(private=True, no_store=True)
def message_detail(request: HtmxHttpRequest, message_id: int) -> HttpResponse:
    message = message_get_for_user(user=request.user, message_id=message_id)
    names = label_names_for_mailbox(mailbox=message.mailbox)
    return render(
        request,
        "mail/message_detail.html",
        {
            "message": message,
            "mailbox": message.mailbox,
            "labels": [names.get(label_id, label_id) for label_id in message.label_ids],
        },
    )
