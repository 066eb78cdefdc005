"""The realistic profile's mailbox has the shapes the README states, for a fixed seed."""

import base64
import statistics
from collections import Counter

import pytest

from gmail_emulator import EmulatedMailbox
from gmail_emulator.content import content
from tests.plugins.emulator import gmail_service

MB = 1_000_000


@pytest.fixture(scope="module")
def mailbox() -> EmulatedMailbox:
    return EmulatedMailbox("demo@example.com", messages=2000, seed=1, profile="realistic")


@pytest.fixture(scope="module")
def sizes(mailbox) -> dict[str, int]:
    return {i: content(mailbox.record(i).source).size for i in mailbox.message_ids()}


def share(count: int, total: int) -> float:
    return count / total


def test_message_sizes_have_a_long_tail(sizes):
    values = sorted(sizes.values())

    assert 40_000 <= statistics.fmean(values) <= 250_000
    assert 15_000 <= statistics.median(values) <= 60_000
    assert sum(size >= 1 * MB for size in values) >= 20
    # Attachments up to Gmail's 25 MB sending limit, and past it from other providers,
    # never past its 50 MB receiving limit once encoded.
    assert values[-1] >= 10 * MB
    assert values[-1] < 50 * MB


def test_some_messages_carry_attachments(mailbox):
    records = [mailbox.record(i) for i in mailbox.message_ids()]
    with_files = [r for r in records if getattr(r.source, "attachments", ())]

    assert 0.03 <= share(len(with_files), len(records)) <= 0.15
    types = {a.mime_type for r in with_files for a in r.source.attachments}
    assert {"application/pdf", "image/jpeg"} <= types


def test_most_threads_hold_one_or_two_messages(mailbox):
    threads = Counter(mailbox.record(i).thread_id for i in mailbox.message_ids())
    in_long_threads = sum(size for size in threads.values() if size >= 3)

    assert share(sum(1 for size in threads.values() if size <= 2), len(threads)) >= 0.9
    assert share(in_long_threads, 2000) <= 0.25
    assert max(threads.values()) >= 10


def test_labels_and_categories_come_in_realistic_proportions(mailbox):
    labels = Counter(label for i in mailbox.message_ids() for label in mailbox.record(i).label_ids)

    def of(label: str) -> float:
        return share(labels[label], 2000)

    assert 0.40 <= of("CATEGORY_PROMOTIONS") <= 0.60
    assert 0.10 <= of("CATEGORY_UPDATES") <= 0.25
    assert 0.15 <= of("CATEGORY_PERSONAL") + of("SENT") <= 0.35
    assert 0.03 <= of("CATEGORY_SOCIAL") <= 0.10
    assert 0.01 <= of("CATEGORY_FORUMS") <= 0.06
    assert 0.05 <= of("SENT") <= 0.15
    assert 0.45 <= of("UNREAD") <= 0.75
    assert of("SPAM") <= 0.03
    assert of("TRASH") <= 0.04


def test_most_messages_have_html_and_plain_alternatives(mailbox):
    def types(part) -> set[str]:
        return {part.mime_type} | {t for child in part.parts for t in types(child)}

    parts = [types(content(mailbox.record(i).source).root) for i in mailbox.message_ids()]

    both = sum(1 for found in parts if {"text/plain", "text/html"} <= found)
    assert share(both, len(parts)) >= 0.7


def test_a_large_attachment_costs_nothing_until_asked_for(make_gmail_emulator, sizes):
    emulator = make_gmail_emulator(messages=2000, seed=1, profile="realistic")
    largest = max(sizes, key=sizes.get)
    messages = gmail_service(emulator).users().messages()

    full = messages.get(userId="me", id=largest).execute()
    attachment = next(p for p in full["payload"]["parts"] if p["filename"])
    data = (
        messages.attachments()
        .get(userId="me", messageId=largest, id=attachment["body"]["attachmentId"])
        .execute()
    )

    # format=full names the file and its size; only attachments.get carries its bytes.
    assert full["sizeEstimate"] == sizes[largest]
    assert len(str(full)) < 100_000
    assert attachment["body"]["size"] >= 10 * MB
    assert len(base64.urlsafe_b64decode(data["data"])) == attachment["body"]["size"]


def test_large_messages_carry_a_file_at_gmails_sending_limit_and_change_nothing_else():
    plain = EmulatedMailbox("demo@example.com", messages=300, seed=5)
    larger = [
        EmulatedMailbox("demo@example.com", messages=300, seed=5, large_messages=4)
        for _ in range(2)
    ]

    changed = [
        [i for i in plain.message_ids() if m.get(i).size_estimate != plain.get(i).size_estimate]
        for m in larger
    ]

    assert len(changed[0]) == 4
    assert changed[0] == changed[1]
    assert all(larger[0].get(i).size_estimate > 25_000_000 * 4 / 3 for i in changed[0])
    assert larger[0].message_ids() == plain.message_ids()
