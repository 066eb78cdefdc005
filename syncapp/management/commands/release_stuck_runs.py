"""End stuck runs from a shell, as the admin's release action does."""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from syncapp.models import SyncRun
from syncapp.runs import sync_run_release
from syncapp.worker.reaper import sync_runs_reap


class Command(BaseCommand):
    help = (
        "End runs that can no longer end by themselves (dead worker, lost task, no worker); "
        "with --run, release those active runs whatever their state."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--run", type=int, action="append", default=[], help="run id")

    def handle(self, *args, **options) -> None:
        if options["run"]:
            by = f"{getpass.getuser()} (shell)"
            for run_id in options["run"]:
                released = sync_run_release(run_id=run_id, by=by)
                state = "released" if released else "not active, left alone"
                self.stdout.write(f"run {run_id}: {state}")
            return
        report = sync_runs_reap(now=timezone.now())
        for run in SyncRun.objects.filter(pk__in=report.ended):
            self.stdout.write(f"run {run.pk} ({run.mailbox.email}): {run.error}")
        self.stdout.write(
            f"{len(report.ended)} stuck run(s) ended, {len(report.continued)} queued again, "
            f"{len(report.retried)} retry run(s) started"
        )
