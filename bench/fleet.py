"""A fleet synced at once: quota efficiency across mailboxes, and clicks served meanwhile.

One emulator process serves K mailboxes (`--mailboxes K`, user1@example.com ...),
each capped at Gmail's per-user 6,000 units a minute, and a small mailbox for the
clicks. `manage.py syncworkers --workers 2` starts every lane with SYNC_LANES on, so
the fleet's full syncs (scheduled, hence bulk work) are served by the bulk lane's two
worker processes and clicks by the interactive lane. All K full syncs start at once.

`fleet_quota_efficiency`: once mail is being stored and every mailbox's opening burst
(a full 30-second bucket, which Gmail and the emulator allow at once) is spent, the
messages stored by the fleet are counted at the start and end of a window; messages/s
over the window ÷ (K x 6,000 / 5 / 60 = 20 messages/s each): the steady state, which
the burst would flatter. The mailboxes are big enough not to finish within it.

The mailboxes hold the emulator's `tiny` mail: this benchmark measures whether a few
worker processes keep many mailboxes at their quota (scheduling, slices, the shared
ledger), not the CPU that realistic mail costs to fetch, store and generate, which on a
2-core machine shared with the emulator caps the whole fleet below 400 messages/s
(BENCHMARKS.md has both figures; `storage_overhead_ratio` measures that cost).

`click_start_latency_under_load_s`: during that window, a person's click (a WEB run,
through `sync_run_start` as the API starts it) on the small mailbox, one after the
other, each waited for until it ends; median of `started_at - created_at`.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.test import override_settings
from django.utils import timezone

from bench.emulator import EmulatorProcess
from bench.environment import child_env
from bench.figures import Figure
from bench.fixtures import PASSWORD, mailbox_delete
from gmail_emulator.fleet import fleet_address, fleet_refresh_token, fleet_username
from syncapp.gmail.ledger import USER_BURST_SECONDS
from syncapp.models import Mailbox, Message, SyncRun, WorkerProcess
from syncapp.runs import sync_run_start
from tests.support.processes import Spawned
from tests.support.waiting import wait_for

PER_USER_UNITS_PER_MINUTE = 6000
MESSAGE_UNITS = 5
PER_MAILBOX_CEILING = PER_USER_UNITS_PER_MINUTE / MESSAGE_UNITS / 60  # 20 messages/s
WORKERS = 2
PROFILE = "tiny"
# The opening burst is spent by then: the window measures the steady state.
WARM_UP_SECONDS = USER_BURST_SECONDS + 5
CLICK_MAILBOX = "click@example.com"
CLICK_MESSAGES = 10
POLL_SECONDS = 0.02
RUN_TIMEOUT_SECONDS = 60
SYNCWORKERS = [sys.executable, "manage.py", "syncworkers", f"--workers={WORKERS}"]


def fleet(*, mailboxes: int, messages: int, seconds: float, log_dir: Path) -> list[Figure]:
    with EmulatorProcess(
        messages=messages,
        seed=21,
        profile=PROFILE,
        quota_units_per_minute=PER_USER_UNITS_PER_MINUTE,
        mailboxes=mailboxes,
        log_dir=log_dir,
    ) as emulator:
        click_token = emulator.add_mailbox(CLICK_MAILBOX, messages=CLICK_MESSAGES)
        owned = [_mailbox(fleet_username(n), fleet_address(n)) for n in range(1, mailboxes + 1)]
        click_mailbox = _mailbox("bench-click", CLICK_MAILBOX, click_token)
        env = child_env(
            GMAIL_API_ENDPOINT=emulator.url,
            GOOGLE_TOKEN_URI=emulator.url + "token",
            GMAIL_QUOTA_UNITS_PER_MINUTE=str(PER_USER_UNITS_PER_MINUTE),
            SYNC_LANES="True",
        )
        try:
            with override_settings(SYNC_LANES=True):
                workers = Spawned(SYNCWORKERS, name="syncworkers", log_dir=log_dir, env=env)
                with workers:
                    try:
                        return _measure(owned, click_mailbox, seconds=seconds, since=_ready())
                    finally:
                        workers.stop(grace=60)
        finally:
            for mailbox in [*owned, click_mailbox]:
                mailbox_delete(mailbox)


def _measure(
    owned: list[Mailbox], click_mailbox: Mailbox, *, seconds: float, since: float
) -> list[Figure]:
    runs = [
        sync_run_start(mailbox=m, kind=SyncRun.Kind.FULL, trigger=SyncRun.Trigger.SCHEDULE)[0]
        for m in owned
    ]
    stored = Message.objects.filter(mailbox__in=owned)
    wait_for(stored.exists, timeout=RUN_TIMEOUT_SECONDS, what="the fleet's first messages")
    time.sleep(WARM_UP_SECONDS)
    began, first = time.monotonic(), stored.count()
    latencies = []
    while time.monotonic() - began < seconds:
        latencies.append(_click(click_mailbox))
        time.sleep(0.5)
    elapsed, last = time.monotonic() - began, stored.count()
    finished = SyncRun.objects.filter(pk__in=[r.pk for r in runs]).finished().count()
    rate = (last - first) / elapsed
    ceiling = len(owned) * PER_MAILBOX_CEILING
    note = (
        f"{len(owned)} mailboxes, {WORKERS} bulk workers: {last - first} messages in "
        f"{elapsed:.0f} s = {rate:.1f}/s of {ceiling:.0f}/s; {finished} runs ended in the "
        f"window; workers ready in {since:.0f} s"
    )
    median = statistics.median(latencies)
    click_note = (
        f"{len(latencies)} clicks while the fleet synced: min {min(latencies):.3f} s, "
        f"max {max(latencies):.3f} s"
    )
    return [
        Figure("fleet_quota_efficiency", round(rate / ceiling, 3), note),
        Figure("click_start_latency_under_load_s", round(median, 3), click_note),
    ]


def _click(mailbox: Mailbox) -> float:
    """A person's click: a WEB run; waits for it to end; created -> RUNNING in seconds."""
    mailbox.refresh_from_db()
    run, created = sync_run_start(mailbox=mailbox, trigger=SyncRun.Trigger.WEB)
    if not created:
        raise RuntimeError(f"the click mailbox already had run {run.pk}")
    ended = wait_for(
        lambda: SyncRun.objects.finished().filter(pk=run.pk).first(),
        timeout=RUN_TIMEOUT_SECONDS,
        what=f"click run {run.pk} to end",
        interval=POLL_SECONDS,
    )
    if ended.status != SyncRun.Status.SUCCEEDED or ended.started_at is None:
        raise RuntimeError(f"click run {run.pk} {ended.status}: {ended.error}")
    return (ended.started_at - ended.created_at).total_seconds()


def _ready() -> float:
    """Wait until every lane's workers report themselves; returns how long it took."""
    launched, began = timezone.now() - timedelta(seconds=1), time.monotonic()
    wait_for(
        lambda: WorkerProcess.objects.seen_since(launched).count() >= 3 * WORKERS,
        timeout=RUN_TIMEOUT_SECONDS,
        what="every lane's workers to report themselves",
        interval=0.1,
    )
    return time.monotonic() - began


def _mailbox(username: str, email: str, refresh_token: str | None = None) -> Mailbox:
    user_model = get_user_model()
    user_model.objects.filter(username=username).delete()
    user = user_model.objects.create_user(username, password=PASSWORD)
    return Mailbox.objects.create(
        owner=user, email=email, refresh_token=refresh_token or fleet_refresh_token(email)
    )
