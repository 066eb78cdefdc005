"""Whether a worker's memory grows with the mailbox: peak RSS at two sizes.

Each sync is `manage.py syncmail --user U --full` in a fresh process (the sync
runs in it, as in a worker), against an emulator of that size in a process of
its own; the peak RSS is that one process's, from `os.wait4`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.emulator import EmulatorProcess
from bench.environment import child_env
from bench.figures import Figure
from bench.fixtures import mailbox_create, mailbox_delete, stored_count
from tests.support.processes import Spawned

SYNC_TIMEOUT_SECONDS = 1800


def peak_rss_of_sync(*, messages: int, log_dir: Path) -> tuple[int, str]:
    """(peak RSS in KiB of a process syncing `messages`, a problem or "")."""
    with EmulatorProcess(messages=messages, seed=14, log_dir=log_dir) as emulator:
        username = f"bench-memory-{messages}"
        mailbox = mailbox_create(username)
        try:
            env = child_env(
                GMAIL_API_ENDPOINT=emulator.url, GOOGLE_TOKEN_URI=emulator.url + "token"
            )
            command = [sys.executable, "manage.py", "syncmail", "--user", username, "--full"]
            with Spawned(command, name=f"syncmail-{messages}", log_dir=log_dir, env=env) as sync:
                code, peak_kib = sync.wait_with_rusage(timeout=SYNC_TIMEOUT_SECONDS)
                output = sync.output()
            stored = stored_count(mailbox)
        finally:
            mailbox_delete(mailbox)
    problem = ""
    if code != 0 or stored != messages:
        problem = f"syncmail of {messages} exited {code}, stored {stored}: {output[-300:]}"
    return peak_kib, problem


def memory_growth(*, small: int, large: int, log_dir: Path) -> list[Figure]:
    small_kib, small_problem = peak_rss_of_sync(messages=small, log_dir=log_dir)
    large_kib, large_problem = peak_rss_of_sync(messages=large, log_dir=log_dir)
    problems = [p for p in (small_problem, large_problem) if p]
    note = (
        f"peak RSS {large_kib / 1024:.0f} MiB ({large} msgs) / "
        f"{small_kib / 1024:.0f} MiB ({small} msgs)"
    )
    if problems:
        note = "; ".join(problems) + "; " + note
    return [
        Figure("memory_growth_ratio", round(large_kib / small_kib, 3), note, valid=not problems)
    ]
