"""POST /gmail/push/: Cloud Pub/Sub push deliveries of Gmail's notifications.

Pub/Sub signs in with its OIDC token, not a session: no login and no CSRF. Any 2xx
acknowledges; anything else is delivered again, so a wrong token (403) or a body
that is not a notification (400) starts nothing.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from syncapp.push import (
    PushMalformed,
    PushRefused,
    push_message_parse,
    push_notification_receive,
    push_token_verify,
)

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def gmail_push(request: HttpRequest) -> HttpResponse:
    try:
        push_token_verify(authorization=request.headers.get("Authorization"))
    except PushRefused as exc:
        logger.warning("push delivery refused: %s", exc)
        return HttpResponse(status=403)
    try:
        email, history_id = push_message_parse(body=request.body)
    except PushMalformed as exc:
        logger.warning("push delivery malformed: %s", exc)
        return HttpResponse(status=400)
    push_notification_receive(email=email, history_id=history_id, now=timezone.now())
    return HttpResponse(status=204)
