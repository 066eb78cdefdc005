"""Export: a mailbox, a folder, a label or a search result as an mbox file or a zip of
.eml files, streamed as it is read (syncapp.export)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from syncapp.attachments import content_disposition
from syncapp.export import ExportFormat, export_chunks, export_filename
from syncapp.selectors import mailbox_get_for_user, messages_for_export
from syncapp.views.common import HtmxHttpRequest, MailChoice

CONTENT_TYPES = {ExportFormat.MBOX: "application/mbox", ExportFormat.EML: "application/zip"}


@require_GET
@login_required
@cache_control(private=True, no_store=True)
def export(request: HtmxHttpRequest, mailbox_id: int) -> HttpResponse | StreamingHttpResponse:
    """`format` is mbox or eml; `folder`, `label` and `q` choose as the list does, except
    that with none of them the whole mailbox is exported."""
    mailbox = mailbox_get_for_user(user=request.user, mailbox_id=mailbox_id)
    try:
        format = ExportFormat(request.GET.get("format", ""))
        choice = MailChoice.from_query(request.GET)
    except ValueError:
        return HttpResponseBadRequest("Say which mail to export, as mbox or eml.")
    folder = choice.folder if request.GET.get("folder") or choice.query else None
    messages = messages_for_export(
        mailbox=mailbox, folder=folder, label=choice.label, query=choice.query
    )
    response = StreamingHttpResponse(
        export_chunks(messages=messages, format=format), content_type=CONTENT_TYPES[format]
    )
    name = export_filename(name=choice.label or choice.query or mailbox.email, format=format)
    response["Content-Disposition"] = content_disposition(name)
    response["X-Content-Type-Options"] = "nosniff"
    return response
