"""What push notifications need kept: each mailbox's Gmail watch, and how many
notifications arrive a minute (for the staff page). Imported by syncapp.models."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q


class GmailWatchQuerySet(models.QuerySet["GmailWatch"]):
    def live(self, *, now: datetime) -> GmailWatchQuerySet:
        """Watches Gmail still honours: its changes are pushed."""
        return self.filter(expires_at__gt=now)


class GmailWatch(models.Model):
    """A mailbox's users.watch: until when Gmail pushes its changes, or why it does not."""

    mailbox = models.OneToOneField(
        "syncapp.Mailbox", on_delete=models.CASCADE, primary_key=True, related_name="watch"
    )
    # None: no live watch (never watched, stopped, or the last watch call failed).
    expires_at = models.DateTimeField(null=True, blank=True)
    # The address Gmail's notifications name, lowercased: how one finds its mailboxes.
    email = models.CharField(max_length=254, db_index=True)
    history_id = models.CharField(max_length=32, blank=True)
    renewed_at = models.DateTimeField(null=True, blank=True)
    # Why the last users.watch failed, for the page; empty once one succeeds.
    error = models.CharField(max_length=500, blank=True)
    # When the last notification of a change arrived.
    last_change_at = models.DateTimeField(null=True, blank=True)

    objects = GmailWatchQuerySet.as_manager()

    class Meta:
        indexes = [
            # The daily renewal (watches.watches_due_for_renewal) takes the soonest first.
            models.Index(
                fields=["expires_at"], condition=Q(expires_at__isnull=False), name="watch_expiry"
            ),
        ]

    def __str__(self) -> str:
        return f"watch of mailbox {self.mailbox_id} until {self.expires_at}"


class PushCount(models.Model):
    """Push notifications received in one minute (the minute it starts)."""

    minute = models.DateTimeField(primary_key=True)
    notifications = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.minute:%H:%M}: {self.notifications}"
