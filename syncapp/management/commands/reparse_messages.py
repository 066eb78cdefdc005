"""Parse the stored originals again (after a parser improvement), without fetching."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from syncapp.models import Mailbox
from syncapp.reparse import messages_reparse


class Command(BaseCommand):
    help = "Fill messages' fields from their stored originals again; nothing is fetched."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--user", help="only the mailboxes of this username")
        which.add_argument("--email", help="only the mailbox with this address")

    def handle(self, *args: Any, **options: Any) -> None:
        mailboxes = Mailbox.objects.order_by("pk")
        if options["user"]:
            if not get_user_model().objects.filter(username=options["user"]).exists():
                raise CommandError(f"No user named {options['user']!r}")
            mailboxes = mailboxes.filter(owner__username=options["user"])
        elif options["email"]:
            mailboxes = mailboxes.filter(email__iexact=options["email"])
            if not mailboxes.exists():
                raise CommandError(f"No mailbox {options['email']!r}")
        for mailbox in mailboxes:
            report = messages_reparse(mailbox=mailbox)
            line = f"{mailbox.email}: {report.reparsed} message(s) parsed again"
            if report.without_original:
                line += f", {report.without_original} without a stored original left as they are"
            self.stdout.write(line)
