"""Reading the synced mail: a mailbox's messages, and one message.

Every value in a message came from whoever sent it: templates only ever print
it escaped (autoescape, never |safe), and bodies are stored as plain text.
"""

from __future__ import annotations

from email.message import Message as EmailMessage
from urllib.parse import quote, urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from mailsync.security import message_body_policy
from syncapp.attachments import (
    FALLBACK_TYPE,
    SAFE_TYPES,
    attachment_chunks,
    attachments_of,
    content_disposition,
)
from syncapp.htmlmail import html_part, html_sanitize, html_text, inline_part
from syncapp.mailfilters import Folder
from syncapp.models import Message
from syncapp.originals import OriginalMissing, original_email
from syncapp.selectors import (
    COUNT_MAX,
    Cursor,
    label_names_for_mailbox,
    mailbox_get_for_user,
    mailbox_is_pushed,
    message_get_for_user,
    message_page_for_mailbox,
)
from syncapp.views.common import HtmxHttpRequest, MailChoice
from syncapp.views.presenters import label_name


@require_GET
@login_required
@cache_control(private=True, no_store=True)
def message_list(request: HtmxHttpRequest, mailbox_id: int) -> HttpResponse:
    """Conversations newest first, in a folder or with a `label`, searched by `q`, paged
    by `before` (`start` is the first row's number on the page, for "51-100 of 1,234")."""
    mailbox = mailbox_get_for_user(user=request.user, mailbox_id=mailbox_id)
    try:
        choice = MailChoice.from_query(request.GET)
        cursor = Cursor.parse(request.GET["before"]) if request.GET.get("before") else None
        start = max(int(request.GET.get("start", "1")), 1) if cursor is not None else 1
    except ValueError:
        return HttpResponseBadRequest("This page link is not valid.")
    page = message_page_for_mailbox(
        mailbox=mailbox,
        folder=choice.folder,
        label=choice.label,
        query=choice.query,
        cursor=cursor,
    )
    filters = choice.filters()
    older_url = None
    if page.next_cursor is not None:
        after = start + len(page.messages)
        older_url = "?" + urlencode({**filters, "before": str(page.next_cursor), "start": after})
    names = label_names_for_mailbox(mailbox=mailbox)
    template = "mail/message_list.html"
    return render(
        request,
        f"{template}#messages" if request.htmx else template,
        {
            "mailbox": mailbox,
            # Only a newest page, not a search's, follows pushed changes.
            "live": cursor is None and not choice.query and mailbox_is_pushed(mailbox=mailbox),
            "page": page,
            "first": start,
            "last": start + len(page.messages) - 1,
            "more_than": page.total > COUNT_MAX,
            "count_max": COUNT_MAX,
            "folders": Folder.choices,
            "folder": choice.folder,
            "labels": sorted(
                ((label_id, label_name(label_id, names)) for label_id in names), key=_by_name
            ),
            "label": choice.label,
            "query": choice.query,
            "export_query": urlencode(filters),
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
    """The headers, the attachments, and the body: HTML in a sandboxed frame when the
    message has some (`?view=text` for its text), or the text."""
    message = message_get_for_user(user=request.user, message_id=message_id)
    names = label_names_for_mailbox(mailbox=message.mailbox)
    email = _original_or_none(message)
    attachments = [a for a, _part in attachments_of(email)] if email is not None else None
    has_html = email is not None and html_part(email) is not None
    images = request.GET.get("images") == "1"
    body_url = reverse("message-body", args=[message.pk]) + ("?images=1" if images else "")
    return render(
        request,
        "mail/message_detail.html",
        {
            "message": message,
            "mailbox": message.mailbox,
            "labels": [label_name(label_id, names) for label_id in message.label_ids],
            "attachments": attachments,
            "show_html": has_html and request.GET.get("view") != "text",
            "has_html": has_html,
            "images": images,
            "body_url": body_url,
        },
    )


@require_GET
@login_required
@cache_control(private=True, no_store=True)
@xframe_options_sameorigin
def message_body(request: HtmxHttpRequest, message_id: int) -> HttpResponse:
    """The HTML body, sanitized, for the sandboxed frame of the message page only."""
    message = message_get_for_user(user=request.user, message_id=message_id)
    email = _original_or_none(message)
    part = html_part(email) if email is not None else None
    if part is None:
        raise Http404("This message has no HTML body")
    remote_images = request.GET.get("images") == "1"
    cid_prefix = request.build_absolute_uri(reverse("message-cid", args=[message.pk, "x"]))[:-2]

    def cid_url(content_id: str) -> str:
        return cid_prefix + quote(content_id.strip().strip("<>"), safe="") + "/"

    clean = html_sanitize(html_text(part), cid_url=cid_url, remote_images=remote_images)
    response = HttpResponse(
        f'<!doctype html><html><head><meta charset="utf-8"></head><body>{clean}</body></html>',
        content_type="text/html; charset=utf-8",
    )
    response["Content-Security-Policy"] = message_body_policy(
        cid_prefix=cid_prefix, remote_images=remote_images
    )
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
@login_required
@cache_control(private=True, max_age=3600)
def message_cid(
    request: HtmxHttpRequest, message_id: int, content_id: str
) -> StreamingHttpResponse:
    """An inline part (an image the HTML body shows by its Content-ID)."""
    message = message_get_for_user(user=request.user, message_id=message_id)
    email = _original_or_none(message)
    part = inline_part(email, content_id) if email is not None else None
    if part is None or part.is_multipart():
        raise Http404("No such part")
    content_type = part.get_content_type()
    if not content_type.startswith("image/") or content_type not in SAFE_TYPES:
        content_type = FALLBACK_TYPE
    response = StreamingHttpResponse(attachment_chunks(part), content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@login_required
@cache_control(private=True, no_store=True)
def message_attachment(
    request: HtmxHttpRequest, message_id: int, index: int
) -> StreamingHttpResponse:
    """The `index`th attachment, as a download, from the stored original."""
    message = message_get_for_user(user=request.user, message_id=message_id)
    email = _original_or_none(message)
    found = attachments_of(email) if email is not None else []
    if index >= len(found):
        raise Http404("No such attachment")
    attachment, part = found[index]
    response = StreamingHttpResponse(attachment_chunks(part), content_type=attachment.served_type)
    response["Content-Disposition"] = content_disposition(attachment.filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _original_or_none(message: Message) -> EmailMessage | None:
    """The parsed original; None for a message synced before originals were kept, or
    one the parser cannot read at all."""
    try:
        return original_email(message=message)
    except (OriginalMissing, RecursionError, ValueError, LookupError):
        return None
