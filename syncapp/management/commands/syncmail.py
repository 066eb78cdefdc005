"""Sync mailboxes from a shell, through the same run lifecycle as the web."""

from __future__ import annotations

import getpass
import time
from contextlib import ExitStack
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from syncapp.figures import RunFigures
from syncapp.mailboxes import MailboxNeedsReconnect, NoSuchMailbox, mailboxes_named
from syncapp.models import Mailbox, Message, RunKind, SyncRun
from syncapp.runs import sync_run_start
from syncapp.stopping import RunAlreadyEnded, sync_run_cancel
from syncapp.worker.execute import sync_run_execute

FOLLOW_POLL_SECONDS = 0.5
# What a shell returns for a command stopped by Ctrl-C (128 + SIGINT).
CANCELLED_STATUS = 130


class Command(BaseCommand):
    help = "Sync Gmail mailboxes into the database (in this process, or through the workers)."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--user", help="sync every mailbox of this username")
        which.add_argument("--email", help="sync the mailbox with this address")
        which.add_argument("--all", action="store_true", help="sync every connected mailbox")
        parser.add_argument("--full", action="store_true", help="copy everything again")
        parser.add_argument(
            "--enqueue", action="store_true", help="hand the run to the workers and return"
        )
        parser.add_argument(
            "--wait", action="store_true", help="follow a queued or already active run to its end"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        mailboxes = self._mailboxes(options)
        kind = SyncRun.Kind.FULL if options["full"] else SyncRun.Kind.INCREMENTAL
        failed = 0
        for mailbox in mailboxes:
            try:
                run = self._sync(mailbox, kind=kind, options=options)
            except MailboxNeedsReconnect as exc:
                self.stderr.write(f"{mailbox.email}: skipped. {exc}")
                failed += 1
                continue
            if run is not None and run.status == SyncRun.Status.FAILED:
                failed += 1
        if failed:
            raise CommandError(f"{failed} of {len(mailboxes)} mailbox(es) failed", returncode=1)

    def _mailboxes(self, options: dict[str, Any]) -> list[Mailbox]:
        try:
            mailboxes = mailboxes_named(username=options["user"], email=options["email"])
        except NoSuchMailbox as exc:
            raise CommandError(str(exc)) from None
        found = list(mailboxes.select_related("owner"))
        if not found:
            raise CommandError("No mailbox matches; connect one first")
        return found

    def _sync(self, mailbox: Mailbox, *, kind: RunKind, options: dict[str, Any]) -> SyncRun | None:
        run, created = sync_run_start(
            mailbox=mailbox,
            kind=kind,
            trigger=SyncRun.Trigger.CLI,
            enqueue=options["enqueue"],
        )
        if not created:
            self.stdout.write(
                f"{mailbox.email}: run {run.pk} is already {run.get_status_display().lower()}"
            )
            return self._follow(run) if options["wait"] else None
        if options["enqueue"]:
            self.stdout.write(f"{mailbox.email}: run {run.pk} queued for the workers")
            return self._follow(run) if options["wait"] else None
        try:
            with self._bar(mailbox) as bar:
                # In the foreground the whole run is one slice: no task timeout to stay under.
                finished = sync_run_execute(run_id=run.pk, observer=bar.show, slice_seconds=0)
        except KeyboardInterrupt:
            self._cancel(run)
        if finished is None:
            # A worker took it between our insert and our claim.
            return self._follow(run)
        self._summary(finished)
        return finished

    def _follow(self, run: SyncRun) -> SyncRun:
        try:
            with self._bar(run.mailbox) as bar:
                while True:
                    run.refresh_from_db()
                    bar.show(RunFigures(processed=run.processed, total=run.total))
                    if not run.is_active:
                        break
                    time.sleep(FOLLOW_POLL_SECONDS)
        except KeyboardInterrupt:
            self._cancel(run)
        self._summary(run)
        return run

    def _cancel(self, run: SyncRun) -> None:
        """Ctrl-C: the run ends cancelled (whichever process runs it), and so does the command."""
        try:
            run = sync_run_cancel(run=run, by=f"{getpass.getuser()} (Ctrl-C in syncmail)")
        except RunAlreadyEnded:
            self._summary(run)
            raise CommandError("Interrupted after the run had ended", returncode=1) from None
        kept = Message.objects.filter(mailbox_id=run.mailbox_id).count()
        raise CommandError(
            f"{run.mailbox.email}: run {run.pk} cancelled; the {kept} message(s) stored are kept",
            returncode=CANCELLED_STATUS,
        ) from None

    def _bar(self, mailbox: Mailbox) -> _ProgressBar:
        # tqdm draws with carriage returns: it needs the raw stream, which
        # OutputWrapper would end with a newline on every write.
        raw: TextIO = self.stdout._out  # type: ignore[assignment]  # _out is not in the stubs
        return _ProgressBar(mailbox.email, enabled=self.stdout.isatty(), stream=raw)

    def _summary(self, run: SyncRun) -> None:
        # Runs come here ended, and an ended run has finished_at (a CHECK constraint).
        # Not quite always: when sync_run_execute could not record a failure, its run
        # comes back RUNNING; this line failed for it before the assert as well.
        assert run.finished_at is not None
        seconds = (run.finished_at - (run.started_at or run.created_at)).total_seconds()
        if run.status == SyncRun.Status.SUCCEEDED:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{run.mailbox.email}: run {run.pk} succeeded in {seconds:.1f}s: "
                    f"{run.processed} processed, {run.new_count} new, "
                    f"{run.updated_count} updated, {run.deleted_count} deleted"
                )
            )
        else:
            self.stderr.write(f"{run.mailbox.email}: run {run.pk} failed: {run.error}")


class _ProgressBar:
    """A terminal bar when a person is watching; nothing in logs and pipes.

    While it shows, log lines to the console are written above it, each on its own
    line, instead of into it.
    """

    def __init__(self, label: str, *, enabled: bool, stream: TextIO) -> None:
        self._bar = tqdm(desc=label, unit="msg", total=0, file=stream, disable=not enabled)
        self._enabled = enabled
        self._logs = ExitStack()

    def __enter__(self) -> _ProgressBar:
        if self._enabled:
            self._logs.enter_context(logging_redirect_tqdm())
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._bar.close()
        self._logs.close()

    def show(self, progress: RunFigures) -> None:
        self._bar.total = max(progress.total, progress.processed)
        self._bar.n = progress.processed
        self._bar.refresh()
