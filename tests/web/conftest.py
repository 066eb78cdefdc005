"""Fixtures for the web tests: signed-in clients for the personas, and runs and
messages in each state a page must show.

alice owns things; bob owns his own and must never see alice's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from syncapp.gmail.parse import CONTENT_FIELDS, parse_original
from syncapp.models import Label, Mailbox, Message, SyncRun
from syncapp.originals import blobs_register, original_put


@pytest.fixture
def alice_client(client: Client, alice) -> Client:
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(bob) -> Client:
    client = Client()
    client.force_login(bob)
    return client


@pytest.fixture
def make_run():
    """A run of a mailbox in a given state, with the fields its constraints demand."""

    def make(mailbox: Mailbox, status: str = SyncRun.Status.CREATED, **fields: Any) -> SyncRun:
        now = timezone.now()
        defaults: dict[str, Any] = {"kind": SyncRun.Kind.FULL}
        if status == SyncRun.Status.RUNNING:
            defaults |= {"started_at": now - timedelta(seconds=10), "heartbeat_at": now}
        elif status == SyncRun.Status.SUCCEEDED:
            defaults |= {"started_at": now - timedelta(seconds=75), "finished_at": now}
            defaults |= {"percent": 100}
        elif status == SyncRun.Status.FAILED:
            defaults |= {"started_at": now - timedelta(seconds=5), "finished_at": now}
            defaults |= {
                "error": "Gmail error while listing messages: backend error",
                "failure": SyncRun.Failure.GMAIL_UNAVAILABLE,
            }
        return SyncRun.objects.create(mailbox=mailbox, status=status, **(defaults | fields))

    return make


@pytest.fixture
def make_messages():
    """`count` messages, one minute apart, the newest first in `subjects` order."""

    def make(mailbox: Mailbox, count: int, **fields: Any) -> list[Message]:
        newest = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
        return Message.objects.bulk_create(
            Message(
                mailbox=mailbox,
                gmail_id=f"{mailbox.pk}-m{index:05d}",
                thread_id=f"t{index:05d}",
                internal_date=newest - timedelta(minutes=index),
                subject=f"Message {index}",
                sender="Carol <carol@example.net>",
                label_ids=["INBOX"],
                **fields,
            )
            for index in range(count)
        )

    return make


@pytest.fixture
def make_original_message():
    """A message stored as a sync stores it: its original kept, its fields parsed from it."""

    def make(mailbox: Mailbox, raw: bytes, **fields: Any) -> Message:
        stored = original_put(raw)
        blobs_register(originals=[stored])
        content = parse_original(raw)
        values = {name: getattr(content, name) for name in CONTENT_FIELDS}
        defaults: dict[str, Any] = {
            "gmail_id": stored.sha256[:16],
            "thread_id": stored.sha256[:16],
            "internal_date": content.date or datetime(2025, 5, 1, 12, 0, tzinfo=UTC),
            "label_ids": ["INBOX"],
        }
        return Message.objects.create(
            mailbox=mailbox, original_id=stored.sha256, **(values | defaults | fields)
        )

    return make


@pytest.fixture
def alice_labels(alice_mailbox) -> list[Label]:
    return Label.objects.bulk_create(
        [
            Label(mailbox=alice_mailbox, label_id="INBOX", name="INBOX", type="system"),
            Label(mailbox=alice_mailbox, label_id="Label_7", name="Receipts", type="user"),
        ]
    )


@pytest.fixture
def emulate_google(emulate, settings):
    """An emulator that also serves Google's sign-in, with the app configured for it."""

    def start(**options: Any):
        emulator = emulate(**options)
        settings.GOOGLE_AUTHORIZATION_URL = emulator.url + "o/oauth2/auth"
        settings.GOOGLE_USERINFO_URL = emulator.url + "oauth2/v3/userinfo"
        settings.GOOGLE_CLIENT_ID = "mailsync-test"
        settings.GOOGLE_CLIENT_SECRET = "mailsync-test-client-secret"
        return emulator

    return start
