"""Many syncs over several mailboxes while workers die and Gmail misbehaves; then the bill.

Starts its own Gmail emulator and `qcluster` subprocesses (each in its own process
group), keeps starting syncs, and at random kills -9 a cluster and restarts it, changes
the mailboxes (new, deleted and relabelled messages) and injects faults (429 bursts, 500s,
dropped connections). Then it stops the chaos, lets every run end, runs a final
incremental sync of each mailbox in this process and compares the database with Gmail.

It uses the configured database: point DATABASE_URL at a throwaway one (and `migrate`).
Its mailboxes belong to users named chaos-*, whose data from an earlier run is deleted.
Exit status 1 when a message is lost or duplicated, the database does not end equal to
Gmail, or a run never ended.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection
from django.db.models import Count
from django.test.utils import override_settings
from django.utils import timezone

from syncapp.gmail.emulator import GmailEmulator
from syncapp.models import Mailbox, Message, SyncRun
from syncapp.queue import use_queue
from syncapp.runs import sync_run_start
from syncapp.worker.execute import sync_run_execute

USER_PREFIX = "chaos-"
# Short timings, shared by this process and its clusters, so that dead runs end in seconds.
TIMINGS = {
    "SYNC_HEARTBEAT_SECONDS": 1,
    "SYNC_STALE_SECONDS": 4,
    "SYNC_QUEUE_GRACE_SECONDS": 5,
    "SYNC_QUEUE_TIMEOUT_SECONDS": 30,
    "SYNC_RETRY_DELAY_SECONDS": 1,
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
# How many of each kind of difference between the database and Gmail are shown.
EXAMPLES = 5
LABELS = ["INBOX", "UNREAD", "STARRED", "IMPORTANT", "Label_1", "Label_2", "Label_3"]


class Command(BaseCommand):
    help = (
        "Run many syncs through real workers while killing them and injecting Gmail faults, "
        "then print what happened. Uses the configured database: use a throwaway one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--minutes", type=float, default=3.0, help="how long the chaos lasts")
        parser.add_argument("--mailboxes", type=int, default=4)
        parser.add_argument("--messages", type=int, default=300, help="per mailbox at start")
        parser.add_argument("--clusters", type=int, default=2)
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument(
            "--log-dir", type=Path, default=None, help="keep the workers' logs here"
        )

    def handle(self, *args, **options) -> None:
        if connection.vendor == "sqlite" and _is_memory(connection.settings_dict["NAME"]):
            raise CommandError("The workers must share the database: use a file or PostgreSQL.")
        if options["minutes"] <= 0 or min(options["mailboxes"], options["clusters"]) < 1:
            raise CommandError("--minutes must be above 0, --mailboxes and --clusters at least 1")
        seed = options["seed"] if options["seed"] is not None else random.randrange(10**6)
        chaos = Chaos(
            seed=seed,
            mailboxes=options["mailboxes"],
            messages=options["messages"],
            clusters=options["clusters"],
            log_dir=options["log_dir"],
            write=self.stdout.write,
        )
        previous_sigterm = _interrupt_on_sigterm()
        try:
            with chaos:
                self.stdout.write(
                    f"chaos: seed {seed}, {options['mailboxes']} mailboxes of "
                    f"{options['messages']} messages, {options['clusters']} clusters, "
                    f"{options['minutes']:g} min; worker logs in {chaos.log_dir}"
                )
                chaos.run_for(seconds=options["minutes"] * 60)
                chaos.settle(timeout=SETTLE_SECONDS)
                chaos.stop_clusters()
                chaos.final_syncs()
                report = chaos.report()
        except KeyboardInterrupt:
            raise CommandError("interrupted; every worker was stopped", returncode=130) from None
        finally:
            if previous_sigterm is not None:
                signal.signal(signal.SIGTERM, previous_sigterm)
        for line in report.lines():
            self.stdout.write(line)
        if not report.ok:
            raise CommandError(
                f"chaos found a problem (see above; worker logs in {chaos.log_dir})", returncode=1
            )
        if options["log_dir"] is None:
            shutil.rmtree(chaos.log_dir, ignore_errors=True)


class Cluster:
    """A `manage.py qcluster` in its own process group, so kill -9 takes all of it."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "qcluster"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        # The whole group, even when its leader is gone: its workers may outlive it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=15)
        self._log.close()


@dataclass
class Actions:
    sync_requests: int = 0
    joined_active: int = 0
    kills: int = 0
    added: int = 0
    deleted: int = 0
    relabelled: int = 0
    faults: int = 0
    driver_database_errors: int = 0


class Chaos:
    def __init__(
        self,
        *,
        seed: int,
        mailboxes: int,
        messages: int,
        clusters: int,
        log_dir: Path | None,
        write: Callable[[str], None],
    ) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.mailbox_count = mailboxes
        self.message_count = messages
        self.cluster_count = clusters
        self.write = write
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="mailsync-chaos-"))
        self.queue = f"mailsync-chaos-{uuid.uuid4().hex[:10]}"
        self.emulator = GmailEmulator(messages=messages, seed=seed, email=_email(0), latency_ms=25)
        self.clusters: list[Cluster | None] = []
        self.restarts: dict[int, float] = {}
        self.mailboxes: list[Mailbox] = []
        self.actions = Actions()
        self.final_runs: list[SyncRun] = []
        self.still_active_after_settling = 0
        self._queue = contextlib.ExitStack()
        self._settings: override_settings | None = None

    # -- lifecycle ----------------------------------------------------------------

    def __enter__(self) -> Chaos:
        try:
            self.emulator.start()
            # This process starts runs and makes the final syncs: same timings and Gmail.
            self._settings = override_settings(
                **TIMINGS,
                GMAIL_API_ENDPOINT=self.emulator.url,
                GOOGLE_TOKEN_URI=self.emulator.url + "token",
            )
            self._settings.enable()
            self._queue.enter_context(use_queue(self.queue))
            self.mailboxes = self._create_mailboxes()
            for index in range(self.cluster_count):
                self.clusters.append(self._start_cluster(index))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Kill every child, whatever happened; then stop the emulator."""
        self.stop_clusters()
        try:
            self._queue.close()
        finally:
            if self._settings is not None:
                self._settings.disable()
                self._settings = None
            self.emulator.stop()

    def stop_clusters(self) -> None:
        for cluster in self.clusters:
            if cluster is not None:
                cluster.kill()
        self.clusters = [None] * len(self.clusters)
        self.restarts.clear()

    def _create_mailboxes(self) -> list[Mailbox]:
        users = get_user_model().objects.filter(username__startswith=USER_PREFIX)
        Mailbox.objects.filter(owner__in=users).delete()
        mailboxes = []
        for index in range(self.mailbox_count):
            email = _email(index)
            if index:
                self.emulator.add_mailbox(
                    email, messages=self.message_count, seed=self.seed + index
                )
            user, _ = get_user_model().objects.get_or_create(username=f"{USER_PREFIX}{index}")
            access_token, refresh_token = self.emulator.issue_tokens(email)
            mailboxes.append(
                Mailbox.objects.create(
                    owner=user, email=email, access_token=access_token, refresh_token=refresh_token
                )
            )
        return mailboxes

    def _start_cluster(self, index: int) -> Cluster:
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "TEST_DATABASE_NAME": "",
            "SECRET_KEY": settings.SECRET_KEY,
            "DEBUG": str(bool(settings.DEBUG)),
            "GMAIL_API_ENDPOINT": self.emulator.url,
            "GOOGLE_TOKEN_URI": self.emulator.url + "token",
            "Q_CLUSTER_NAME": self.queue,
            "REDIS_URL": settings.REDIS_URL,
            "Q_WORKERS": "2",
            **{name: str(value) for name, value in TIMINGS.items()},
        }
        return Cluster(env, self.log_dir / f"qcluster-{index}.log")

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
        alive = [i for i, cluster in enumerate(self.clusters) if cluster and cluster.alive]
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
            if cluster is not None and not cluster.alive and index not in self.restarts:
                # Died by itself: that is a finding too, but keep going.
                self.write(f"chaos: cluster {index} exited by itself; restarting it")
                cluster.kill()
                self.clusters[index] = self._start_cluster(index)

    # -- the end --------------------------------------------------------------------

    def settle(self, *, timeout: float) -> None:
        """Stop the chaos, make sure every cluster runs, and wait for every run to end."""
        self.emulator.faults.clear()
        for index, cluster in enumerate(self.clusters):
            if cluster is None or not cluster.alive:
                self.clusters[index] = self._start_cluster(index)
        self.restarts.clear()
        deadline = time.monotonic() + timeout
        runs = SyncRun.objects.filter(mailbox__in=self.mailboxes)
        while time.monotonic() < deadline:
            try:
                pending = runs.active().exists() or runs.filter(retry_at__isnull=False).exists()
            except DatabaseError:
                connection.close()
                pending = True
            if not pending:
                return
            time.sleep(0.5)
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
            self._compare(mailbox, report)
        return report

    def _compare(self, mailbox: Mailbox, report: Report) -> None:
        expected = self.emulator.mailbox(mailbox.email).snapshot()
        stored = dict(Message.objects.filter(mailbox=mailbox).values_list("gmail_id", "label_ids"))
        lost = expected.keys() - stored.keys()
        not_deleted = stored.keys() - expected.keys()
        mismatched = [
            gmail_id
            for gmail_id, want in expected.items()
            if gmail_id in stored and sorted(stored[gmail_id]) != want["label_ids"]
        ]
        report.messages += len(expected)
        report.lost += len(lost)
        report.not_deleted += len(not_deleted)
        report.mismatched_labels += len(mismatched)
        for gmail_id in sorted(lost)[:EXAMPLES]:
            report.examples.append(f"{mailbox.email}: {gmail_id} lost")
        for gmail_id in sorted(not_deleted)[:EXAMPLES]:
            report.examples.append(f"{mailbox.email}: {gmail_id} deleted in Gmail, still stored")
        for gmail_id in mismatched[:EXAMPLES]:
            report.examples.append(
                f"{mailbox.email}: {gmail_id} labels {sorted(stored[gmail_id])} "
                f"in the database, {expected[gmail_id]['label_ids']} in Gmail"
            )
        twice = (
            Message.objects.filter(mailbox=mailbox)
            .values("gmail_id")
            .annotate(copies=Count("id"))
            .filter(copies__gt=1)
        )
        report.duplicated += sum(row["copies"] - 1 for row in twice)


@dataclass
class Report:
    seed: int
    actions: Actions
    runs_started: Counter
    succeeded: int
    failed: Counter
    still_active: int
    final_failed: int
    longest: timedelta = timedelta(0)
    longest_run: int | None = None
    messages: int = 0
    lost: int = 0
    duplicated: int = 0
    not_deleted: int = 0
    mismatched_labels: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.not_deleted
            or self.mismatched_labels
            or self.still_active
            or self.final_failed
        )

    def lines(self) -> list[str]:
        a = self.actions
        started = sum(self.runs_started.values())
        by_trigger = ", ".join(f"{t} {n}" for t, n in sorted(self.runs_started.items()))
        failed = sum(self.failed.values())
        by_failure = ", ".join(f"{f} {n}" for f, n in self.failed.most_common()) or "none"
        return [
            f"seed: {self.seed}",
            f"sync requests: {a.sync_requests} ({a.joined_active} joined an active run)",
            f"clusters killed: {a.kills}; faults injected: {a.faults}; mailbox changes: "
            f"{a.added} added, {a.deleted} deleted, {a.relabelled} relabelled",
            f"runs started: {started} ({by_trigger})",
            f"runs succeeded: {self.succeeded}",
            f"runs failed: {failed} ({by_failure})",
            f"runs still active after settling: {self.still_active}",
            f"longest time non-terminal: {self.longest.total_seconds():.1f}s"
            + (f" (run {self.longest_run})" if self.longest_run else ""),
            f"final syncs failed: {self.final_failed}",
            f"messages in Gmail: {self.messages}",
            f"messages lost: {self.lost}",
            f"messages duplicated: {self.duplicated}",
            f"messages deleted in Gmail but still stored: {self.not_deleted}",
            f"messages with mismatched labels: {self.mismatched_labels}",
            f"driver database errors: {a.driver_database_errors}",
            *(f"  {example}" for example in self.examples),
            "result: " + ("OK" if self.ok else "PROBLEM"),
        ]


def _email(index: int) -> str:
    return f"chaos-{index}@example.com"


def _is_memory(name: object) -> bool:
    return str(name) in (":memory:", "") or "mode=memory" in str(name)


def _database_url() -> str:
    """The URL of the database this process uses, for the clusters that must share it."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    if connection.vendor != "postgresql":
        raise CommandError(f"chaos supports SQLite and PostgreSQL, not {connection.vendor}")
    user = quote(db.get("USER") or "postgres", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def _interrupt_on_sigterm():
    """Turn SIGTERM into KeyboardInterrupt so that clean-up runs; None off the main thread."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, interrupt)
    except ValueError:
        return None
