"""A person disconnects one of their mailboxes, or deletes it with all it holds.

Both take the mailbox's Google access away first (its tokens deleted and
`needs_reconnect` set, so neither a click nor the schedule can start a sync),
then cancel its active run, whose worker stops at its next write. Disconnecting
keeps the mail; reconnecting through Google's consent screen restores the
access. Deleting then removes its messages, labels and runs in chunks (each its
own transaction), and the mailbox last.
"""

from __future__ import annotations

import logging
from contextlib import suppress

from syncapp.mailboxes import NO_TOKENS
from syncapp.models import Label, LabelMembership, Mailbox, Message, SyncRun
from syncapp.stopping import RunAlreadyEnded, sync_run_cancel
from syncapp.storage import delete_in_chunks

logger = logging.getLogger(__name__)


def mailbox_disconnect_now(*, mailbox: Mailbox, by: str) -> None:
    """Delete the mailbox's tokens and stop its sync; its mail stays."""
    _stop(mailbox=mailbox, by=by, doing="disconnecting")
    logger.info("mailbox %s disconnected by %s", mailbox.pk, by)


def mailbox_delete(*, mailbox: Mailbox, by: str) -> int:
    """Delete the mailbox, its messages, labels, runs and tokens; returns how many
    messages went."""
    _stop(mailbox=mailbox, by=by, doing="deleting")
    messages = delete_in_chunks(Message.objects.filter(mailbox=mailbox))
    delete_in_chunks(LabelMembership.objects.filter(mailbox=mailbox))
    delete_in_chunks(Label.objects.filter(mailbox=mailbox))
    delete_in_chunks(SyncRun.objects.filter(mailbox=mailbox))
    Mailbox.objects.filter(pk=mailbox.pk).delete()
    logger.info("mailbox %s deleted by %s (%s messages)", mailbox.pk, by, messages)
    return messages


def _stop(*, mailbox: Mailbox, by: str, doing: str) -> None:
    # Access first: from here no sync of it can start, so the cancel below is the last.
    Mailbox.objects.filter(pk=mailbox.pk).update(needs_reconnect=True, **NO_TOKENS)
    for run in SyncRun.objects.filter(mailbox=mailbox).active():
        # A run that ended meanwhile needs no cancel.
        with suppress(RunAlreadyEnded):
            sync_run_cancel(run=run, by=f"{by} ({doing} the mailbox)")
