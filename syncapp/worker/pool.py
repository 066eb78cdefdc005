"""Several runs' slices at once in one worker process.

A slice mostly waits: on Gmail's answers, which come at one mailbox's pace (Gmail limits
the calls in flight per user), and on its quota. A process serving one mailbox at a time
fetches at that pace however many mailboxes wait; serving several at once, a few processes
keep many mailboxes at their quota (BENCHMARKS.md, `fleet_quota_efficiency`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import connections

logger = logging.getLogger(__name__)

# A helper thread with nothing waiting looks again this often while the first slice runs.
IDLE_POLL_SECONDS = 0.5


def serve_slices(
    *,
    first: int,
    execute: Callable[[int], None],
    take_waiting: Callable[[], int | None],
    may_take: Callable[[], bool],
    threads: int,
    idle_poll: float = IDLE_POLL_SECONDS,
) -> None:
    """Execute the slice of run `first` in this thread and, beside it in `threads - 1`
    more, the slices of waiting runs (`take_waiting`) while `may_take` allows. Every
    thread takes another waiting run when its slice ends; once this thread finds none, the others
    finish their slices and stop. Returns when all have.

    `first` runs in the calling thread: django-q2 raises its timeout there.
    """
    done = threading.Event()

    def help_out() -> None:
        try:
            while may_take() and not done.is_set():
                taken = take_waiting()
                if taken is not None:
                    execute(taken)
                else:
                    done.wait(idle_poll)
        finally:
            # This thread's database connections end with it.
            connections.close_all()

    with ThreadPoolExecutor(max_workers=max(threads - 1, 1), thread_name_prefix="slice") as pool:
        helpers = [pool.submit(help_out) for _ in range(threads - 1)]
        try:
            taken: int | None = first
            while taken is not None:
                execute(taken)
                taken = take_waiting() if may_take() else None
        finally:
            done.set()
        for helper in helpers:
            helper.result()
