"""What slicing costs: an unthrottled full sync in 5 s slices against the same in one.

Both run in this process against one unthrottled emulator (in a process of its
own), alternating after an unmeasured warm-up; each sliced sync takes its next
slice as soon as the last one ends, as an idle worker would. The figure is the
ratio of the median rates (messages stored per second).
"""

from __future__ import annotations

import statistics
from pathlib import Path

from bench.emulator import EmulatorProcess
from bench.figures import Figure
from bench.fixtures import client_factory, mailbox_create, mailbox_delete, stored_count, sync_once
from syncapp.models import SyncRun

SLICE_SECONDS = 5.0


def slice_overhead(*, messages: int, rounds: int, log_dir: Path) -> list[Figure]:
    rates: dict[float, list[float]] = {SLICE_SECONDS: [], 0: []}
    slices: list[int] = []
    problems: list[str] = []
    with EmulatorProcess(messages=messages, seed=21, service_ms=0, log_dir=log_dir) as emulator:
        factory = client_factory(emulator.url)

        def sync(slice_seconds: float, *, measured: bool = True) -> None:
            mailbox = mailbox_create("bench-slices")
            try:
                timed = sync_once(
                    mailbox, kind=SyncRun.Kind.FULL, factory=factory, slice_seconds=slice_seconds
                )
                stored = stored_count(mailbox)
            finally:
                mailbox_delete(mailbox)
            if not timed.succeeded or stored != messages:
                problems.append(f"{timed.describe()}; stored {stored} of {messages}")
            if measured:
                rates[slice_seconds].append(stored / timed.seconds)
                if slice_seconds:
                    slices.append(timed.run.slices)

        sync(0, measured=False)  # warm-up
        for round_ in range(rounds):
            for slice_seconds in (SLICE_SECONDS, 0) if round_ % 2 == 0 else (0, SLICE_SECONDS):
                sync(slice_seconds)
    sliced = statistics.median(rates[SLICE_SECONDS])
    whole = statistics.median(rates[0])
    note = (
        f"{messages} msgs, {rounds} rounds: {SLICE_SECONDS:.0f} s slices {sliced:.0f} msg/s "
        f"in {'/'.join(map(str, slices))} slices, one slice {whole:.0f} msg/s"
    )
    if problems:
        note = "; ".join(problems) + "; " + note
    return [Figure("slice_overhead_ratio", round(sliced / whole, 3), note, valid=not problems)]
