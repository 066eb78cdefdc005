"""Executing one run: claim it, keep it alive, sync, and always end it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from syncapp import engine
from syncapp.gmail.client import GmailClient, gmail_client_for
from syncapp.gmail.errors import GmailError, GmailUnavailable, ReconnectRequired
from syncapp.heartbeat import Heartbeat
from syncapp.mailboxes import mailbox_mark_reconnect, mailbox_save_token
from syncapp.models import SyncRun
from syncapp.runs import RunLost, new_worker_id, sync_run_claim, sync_run_fail, sync_run_succeed

logger = logging.getLogger(__name__)

Failure = SyncRun.Failure

ClientFactory = Callable[..., GmailClient]


def sync_run_execute(
    *,
    run_id: int,
    worker: str | None = None,
    observer: engine.Observer | None = None,
    client_factory: ClientFactory = gmail_client_for,
) -> SyncRun | None:
    """Execute a CREATED run to its end; None when another worker has it.

    Whatever goes wrong (Gmail, the database, a bug), the run ends FAILED with
    a reason a user can read, unless it is no longer ours to end.
    """
    close_old_connections()
    worker = worker or new_worker_id()
    run = sync_run_claim(run_id=run_id, worker=worker)
    if run is None:
        return None
    with Heartbeat(run_id=run_id, worker=worker, interval=settings.SYNC_HEARTBEAT_SECONDS) as hb:
        recorder = engine.RunRecorder(
            run_id=run_id,
            worker=worker,
            mailbox=run.mailbox,
            heartbeat=hb,
            checkpoint=dict(run.checkpoint),
            observer=observer,
        )
        try:
            recorder.stage = "connecting to Gmail"
            client = client_factory(
                run.mailbox, on_token_refresh=partial(_save_token, mailbox_id=run.mailbox_id)
            )
            history_id = engine.sync(recorder, client, kind=run.kind)
            recorder.stage = "finishing"
            sync_run_succeed(
                run_id=run_id,
                worker=worker,
                progress=recorder.counts.progress(),
                history_id=history_id,
                finished_at=timezone.now(),
            )
        except RunLost as exc:
            logger.warning("run %s: stopped without writing more: %s", run_id, exc)
        except ReconnectRequired as exc:
            mailbox_mark_reconnect(mailbox_id=run.mailbox_id)
            _fail(run_id, worker, str(exc), Failure.RECONNECT)
        except GmailUnavailable as exc:
            _fail(
                run_id,
                worker,
                f"Gmail error while {recorder.stage}: {exc}",
                Failure.GMAIL_UNAVAILABLE,
            )
        except GmailError as exc:
            _fail(
                run_id, worker, f"Gmail error while {recorder.stage}: {exc}", Failure.GMAIL_REFUSED
            )
        except DatabaseError as exc:
            logger.exception("run %s: database error while %s", run_id, recorder.stage)
            _fail(
                run_id,
                worker,
                f"Database error while {recorder.stage}: {exc.__class__.__name__}: {exc}",
                Failure.DATABASE,
            )
        except Exception as exc:
            logger.exception("run %s: unexpected error while %s", run_id, recorder.stage)
            _fail(
                run_id,
                worker,
                f"Unexpected error while {recorder.stage}: {exc.__class__.__name__}: {exc}",
                Failure.ERROR,
            )
    return SyncRun.objects.get(pk=run_id)


def _save_token(access_token: str, expires_at, *, mailbox_id: int) -> None:
    mailbox_save_token(mailbox_id=mailbox_id, access_token=access_token, expires_at=expires_at)


def _fail(
    run_id: int, worker: str, error: str, failure: SyncRun.Failure, *, attempts: int = 3
) -> None:
    """Record the failure, riding out a database that is briefly away."""
    for attempt in range(attempts):
        try:
            sync_run_fail(run_id=run_id, worker=worker, error=error, failure=failure)
            return
        except DatabaseError:
            logger.warning("run %s: could not record failure (try %d)", run_id, attempt + 1)
            connection.close()
            time.sleep(2**attempt)
    # The reaper ends it once its heartbeat is stale.
    logger.error("run %s: failure not recorded: %s", run_id, error)
