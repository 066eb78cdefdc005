"""`manage.py gmail_emulator`: `python -m gmail_emulator` for those used to manage.py."""

from django.core.management.base import BaseCommand, CommandParser

from gmail_emulator import cli


class Command(BaseCommand):
    help = "Serve a Gmail API v1 emulator with a generated mailbox until interrupted."
    # The emulator uses neither the database nor the URLconf; skipping the checks lets
    # it start quickly, and even while the app around it is half-written.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_arguments(parser)

    def handle(self, *args: object, **options: object) -> None:
        cli.serve(cli.emulator_from(options), self.stdout)
