"""Services that change a Mailbox, and the rule that a revoked one cannot sync."""

from __future__ import annotations

import logging
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet

from syncapp.gmail.errors import RECONNECT_SENTENCE
from syncapp.models import Mailbox

logger = logging.getLogger(__name__)


class MailboxNeedsReconnect(Exception):
    """Gmail refused the mailbox's access: nothing can sync it until the user reconnects."""

    def __init__(self, mailbox: Mailbox) -> None:
        super().__init__(RECONNECT_SENTENCE)
        self.mailbox = mailbox


class NoSuchMailbox(Exception):
    """A command line named a user or an address that has no mailbox; says which."""


def mailboxes_named(*, username: str | None, email: str | None) -> QuerySet[Mailbox]:
    """The mailboxes a command line names: a user's, the one with an address, or every
    one when it names neither. Raises NoSuchMailbox for a user or an address unknown."""
    mailboxes = Mailbox.objects.order_by("pk")
    if username:
        if not get_user_model().objects.filter(username=username).exists():
            raise NoSuchMailbox(f"No user named {username!r}")
        return mailboxes.filter(owner__username=username)
    if email:
        mailboxes = mailboxes.filter(email__iexact=email)
        if not mailboxes.exists():
            raise NoSuchMailbox(f"No mailbox {email!r}")
    return mailboxes


def mailbox_save_token(*, mailbox_id: int, access_token: str, expires_at: datetime | None) -> None:
    """Keep a refreshed access token, so the next run need not refresh again."""
    Mailbox.objects.filter(pk=mailbox_id).update(
        access_token=access_token, token_expires_at=expires_at
    )
    logger.info("mailbox %s: access token refreshed", mailbox_id)


# What a mailbox holds of its Google access, emptied when that access ends.
NO_TOKENS = {"access_token": "", "refresh_token": "", "token_expires_at": None}


def mailbox_mark_reconnect(*, mailbox_id: int) -> None:
    """Gmail refused the refresh token: forget the tokens; the user must connect again."""
    Mailbox.objects.filter(pk=mailbox_id).update(needs_reconnect=True, **NO_TOKENS)
    logger.warning("mailbox %s: access revoked, needs reconnecting", mailbox_id)


def mailbox_disconnect(*, owner_id: int, email: str) -> int:
    """The user disconnected a Google account: its mailboxes keep their mail, not the access.

    Returns how many mailboxes lost their tokens; none of them syncs until reconnected.
    """
    count = Mailbox.objects.filter(owner_id=owner_id, email__iexact=email).update(
        needs_reconnect=True, **NO_TOKENS
    )
    logger.info("user %s disconnected %s mailbox(es)", owner_id, count)
    return count


def mailbox_reencrypt_tokens() -> int:
    """Write every stored token again, so it is encrypted with the first key in force.

    One row at a time, locked, so a worker saving a refreshed token is not overwritten.
    """
    count = 0
    for mailbox_id in Mailbox.objects.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            mailbox = (
                Mailbox.objects.select_for_update()
                .only("access_token", "refresh_token")
                .filter(pk=mailbox_id)
                .first()
            )
            if mailbox is None:
                continue
            Mailbox.objects.filter(pk=mailbox_id).update(
                access_token=mailbox.access_token, refresh_token=mailbox.refresh_token
            )
        count += 1
    return count
