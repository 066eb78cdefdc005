"""The periodic sync of every connected mailbox."""

from __future__ import annotations

from syncapp.models import Mailbox, SyncRun
from syncapp.runs import sync_run_start


def mailboxes_sync_all() -> list[int]:
    """Start an incremental sync of every connected mailbox that is not syncing."""
    started = []
    for mailbox in Mailbox.objects.filter(needs_reconnect=False):
        run, created = sync_run_start(mailbox=mailbox, trigger=SyncRun.Trigger.SCHEDULE)
        if created:
            started.append(run.pk)
    return started
