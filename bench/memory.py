"""Whether a worker's memory grows with the mailbox: peak RSS at two sizes.

The mailbox is copied once by `manage.py syncmail --user U --full`; the figure
is the peak RSS of a second `syncmail --full` of it, in a fresh process (the
sync runs in it, as in a worker), against an emulator of that size in a process
of its own, from `os.wait4`. A second full sync lists every page again and,
finding every message already stored, refreshes all their labels: the part
that once held every id at once.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from bench.emulator import EmulatorProcess
from bench.environment import child_env
from bench.figures import Figure
from bench.fixtures import mailbox_create, mailbox_delete, stored_count
from syncapp.gmail.client import PAGE_SIZE
from syncapp.models import Mailbox
from tests.support.processes import Spawned

SYNC_TIMEOUT_SECONDS = 3600


def peak_rss_of_resync(*, messages: int, log_dir: Path) -> tuple[int, str]:
    """(peak RSS in KiB of a full resync of `messages` already copied, a problem or "")."""
    with EmulatorProcess(messages=messages, seed=14, service_ms=0, log_dir=log_dir) as emulator:
        mailbox = mailbox_create(f"bench-memory-{messages}")
        try:
            env = child_env(
                GMAIL_API_ENDPOINT=emulator.url, GOOGLE_TOKEN_URI=emulator.url + "token"
            )
            code, _, output = syncmail(mailbox, env=env, name="copy", log_dir=log_dir)
            if code != 0:
                return 0, f"copying {messages} exited {code}: {output[-300:]}"
            emulator.clear_request_log()
            code, peak_kib, output = syncmail(mailbox, env=env, name="resync", log_dir=log_dir)
            calls = emulator.request_log().by_method
            stored = stored_count(mailbox)
        finally:
            mailbox_delete(mailbox)
    problem = ""
    if code != 0 or stored != messages:
        problem = f"resync of {messages} exited {code}, stored {stored}: {output[-300:]}"
    elif calls.get("messages.get", 0) or calls.get("threads.get", 0):
        problem = f"resync of {messages} fetched messages again: {calls}"
    elif calls.get("messages.list", 0) <= math.ceil(messages / PAGE_SIZE):
        problem = f"resync of {messages} did not refresh labels: {calls}"
    return peak_kib, problem


def syncmail(
    mailbox: Mailbox, *, env: dict[str, str], name: str, log_dir: Path
) -> tuple[int, int, str]:
    """(exit code, peak RSS in KiB, output) of `syncmail --full` of the mailbox's user."""
    username = mailbox.owner.get_username()
    command = [sys.executable, "manage.py", "syncmail", "--user", username, "--full"]
    with Spawned(command, name=f"syncmail-{name}-{username}", log_dir=log_dir, env=env) as sync:
        code, peak_kib = sync.wait_with_rusage(timeout=SYNC_TIMEOUT_SECONDS)
        return code, peak_kib, sync.output()


def memory_growth(*, small: int, large: int, log_dir: Path) -> list[Figure]:
    small_kib, small_problem = peak_rss_of_resync(messages=small, log_dir=log_dir)
    large_kib, large_problem = peak_rss_of_resync(messages=large, log_dir=log_dir)
    problems = [p for p in (small_problem, large_problem) if p]
    note = (
        f"peak RSS of a full resync {large_kib / 1024:.0f} MiB ({large} msgs) / "
        f"{small_kib / 1024:.0f} MiB ({small} msgs)"
    )
    if problems:
        note = "; ".join(problems) + "; " + note
    ratio = round(large_kib / small_kib, 3) if small_kib else 0.0
    return [Figure("memory_growth_ratio", ratio, note, valid=not problems)]
