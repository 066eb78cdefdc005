"""An incremental sync when nothing changed: how many calls, and how long next to a full sync.

One unthrottled emulator, one mailbox: a full sync, then an incremental sync
with the mailbox untouched. The calls are counted in the emulator's request log
(every call it answered, inner batch calls and token refreshes included), and
both syncs are timed in this process from the run's start to its end.
"""

from __future__ import annotations

from pathlib import Path

from bench.emulator import EmulatorProcess
from bench.figures import Figure
from bench.fixtures import client_factory, mailbox_create, mailbox_delete, stored_count, sync_once
from syncapp.models import SyncRun


def incremental_noop(*, messages: int, log_dir: Path) -> list[Figure]:
    with EmulatorProcess(messages=messages, seed=13, service_ms=0, log_dir=log_dir) as emulator:
        factory = client_factory(emulator.url)
        mailbox = mailbox_create("bench-incremental")
        try:
            full = sync_once(mailbox, kind=SyncRun.Kind.FULL, factory=factory)
            stored = stored_count(mailbox)
            emulator.clear_request_log()
            noop = sync_once(mailbox, kind=SyncRun.Kind.INCREMENTAL, factory=factory)
            log = emulator.request_log()
        finally:
            mailbox_delete(mailbox)
    problems = []
    if not full.succeeded or stored != messages:
        problems.append(f"full: {full.describe()}, stored {stored} of {messages}")
    if not noop.succeeded or noop.run.kind != SyncRun.Kind.INCREMENTAL:
        problems.append(f"incremental: {noop.describe()}")
    calls = ", ".join(f"{method} {n}" for method, n in sorted(log.by_method.items()))
    prefix = "; ".join(problems) + "; " if problems else ""
    return [
        Figure(
            "incremental_noop_api_calls",
            log.calls,
            f"{prefix}{calls or 'no calls'}",
            valid=not problems,
        ),
        Figure(
            "incremental_noop_time_ratio",
            round(noop.seconds / full.seconds, 4),
            f"{prefix}{noop.seconds * 1000:.0f} ms after a full sync of {messages} msgs "
            f"in {full.seconds:.1f} s",
            valid=not problems,
        ),
    ]
