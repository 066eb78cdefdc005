"""Create the demo user and mailbox, and with --mailboxes K a fleet of them (idempotent)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from syncapp.models import Mailbox
from syncapp.scheduling import mailbox_next_scheduled_sync

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"
DEMO_EMAIL = "demo@example.com"
# The emulator accepts any refresh token for its default mailbox.
DEMO_REFRESH_TOKEN = "demo-refresh-token"
# The emulator's fleet (`--mailboxes K`): its addresses and the refresh token it knows for
# each, as gmail_emulator/fleet.py makes them (the app does not import the emulator).
FLEET_USERNAME = "user{number}"
FLEET_EMAIL = "user{number}@example.com"
FLEET_REFRESH_TOKEN = "fleet-refresh-token-{email}"


class Command(BaseCommand):
    help = (
        "Create the user demo (password demo) with the mailbox demo@example.com, and with "
        "--mailboxes K the users user1 ... userK (password: the user name) with the "
        "emulator's mailboxes user1@example.com ... userK@example.com."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--mailboxes",
            type=int,
            default=0,
            help="also create the fleet's users: as many as the emulator's --mailboxes",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        demo = _user_with_mailbox(DEMO_USERNAME, DEMO_PASSWORD, DEMO_EMAIL, DEMO_REFRESH_TOKEN)
        self.stdout.write(
            f"Demo ready: sign in as {DEMO_USERNAME}/{DEMO_PASSWORD}; mailbox {DEMO_EMAIL}"
        )
        self.stdout.write(_next_sync_sentence(demo, now=timezone.now()))
        count = options["mailboxes"]
        for number in range(1, count + 1):
            username = FLEET_USERNAME.format(number=number)
            email = FLEET_EMAIL.format(number=number)
            refresh_token = FLEET_REFRESH_TOKEN.format(email=email)
            _user_with_mailbox(username, username, email, refresh_token)
        if count:
            self.stdout.write(
                f"Fleet ready: user1 ... user{count} (password: the user name); "
                f"mailboxes user1@example.com ... user{count}@example.com"
            )


def _next_sync_sentence(mailbox: Mailbox, *, now: datetime) -> str:
    """When the schedule first syncs the mailbox, with workers starting now (bin/demo
    starts them straight after this command)."""
    starts_at = mailbox_next_scheduled_sync(mailbox=mailbox, workers_start=now)
    if starts_at is None:
        return f"{mailbox.email} needs reconnecting: no automatic sync starts until then."
    which = "next" if mailbox.last_synced_at else "first"
    return (
        f"The {which} automatic sync of {mailbox.email} starts in about "
        f"{_about(starts_at - now)}; press Sync to start it now."
    )


def _about(delay: timedelta) -> str:
    seconds = max(0, round(delay.total_seconds()))
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{round(seconds / 60)} minutes"


def _user_with_mailbox(username: str, password: str, email: str, refresh_token: str) -> Mailbox:
    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    mailbox, _ = Mailbox.objects.update_or_create(
        owner=user,
        email=email,
        defaults={"refresh_token": refresh_token, "needs_reconnect": False},
    )
    return mailbox
