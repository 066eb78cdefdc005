"""The JSON API for scripts: the same services and session auth (and CSRF) as the pages.

    POST /api/sync/      {"mailbox": "<address>", "full": false}, both optional
                         -> {"run": {...}}: 202 for a new run, 200 for the active one
    GET  /api/runs/<id>/ -> {"run": {...}}
    POST /api/runs/<id>/cancel/ -> {"run": {...}}: 200 once cancelled, 409 when it had ended

Errors answer {"error": "..."} with 400 (a malformed request), 401 (not signed
in), 404 (no such mailbox or run, or someone else's, or no such URL), 405 (another
method), 409 (the mailbox must be reconnected first), 415 (a body that is not
application/json) or 429 (more than SYNC_API_STARTS_PER_MINUTE starts, with
Retry-After), and create nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from http import HTTPStatus
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache

from syncapp.mailboxes import MailboxNeedsReconnect
from syncapp.models import SyncRun
from syncapp.runs import sync_run_start
from syncapp.selectors import mailbox_find_for_user, run_get_for_user
from syncapp.stopping import RunAlreadyEnded, sync_run_cancel
from syncapp.throttle import sync_start_throttle
from syncapp.views.common import HtmxHttpRequest
from syncapp.views.presenters import run_error_sentence

View = Callable[..., HttpResponse]


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def api_methods(*methods: str) -> Callable[[View], View]:
    """Other methods get 405 in JSON, with Allow."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = error(HTTPStatus.METHOD_NOT_ALLOWED, f"Use {' or '.join(methods)}.")
                response["Allow"] = ", ".join(methods)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def api_login_required(view: View) -> View:
    """A script gets 401 in JSON, not a redirect to the login page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return error(HTTPStatus.UNAUTHORIZED, "Sign in first (session cookie required).")
        return view(request, *args, **kwargs)

    return wrapper


def run_json(run: SyncRun) -> dict[str, Any]:
    """A run as the API shows it: datetimes in ISO 8601 (UTC), or null."""
    return {
        "id": run.pk,
        "mailbox": run.mailbox.email,
        "status": run.status,
        "kind": run.kind,
        "trigger": run.trigger,
        "percent": run.percent,
        "processed": run.processed,
        "total": run.total,
        "new": run.new_count,
        "updated": run.updated_count,
        "deleted": run.deleted_count,
        "vanished": run.vanished_count,
        "error": run_error_sentence(run),
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
    }


def _iso(moment: datetime | None) -> str | None:
    # Full precision, unlike DjangoJSONEncoder, which cuts to milliseconds.
    return moment.isoformat() if moment is not None else None


@dataclass(frozen=True, slots=True)
class SyncRequest:
    mailbox: str | None = None
    full: bool = False

    @classmethod
    def parse(cls, body: bytes) -> SyncRequest:
        """Read the body of POST /api/sync/; ValueError says what is wrong with it."""
        if not body.strip():
            return cls()
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:
            # ValueError covers undecodable bytes too; RecursionError, absurd nesting.
            raise ValueError(f"The body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("The body must be a JSON object.")
        unknown = sorted(set(data) - {"mailbox", "full"})
        if unknown:
            raise ValueError(f"Unknown field(s): {', '.join(unknown)}.")
        mailbox = data.get("mailbox")
        if mailbox is not None:
            if not isinstance(mailbox, str):
                raise ValueError('"mailbox" must be an email address.')
            mailbox = mailbox.strip()
            try:
                validate_email(mailbox)
            except ValidationError:
                raise ValueError('"mailbox" must be an email address.') from None
        full = data.get("full", False)
        if not isinstance(full, bool):
            raise ValueError('"full" must be true or false.')
        return cls(mailbox=mailbox, full=full)


@api_methods("POST")
@api_login_required
def sync(request: HtmxHttpRequest) -> JsonResponse:
    # Checked before the body is read: a form body may have been parsed already
    # (by the CSRF check), after which reading it raises.
    if not _json_or_empty(request):
        return error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Send the body as application/json.")
    retry_after = sync_start_throttle(user_id=request.user.pk)
    if retry_after is not None:
        response = error(HTTPStatus.TOO_MANY_REQUESTS, "Too many syncs started: wait a minute.")
        response["Retry-After"] = str(retry_after)
        return response
    try:
        wanted = SyncRequest.parse(request.body)
        mailbox = mailbox_find_for_user(user=request.user, email=wanted.mailbox)
    except ValueError as exc:
        return error(HTTPStatus.BAD_REQUEST, str(exc))
    except Http404:
        return error(HTTPStatus.NOT_FOUND, "No such mailbox.")
    kind = SyncRun.Kind.FULL if wanted.full else SyncRun.Kind.INCREMENTAL
    try:
        run, created = sync_run_start(mailbox=mailbox, kind=kind, trigger=SyncRun.Trigger.WEB)
    except MailboxNeedsReconnect as exc:
        return error(HTTPStatus.CONFLICT, str(exc))
    run.mailbox = mailbox  # the one we hold: no query to name it
    response = JsonResponse(
        {"run": run_json(run)}, status=HTTPStatus.ACCEPTED if created else HTTPStatus.OK
    )
    response["Location"] = reverse("api-run", kwargs={"run_id": run.pk})
    return response


def _json_or_empty(request: HttpRequest) -> bool:
    """A JSON body, or none at all (a bare POST), judged from the headers alone."""
    if request.content_type == "application/json":
        return True
    return not request.content_type and not request.META.get("CONTENT_LENGTH", "").strip("0")


@api_methods("GET", "HEAD")
@api_login_required
@never_cache
def run_detail(request: HtmxHttpRequest, run_id: int) -> JsonResponse:
    try:
        run = run_get_for_user(user=request.user, run_id=run_id)
    except Http404:
        return error(HTTPStatus.NOT_FOUND, "No such run.")
    return JsonResponse({"run": run_json(run)})


@api_methods("POST")
@api_login_required
def run_cancel(request: HtmxHttpRequest, run_id: int) -> JsonResponse:
    try:
        run = run_get_for_user(user=request.user, run_id=run_id)
    except Http404:
        return error(HTTPStatus.NOT_FOUND, "No such run.")
    try:
        cancelled = sync_run_cancel(run=run, by=request.user.get_username())
    except RunAlreadyEnded as exc:
        response = JsonResponse({"error": str(exc), "run": run_json(exc.run)})
        response.status_code = HTTPStatus.CONFLICT
        return response
    return JsonResponse({"run": run_json(cancelled)})
