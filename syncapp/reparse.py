"""Parsing stored originals again, without fetching anything from Gmail."""

from __future__ import annotations

from dataclasses import dataclass

from syncapp.gmail.parse import CONTENT_FIELDS, parse_original
from syncapp.models import Mailbox, Message
from syncapp.originals import original_bytes

# Messages parsed and saved per statement; one original is held at a time.
CHUNK = 200


@dataclass(slots=True)
class ReparseReport:
    reparsed: int = 0
    # Synced before originals were kept: their fields stay as they are.
    without_original: int = 0


def messages_reparse(*, mailbox: Mailbox) -> ReparseReport:
    """Fill every message's parsed fields from its stored original again."""
    report = ReparseReport(
        without_original=Message.objects.filter(mailbox=mailbox, original__isnull=True).count()
    )
    after_pk = 0
    while True:
        chunk = list(
            Message.objects.filter(mailbox=mailbox, original__isnull=False, pk__gt=after_pk)
            .order_by("pk")
            .only("pk", "gmail_id", "original")[:CHUNK]
        )
        if not chunk:
            return report
        for message in chunk:
            content = parse_original(original_bytes(message=message))
            for name in CONTENT_FIELDS:
                setattr(message, name, getattr(content, name))
        Message.objects.bulk_update(chunk, CONTENT_FIELDS)
        report.reparsed += len(chunk)
        after_pk = chunk[-1].pk
