"""Export: a mailbox, a label or a search result as mbox (mboxrd) or a zip of .eml files,
each message its stored original byte for byte, streamed in flat memory."""

import io
import re
import tracemalloc
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from syncapp.export import ExportFormat, export_chunks
from syncapp.models import Message, SyncRun
from syncapp.selectors import messages_for_export
from tests.helpers import run_sync

pytestmark = pytest.mark.django_db(transaction=True)

QUOTED = (
    b"From: Dora <dora@maps.example>\r\nTo: alice@example.com\r\nSubject: From lines\r\n\r\n"
    b"From here on\r\n>From there\r\n>>From everywhere\r\n From not this\r\nno newline at the end"
)


def mbox_messages(data: bytes) -> list[bytes]:
    """Split an mboxrd file and undo its quoting: the originals back."""
    messages: list[list[bytes]] = []
    for line in data.splitlines(keepends=True):
        if line.startswith(b"From "):
            messages.append([])
            continue
        messages[-1].append(line[1:] if re.match(rb">+From ", line) else line)
    # Each message ends with the one "\n" the export added after it.
    return [b"".join(lines)[:-1] for lines in messages]


def zip_messages(data: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    return {name: archive.read(name) for name in archive.namelist()}


def test_it_exports_every_original_of_the_mailbox_byte_for_byte_hostile_ones_included(
    emulate, alice_mailbox, tmp_path
):
    emulator = emulate(email=alice_mailbox.email, messages=60, seed=9, profile="tiny")
    assert run_sync(alice_mailbox).status == SyncRun.Status.SUCCEEDED
    mailbox = emulator.mailbox()
    raw = {gmail_id: mailbox.get(gmail_id).raw for gmail_id in mailbox.message_ids()}
    assert set(mailbox.hostile_ids.values()) <= set(raw)

    call_command("exportmail", email=alice_mailbox.email, format="eml", output=tmp_path / "a.zip")
    call_command("exportmail", user="alice", format="mbox", output=tmp_path / "a.mbox")

    entries = zip_messages((tmp_path / "a.zip").read_bytes())
    assert {
        name.rsplit("-", 1)[1].removesuffix(".eml"): body for name, body in entries.items()
    } == raw
    oldest_first = Message.objects.filter(mailbox=alice_mailbox).order_by("internal_date", "id")
    assert mbox_messages((tmp_path / "a.mbox").read_bytes()) == [
        raw[m.gmail_id] for m in oldest_first
    ]


def test_it_quotes_from_lines_in_mbox_and_keeps_the_bytes(
    alice_mailbox, make_original_message, tmp_path
):
    make_original_message(alice_mailbox, QUOTED)

    call_command("exportmail", user="alice", format="mbox", output=tmp_path / "a.mbox")

    data = (tmp_path / "a.mbox").read_bytes()
    assert b"\n>From here on\r\n>>From there\r\n>>>From everywhere\r\n From not this\r\n" in data
    assert data.startswith(b"From MAILER-DAEMON ")
    assert mbox_messages(data) == [QUOTED]


def test_it_exports_a_label_or_a_search_only(
    alice_mailbox, alice_labels, make_original_message, tmp_path
):
    receipt = make_original_message(alice_mailbox, QUOTED.replace(b"lines", b"receipt"))
    Message.objects.filter(pk=receipt.pk).update(label_ids=["Label_7"])
    make_original_message(alice_mailbox, QUOTED.replace(b"Dora", b"Diego"))

    call_command("exportmail", user="alice", label="receipts", format="eml", output=tmp_path / "l")
    call_command("exportmail", user="alice", search="DIEGO", format="eml", output=tmp_path / "s")

    assert [b"receipt" in m for m in zip_messages((tmp_path / "l").read_bytes()).values()] == [
        True
    ]
    assert [b"Diego" in m for m in zip_messages((tmp_path / "s").read_bytes()).values()] == [True]


def test_it_says_which_mailbox_it_cannot_find(alice_mailbox, tmp_path):
    with pytest.raises(CommandError, match="No label"):
        call_command("exportmail", user="alice", label="nope", format="eml", output=tmp_path / "x")
    with pytest.raises(CommandError, match="no mailbox"):
        call_command("exportmail", user="bob", format="eml", output=tmp_path / "x")


def test_the_list_downloads_its_messages_streamed(
    alice_client, alice_mailbox, make_original_message
):
    make_original_message(alice_mailbox, QUOTED)
    url = f"/mailboxes/{alice_mailbox.pk}/export/"

    html = alice_client.get(f"/mailboxes/{alice_mailbox.pk}/messages/").content.decode()
    response = alice_client.get(url, {"format": "mbox"})

    assert f'href="{url}?folder=inbox&amp;format=mbox"' in html
    assert response.streaming
    assert response["Content-Type"] == "application/mbox"
    assert response["Content-Disposition"].startswith(
        'attachment; filename="alice_example.com.mbox"'
    )
    assert mbox_messages(b"".join(response.streaming_content)) == [QUOTED]


def test_bob_cannot_export_alices_mailbox(bob_client, alice_mailbox, make_original_message):
    make_original_message(alice_mailbox, QUOTED)

    response = bob_client.get(f"/mailboxes/{alice_mailbox.pk}/export/", {"format": "eml"})

    assert response.status_code == 404


def test_an_export_needs_a_format(alice_client, alice_mailbox):
    response = alice_client.get(f"/mailboxes/{alice_mailbox.pk}/export/", {"format": "pst"})

    assert response.status_code == 400


def make_many(mailbox, count: int, blobs: list[str]) -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    Message.objects.bulk_create(
        (
            Message(
                mailbox=mailbox,
                gmail_id=f"m{i:06d}",
                thread_id=f"t{i:06d}",
                internal_date=start + timedelta(minutes=i),
                original_id=blobs[i % len(blobs)],
            )
            for i in range(count)
        ),
        batch_size=2_000,
    )


def export_peak(mailbox, format: ExportFormat) -> tuple[int, int]:
    """Bytes exported, and the peak of Python's allocations while exporting them."""
    messages = messages_for_export(mailbox=mailbox)
    tracemalloc.start()
    try:
        written = sum(len(chunk) for chunk in export_chunks(messages=messages, format=format))
        return written, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("format", list(ExportFormat))
def test_exporting_twenty_thousand_messages_takes_no_more_memory_than_two_thousand(
    alice_mailbox, bob_mailbox, make_original_message, format
):
    # Originals are stored once per content: a few blobs serve every message.
    blobs = [
        make_original_message(alice_mailbox, QUOTED + b"%d" % i).original_id for i in range(4)
    ]
    Message.objects.all().delete()
    make_many(alice_mailbox, 20_000, blobs)
    make_many(bob_mailbox, 2_000, blobs)

    written, peak = export_peak(alice_mailbox, format)
    _, peak_of_a_tenth = export_peak(bob_mailbox, format)

    assert written > 20_000 * len(QUOTED) // 10
    assert peak < 8 * 1024 * 1024, peak
    # Flat: 18,000 more messages, not even 30 bytes more for each.
    assert peak - peak_of_a_tenth < 512 * 1024, (peak, peak_of_a_tenth)
