"""Services that change a Mailbox, and the rule that a revoked one cannot sync."""

from __future__ import annotations

import logging
from datetime import datetime

from syncapp.gmail.errors import RECONNECT_SENTENCE
from syncapp.models import Mailbox

logger = logging.getLogger(__name__)


class MailboxNeedsReconnect(Exception):
    """Gmail refused the mailbox's access: nothing can sync it until the user reconnects."""

    def __init__(self, mailbox: Mailbox) -> None:
        super().__init__(RECONNECT_SENTENCE)
        self.mailbox = mailbox


def mailbox_save_token(*, mailbox_id: int, access_token: str, expires_at: datetime | None) -> None:
    """Keep a refreshed access token, so the next run need not refresh again."""
    Mailbox.objects.filter(pk=mailbox_id).update(
        access_token=access_token, token_expires_at=expires_at
    )
    logger.info("mailbox %s: access token refreshed", mailbox_id)


def mailbox_mark_reconnect(*, mailbox_id: int) -> None:
    """Gmail refused the refresh token: the user must connect the account again."""
    Mailbox.objects.filter(pk=mailbox_id).update(needs_reconnect=True, access_token="")
    logger.warning("mailbox %s: access revoked, needs reconnecting", mailbox_id)
