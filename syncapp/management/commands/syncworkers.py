"""Start this host's sync worker clusters, one per lane, until SIGTERM or SIGINT."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from syncapp.worker.supervisor import AnotherHostOnSQLite, Supervisor, refuse_second_sqlite_host


class Command(BaseCommand):
    help = "Start this host's sync worker clusters, one per lane, and stop them together."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--workers", type=int, default=settings.Q_WORKERS, help="worker processes per lane"
        )
        parser.add_argument(
            "--lanes",
            default=",".join(settings.SYNC_LANE_NAMES),
            help=f"comma-separated, of {', '.join(settings.SYNC_LANE_NAMES)} (default: all)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        lanes = [lane.strip() for lane in options["lanes"].split(",") if lane.strip()]
        unknown = sorted(set(lanes) - set(settings.SYNC_LANE_NAMES))
        if unknown or not lanes:
            raise CommandError(f"Unknown lane(s): {', '.join(unknown) or 'none given'}")
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        try:
            refuse_second_sqlite_host()
        except AnotherHostOnSQLite as exc:
            raise CommandError(str(exc)) from None
        stopping = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopping.set())
        supervisor = Supervisor(lanes=lanes, workers=options["workers"])
        supervisor.start()
        for lane, queue in supervisor.queues.items():
            self.stdout.write(f"{lane}: {options['workers']} worker(s) on queue {queue}")
        self.stdout.flush()
        if supervisor.run_until(stopping):
            raise CommandError("A cluster exited by itself; every cluster was stopped.")
