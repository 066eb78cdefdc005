"""Generated mailboxes are deterministic, varied and quick to build."""

import email
import time
from collections import Counter

from gmail_emulator import EmulatedMailbox
from gmail_emulator.content import content
from gmail_emulator.mime import parse_message


def test_the_same_seed_and_size_give_the_same_mailbox():
    first = EmulatedMailbox("demo@example.com", messages=300, seed=7)
    second = EmulatedMailbox("demo@example.com", messages=300, seed=7)

    assert first.snapshot() == second.snapshot()
    assert first.message_ids() == second.message_ids()
    assert first.history_id == second.history_id
    assert all(first.get(i).raw == second.get(i).raw for i in first.message_ids()[:50])


def test_different_seeds_give_different_mailboxes():
    first = EmulatedMailbox("demo@example.com", messages=100, seed=1)
    second = EmulatedMailbox("demo@example.com", messages=100, seed=2)

    assert set(first.message_ids()).isdisjoint(second.message_ids())
    assert [first.get(i).subject for i in first.message_ids()] != [
        second.get(i).subject for i in second.message_ids()
    ]


def test_the_same_mutations_give_the_same_mailbox():
    first = EmulatedMailbox("demo@example.com", messages=50, seed=3, clock=lambda: 1.8e9)
    second = EmulatedMailbox("demo@example.com", messages=50, seed=3, clock=lambda: 1.8e9)

    for mailbox in (first, second):
        mailbox.add_messages(5)
        mailbox.delete_message(mailbox.message_ids()[10])

    assert first.snapshot() == second.snapshot()
    assert first.history_id == second.history_id


def test_a_mailbox_looks_like_real_mail():
    mailbox = EmulatedMailbox("demo@example.com", messages=2000, seed=1)
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


def test_generated_content_equals_parsing_the_whole_message():
    mailbox = EmulatedMailbox("demo@example.com", messages=400, seed=5)

    for message_id in mailbox.message_ids():
        record = mailbox.record(message_id)
        composed = content(record.source)
        parsed = parse_message(composed.raw)
        assert composed.root == parsed.root, message_id
        assert composed.snippet == parsed.snippet


def test_it_generates_20000_messages_in_a_couple_of_seconds():
    started = time.perf_counter()
    mailbox = EmulatedMailbox("demo@example.com", messages=20_000, seed=11)

    assert time.perf_counter() - started < 3
    assert len(mailbox.message_ids()) == 20_000
