"""Encrypt every stored OAuth token again with the first of TOKEN_ENCRYPTION_KEYS."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from syncapp.mailboxes import mailbox_reencrypt_tokens


class Command(BaseCommand):
    help = (
        "Encrypt every mailbox's tokens again with the first key of TOKEN_ENCRYPTION_KEYS "
        "(after putting a new key first); then the old key can be removed."
    )

    def handle(self, *args, **options) -> None:
        count = mailbox_reencrypt_tokens()
        self.stdout.write(f"Tokens of {count} mailbox(es) encrypted with the first key.")
