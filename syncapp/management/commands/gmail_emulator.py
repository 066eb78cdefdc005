"""Serve the Gmail API emulator until SIGINT or SIGTERM; prints its base URL on one line."""

import signal
import threading

from django.core.management.base import BaseCommand, CommandParser

from syncapp.gmail.emulator import GmailEmulator


class Command(BaseCommand):
    help = "Serve a Gmail API v1 emulator with a generated mailbox until interrupted."
    # The emulator uses neither the database nor the URLconf; skipping the checks lets
    # it start quickly, and even while the app around it is half-written.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025, help="0 picks a free port")
        parser.add_argument("--messages", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--email", default="demo@example.com")
        parser.add_argument(
            "--quota-units-per-minute",
            type=float,
            default=None,
            help="per-user quota (Gmail's is 6000 for new projects); unlimited when absent",
        )
        parser.add_argument("--latency-ms", type=float, default=0)

    def handle(self, *args: object, **options: object) -> None:
        emulator = GmailEmulator(
            messages=options["messages"],
            seed=options["seed"],
            email=options["email"],
            quota_units_per_minute=options["quota_units_per_minute"],
            latency_ms=options["latency_ms"],
            host=options["host"],
            port=options["port"],
        )
        stopping = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopping.set())
        emulator.start()
        try:
            # Only the URL, so that scripts can read it with one readline().
            self.stdout.write(emulator.url)
            self.stdout.flush()
            stopping.wait()
        finally:
            emulator.stop()
