"""Executing one run: claim it, keep it alive, sync, and always end it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from syncapp.gmail.client import GmailClient, gmail_client_for
from syncapp.gmail.errors import GmailError, ReconnectRequired
from syncapp.gmail.ledger import QuotaSpent
from syncapp.mailboxes import mailbox_mark_reconnect, mailbox_save_token
from syncapp.models import SyncRun
from syncapp.runs import RunLost, new_worker_id, sync_run_claim, sync_run_succeed
from syncapp.slices import sync_run_yield
from syncapp.sync import sync
from syncapp.sync.checkpoint import Checkpoint
from syncapp.sync.recorder import SliceEnded
from syncapp.watches import mailbox_watch_if_lapsed
from syncapp.worker.failures import classify_failure, record_failure
from syncapp.worker.heartbeat import Heartbeat
from syncapp.worker.recorder import Observer, RunRecorder

logger = logging.getLogger(__name__)

ClientFactory = Callable[..., GmailClient]


def sync_run_execute(
    *,
    run_id: int,
    worker: str | None = None,
    observer: Observer | None = None,
    client_factory: ClientFactory = gmail_client_for,
    slice_seconds: float | None = None,
) -> SyncRun | None:
    """Execute one slice of a waiting run; None when another worker has it.

    The slice ends the run, or after `slice_seconds` (SYNC_SLICE_SECONDS by
    default; 0 for no limit) saves its checkpoint and queues the next slice.
    Whatever goes wrong (Gmail, the database, a bug), the run ends FAILED with
    a reason a user can read, unless it is no longer ours to end.
    """
    close_old_connections()
    worker = worker or new_worker_id()
    run = sync_run_claim(run_id=run_id, worker=worker)
    if run is None:
        return None
    with Heartbeat(run_id=run_id, worker=worker, interval=settings.SYNC_HEARTBEAT_SECONDS) as hb:
        recorder = RunRecorder(
            run_id=run_id,
            worker=worker,
            mailbox=run.mailbox,
            heartbeat=hb,
            checkpoint=Checkpoint.from_json(run.checkpoint),
            observer=observer,
        )
        limit = settings.SYNC_SLICE_SECONDS if slice_seconds is None else slice_seconds
        if limit:
            recorder.slice_ends_at = recorder.clock() + limit
        try:
            recorder.stage = "connecting to Gmail"
            client = client_factory(
                run.mailbox, on_token_refresh=partial(_save_token, mailbox_id=run.mailbox_id)
            )
            # A slice ends on a long wait for quota; syncing in-process (no limit) sleeps.
            client.quota_may_yield = bool(limit)
            recorder.stage = "watching for changes"
            mailbox_watch_if_lapsed(mailbox=run.mailbox, client=client)
            history_id = sync(recorder, client, kind=run.kind)
            recorder.stage = "finishing"
            sync_run_succeed(
                run_id=run_id,
                worker=worker,
                figures=recorder.figures,
                history_id=history_id,
                finished_at=timezone.now(),
            )
        except (SliceEnded, QuotaSpent) as ended:
            _end_slice(recorder, ended=ended)
        except RunLost as exc:
            logger.warning("run %s: stopped without writing more: %s", run_id, exc)
        except Exception as exc:
            _fail(run, worker=worker, exc=exc, stage=recorder.stage)
    return SyncRun.objects.get(pk=run_id)


def _end_slice(recorder: RunRecorder, *, ended: SliceEnded | QuotaSpent) -> None:
    """The slice's time is up, or its mailbox's quota is spent until `retry_at`."""
    retry_at = ended.retry_at if isinstance(ended, QuotaSpent) else None
    sync_run_yield(
        run_id=recorder.run_id,
        worker=recorder.worker,
        figures=recorder.figures,
        checkpoint=recorder.checkpoint.as_json(),
        kind=SyncRun.Kind.FULL if recorder.fell_back else None,
        next_slice_at=datetime.fromtimestamp(retry_at, UTC) if retry_at else None,
    )


def _fail(run: SyncRun, *, worker: str, exc: Exception, stage: str) -> None:
    if isinstance(exc, ReconnectRequired):
        mailbox_mark_reconnect(mailbox_id=run.mailbox_id)
    elif not isinstance(exc, GmailError):
        logger.exception("run %s: error while %s", run.pk, stage)
    failure, error = classify_failure(exc, stage=stage)
    record_failure(run_id=run.pk, worker=worker, failure=failure, error=error)


def _save_token(access_token: str, expires_at: datetime | None, *, mailbox_id: int) -> None:
    mailbox_save_token(mailbox_id=mailbox_id, access_token=access_token, expires_at=expires_at)
