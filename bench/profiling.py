"""Where an unthrottled full sync spends its time: cProfile, next to the bare fetch loop.

`python bench/run.py --profile [--quick]` runs one bare fetch loop (unmeasured,
to warm up), then profiles a bare loop and a full sync of the same mailbox, and
prints the share of the sync's time in each stage and the top functions. The
profiler slows Python code more than waiting, so read shares, not seconds.

Threads the sync starts (a writer, the heartbeat) are profiled too, and their
time is added to the stages: a stage done on another thread overlaps the rest,
so the shares may add up to more than 100%.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.emulator import EmulatorProcess
from bench.fixtures import client_factory, mailbox_create, mailbox_delete, sync_once
from bench.storage import bare_fetch
from syncapp.models import SyncRun

# Stages of a sync, by the function that does each (file suffix, function name).
STAGES = [
    ("fetching (GmailClient.get_messages)", "syncapp/gmail/client.py", "get_messages"),
    ("  of which building the batch request", "googleapiclient/http.py", "_serialize_request"),
    ("  of which parsing the MIME response", "email/feedparser.py", "feed"),
    ("  of which waiting for the emulator", "~", "recv_into"),
    ("listing (GmailClient.list_messages)", "syncapp/gmail/client.py", "list_messages"),
    (
        "parsing and keeping originals (pipeline.keep_original)",
        "syncapp/sync/pipeline.py",
        "keep_original",
    ),
    (
        "  of which writing originals (originals.original_put)",
        "syncapp/originals.py",
        "original_put",
    ),
    ("storing (RunRecorder.store)", "syncapp/worker/recorder.py", "store"),
    ("  of which the upsert (storage.messages_upsert)", "syncapp/storage.py", "messages_upsert"),
    ("known ids (storage.messages_known)", "syncapp/storage.py", "messages_known"),
    ("progress (RunRecorder.report)", "syncapp/worker/recorder.py", "report"),
]
TOP = 25


def _cumulative(stats: pstats.Stats, path: str, function: str) -> float:
    """Cumulative seconds in a function; path "~" names a builtin by part of its name."""
    return sum(
        row[3]
        for (filename, _, name), row in stats.stats.items()  # type: ignore[attr-defined]
        if filename.endswith(path) and (name == function or (path == "~" and function in name))
    )


@contextmanager
def profiled_with_threads() -> Iterator[list[cProfile.Profile]]:
    """Profile this thread and every thread started in the block, each on its own profile."""
    profiles = [cProfile.Profile()]
    lock = threading.Lock()

    def start_in_new_thread(frame, event, arg) -> None:
        sys.setprofile(None)
        profile = cProfile.Profile()
        with lock:
            profiles.append(profile)
        profile.enable()

    threading.setprofile(start_in_new_thread)
    profiles[0].enable()
    try:
        yield profiles
    finally:
        profiles[0].disable()
        threading.setprofile(None)


def profile_full_sync(*, messages: int, log_dir: Path) -> str:
    out = io.StringIO()
    with EmulatorProcess(messages=messages, seed=12, service_ms=0, log_dir=log_dir) as emulator:
        factory = client_factory(emulator.url)
        reader = mailbox_create("bench-profile-bare")
        mailbox = mailbox_create("bench-profile-sync")
        try:
            bare_fetch(reader, factory)
            bare_profile = cProfile.Profile()
            _, bare_seconds = bare_profile.runcall(bare_fetch, reader, factory)
            with profiled_with_threads() as sync_profiles:
                timed = sync_once(mailbox, kind=SyncRun.Kind.FULL, factory=factory)
        finally:
            mailbox_delete(reader)
            mailbox_delete(mailbox)
    stats = pstats.Stats(*sync_profiles, stream=out)
    total = _cumulative(stats, "syncapp/worker/execute.py", "sync_run_execute")
    print(
        f"under cProfile: {timed.describe()}; the bare fetch loop took {bare_seconds:.2f} s\n",
        file=out,
    )
    print(
        f"time in each stage, in any of {len(sync_profiles)} threads, "
        "as a share of the sync's wall time:",
        file=out,
    )
    for label, path, function in STAGES:
        seconds = _cumulative(stats, path, function)
        print(f"  {label:<50} {seconds:6.2f} s  {seconds / total:6.1%}", file=out)
    stats.sort_stats("tottime").print_stats(TOP)
    return out.getvalue()
