"""Parse the stored originals again (after a parser improvement), without fetching."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from syncapp.mailboxes import NoSuchMailbox, mailboxes_named
from syncapp.reparse import messages_reparse


class Command(BaseCommand):
    help = "Fill messages' fields from their stored originals again; nothing is fetched."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--user", help="only the mailboxes of this username")
        which.add_argument("--email", help="only the mailbox with this address")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            mailboxes = mailboxes_named(username=options["user"], email=options["email"])
        except NoSuchMailbox as exc:
            raise CommandError(str(exc)) from None
        for mailbox in mailboxes:
            report = messages_reparse(mailbox=mailbox)
            line = f"{mailbox.email}: {report.reparsed} message(s) parsed again"
            if report.without_original:
                line += f", {report.without_original} without a stored original left as they are"
            self.stdout.write(line)
