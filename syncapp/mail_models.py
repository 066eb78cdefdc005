"""The copy of the mail: labels, messages, and the originals they were parsed from.

Imported by syncapp.models (which re-exports them); relations to Mailbox are named
by string so that this module imports nothing of ours.
"""

from __future__ import annotations

from django.db import models


class Blob(models.Model):
    """One stored original (a message's RFC 822 source), named by the sha256 of its bytes.

    Identical originals are stored once; a blob lives while a message refers to it
    (the foreign key below protects it), and syncapp.originals deletes the unused.
    """

    sha256 = models.CharField(max_length=64, primary_key=True)
    # Bytes of the original, and of what the storage holds (compressed).
    size = models.BigIntegerField()
    stored_size = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.sha256


class Label(models.Model):
    mailbox = models.ForeignKey("syncapp.Mailbox", on_delete=models.CASCADE, related_name="labels")
    label_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=16, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "label_id"], name="label_unique_per_mailbox"
            ),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Message(models.Model):
    """A copy of one Gmail message. Every text field holds attacker-controlled input.

    The fields are parsed from `original` (python manage.py reparse_messages parses
    them again); rows synced before originals were kept have none.
    """

    SUBJECT_MAX = 998
    ADDRESS_MAX = 2000
    SNIPPET_MAX = 500

    mailbox = models.ForeignKey(
        "syncapp.Mailbox", on_delete=models.CASCADE, related_name="messages"
    )
    gmail_id = models.CharField(max_length=64)
    thread_id = models.CharField(max_length=64)
    label_ids = models.JSONField(default=list)
    history_id = models.CharField(max_length=32, blank=True)
    internal_date = models.DateTimeField()
    original = models.ForeignKey(
        Blob, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    subject = models.CharField(max_length=SUBJECT_MAX, blank=True)
    # The From header as written, and its display name and address apart.
    sender = models.CharField(max_length=ADDRESS_MAX, blank=True)
    sender_name = models.CharField(max_length=ADDRESS_MAX, blank=True)
    sender_address = models.CharField(max_length=ADDRESS_MAX, blank=True)
    to = models.TextField(blank=True)
    cc = models.TextField(blank=True)
    bcc = models.TextField(blank=True)
    reply_to = models.TextField(blank=True)
    # Message-ID, In-Reply-To and References as written (angle brackets kept).
    rfc_message_id = models.CharField(max_length=ADDRESS_MAX, blank=True)
    in_reply_to = models.TextField(blank=True)
    references = models.TextField(blank=True)
    list_unsubscribe = models.TextField(blank=True)
    date = models.DateTimeField(null=True, blank=True)
    snippet = models.CharField(max_length=SNIPPET_MAX, blank=True)
    size_estimate = models.PositiveIntegerField(default=0)
    # The text for search and display, cut at BODY_TEXT_MAX characters (the whole
    # message is the original).
    body_text = models.TextField(blank=True)
    attachment_names = models.JSONField(default=list)
    # Which full sync last saw this message in Gmail's listing; after the listing
    # ends, rows with another mark are gone remotely and get deleted.
    sync_mark = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "gmail_id"], name="message_unique_per_mailbox"
            ),
        ]
        indexes = [
            models.Index(fields=["mailbox", "-internal_date"], name="message_mailbox_newest"),
            # A full sync asks, page by page, which threads already have a message.
            models.Index(fields=["mailbox", "thread_id"], name="message_mailbox_thread"),
        ]
        ordering = ["-internal_date", "-id"]

    def __str__(self) -> str:
        return self.subject or self.gmail_id


class LabelMembership(models.Model):
    """A full sync's label refresh, staged: Gmail lists this message under this label.

    Filled a listing page at a time, then applied to the stored messages a chunk
    at a time and emptied, so that no process holds every id of a large mailbox.
    """

    # The unique index below starts with the mailbox: no index of its own.
    mailbox = models.ForeignKey(
        "syncapp.Mailbox", on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    gmail_id = models.CharField(max_length=64)
    label_id = models.CharField(max_length=255)

    class Meta:
        constraints = [
            # The refresh looks up a chunk of messages' labels with (mailbox, gmail_id IN ...).
            models.UniqueConstraint(
                fields=["mailbox", "gmail_id", "label_id"], name="label_membership_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gmail_id} {self.label_id}"
