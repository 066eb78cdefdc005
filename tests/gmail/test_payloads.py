"""Parsing an original for its fields skips its attachments' payloads."""

from email.message import EmailMessage

from syncapp.gmail.parse import parse_original
from syncapp.gmail.payloads import without_payloads


def message_with(*, text: str, attachment: bytes) -> bytes:
    message = EmailMessage()
    message["From"] = "Alice <alice@example.com>"
    message["To"] = "bob@example.com"
    message["Subject"] = "The video"
    message.set_content(text)
    message.add_attachment(attachment, maintype="video", subtype="mp4", filename="VID_1.mp4")
    return message.as_bytes()


def test_it_cuts_an_attachments_payload_and_keeps_its_name_and_the_body():
    raw = message_with(text="Here it is.\n", attachment=bytes(range(256)) * 8000)

    assert len(without_payloads(raw)) < 2000 < len(raw)
    parsed = parse_original(raw)
    assert parsed.body_text == "Here it is."
    assert parsed.attachment_names == ["VID_1.mp4"]
    assert parsed.subject == "The video"


def test_it_keeps_a_long_base64_text_part_whole():
    text = "All work and no play makes Jack a dull boy. " * 5000
    message = EmailMessage()
    message["Subject"] = "Long"
    message.set_content(text, cte="base64")
    raw = message.as_bytes()
    assert len(raw) > 200_000

    assert without_payloads(raw) == raw
    assert parse_original(raw).body_text == text.strip()


def test_it_leaves_small_attachments_alone():
    raw = message_with(text="Small.\n", attachment=b"x" * 1000)

    assert without_payloads(raw) == raw
