"""Create the demo user and mailbox (idempotent)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from syncapp.models import Mailbox

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"
DEMO_EMAIL = "demo@example.com"
# The emulator accepts any refresh token for its default mailbox.
DEMO_REFRESH_TOKEN = "demo-refresh-token"


class Command(BaseCommand):
    help = "Create the user demo (password demo) with the mailbox demo@example.com."

    def handle(self, *args, **options) -> None:
        user, created = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        Mailbox.objects.update_or_create(
            owner=user,
            email=DEMO_EMAIL,
            defaults={"refresh_token": DEMO_REFRESH_TOKEN, "needs_reconnect": False},
        )
        self.stdout.write(
            f"Demo ready: sign in as {DEMO_USERNAME}/{DEMO_PASSWORD}; mailbox {DEMO_EMAIL}"
        )
