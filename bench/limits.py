"""How often a sync meets Gmail's per-user concurrency limit.

A full sync paced to Gmail's per-user quota (the client told 6,000 units a minute), against
an emulator with Gmail's defaults (10 calls in flight per user, about 50 ms a call) and no
quota of its own: every 429 it answers is the concurrency limit's. The figure is those 429s
per 1,000 messages stored, to stay "few": at most 20 (bench/figures.py).
"""

from __future__ import annotations

from pathlib import Path

from bench.emulator import EmulatorProcess
from bench.figures import Figure
from bench.fixtures import client_factory, mailbox_create, mailbox_delete, stored_count, sync_once
from syncapp.models import SyncRun

GMAIL_UNITS_PER_MINUTE = 6000


def concurrency_refusals(*, messages: int, log_dir: Path) -> list[Figure]:
    with EmulatorProcess(messages=messages, seed=17, log_dir=log_dir) as emulator:
        mailbox = mailbox_create("bench-limits")
        try:
            factory = client_factory(emulator.url, quota_units_per_minute=GMAIL_UNITS_PER_MINUTE)
            timed = sync_once(mailbox, kind=SyncRun.Kind.FULL, factory=factory)
            stored = stored_count(mailbox)
            log = emulator.request_log()
        finally:
            mailbox_delete(mailbox)
    valid = timed.succeeded and stored == messages
    note = (
        f"{stored} msgs in {timed.seconds:.0f} s: {log.rate_limited} x 429 "
        f"(too many concurrent requests) in {log.api_calls()} calls"
    )
    if not valid:
        note = f"{timed.describe()}; stored {stored} of {messages}; " + note
    per_thousand = round(log.rate_limited * 1000 / max(stored, 1), 1)
    return [Figure("concurrency_429s_per_1000_messages", per_thousand, note, valid=valid)]
