"""The sync algorithms: Gmail in, storage out, through a Recorder.

Nothing here touches the run row or knows about workers: see syncapp.worker.
"""

from __future__ import annotations

import logging

from syncapp.gmail.client import GmailClient
from syncapp.gmail.errors import HistoryExpired
from syncapp.models import SyncRun
from syncapp.sync.full import full_sync
from syncapp.sync.incremental import incremental_sync
from syncapp.sync.recorder import Recorder

logger = logging.getLogger(__name__)


def sync(recorder: Recorder, client: GmailClient, *, kind: str) -> str:
    """Run the sync; returns the history id where the next one should start."""
    if kind == SyncRun.Kind.FULL or recorder.checkpoint.phase == "full":
        return full_sync(recorder, client)
    try:
        return incremental_sync(recorder, client)
    except HistoryExpired as exc:
        logger.info("run %s: %s; falling back to a full sync", recorder.run_id, exc)
        recorder.fall_back_to_full()
        return full_sync(recorder, client)
