"""Every message's original is kept byte for byte, stored once, and deleted with its last user."""

import hashlib
from dataclasses import replace

import pytest
import zstandard
from django.core.management import call_command
from django.db import transaction

from syncapp import storage
from syncapp.gmail.parse import parse_message
from syncapp.models import Blob, Mailbox, Message, SyncRun
from syncapp.originals import (
    OriginalLost,
    OriginalMissing,
    blob_name,
    blobs_prune,
    original_bytes,
    original_email,
    original_put,
)
from tests.helpers import run_sync

pytestmark = pytest.mark.django_db(transaction=True)

RAW = b"From: Dora <dora@maps.example>\r\nTo: alice@example.com\r\nSubject: Maps\r\n\r\nMap.\r\n"


def test_it_keeps_every_original_of_the_mailbox_byte_for_byte_hostile_ones_included(
    emulate, alice_mailbox, mail_storage
):
    emulator = emulate(email=alice_mailbox.email, messages=60, seed=9, profile="tiny")
    mailbox = emulator.mailbox()

    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    stored = {m.gmail_id: m for m in Message.objects.filter(mailbox=alice_mailbox)}
    assert sorted(stored) == sorted(mailbox.message_ids())
    assert set(mailbox.hostile_ids.values()) <= set(stored)
    for gmail_id, message in stored.items():
        raw = mailbox.get(gmail_id).raw
        assert original_bytes(message=message) == raw, gmail_id
        assert message.original_id == hashlib.sha256(raw).hexdigest()
        on_disk = (mail_storage / blob_name(message.original_id)).read_bytes()
        assert zstandard.ZstdDecompressor().decompress(on_disk) == raw
        assert len(on_disk) == message.original.stored_size


def test_it_hands_out_the_parsed_parts_of_an_original(emulate, alice_mailbox):
    emulate(email=alice_mailbox.email, messages=20, seed=3, profile="tiny")
    run_sync(alice_mailbox)
    message = Message.objects.filter(mailbox=alice_mailbox).exclude(rfc_message_id="").first()

    email = original_email(message=message)

    assert email["Message-ID"] == message.rfc_message_id
    assert email.get_body(preferencelist=("plain", "html")) is not None


def test_a_message_without_an_original_says_so(alice_mailbox):
    message = Message.objects.create(
        mailbox=alice_mailbox, gmail_id="old", thread_id="old", internal_date="2024-01-01T00:00Z"
    )

    with pytest.raises(OriginalMissing):
        original_bytes(message=message)


def _store(mailbox: Mailbox, gmail_id: str, raw: bytes) -> None:
    stored = original_put(raw)
    resource = {"id": gmail_id, "threadId": gmail_id, "internalDate": "1700000000000"}
    parsed = replace(parse_message(resource, raw=raw), original=stored.sha256)
    storage.messages_upsert(mailbox=mailbox, messages=[parsed], originals=[stored])


def test_identical_originals_are_stored_once(alice_mailbox, bob_mailbox, mail_storage):
    _store(alice_mailbox, "a1", RAW)
    _store(bob_mailbox, "b1", RAW)

    (blob,) = Blob.objects.all()
    assert Message.objects.filter(original=blob).count() == 2
    assert [p.name for p in mail_storage.rglob("*.zst")] == [f"{blob.sha256}.eml.zst"]


def test_deleting_a_mailbox_removes_the_originals_only_it_used(
    alice_mailbox, bob_mailbox, mail_storage
):
    _store(alice_mailbox, "a1", RAW)
    _store(alice_mailbox, "a2", RAW + b"alice's own\r\n")
    _store(bob_mailbox, "b1", RAW)
    shared = hashlib.sha256(RAW).hexdigest()

    storage.mailbox_delete(mailbox=alice_mailbox)

    assert not Mailbox.objects.filter(pk=alice_mailbox.pk).exists()
    assert list(Blob.objects.values_list("sha256", flat=True)) == [shared]
    assert [p.name for p in mail_storage.rglob("*.zst")] == [f"{shared}.eml.zst"]
    assert original_bytes(message=Message.objects.get(gmail_id="b1")) == RAW


def test_an_original_deleted_between_arriving_and_being_recorded_is_not_taken_for_stored(
    alice_mailbox, bob_mailbox, mail_storage
):
    _store(bob_mailbox, "b1", RAW)
    arrived = original_put(RAW)  # alice's copy finds bob's file
    storage.mailbox_delete(mailbox=bob_mailbox)  # and bob's deletion removes it
    parsed = replace(
        parse_message({"id": "a1", "threadId": "a1"}, raw=RAW), original=arrived.sha256
    )

    with pytest.raises(OriginalLost), transaction.atomic():
        storage.messages_upsert(mailbox=alice_mailbox, messages=[parsed], originals=[arrived])

    assert not Message.objects.exists()
    assert not Blob.objects.exists()


def test_deleting_a_mailbox_in_chunks_keeps_working(alice_mailbox, monkeypatch, mail_storage):
    monkeypatch.setattr("syncapp.storage.DELETE_CHUNK", 2)
    for n in range(5):
        _store(alice_mailbox, f"a{n}", RAW + str(n).encode())

    storage.mailbox_delete(mailbox=alice_mailbox)

    assert not Message.objects.exists()
    assert not Blob.objects.exists()
    assert list(mail_storage.rglob("*.zst")) == []


def test_messages_deleted_in_gmail_take_their_originals_with_them(
    emulate, alice_mailbox, mail_storage
):
    emulator = emulate(email=alice_mailbox.email, messages=30, seed=4, profile="tiny")
    run_sync(alice_mailbox)
    gone = emulator.mailbox().message_ids()[:3]
    gone_blobs = list(
        Message.objects.filter(gmail_id__in=gone).values_list("original_id", flat=True)
    )
    for gmail_id in gone:
        emulator.mailbox().delete_message(gmail_id)

    run = run_sync(alice_mailbox, kind=SyncRun.Kind.FULL)

    assert run.deleted_count == 3
    still_used = Message.objects.filter(original_id__in=gone_blobs).exists()
    assert still_used or not Blob.objects.filter(sha256__in=gone_blobs).exists()
    assert Blob.objects.count() == Message.objects.values("original").distinct().count()
    assert len(list(mail_storage.rglob("*.zst"))) == Blob.objects.count()


def test_the_daily_prune_removes_originals_left_by_a_cascade(alice, alice_mailbox, mail_storage):
    _store(alice_mailbox, "a1", RAW)

    alice.delete()

    assert Blob.objects.count() == 1
    assert blobs_prune() == 1
    assert not Blob.objects.exists()
    assert list(mail_storage.rglob("*.zst")) == []


def test_reparse_fills_the_fields_again_from_the_originals_without_fetching(
    emulate, alice_mailbox, capsys
):
    emulator = emulate(email=alice_mailbox.email, messages=30, seed=2, profile="tiny")
    run_sync(alice_mailbox)
    before = {m.gmail_id: (m.subject, m.to, m.body_text) for m in Message.objects.all()}
    Message.objects.update(subject="", to="", body_text="", sender_address="")
    Message.objects.create(
        mailbox=alice_mailbox,
        gmail_id="synced-long-ago",
        thread_id="t",
        internal_date="2024-01-01T00:00Z",
        subject="kept as it is",
    )
    emulator.clear_request_log()

    call_command("reparse_messages", "--email", alice_mailbox.email)

    after = {m.gmail_id: (m.subject, m.to, m.body_text) for m in Message.objects.all()}
    assert after.pop("synced-long-ago") == ("kept as it is", "", "")
    assert after == before
    assert not Message.objects.filter(original__isnull=False, sender_address="").exists()
    assert emulator.request_log == []
    assert capsys.readouterr().out == (
        f"{alice_mailbox.email}: 30 message(s) parsed again, "
        "1 without a stored original left as they are\n"
    )
