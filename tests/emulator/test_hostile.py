"""Hostile messages are in every mailbox of 10+ messages and are served as Gmail would."""

import base64

import pytest

from gmail_emulator import EmulatedMailbox, GmailEmulator
from tests.plugins.emulator import gmail_service

CASES = {
    "nul",
    "bad_charset",
    "long_subject",
    "html_script",
    "missing_date",
    "duplicate_message_id_a",
    "duplicate_message_id_b",
    "utf8_header",
    "no_subject",
}


def full(emulator: GmailEmulator, case: str) -> dict:
    message_id = emulator.mailbox().hostile_ids[case]
    return gmail_service(emulator).users().messages().get(userId="me", id=message_id).execute()


def header(message: dict, name: str) -> str | None:
    values = [h["value"] for h in message["payload"]["headers"] if h["name"].lower() == name]
    return values[0] if values else None


def test_every_mailbox_of_ten_or_more_has_every_case():
    small = EmulatedMailbox("demo@example.com", messages=10, seed=1)
    tiny = EmulatedMailbox("demo@example.com", messages=9, seed=1)

    assert set(small.hostile_ids) == CASES
    assert set(small.hostile_ids.values()) <= set(small.message_ids())
    assert tiny.hostile_ids == {}


def test_nul_characters_are_served_in_headers_and_body(gmail_emulator: GmailEmulator):
    message = full(gmail_emulator, "nul")

    assert "\x00" in header(message, "subject")
    assert b"\x00" in base64.urlsafe_b64decode(message["payload"]["body"]["data"])
    assert "\x00" in message["snippet"]


def test_an_unknown_charset_is_served_as_its_raw_bytes(gmail_emulator: GmailEmulator):
    message = full(gmail_emulator, "bad_charset")

    data = base64.urlsafe_b64decode(message["payload"]["body"]["data"])
    assert b"\xff\xfe" in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert "\ufffd" in header(message, "subject")


def test_a_20000_character_subject_is_unfolded(gmail_emulator: GmailEmulator):
    message = full(gmail_emulator, "long_subject")

    subject = header(message, "subject")
    assert len(subject) == 20_000
    assert "\n" not in subject
    assert subject == gmail_emulator.mailbox().get(message["id"]).subject


def test_script_is_served_verbatim_in_subject_and_html(gmail_emulator: GmailEmulator):
    message = full(gmail_emulator, "html_script")

    html_part = message["payload"]["parts"][1]
    html = base64.urlsafe_b64decode(html_part["body"]["data"]).decode()
    assert header(message, "subject") == "<script>alert(1)</script> <img src=x onerror=alert(1)>"
    assert "<script>alert(1)</script>" in html
    assert "<img src=x onerror=alert(1)>" in html
    assert "<script>" not in message["snippet"]


def test_missing_date_and_subject_headers_are_simply_absent(gmail_emulator: GmailEmulator):
    no_date = full(gmail_emulator, "missing_date")
    no_subject = full(gmail_emulator, "no_subject")

    assert header(no_date, "date") is None
    assert header(no_subject, "subject") is None
    assert gmail_emulator.mailbox().get(no_subject["id"]).subject == ""


def test_two_messages_share_one_message_id(gmail_emulator: GmailEmulator):
    first = full(gmail_emulator, "duplicate_message_id_a")
    second = full(gmail_emulator, "duplicate_message_id_b")

    assert first["id"] != second["id"]
    assert header(first, "message-id") == header(second, "message-id")


def test_raw_8bit_header_bytes_are_read_as_utf8(gmail_emulator: GmailEmulator):
    message = full(gmail_emulator, "utf8_header")

    assert header(message, "subject") == "Réunion 日本語 raw bytes"
