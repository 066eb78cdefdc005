"""Generated mailboxes are deterministic, varied and quick to build, in every profile."""

import email
import time
from collections import Counter

import pytest

from gmail_emulator import EmulatedMailbox
from gmail_emulator.content import content
from gmail_emulator.mime import Part, parse_message

PROFILES = pytest.mark.parametrize("profile", ["tiny", "realistic"])


@PROFILES
def test_the_same_seed_and_size_give_the_same_mailbox(profile):
    first = EmulatedMailbox("demo@example.com", messages=300, seed=7, profile=profile)
    second = EmulatedMailbox("demo@example.com", messages=300, seed=7, profile=profile)

    assert first.snapshot() == second.snapshot()
    assert first.message_ids() == second.message_ids()
    assert first.history_id == second.history_id
    assert all(first.get(i).raw == second.get(i).raw for i in first.message_ids()[:50])


@PROFILES
def test_different_seeds_give_different_mailboxes(profile):
    first = EmulatedMailbox("demo@example.com", messages=100, seed=1, profile=profile)
    second = EmulatedMailbox("demo@example.com", messages=100, seed=2, profile=profile)

    assert set(first.message_ids()).isdisjoint(second.message_ids())
    assert [first.get(i).subject for i in first.message_ids()] != [
        second.get(i).subject for i in second.message_ids()
    ]


@PROFILES
def test_the_same_mutations_give_the_same_mailbox(profile):
    first, second = (
        EmulatedMailbox(
            "demo@example.com", messages=50, seed=3, profile=profile, clock=lambda: 1.8e9
        )
        for _ in range(2)
    )

    for mailbox in (first, second):
        mailbox.add_messages(5)
        mailbox.delete_message(mailbox.message_ids()[10])

    assert first.snapshot() == second.snapshot()
    assert first.history_id == second.history_id


def test_a_tiny_mailbox_holds_every_kind_of_mail_in_small_threads():
    mailbox = EmulatedMailbox("demo@example.com", messages=2000, seed=1, profile="tiny")
    ids = mailbox.message_ids()
    messages = [mailbox.get(i) for i in ids[:400]]
    thread_sizes = Counter(m.thread_id for m in map(mailbox.get, ids))
    labels = Counter(label for m in messages for label in m.label_ids)
    content_types = Counter(email.message_from_bytes(m.raw).get_content_type() for m in messages)
    years = {time.gmtime(m.internal_date_ms / 1000).tm_year for m in map(mailbox.get, ids)}

    assert all(len(i) == 16 and int(i, 16) for i in ids)
    assert set(thread_sizes.values()) >= {1, 2, 3, 4, 5}
    assert max(thread_sizes.values()) <= 6
    assert {"INBOX", "SENT", "UNREAD", "SPAM", "TRASH", "CATEGORY_PROMOTIONS"} <= set(labels)
    assert any(label.startswith("Label_") for label in labels)
    assert {"text/plain", "multipart/alternative", "multipart/mixed"} <= set(content_types)
    assert len(years) >= 3
    assert any(not m.subject.isascii() for m in messages)
    assert any(b"iso-8859-1" in m.raw for m in messages)


def flattened(part: Part) -> list[tuple]:
    """A parts tree as what Gmail shows of it, attachments' bytes made if they are blobs."""
    node = (part.part_id, part.mime_type, part.filename, part.headers, part.content())
    return [node, *(entry for child in part.parts for entry in flattened(child))]


@PROFILES
def test_generated_content_equals_parsing_the_whole_message(profile):
    mailbox = EmulatedMailbox("demo@example.com", messages=400, seed=5, profile=profile)

    checked = 0
    for message_id in mailbox.message_ids():
        composed = content(mailbox.record(message_id).source)
        if composed.size > 2_000_000:
            continue  # parsing tens of megabytes proves nothing more, slowly
        raw = composed.raw()
        parsed = parse_message(raw)
        assert flattened(composed.root) == flattened(parsed.root), message_id
        assert composed.snippet == parsed.snippet
        assert composed.size == len(raw)
        checked += 1
    assert checked >= 390


@PROFILES
def test_it_generates_20000_messages_in_a_couple_of_seconds(profile):
    started = time.perf_counter()
    mailbox = EmulatedMailbox("demo@example.com", messages=20_000, seed=11, profile=profile)

    assert time.perf_counter() - started < 3
    assert len(mailbox.message_ids()) == 20_000
