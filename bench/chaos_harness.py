"""The chaos itself: real workers killed, Gmail misbehaving, mailboxes changing; then the bill.

`chaos_run()` starts a Gmail emulator (in this process) and `qcluster` processes, keeps
starting syncs, and at random kills -9 a cluster and restarts it, changes the mailboxes
(new, deleted and relabelled messages) and injects faults (429 bursts, 500s, dropped
connections). Then it stops the chaos, lets every run end, runs a final incremental sync
of each mailbox in this process and compares the database with Gmail.

It needs Django set up on a database of its own that its clusters can share (a file or
PostgreSQL): `python -m bench.chaos` makes one; the tests use theirs.
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection
from django.test.utils import override_settings
from django.utils import timezone

from bench.chaos_report import Actions, Report
from gmail_emulator import GmailEmulator
from syncapp.models import Mailbox, SyncRun
from syncapp.queue import use_queue
from syncapp.runs import sync_run_start
from syncapp.worker.execute import sync_run_execute
from tests.support.processes import FAST_TIMINGS, QCLUSTER, Spawned, cluster_env
from tests.support.waiting import wait_for

# Short timings, shared by this process and its clusters, so that dead runs end in seconds.
TIMINGS = {
    **FAST_TIMINGS,
    # Clusters come back a few seconds after a kill: a run waits that long for one
    # before its task counts as lost.
    "SYNC_QUEUE_GRACE_SECONDS": 5,
    "SYNC_QUEUE_TIMEOUT_SECONDS": 30,
    "SYNC_MAX_RETRIES": 3,
    "GMAIL_BATCH_SIZE": 10,
    "GMAIL_REQUEST_TIMEOUT_SECONDS": 5,
    "GMAIL_RETRY_BUDGET_SECONDS": 20,
    "GMAIL_QUOTA_UNITS_PER_MINUTE": 6_000_000,
}
TICK_SECONDS = 0.2
KILL_EVERY_SECONDS = (3.0, 8.0)
RESTART_AFTER_SECONDS = (0.5, 3.0)
SETTLE_SECONDS = 90
WORKERS_PER_CLUSTER = 2
LABELS = ["INBOX", "UNREAD", "STARRED", "IMPORTANT", "Label_1", "Label_2", "Label_3"]


def chaos_run(
    *,
    seed: int,
    mailboxes: int,
    messages: int,
    clusters: int,
    seconds: float,
    log_dir: Path,
    write: Callable[[str], None],
) -> Report:
    """The whole chaos, from the first cluster started to the verdict; every child stopped."""
    with Chaos(
        seed=seed,
        mailboxes=mailboxes,
        messages=messages,
        clusters=clusters,
        log_dir=log_dir,
        write=write,
    ) as chaos:
        chaos.run_for(seconds=seconds)
        chaos.settle(timeout=SETTLE_SECONDS)
        chaos.stop_clusters()
        chaos.final_syncs()
        return chaos.report()


class Chaos:
    def __init__(
        self,
        *,
        seed: int,
        mailboxes: int,
        messages: int,
        clusters: int,
        log_dir: Path,
        write: Callable[[str], None],
    ) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.mailbox_count = mailboxes
        self.message_count = messages
        self.cluster_count = clusters
        self.log_dir = log_dir
        self.write = write
        self.queue = f"mailsync-chaos-{uuid.uuid4().hex[:10]}"
        # Small mail: chaos is about faults; Gmail's concurrency limit and call times stay on.
        self.emulator = GmailEmulator(
            messages=messages, seed=seed, profile="tiny", email=_email(0), latency_ms=25
        )
        self.clusters: list[Spawned | None] = []
        self.restarts: dict[int, float] = {}
        self.mailboxes: list[Mailbox] = []
        self.actions = Actions()
        self.final_runs: list[SyncRun] = []
        self.still_active_after_settling = 0
        self._context = contextlib.ExitStack()

    # -- lifecycle ----------------------------------------------------------------

    def __enter__(self) -> Chaos:
        with self._context as context:
            self.emulator.start()
            context.callback(self.emulator.stop)
            # This process starts runs and makes the final syncs: same timings and Gmail.
            context.enter_context(
                override_settings(
                    **TIMINGS,
                    GMAIL_API_ENDPOINT=self.emulator.url,
                    GOOGLE_TOKEN_URI=self.emulator.url + "token",
                )
            )
            context.enter_context(use_queue(self.queue))
            # Registered last, so run first: every child is killed before the rest ends.
            context.callback(self.stop_clusters)
            self.mailboxes = self._create_mailboxes()
            for index in range(self.cluster_count):
                self.clusters.append(self._start_cluster(index))
            self._context = context.pop_all()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Kill every child, whatever happened; then stop the emulator."""
        self._context.close()

    def stop_clusters(self) -> None:
        for cluster in self.clusters:
            if cluster is not None:
                cluster.kill()
        self.clusters = [None] * len(self.clusters)
        self.restarts.clear()

    def _create_mailboxes(self) -> list[Mailbox]:
        mailboxes = []
        for index in range(self.mailbox_count):
            email = _email(index)
            if index:
                self.emulator.add_mailbox(
                    email, messages=self.message_count, seed=self.seed + index
                )
            user = get_user_model().objects.create(username=f"chaos-{index}")
            access_token, refresh_token = self.emulator.issue_tokens(email)
            mailboxes.append(
                Mailbox.objects.create(
                    owner=user, email=email, access_token=access_token, refresh_token=refresh_token
                )
            )
        return mailboxes

    def _start_cluster(self, index: int) -> Spawned:
        env = cluster_env(
            queue=self.queue,
            redis_url=settings.REDIS_URL,
            workers=WORKERS_PER_CLUSTER,
            # The workers' logs are what a PROBLEM is diagnosed from.
            LOG_LEVEL="INFO",
        )
        return Spawned(QCLUSTER, name=f"qcluster-{index}", log_dir=self.log_dir, env=env).start()

    # -- the chaos ----------------------------------------------------------------

    def run_for(self, *, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        next_kill = time.monotonic() + self.rng.uniform(*KILL_EVERY_SECONDS)
        while time.monotonic() < deadline:
            now = time.monotonic()
            self._restart_due(now)
            if now >= next_kill:
                self._kill_one(now)
                next_kill = now + self.rng.uniform(*KILL_EVERY_SECONDS)
            try:
                self.step()
            except DatabaseError:
                # SQLite busy under many writers, say; the chaos goes on.
                self.actions.driver_database_errors += 1
                connection.close()
            time.sleep(TICK_SECONDS)

    def step(self) -> None:
        """One random act: start a sync, change a mailbox, or make Gmail misbehave."""
        roll = self.rng.random()
        if roll < 0.35:
            self._start_sync()
        elif roll < 0.65:
            self._mutate()
        elif roll < 0.72:
            self._inject_fault()

    def _start_sync(self) -> None:
        mailbox = self.rng.choice(self.mailboxes)
        trigger = self.rng.choice([SyncRun.Trigger.WEB, SyncRun.Trigger.SCHEDULE])
        kind = SyncRun.Kind.FULL if self.rng.random() < 0.1 else SyncRun.Kind.INCREMENTAL
        self.actions.sync_requests += 1
        _, created = sync_run_start(mailbox=mailbox, kind=kind, trigger=trigger)
        if not created:
            self.actions.joined_active += 1

    def _mutate(self) -> None:
        gmail = self.emulator.mailbox(self.rng.choice(self.mailboxes).email)
        ids = gmail.message_ids()
        roll = self.rng.random()
        if roll < 0.35 or not ids:
            self.actions.added += len(gmail.add_messages(self.rng.randint(1, 5)))
        elif roll < 0.6:
            for gmail_id in self.rng.sample(ids, min(len(ids), self.rng.randint(1, 3))):
                gmail.delete_message(gmail_id)
                self.actions.deleted += 1
        else:
            for gmail_id in self.rng.sample(ids, min(len(ids), self.rng.randint(1, 4))):
                gmail.modify_labels(
                    gmail_id,
                    add=self.rng.sample(LABELS, self.rng.randint(0, 2)),
                    remove=self.rng.sample(LABELS, self.rng.randint(0, 2)),
                )
                self.actions.relabelled += 1

    def _inject_fault(self) -> None:
        faults = self.emulator.faults
        self.actions.faults += 1
        kind = self.rng.choice(["429", "500", "drop", "calm"])
        if kind == "429":
            faults.rate_limit_next(self.rng.randint(3, 20))
        elif kind == "500":
            faults.error_rate = self.rng.choice([0.02, 0.05, 0.1])
        elif kind == "drop":
            faults.drop_rate = self.rng.choice([0.01, 0.03, 0.05])
        else:
            faults.clear()

    def _kill_one(self, now: float) -> None:
        alive = [i for i, cluster in enumerate(self.clusters) if cluster and cluster.running()]
        if not alive:
            return
        index = self.rng.choice(alive)
        self.clusters[index].kill()
        self.clusters[index] = None
        self.actions.kills += 1
        self.restarts[index] = now + self.rng.uniform(*RESTART_AFTER_SECONDS)

    def _restart_due(self, now: float) -> None:
        for index, due in list(self.restarts.items()):
            if now >= due:
                del self.restarts[index]
                self.clusters[index] = self._start_cluster(index)
        for index, cluster in enumerate(self.clusters):
            if cluster is not None and not cluster.running() and index not in self.restarts:
                # Died by itself: that is a finding too, but keep going.
                self.write(f"chaos: cluster {index} exited by itself; restarting it")
                cluster.kill()
                self.clusters[index] = self._start_cluster(index)

    # -- the end --------------------------------------------------------------------

    def settle(self, *, timeout: float) -> None:
        """Stop the chaos, make sure every cluster runs, and wait for every run to end."""
        self.emulator.faults.clear()
        for index, cluster in enumerate(self.clusters):
            if cluster is None or not cluster.running():
                self.clusters[index] = self._start_cluster(index)
        self.restarts.clear()
        runs = SyncRun.objects.filter(mailbox__in=self.mailboxes)

        def settled() -> bool:
            try:
                return not (runs.active().exists() or runs.filter(retry_at__isnull=False).exists())
            except DatabaseError:
                connection.close()
                return False

        try:
            wait_for(settled, timeout=timeout, what="every run to end", interval=0.5)
        except TimeoutError:
            self.still_active_after_settling = runs.active().count()

    def final_syncs(self) -> None:
        """One last incremental sync of each mailbox, in this process, with Gmail calm."""
        for mailbox in self.mailboxes:
            mailbox.refresh_from_db()
            for _ in range(3):
                run, created = sync_run_start(
                    mailbox=mailbox, trigger=SyncRun.Trigger.CLI, enqueue=False
                )
                finished = sync_run_execute(run_id=run.pk) if created else None
                if finished is not None and finished.status == SyncRun.Status.SUCCEEDED:
                    break
                time.sleep(TIMINGS["SYNC_STALE_SECONDS"])
            self.final_runs.append(SyncRun.objects.get(pk=run.pk))

    def report(self) -> Report:
        final_ids = [run.pk for run in self.final_runs]
        runs = SyncRun.objects.filter(mailbox__in=self.mailboxes).exclude(pk__in=final_ids)
        report = Report(
            seed=self.seed,
            actions=self.actions,
            runs_started=Counter(runs.values_list("trigger", flat=True)),
            succeeded=runs.filter(status=SyncRun.Status.SUCCEEDED).count(),
            failed=Counter(
                runs.filter(status=SyncRun.Status.FAILED).values_list("failure", flat=True)
            ),
            still_active=self.still_active_after_settling,
            final_failed=sum(r.status != SyncRun.Status.SUCCEEDED for r in self.final_runs),
        )
        now = timezone.now()
        for run in runs.only("pk", "created_at", "finished_at"):
            waited = (run.finished_at or now) - run.created_at
            if waited > report.longest:
                report.longest, report.longest_run = waited, run.pk
        for mailbox in self.mailboxes:
            report.compare(mailbox, self.emulator.mailbox(mailbox.email).snapshot())
        return report


def _email(index: int) -> str:
    return f"chaos-{index}@example.com"
