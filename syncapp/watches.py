"""Gmail watches (users.watch): the app asks Gmail to push each mailbox's changes.

A mailbox is watched when it connects, after a reconnect, and whenever it syncs
without a live watch; every watch is renewed daily, soonest-expiring first, in
batches of tasks; disconnecting stops it (users.stop). All of it only when
GMAIL_PUBSUB_TOPIC is set. A mailbox with a live watch is polled every
SYNC_PUSH_FALLBACK_HOURS instead of every SYNC_INTERVAL_MINUTES.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Least
from django.utils import timezone
from googleapiclient.errors import HttpError

from syncapp import queue
from syncapp.gmail.client import GmailClient, gmail_client_for
from syncapp.gmail.errors import GmailError
from syncapp.mailboxes import mailbox_save_token
from syncapp.models import GmailWatch, Mailbox

logger = logging.getLogger(__name__)

# Mailboxes watched again by one task of the daily renewal.
RENEW_BATCH = 100
# Watches renewed less than this long ago are left until tomorrow's renewal.
RENEW_AFTER = timedelta(hours=20)
# Gmail's watches last 7 days.
WATCH_LIFETIME = timedelta(days=7)


def sync_interval(*, pushed: bool) -> timedelta:
    """How long until a mailbox's next periodic sync: long while push brings its changes."""
    if pushed:
        return timedelta(hours=settings.SYNC_PUSH_FALLBACK_HOURS)
    return timedelta(minutes=settings.SYNC_INTERVAL_MINUTES)


def watch_is_live(*, mailbox_id: int, now: datetime) -> bool:
    return GmailWatch.objects.live(now=now).filter(mailbox_id=mailbox_id).exists()


def mailbox_watch(*, mailbox: Mailbox, client: GmailClient | None = None) -> bool:
    """Call users.watch on GMAIL_PUBSUB_TOPIC and record the watch; True when it is live.

    A failure is recorded (the page says the mailbox is polled, and why) and brings
    its next periodic sync back to the normal interval.
    """
    topic = settings.GMAIL_PUBSUB_TOPIC
    if not topic:
        return False
    if client is None:
        client = gmail_client_for(
            mailbox, on_token_refresh=partial(_save_token, mailbox_id=mailbox.pk)
        )
    try:
        answer = client.watch(topic=topic)
    except (GmailError, HttpError) as exc:
        _watch_failed(mailbox, error=str(exc))
        return False
    now = timezone.now()
    expires_at = datetime.fromtimestamp(int(answer["expiration"]) / 1000, UTC)
    GmailWatch.objects.update_or_create(
        mailbox_id=mailbox.pk,
        defaults={
            "email": mailbox.email.lower(),
            "expires_at": expires_at,
            "history_id": str(answer.get("historyId", "")),
            "renewed_at": now,
            "error": "",
        },
    )
    logger.info("mailbox %s watched until %s", mailbox.pk, expires_at)
    return True


def mailbox_watch_if_lapsed(*, mailbox: Mailbox, client: GmailClient) -> None:
    """A sync is starting: watch the mailbox if it has no live watch."""
    if settings.GMAIL_PUBSUB_TOPIC and not watch_is_live(
        mailbox_id=mailbox.pk, now=timezone.now()
    ):
        mailbox_watch(mailbox=mailbox, client=client)


def _watch_failed(mailbox: Mailbox, *, error: str) -> None:
    now = timezone.now()
    GmailWatch.objects.update_or_create(
        mailbox_id=mailbox.pk,
        defaults={"email": mailbox.email.lower(), "expires_at": None, "error": error[:500]},
    )
    Mailbox.objects.filter(pk=mailbox.pk).update(
        next_sync_at=Least("next_sync_at", Value(now + sync_interval(pushed=False)))
    )
    logger.warning("mailbox %s: watch failed, polled instead: %s", mailbox.pk, error)


def mailboxes_watch_soon(*, mailbox_ids: list[int]) -> None:
    """Watch these mailboxes from a worker, once the transaction commits."""
    if settings.GMAIL_PUBSUB_TOPIC and mailbox_ids:
        transaction.on_commit(partial(queue.enqueue_watches, mailbox_ids=mailbox_ids))


def mailboxes_watch(*, mailbox_ids: list[int]) -> int:
    """Watch (or watch again) each connected mailbox of these; how many are live."""
    live = 0
    for mailbox in Mailbox.objects.filter(pk__in=mailbox_ids, needs_reconnect=False):
        live += mailbox_watch(mailbox=mailbox)
    return live


def watches_due_for_renewal(*, now: datetime) -> list[int]:
    """Mailboxes whose watch to renew today, soonest-expiring first (lapsed ones too)."""
    return list(
        GmailWatch.objects.filter(
            expires_at__lt=now + WATCH_LIFETIME - RENEW_AFTER, mailbox__needs_reconnect=False
        )
        .order_by("expires_at")
        .values_list("mailbox_id", flat=True)
    )


def watches_renew(*, now: datetime, batch_size: int = RENEW_BATCH) -> int:
    """The daily renewal: queue the due watches in batches, soonest-expiring first;
    returns how many batches were queued."""
    if not settings.GMAIL_PUBSUB_TOPIC:
        return 0
    due = watches_due_for_renewal(now=now)
    batches = [due[i : i + batch_size] for i in range(0, len(due), batch_size)]
    for batch in batches:
        queue.enqueue_watches(mailbox_ids=batch)
    logger.info("renewing %s watches in %s batches", len(due), len(batches))
    return len(batches)


def mailboxes_stop_watches(*, owner_id: int, email: str) -> None:
    """Before a disconnect forgets the tokens: users.stop for these mailboxes' watches."""
    mailboxes = Mailbox.objects.filter(
        owner_id=owner_id, email__iexact=email, watch__expires_at__isnull=False
    )
    for mailbox in mailboxes:
        client = gmail_client_for(mailbox, on_token_refresh=lambda *_: None)
        try:
            client.stop()
        except (GmailError, HttpError) as exc:
            # Gmail ends an unrenewed watch within a week anyway.
            logger.warning("mailbox %s: users.stop failed: %s", mailbox.pk, exc)
    GmailWatch.objects.filter(mailbox__owner_id=owner_id, email=email.lower()).delete()


def _save_token(access_token: str, expires_at: datetime | None, *, mailbox_id: int) -> None:
    mailbox_save_token(mailbox_id=mailbox_id, access_token=access_token, expires_at=expires_at)
