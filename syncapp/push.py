"""Receiving Gmail's push notifications (Cloud Pub/Sub push deliveries).

A delivery is taken only with an OIDC token Google signed for our audience and
push service account. A notification raises its mailboxes' pending history id
(monotonically, in one conditional UPDATE) and starts an incremental run on the
incremental lane where none is active; while a run is active nothing more starts,
and the run, when it ends short of the pending id, starts one follow-up
(runs.sync_run_succeed). So a burst of notifications costs one or two runs.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import google_auth_httplib2
import httplib2
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from google.auth import transport
from google.auth.exceptions import GoogleAuthError
from google.oauth2 import id_token

from syncapp.models import GmailWatch, Mailbox, PushCount
from syncapp.runs import sync_runs_start_pushed
from syncapp.sql import update_returning

ISSUERS = ("accounts.google.com", "https://accounts.google.com")
CERTS_TTL_SECONDS = 300
CERTS_TIMEOUT_SECONDS = 5
# PushCount rows kept for the staff page.
KEEP_COUNTS = timedelta(days=1)


class PushRefused(Exception):
    """The delivery's token is missing or wrong: it is not Google's, or not for us."""


class PushMalformed(Exception):
    """The delivery's body is not a Pub/Sub message about a Gmail mailbox."""


class _CachedCerts(transport.Request):
    """google-auth's transport for fetching the certificates, keeping a good answer a
    few minutes, so that a delivery is verified without a request to Google."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: dict[str, tuple[float, Any]] = {}

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        now = time.monotonic()
        with self._lock:
            kept = self._answers.get(url)
        if kept is not None and kept[0] > now:
            return kept[1]
        http = httplib2.Http(timeout=CERTS_TIMEOUT_SECONDS)
        answer = google_auth_httplib2.Request(http)(
            url, method=method, body=body, headers=headers, timeout=timeout, **kwargs
        )
        if answer.status == 200:
            with self._lock:
                self._answers[url] = (now + CERTS_TTL_SECONDS, answer)
        return answer


_certs = _CachedCerts()


def push_token_verify(*, authorization: str | None) -> Mapping[str, Any]:
    """The claims of the delivery's token; PushRefused unless Google signed it (the
    certificates at GOOGLE_OIDC_CERTS_URL) for GMAIL_PUSH_AUDIENCE, naming
    GMAIL_PUSH_SERVICE_ACCOUNT, and it has not expired."""
    audience = settings.GMAIL_PUSH_AUDIENCE
    if not audience:
        raise PushRefused("GMAIL_PUSH_AUDIENCE is not set")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise PushRefused("no bearer token")
    try:
        claims = id_token.verify_token(
            token, _certs, audience=audience, certs_url=settings.GOOGLE_OIDC_CERTS_URL
        )
    except (ValueError, GoogleAuthError) as exc:
        raise PushRefused(str(exc)) from None
    if claims.get("iss") not in ISSUERS:
        raise PushRefused(f"issuer {claims.get('iss')!r}")
    if claims.get("email") != settings.GMAIL_PUSH_SERVICE_ACCOUNT or not claims.get(
        "email_verified"
    ):
        raise PushRefused(f"email {claims.get('email')!r}")
    return claims


def push_message_parse(*, body: bytes) -> tuple[str, int]:
    """(emailAddress, historyId) of a Pub/Sub push delivery's Gmail notification."""
    try:
        envelope = json.loads(body)
        data = json.loads(base64.b64decode(envelope["message"]["data"]))
        email, history_id = data["emailAddress"], int(data["historyId"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise PushMalformed(str(exc)) from None
    if not isinstance(email, str) or "@" not in email or history_id <= 0:
        raise PushMalformed("not a Gmail notification")
    return email, history_id


def push_notification_receive(*, email: str, history_id: int, now: datetime) -> list[int]:
    """Take a notification: the ids of the runs it started. An address no watched
    mailbox has is acknowledged and ignored; an older or repeated one starts nothing."""
    watched = GmailWatch.objects.filter(email=email.lower()).values("mailbox_id")
    raised = update_returning(
        Mailbox.objects.filter(pk__in=watched).filter(
            Q(pending_history_id__isnull=True) | Q(pending_history_id__lt=history_id)
        ),
        pending_history_id=history_id,
    )
    GmailWatch.objects.filter(email=email.lower()).update(last_change_at=now)
    _count(now)
    if not raised:
        return []
    return sync_runs_start_pushed(mailbox_ids=raised)


def _count(now: datetime) -> None:
    minute = now.replace(second=0, microsecond=0)
    counted = PushCount.objects.filter(minute=minute)
    if counted.update(notifications=F("notifications") + 1):
        return
    try:
        with transaction.atomic():
            PushCount.objects.create(minute=minute, notifications=1)
    except IntegrityError:
        counted.update(notifications=F("notifications") + 1)


def push_notifications_per_minute(*, now: datetime, minutes: int = 10) -> float:
    """Notifications a minute, on average over the last `minutes` whole minutes."""
    end = now.replace(second=0, microsecond=0)
    counts = PushCount.objects.filter(minute__gte=end - timedelta(minutes=minutes), minute__lt=end)
    return sum(counts.values_list("notifications", flat=True)) / minutes


def push_counts_prune(*, now: datetime) -> int:
    deleted, _ = PushCount.objects.filter(minute__lt=now - KEEP_COUNTS).delete()
    return deleted
