"""Parsing an original for its fields reads its base64 payloads only where it needs them."""

from email.message import EmailMessage

import pytest

from gmail_emulator.mailbox import EmulatedMailbox
from syncapp.gmail import payloads
from syncapp.gmail.parse import parse_original
from syncapp.gmail.payloads import cut_payloads


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

    assert len(cut_payloads(raw).text) < 2000 < len(raw)
    parsed = parse_original(raw)
    assert parsed.body_text == "Here it is."
    assert parsed.attachment_names == ["VID_1.mp4"]
    assert parsed.subject == "The video"


def test_it_puts_a_long_base64_text_part_back_whole():
    text = "All work and no play makes Jack a dull boy. " * 5000
    message = EmailMessage()
    message["Subject"] = "Long"
    message.set_content(text, cte="base64")
    raw = message.as_bytes()
    assert len(raw) > 200_000

    assert len(cut_payloads(raw).text) < 1000
    assert parse_original(raw).body_text == text.strip()


def test_it_puts_back_a_base64_body_that_ends_its_part():
    message = EmailMessage()
    message["Subject"] = "Newsletter"
    message.set_content("Plain words. " * 200, cte="base64")
    message.add_alternative("<p>" + "Rich words. " * 200 + "</p>", subtype="html", cte="base64")
    raw = message.as_bytes().replace(b"\n", b"\r\n")

    assert len(cut_payloads(raw).runs) == 2
    assert parse_original(raw).body_text == ("Plain words. " * 200).strip()


def test_it_leaves_small_attachments_alone():
    raw = message_with(text="Small.\n", attachment=b"x" * 500)

    assert cut_payloads(raw).text == raw


def test_its_placeholders_are_new_for_each_parse():
    # So that no message can hold a line that would be taken for one.
    raw = message_with(text="Hi.\n", attachment=bytes(4000))

    assert cut_payloads(raw).text != cut_payloads(raw).text


def test_a_line_written_like_a_placeholder_is_read_as_text():
    lines = ["A" * 76] * 20
    forged = "MAILSYNC0123456789abcdefX0"
    message = EmailMessage()
    message.set_content("\n".join([forged, *lines, forged]) + "\n", cte="7bit")
    raw = message.as_bytes()
    assert len(cut_payloads(raw).runs) == 1

    assert parse_original(raw).body_text == "\n".join([forged, *lines, forged])


LINE = "QUJD" * 19  # 76 characters of base64
ODD_LINES = {
    "a line as long with a colon": "Subject: a line of text as long as the base64 ones" + "x" * 26,
    "a blank line": "",
    "a line with a lone carriage return": LINE[:30] + "\r" + LINE[31:],
    "a line as long with a line feed in it": LINE[:40] + "\n" + LINE[41:],
    "a boundary": "--" + LINE[2:],
}


def plain_message(lines: list[str], *, ending: str) -> bytes:
    head = ["From: alice@example.com", "Subject: Lines", "Content-Type: text/plain", ""]
    return ending.join([*head, *lines, ""]).encode()


def parsed_both_ways(raw: bytes, monkeypatch) -> tuple[object, object]:
    cut = parse_original(raw)
    with monkeypatch.context() as whole:
        whole.setattr(payloads, "_RUN_MIN", len(raw) + 1)
        return cut, parse_original(raw)


@pytest.mark.parametrize("ending", ["\n", "\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize("odd", ODD_LINES.values(), ids=ODD_LINES.keys())
@pytest.mark.parametrize("at", [3, 40, 150])
def test_a_run_ends_at_a_line_that_is_not_base64(odd, ending, at, monkeypatch):
    # Lines are checked a window at a time: small windows, so that the odd line falls
    # in the first window, a doubled one, or past the largest.
    monkeypatch.setattr(payloads, "_FIRST_WINDOW", 4)
    monkeypatch.setattr(payloads, "_CHECKED_AT_ONCE", 64 * len(LINE))
    raw = plain_message([*[LINE] * at, odd, *[LINE] * 60], ending=ending)

    cut = cut_payloads(raw)

    assert cut.runs
    assert (ending + odd + ending).encode() in cut.text
    cut_fields, whole_fields = parsed_both_ways(raw, monkeypatch)
    assert cut_fields == whole_fields


def test_a_crlf_run_ends_at_a_line_with_its_carriage_return_out_of_place():
    odd = LINE[:30] + "\r" + LINE[31:] + "A\n"
    raw = plain_message([*[LINE] * 40, odd + LINE, *[LINE] * 40], ending="\r\n")

    assert odd.encode() in cut_payloads(raw).text


def test_a_run_goes_on_past_a_shorter_line():
    raw = plain_message([*[LINE] * 30, LINE[:64], *[LINE] * 30], ending="\n")

    assert len(cut_payloads(raw).runs) == 1


@pytest.fixture(scope="module")
def emulated_originals():
    mailbox = EmulatedMailbox("demo@example.com", messages=300, seed=3, profile="realistic")
    return [mailbox.get(gmail_id).raw for gmail_id in mailbox.message_ids()]


def test_every_emulated_message_parses_to_the_same_fields_cut_or_whole(
    emulated_originals, monkeypatch
):
    assert sum(len(cut_payloads(raw).runs) for raw in emulated_originals) > 100
    cut = [parse_original(raw) for raw in emulated_originals]
    monkeypatch.setattr(payloads, "_RUN_MIN", len(max(emulated_originals, key=len)) + 1)
    whole = [parse_original(raw) for raw in emulated_originals]

    assert cut == whole
