"""How close a full sync gets to Gmail's per-user quota ceiling for copying originals.

The emulator enforces Q units per minute. A copy fetches every message with
`messages.get` (format=raw, 5 units; `threads.get` cannot return raw), and lists
them with `messages.list` (5 units a page of 500), after `getProfile` and
`labels.list` (1 unit each): no sync can copy faster than Q / 60 units per second
spent on exactly those calls (at Gmail's 6,000 units/min, 1,200 messages a minute
at best, less the listing). The figure is the achieved rate (messages / wall time
of the whole sync) over that ceiling. Once with the client told the true Q, once
told 2 x Q, so that it runs into 429s and must slow down by itself.

The emulator's bucket starts full, with a few seconds of quota to spend at
once (BURST_SECONDS of its refill): over a 15 s run that burst alone would triple
the figure, and hide a slow client. So the harness drains it just
before the sync (the emulator then grants exactly Q/60 units per second, as if
the user's quota were already in use), and the ceiling really is Q/60/5: a
client that uses every unit granted scores 1.0. The client's own bucket starts
full as usual, so even a client told the true Q meets a few 429s at the start.
"""

from __future__ import annotations

from pathlib import Path

from bench.emulator import EmulatorProcess
from bench.figures import Figure
from bench.fixtures import client_factory, mailbox_create, mailbox_delete, stored_count, sync_once
from gmail_emulator.quota import BURST_SECONDS
from syncapp.models import SyncRun

UNITS_PER_MESSAGE = 5
UNITS_PER_LIST_PAGE = 5
LIST_PAGE_SIZE = 500
# getProfile and labels.list.
UNITS_TO_START = 2


def units_per_minute_for(*, messages: int, seconds: float) -> int:
    """The quota at which fetching `messages` takes `seconds` at the ceiling."""
    return round(messages * UNITS_PER_MESSAGE * 60 / seconds)


def copy_units(messages: int) -> int:
    """The fewest units a full copy of `messages` messages spends."""
    pages = max(1, -(-messages // LIST_PAGE_SIZE))
    return UNITS_TO_START + pages * UNITS_PER_LIST_PAGE + messages * UNITS_PER_MESSAGE


def quota_efficiency(*, messages: int, seconds: float, log_dir: Path) -> list[Figure]:
    quota = units_per_minute_for(messages=messages, seconds=seconds)
    ceiling = messages / (copy_units(messages) / (quota / 60))
    figures = []
    for key, believed in (
        ("quota_efficiency", quota),
        ("quota_efficiency_overestimated", 2 * quota),
    ):
        with EmulatorProcess(
            messages=messages, quota_units_per_minute=quota, seed=11, log_dir=log_dir
        ) as emulator:
            mailbox = mailbox_create(f"bench-{key}")
            try:
                emulator.drain_quota()
                timed = sync_once(
                    mailbox,
                    kind=SyncRun.Kind.FULL,
                    factory=client_factory(emulator.url, quota_units_per_minute=believed),
                )
                stored = stored_count(mailbox)
                log = emulator.request_log()
            finally:
                mailbox_delete(mailbox)
        rate = stored / timed.seconds
        note = (
            f"Q={quota}/min (raw-copy ceiling {ceiling:.1f} msg/s), client told {believed}: "
            f"{stored} msgs in {timed.seconds:.1f} s = {rate:.0f} msg/s; "
            f"{log.rate_limited} x 429 of {log.calls} calls (the emulator's {BURST_SECONDS} s "
            "burst drained first)"
        )
        valid = timed.succeeded and stored == messages
        if not valid:
            note = f"{timed.describe()}; stored {stored} of {messages}; " + note
        figures.append(Figure(key, round(rate / ceiling, 3), note, valid=valid))
    return figures
