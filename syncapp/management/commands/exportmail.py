"""Export a mailbox, a label or a search result to a file, as mbox or a zip of .eml files."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from syncapp.export import ExportFormat, export_chunks
from syncapp.models import Label, Mailbox
from syncapp.selectors import messages_for_export


class Command(BaseCommand):
    help = (
        "Write a mailbox's messages (or those of a label, or a search's) to FILE, each "
        "as its stored original: one mbox file (mboxrd) or a zip of .eml files."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--user", help="the only mailbox of this username")
        which.add_argument("--email", help="the mailbox with this address")
        parser.add_argument("--label", default="", help="only this label (its id or its name)")
        parser.add_argument("--search", default="", help="only the messages this search finds")
        parser.add_argument("--format", required=True, choices=ExportFormat.values)
        parser.add_argument("--output", required=True, help="the file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        mailbox = _mailbox(user=options["user"], email=options["email"])
        label = _label_id(mailbox, options["label"])
        messages = messages_for_export(mailbox=mailbox, label=label, query=options["search"])
        written = 0
        with open(options["output"], "wb") as output:
            for chunk in export_chunks(messages=messages, format=ExportFormat(options["format"])):
                output.write(chunk)
                written += len(chunk)
        self.stdout.write(f"{mailbox.email}: {written} bytes written to {options['output']}")


def _mailbox(*, user: str | None, email: str | None) -> Mailbox:
    if email:
        found = list(Mailbox.objects.filter(email__iexact=email)[:1])
        if not found:
            raise CommandError(f"No mailbox {email!r}")
        return found[0]
    mailboxes = list(Mailbox.objects.filter(owner__username=user)[:2])
    if not mailboxes:
        raise CommandError(f"{user!r} has no mailbox (or there is no such user)")
    if len(mailboxes) > 1:
        raise CommandError(f"{user!r} has several mailboxes: say which with --email")
    return mailboxes[0]


def _label_id(mailbox: Mailbox, label: str) -> str:
    """A label's id, given its id or (ignoring case) its name."""
    if not label or Label.objects.filter(mailbox=mailbox, label_id=label).exists():
        return label
    ids = list(
        Label.objects.filter(mailbox=mailbox, name__iexact=label).values_list(
            "label_id", flat=True
        )
    )
    if len(ids) != 1:
        raise CommandError(f"No label {label!r} in {mailbox.email}")
    return ids[0]
