"""Push notifications end to end: from mail added in Gmail to the message stored.

One emulator process serves 10 mailboxes and POSTs a signed push message per change
(`--push-min-interval 0`: no folding by the emulator, so the app's coalescing is what
is measured) to gunicorn's /gmail/push/, which verifies it with the emulator's
certificates and starts incremental runs that `syncworkers` (lanes on) executes. The
mailboxes are synced and watched first; their periodic sync is pushed out of reach.

`push_latency_p50_s`, `push_latency_p95_s`: 200 messages added one at a time at
random moments across the 10 mailboxes (`POST /_emulator/<address>/messages`), each
timed from the emulator's answer to the moment its row is seen in the database
(polled every 20 ms).

A warm-up of one message per mailbox comes first, unmeasured: each web and worker
process's first delivery pays for imports and fetching the certificates.

`push_runs_per_notification`: then a burst, 100 messages added as fast as they can be
across the 10 mailboxes; the push runs started ÷ the notifications the app took.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.test import override_settings
from django.utils import timezone

from bench.emulator import EmulatorProcess
from bench.environment import child_env
from bench.figures import Figure
from bench.fixtures import mailbox_delete
from gmail_emulator.fleet import fleet_address, fleet_refresh_token, fleet_username
from gmail_emulator.push import DEFAULT_PUSH_EMAIL
from syncapp.models import GmailWatch, Mailbox, Message, PushCount, SyncRun
from syncapp.runs import sync_run_start
from tests.support.processes import Spawned
from tests.support.waiting import wait_for

MAILBOXES = 10
MESSAGES = 50  # in each mailbox before the benchmark adds any
ADDED = 200
BURST = 100
TOPIC = "projects/mailsync-bench/topics/gmail"
POLL_SECONDS = 0.02
READY_TIMEOUT_SECONDS = 120
STORED_TIMEOUT_SECONDS = 60
SYNCWORKERS = [sys.executable, "manage.py", "syncworkers", "--workers=2"]


def push_latency(*, spread_seconds: float, log_dir: Path) -> list[Figure]:
    """`spread_seconds`: the window the 200 additions are spread over."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}/gmail/push/"
    extra = (f"--push-endpoint={endpoint}", "--push-min-interval=0")
    with EmulatorProcess(
        messages=MESSAGES,
        seed=31,
        profile="tiny",
        mailboxes=MAILBOXES,
        extra=extra,
        log_dir=log_dir,
    ) as emulator:
        push = {
            "GMAIL_PUBSUB_TOPIC": TOPIC,
            "GOOGLE_OIDC_CERTS_URL": emulator.url + "oauth2/v1/certs",
            "GMAIL_PUSH_AUDIENCE": endpoint,
            "GMAIL_PUSH_SERVICE_ACCOUNT": DEFAULT_PUSH_EMAIL,
        }
        env = child_env(
            GMAIL_API_ENDPOINT=emulator.url,
            GOOGLE_TOKEN_URI=emulator.url + "token",
            SYNC_LANES="True",
            **push,
        )
        gunicorn = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers=2",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
            "mailsync.wsgi:application",
        ]
        owned = [_mailbox(n) for n in range(1, MAILBOXES + 1)]
        try:
            with (
                override_settings(SYNC_LANES=True, **push),
                Spawned(gunicorn, name="gunicorn", log_dir=log_dir, env=env) as web,
                Spawned(SYNCWORKERS, name="syncworkers", log_dir=log_dir, env=env) as workers,
            ):
                try:
                    _wait_serving(web, port)
                    _sync_and_watch(owned)
                    # Each process's first delivery (imports, certificates) is not measured.
                    _latencies(emulator.url, owned, spread_seconds=2, count=len(owned))
                    latencies = _latencies(emulator.url, owned, spread_seconds=spread_seconds)
                    waits = _queue_waits(owned)
                    runs, notifications = _burst(emulator.url, owned)
                    statuses = emulator.push_statuses()
                finally:
                    workers.stop(grace=30)
        finally:
            for mailbox in owned:
                mailbox_delete(mailbox)
    cuts = statistics.quantiles(latencies, n=20)
    note = (
        f"{len(latencies)} messages over {spread_seconds:.0f} s across {MAILBOXES} mailboxes: "
        f"min {min(latencies):.2f} s, max {max(latencies):.2f} s; {len(waits)} push runs "
        f"waited {statistics.median(w for w, _ in waits):.2f} s (median), "
        f"{max(w for w, _ in waits):.2f} s (max) for a worker and took "
        f"{statistics.median(t for _, t in waits):.2f} s (median), "
        f"{max(t for _, t in waits):.2f} s (max); deliveries answered {statuses}"
    )
    burst_note = f"{BURST} messages at once: {runs} runs for {notifications} notifications"
    return [
        Figure("push_latency_p50_s", round(statistics.median(latencies), 3), note),
        Figure("push_latency_p95_s", round(cuts[18], 3), note),
        Figure("push_runs_per_notification", round(runs / max(notifications, 1), 3), burst_note),
    ]


def _mailbox(number: int) -> Mailbox:
    user_model = get_user_model()
    username = fleet_username(number)
    user_model.objects.filter(username=username).delete()
    user = user_model.objects.create_user(username, password=username)
    email = fleet_address(number)
    return Mailbox.objects.create(
        owner=user, email=email, refresh_token=fleet_refresh_token(email)
    )


def _sync_and_watch(owned: list[Mailbox]) -> None:
    """A first sync of each (which watches it), then no periodic sync within reach."""
    runs = [
        sync_run_start(mailbox=m, kind=SyncRun.Kind.FULL, trigger=SyncRun.Trigger.SCHEDULE)[0]
        for m in owned
    ]
    wait_for(
        lambda: (
            SyncRun.objects.filter(pk__in=[r.pk for r in runs]).finished().count() == len(runs)
        ),
        timeout=READY_TIMEOUT_SECONDS,
        what="the first syncs",
    )
    failed = SyncRun.objects.filter(pk__in=[r.pk for r in runs]).exclude(
        status=SyncRun.Status.SUCCEEDED
    )
    if failed.exists():
        raise RuntimeError(f"first syncs failed: {[r.error for r in failed]}")
    live = GmailWatch.objects.live(now=timezone.now()).filter(mailbox__in=owned).count()
    if live != len(owned):
        raise RuntimeError(f"{live} of {len(owned)} mailboxes watched")
    Mailbox.objects.filter(pk__in=[m.pk for m in owned]).update(
        next_sync_at=timezone.now() + timedelta(days=1)
    )


def _latencies(
    url: str, owned: list[Mailbox], *, spread_seconds: float, count: int = ADDED
) -> list[float]:
    rng = random.Random(31)
    moments = sorted(rng.uniform(0, spread_seconds) for _ in range(count))
    added: dict[str, float] = {}
    seen: dict[str, float] = {}
    began = time.monotonic()
    for moment in moments:
        while time.monotonic() - began < moment:
            _see(owned, added, seen)
            time.sleep(POLL_SECONDS)
        [message_id] = _add(url, rng.choice(owned).email, 1)
        added[message_id] = time.monotonic()
    wait_for(
        lambda: _see(owned, added, seen) or len(seen) == len(added),
        timeout=STORED_TIMEOUT_SECONDS,
        what="every added message to be stored",
        interval=POLL_SECONDS,
    )
    return [seen[i] - added[i] for i in added]


def _queue_waits(owned: list[Mailbox]) -> list[tuple[float, float]]:
    """How long each push run waited for a worker (created -> started), and then took."""
    runs = SyncRun.objects.filter(mailbox__in=owned, trigger=SyncRun.Trigger.PUSH)
    return [
        ((started - created).total_seconds(), (finished - started).total_seconds())
        for created, started, finished in runs.values_list(
            "created_at", "started_at", "finished_at"
        )
        if started is not None and finished is not None
    ] or [(0.0, 0.0)]


def _see(owned: list[Mailbox], added: dict[str, float], seen: dict[str, float]) -> None:
    waiting = [i for i in added if i not in seen]
    if not waiting:
        return
    now = time.monotonic()
    stored = Message.objects.filter(mailbox__in=owned, gmail_id__in=waiting)
    for gmail_id in stored.values_list("gmail_id", flat=True):
        seen[gmail_id] = now


def _burst(url: str, owned: list[Mailbox]) -> tuple[int, int]:
    """(runs started by push, notifications taken) for BURST messages added at once."""
    since = timezone.now()
    counted_before = _notifications()
    runs_before = SyncRun.objects.filter(trigger=SyncRun.Trigger.PUSH).count()
    ids = [i for n in range(BURST) for i in _add(url, owned[n % len(owned)].email, 1)]
    stored = Message.objects.filter(mailbox__in=owned, gmail_id__in=ids)
    wait_for(lambda: stored.count() == len(ids), timeout=STORED_TIMEOUT_SECONDS, what="the burst")
    wait_for(
        lambda: not SyncRun.objects.active().filter(created_at__gte=since).exists(),
        timeout=STORED_TIMEOUT_SECONDS,
        what="the burst's runs to end",
    )
    runs = SyncRun.objects.filter(trigger=SyncRun.Trigger.PUSH).count() - runs_before
    return runs, _notifications() - counted_before


def _notifications() -> int:
    return PushCount.objects.aggregate(total=Sum("notifications"))["total"] or 0


def _add(url: str, email: str, count: int) -> list[str]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("POST", f"/_emulator/{email}/messages?count={count}")
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"adding mail to {email}: HTTP {response.status} {body!r}")
    return [m["id"] for m in json.loads(body)["messages"]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_serving(server: Spawned, port: int) -> None:
    def serving() -> bool:
        if not server.running():
            raise RuntimeError(f"gunicorn ended: {server.output()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/health/")
            connection.getresponse().read()
            connection.close()
        except OSError:
            return False
        return True

    wait_for(serving, timeout=READY_TIMEOUT_SECONDS, what="gunicorn to answer")
