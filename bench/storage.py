"""What storing costs: a full sync's rate against a loop that only fetches.

Both run in this process against one unthrottled emulator (in a process of its
own), with the app's own client: the bare loop lists the ids page by page and
fetches their originals (format=raw) with `get_messages` in batches of
GMAIL_RAW_BATCH_SIZE, as the engine does, and throws the answers away. Whatever
the sync does beyond that (writing each original compressed to the mail storage,
parsing, the upserts, progress, ownership checks) is the overhead.

The two alternate (bare, sync; sync, bare; ...) after one unmeasured bare loop
that warms the emulator and this process, and the figure is the ratio of the
median rates.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from django.conf import settings

from bench.emulator import EmulatorProcess
from bench.figures import Figure
from bench.fixtures import client_factory, mailbox_create, mailbox_delete, stored_count, sync_once
from syncapp.models import Mailbox, SyncRun
from syncapp.worker.execute import ClientFactory


def bare_fetch(mailbox: Mailbox, factory: ClientFactory) -> tuple[int, float]:
    """List and fetch every message, keeping nothing: (messages fetched, seconds)."""
    started = time.perf_counter()
    client = factory(mailbox, on_token_refresh=lambda token, expiry: None)
    batch_size = settings.GMAIL_RAW_BATCH_SIZE
    fetched = 0
    page_token = None
    while True:
        page = client.list_messages(page_token=page_token)
        for start in range(0, len(page.ids), batch_size):
            result = client.get_messages(page.ids[start : start + batch_size], format="raw")
            fetched += len(result.found)
        if not page.next_page_token:
            return fetched, time.perf_counter() - started
        page_token = page.next_page_token


def storage_overhead(*, messages: int, rounds: int, log_dir: Path) -> list[Figure]:
    sync_rates: list[float] = []
    bare_rates: list[float] = []
    problems: list[str] = []
    with EmulatorProcess(messages=messages, seed=12, service_ms=0, log_dir=log_dir) as emulator:
        factory = client_factory(emulator.url)
        reader = mailbox_create("bench-storage-bare")
        try:
            bare_fetch(reader, factory)  # warm-up, not counted

            def bare() -> None:
                fetched, seconds = bare_fetch(reader, factory)
                if fetched != messages:
                    problems.append(f"bare loop fetched {fetched} of {messages}")
                bare_rates.append(fetched / seconds)

            def sync() -> None:
                mailbox = mailbox_create("bench-storage-sync")
                try:
                    timed = sync_once(mailbox, kind=SyncRun.Kind.FULL, factory=factory)
                    stored = stored_count(mailbox)
                finally:
                    mailbox_delete(mailbox)
                if not timed.succeeded or stored != messages:
                    problems.append(f"{timed.describe()}; stored {stored} of {messages}")
                sync_rates.append(stored / timed.seconds)

            for round_ in range(rounds):
                for step in (bare, sync) if round_ % 2 == 0 else (sync, bare):
                    step()
        finally:
            mailbox_delete(reader)
    sync_rate = statistics.median(sync_rates)
    bare_rate = statistics.median(bare_rates)
    note = (
        f"{messages} msgs, {rounds} rounds: sync {sync_rate:.0f} msg/s "
        f"({_spread(sync_rates)}), bare fetch {bare_rate:.0f} msg/s ({_spread(bare_rates)})"
    )
    if problems:
        note = "; ".join(problems) + "; " + note
    return [
        Figure("storage_overhead_ratio", round(sync_rate / bare_rate, 3), note, valid=not problems)
    ]


def _spread(rates: list[float]) -> str:
    return "/".join(f"{rate:.0f}" for rate in rates)
