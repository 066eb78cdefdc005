import base64
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from syncapp.gmail.parse import (
    ATTACHMENT_NAME_MAX,
    BODY_TEXT_MAX,
    HEADER_TEXT_MAX,
    UnparsableMessage,
    clean_text,
    parse_message,
    raw_of,
)
from syncapp.models import Message

FIXTURES = (
    Path(__file__).parent.parent / "fixtures" / "gmail" / "emiltholin_gmail-api-parse-message"
)


def load_fixture(name: str) -> dict:
    """A real format=full response, turned into the format=raw one Gmail would send."""
    resource = json.loads((FIXTURES / name).read_text())
    resource = resource.get("message", resource)
    payload = resource.pop("payload")
    return {**resource, "raw": b64(to_raw(payload))}


def b64(data: bytes, *, padded: bool = True) -> str:
    encoded = base64.urlsafe_b64encode(data).decode("ascii")
    return encoded if padded else encoded.rstrip("=")


def to_raw(part: dict) -> bytes:
    """MIME bytes for a part tree shaped like Gmail's format=full payload."""
    headers = [
        (h["name"], h["value"])
        for h in part.get("headers", [])
        if h["name"].lower() != "content-transfer-encoding"
    ]
    filename = part.get("filename")
    if filename and not any(name.lower() == "content-disposition" for name, _ in headers):
        headers.append(("Content-Disposition", f'attachment; filename="{filename}"'))
    children = part.get("parts")
    if children is None:
        data = base64.urlsafe_b64decode(part.get("body", {}).get("data", "") + "==")
        headers.append(("Content-Transfer-Encoding", "base64"))
        body = base64.encodebytes(data).replace(b"\n", b"\r\n")
    elif part["mimeType"] == "message/rfc822":
        headers.append(("Content-Type", "message/rfc822"))
        body = to_raw(children[0])
    else:
        content_type = next((v for n, v in headers if n.lower() == "content-type"), "")
        match = re.search(r'boundary="?([^";]+)"?', content_type)
        boundary = match.group(1) if match else f"b{id(part)}"
        if not match:
            headers.append(("Content-Type", f'{part["mimeType"]}; boundary="{boundary}"'))
        body = b"".join(b"--%s\r\n%s\r\n" % (boundary.encode(), to_raw(c)) for c in children)
        body += b"--%s--\r\n" % boundary.encode()
    block = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return block.encode("utf-8", "surrogatepass") + b"\r\n" + body


def text_part(
    mime_type: str,
    data: bytes,
    *,
    charset: str = "UTF-8",
    filename: str = "",
    disposition: str = "",
) -> dict:
    headers = [{"name": "Content-Type", "value": f"{mime_type}; charset={charset}"}]
    if disposition:
        headers.append({"name": "Content-Disposition", "value": disposition})
    return {
        "mimeType": mime_type,
        "filename": filename,
        "headers": headers,
        "body": {"size": len(data), "data": b64(data)},
    }


def multipart(mime_type: str, *parts: dict) -> dict:
    return {
        "mimeType": mime_type,
        "filename": "",
        "headers": [],
        "body": {"size": 0},
        "parts": list(parts),
    }


def resource(
    *, headers: dict[str, str] | list[tuple[str, str]] = (), payload=None, **fields
) -> dict:
    header_list = [
        {"name": name, "value": value}
        for name, value in (headers.items() if isinstance(headers, dict) else headers)
    ]
    if payload is None:
        payload = text_part("text/plain", b"body")
    payload = {**payload, "headers": header_list + payload.get("headers", [])}
    return {
        "id": "18c0ffee00000001",
        "threadId": "18c0ffee00000000",
        "labelIds": ["INBOX"],
        "snippet": "snippet",
        "historyId": "1234",
        "internalDate": "1700000000000",
        "sizeEstimate": 100,
        "raw": b64(to_raw(payload)),
        **fields,
    }


def parse(message) -> SimpleNamespace:
    """Parse as the sync does; the metadata and the content's fields side by side."""
    parsed = parse_message(message, raw=raw_of(message))
    content = {name: getattr(parsed.content, name) for name in parsed.content.__slots__}
    metadata = {name: getattr(parsed, name) for name in parsed.__slots__}
    return SimpleNamespace(**content, **metadata)


# Real responses


def test_it_reads_a_plain_text_message():
    parsed = parse(load_fixture("plainTextMessage.json"))

    assert parsed.gmail_id == "151e0bf2c42e466a"
    assert parsed.thread_id == "151e0bf2c42e466a"
    assert parsed.label_ids == ["SENT", "INBOX"]
    assert parsed.history_id == "694232"
    assert parsed.internal_date == datetime(2015, 12, 27, 0, 3, 23, tzinfo=UTC)
    # Its header names are lower case ("subject", "from", "to").
    assert parsed.subject == "Subject Text"
    assert parsed.sender == parsed.sender_address == "example@gmail.com"
    assert parsed.sender_name == ""
    assert parsed.to == "example@gmail.com"
    assert (parsed.cc, parsed.bcc) == ("", "")
    assert parsed.date == datetime(2015, 12, 27, 0, 3, 23, tzinfo=UTC)
    assert parsed.snippet == "The actual message text goes here"
    assert parsed.size_estimate == 472
    assert parsed.body_text == "The actual message text goes here"
    assert parsed.attachment_names == []
    assert parsed.parse_error == ""


def test_it_prefers_plain_text_over_html_in_multipart_alternative():
    parsed = parse(load_fixture("multipartAlternativeMessage.json"))

    assert parsed.subject == "cool man"
    assert parsed.sender == "example <example@gmail.com>"
    assert parsed.label_ids == ["SENT", "INBOX", "IMPORTANT", "UNREAD"]
    assert parsed.date == datetime(2015, 12, 27, 0, 3, 57, tzinfo=UTC)
    assert parsed.body_text == "wow"


def test_it_lists_attachments_and_reads_the_body_nested_in_a_part_without_part_id():
    parsed = parse(load_fixture("multipartAlternativeWithAttachmentsMessage.json"))

    assert parsed.subject == "This is my jam"
    assert parsed.body_text == "cool *stuff*"
    assert parsed.attachment_names == ["a3Ln90e_460s.jpg", "feelthebern.jpg"]
    assert parsed.size_estimate == 167988
    assert parsed.parse_error == ""


def test_it_does_not_take_a_text_plain_attachment_for_body():
    parsed = parse(load_fixture("multipartAlternativePlainTextAttachmentMessage.json"))

    assert parsed.subject == "text attached"
    assert parsed.body_text == "cool *stuff*"
    assert parsed.attachment_names == ["a_text_file.txt"]
    assert parsed.gmail_id == "156576c760d1abcd"
    assert parsed.thread_id == "156576c760d1bcde"
    assert parsed.date == datetime(2016, 8, 4, 21, 19, 1, tzinfo=UTC)


def test_it_reads_the_message_inside_a_draft():
    parsed = parse(load_fixture("multipartAlternativeDraft.json"))

    assert parsed.gmail_id == "1528457ea4ca6803"
    assert parsed.label_ids == ["DRAFT"]
    assert parsed.subject == "some subject text"
    assert parsed.sender == "<example@gmail.com>"
    assert parsed.sender_address == "example@gmail.com"
    assert parsed.to == "example@gmail.com"
    assert parsed.body_text == "Can it parse *draft *now? Sure can!"
    assert parsed.snippet == "Can it parse draft now? Sure can!"
    assert parsed.internal_date == datetime(2016, 1, 27, 18, 28, 20, tzinfo=UTC)


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda path: path.name)
def test_it_parses_every_fixture_without_error(path):
    parsed = parse(load_fixture(path.name))

    assert parsed.parse_error == ""
    assert parsed.internal_date.tzinfo == UTC
    assert parsed.subject
    assert parsed.body_text


# Headers


def test_it_decodes_rfc2047_utf8_base64_subjects():
    parsed = parse(resource(headers={"Subject": "=?utf-8?B?SGVsbG8gd8O2cmxk?="}))

    assert parsed.subject == "Hello wörld"


def test_it_decodes_rfc2047_iso_8859_1_quoted_printable_subjects():
    parsed = parse(resource(headers={"Subject": "=?iso-8859-1?Q?Caf=E9_cr=E8me?="}))

    assert parsed.subject == "Café crème"


def test_it_keeps_plain_text_around_encoded_words_and_drops_space_between_them():
    subject = "Re: =?utf-8?Q?caf=C3=A9?= =?utf-8?Q?_au_lait?= today"

    parsed = parse(resource(headers={"Subject": subject}))

    assert parsed.subject == "Re: café au lait today"


def test_it_joins_a_character_split_across_adjacent_encoded_words():
    parsed = parse(resource(headers={"Subject": "=?UTF-8?Q?=C3?=\r\n =?utf-8?Q?=A9t=C3=A9?="}))

    assert parsed.subject == "été"


def test_it_decodes_encoded_words_in_an_unknown_charset_with_replacement_characters():
    word = base64.b64encode(b"abc\xff\xfe").decode()

    parsed = parse(resource(headers={"Subject": f"=?x-no-such-charset?B?{word}?="}))

    assert parsed.subject == "abc\ufffd\ufffd"


def test_it_decodes_encoded_words_with_broken_base64_without_raising():
    parsed = parse(resource(headers={"Subject": "=?utf-8?B?SGVsbG8*?= x"}))

    assert parsed.subject.startswith("Hello")
    assert parsed.subject.endswith(" x")


def test_it_decodes_encoded_words_in_sender_and_recipients():
    parsed = parse(
        resource(
            headers={
                "From": "=?utf-8?B?SsO8cmdlbg==?= <j@example.com>",
                "To": "=?iso-8859-1?Q?Andr=E9?= <a@example.com>",
            }
        )
    )

    assert parsed.sender == "Jürgen <j@example.com>"
    assert parsed.to == "André <a@example.com>"
    assert (parsed.sender_name, parsed.sender_address) == ("Jürgen", "j@example.com")


def test_it_keeps_the_headers_that_matter_as_fields():
    headers = [
        ("From", '"Doe, Jane" <jane@example.com>'),
        ("To", "alice@example.com"),
        ("Cc", "bob@example.com, Carol <carol@example.net>"),
        ("Bcc", "dave@example.org"),
        ("Reply-To", "list@example.com"),
        ("Message-ID", "<m3@example.com>"),
        ("In-Reply-To", "<m2@example.com>"),
        ("References", "<m1@example.com>\r\n <m2@example.com>"),
        ("List-Unsubscribe", "<mailto:unsub@example.com>, <https://example.com/u>"),
    ]

    parsed = parse(resource(headers=headers))

    assert (parsed.sender_name, parsed.sender_address) == ("Doe, Jane", "jane@example.com")
    assert parsed.to == "alice@example.com"
    assert parsed.cc == "bob@example.com, Carol <carol@example.net>"
    assert parsed.bcc == "dave@example.org"
    assert parsed.reply_to == "list@example.com"
    assert parsed.rfc_message_id == "<m3@example.com>"
    assert parsed.in_reply_to == "<m2@example.com>"
    assert parsed.references == "<m1@example.com> <m2@example.com>"
    assert parsed.list_unsubscribe == "<mailto:unsub@example.com>, <https://example.com/u>"
    assert parsed.parse_error == ""


def test_it_reads_header_names_case_insensitively():
    parsed = parse(resource(headers={"SUBJECT": "Loud", "fRoM": "a@example.com"}))

    assert parsed.subject == "Loud"
    assert parsed.sender == "a@example.com"


def test_it_takes_the_first_subject_sender_and_date_and_every_recipient_header():
    headers = [
        ("Subject", "first"),
        ("Subject", "second"),
        ("From", "one@example.com"),
        ("From", "two@example.com"),
        ("Date", "Tue, 14 Nov 2023 22:13:20 +0000"),
        ("Date", "Wed, 15 Nov 2023 10:00:00 +0000"),
        ("To", "a@example.com, b@example.com"),
        ("Bcc", "d@example.com"),
        ("Cc", "c@example.com"),
        ("to", "e@example.com"),
    ]

    parsed = parse(resource(headers=headers))

    assert parsed.subject == "first"
    assert parsed.sender == "one@example.com"
    assert parsed.date == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert parsed.to == "a@example.com, b@example.com, e@example.com"
    assert parsed.cc == "c@example.com"
    assert parsed.bcc == "d@example.com"


def test_it_unfolds_headers_and_collapses_whitespace():
    parsed = parse(
        resource(headers={"Subject": "Hello\r\n\tworld   again ", "From": " A\r\n B <a@b.c>"})
    )

    assert parsed.subject == "Hello world again"
    assert parsed.sender == "A B <a@b.c>"


def test_it_removes_nul_from_subject_sender_and_body():
    parsed = parse(
        resource(
            headers={"Subject": "ab\x00c", "From": "x\x00@example.com"},
            payload=text_part("text/plain", b"bo\x00dy"),
        )
    )

    assert parsed.subject == "abc"
    assert parsed.sender == "x@example.com"
    assert parsed.body_text == "body"


def test_it_removes_nul_hidden_in_encoded_words():
    parsed = parse(resource(headers={"Subject": "=?utf-8?Q?a=00b?="}))

    assert parsed.subject == "ab"


def test_it_reads_8bit_header_bytes_as_utf8_and_removes_lone_surrogates_from_the_snippet():
    parsed = parse(resource(headers={"Subject": "Réunion a\ud800b"}, snippet="x\udfffy"))

    assert parsed.subject == "Réunion a\ufffd\ufffd\ufffdb"
    assert parsed.snippet == "xy"


def test_it_truncates_a_long_subject_to_its_column():
    parsed = parse(resource(headers={"Subject": "x" * 20_000}))

    assert len(parsed.subject) == Message.SUBJECT_MAX == 998


def test_it_truncates_sender_recipients_and_snippet_to_their_limits():
    parsed = parse(
        resource(
            headers=[("From", "f" * 5000), ("To", "t" * 15_000), ("To", "u" * 15_000)],
            snippet="s" * 5000,
        )
    )

    assert len(parsed.sender) == Message.ADDRESS_MAX
    assert len(parsed.to) == HEADER_TEXT_MAX
    assert len(parsed.snippet) == Message.SNIPPET_MAX


# Dates


def test_it_leaves_date_empty_when_the_header_is_missing():
    parsed = parse(resource())

    assert parsed.date is None


@pytest.mark.parametrize(
    "value", ["yesterday-ish", "Mon, 32 Foo 2023 99:99:99 +0000", "1 Jan 2020 00:00 +9999", ""]
)
def test_it_leaves_date_empty_when_the_header_is_garbage(value):
    parsed = parse(resource(headers={"Date": value}))

    assert parsed.date is None
    assert parsed.parse_error == ""


def test_it_converts_the_date_header_to_utc():
    parsed = parse(resource(headers={"Date": "Sat, 26 Dec 2015 19:03:23 -0500"}))

    assert parsed.date == datetime(2015, 12, 27, 0, 3, 23, tzinfo=UTC)
    assert parsed.date.utcoffset().total_seconds() == 0


def test_it_reads_a_date_without_zone_as_utc():
    parsed = parse(resource(headers={"Date": "Sat, 26 Dec 2015 19:03:23 -0000"}))

    assert parsed.date == datetime(2015, 12, 26, 19, 3, 23, tzinfo=UTC)


def test_it_reads_internal_date_as_epoch_milliseconds():
    parsed = parse(resource(internalDate="1700000000123"))

    assert parsed.internal_date == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)


def test_it_falls_back_to_the_date_header_when_internal_date_is_missing():
    message = resource(headers={"Date": "Tue, 14 Nov 2023 22:13:20 +0000"})
    del message["internalDate"]

    parsed = parse(message)

    assert parsed.internal_date == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert "internalDate" in parsed.parse_error


@pytest.mark.parametrize("value", ["soon", "9" * 30, None, 1.5])
def test_it_falls_back_to_the_epoch_when_no_date_is_readable(value):
    parsed = parse(resource(internalDate=value))

    assert parsed.internal_date == datetime(1970, 1, 1, tzinfo=UTC)
    assert "internalDate" in parsed.parse_error


# Bodies


def test_it_decodes_body_bytes_in_the_declared_charset():
    parsed = parse(
        resource(
            payload=text_part("text/plain", "café".encode("iso-8859-1"), charset='"ISO-8859-1"')
        )
    )

    assert parsed.body_text == "café"


def test_it_decodes_an_unknown_charset_with_invalid_bytes_with_replacement_characters():
    parsed = parse(
        resource(payload=text_part("text/plain", b"caf\xe9 \xff!", charset="x-no-such-charset"))
    )

    assert parsed.body_text == "caf\ufffd \ufffd!"
    assert parsed.parse_error == ""


def test_it_decodes_with_a_charset_whose_codec_cannot_replace():
    parsed = parse(resource(payload=text_part("text/plain", b"ok \xff", charset="idna")))

    assert parsed.body_text == "ok \ufffd"


def test_it_normalises_line_endings_and_joins_plain_text_parts():
    payload = multipart(
        "multipart/mixed",
        text_part("text/plain", b"first\r\nline\r\n"),
        text_part("text/plain", b"second\rline"),
    )

    parsed = parse(resource(payload=payload))

    assert parsed.body_text == "first\nline\n\nsecond\nline"


def test_it_reads_nested_alternatives_with_attachments_in_order():
    payload = multipart(
        "multipart/mixed",
        multipart(
            "multipart/related",
            multipart(
                "multipart/alternative",
                text_part("text/plain", b"plain body"),
                text_part("text/html", b"<p>html body</p>"),
            ),
            text_part("image/png", b"\x89PNG", filename="logo.png"),
        ),
        text_part("application/pdf", b"%PDF", filename="report.pdf"),
    )

    parsed = parse(resource(payload=payload))

    assert parsed.body_text == "plain body"
    assert parsed.attachment_names == ["logo.png", "report.pdf"]


def test_it_keeps_text_marked_as_attachment_out_of_the_body():
    payload = multipart(
        "multipart/mixed",
        text_part("text/plain", b"the body"),
        text_part("text/plain", b"the log file", disposition="ATTACHMENT"),
    )

    parsed = parse(resource(payload=payload))

    assert parsed.body_text == "the body"
    # Gmail names the file whenever the headers do; without a name there is none to list.
    assert parsed.attachment_names == []


def test_it_does_not_read_the_body_of_an_attached_message():
    forwarded = multipart("message/rfc822", text_part("text/plain", b"forwarded text"))
    forwarded["filename"] = "fwd.eml"
    payload = multipart("multipart/mixed", text_part("text/plain", b"own text"), forwarded)

    parsed = parse(resource(payload=payload))

    assert parsed.body_text == "own text"
    assert parsed.attachment_names == ["fwd.eml"]


def test_it_cleans_and_truncates_attachment_names():
    payload = multipart(
        "multipart/mixed",
        text_part("application/octet-stream", b"x", filename="=?utf-8?Q?r=C3=A9sum=C3=A9?=.pdf"),
        text_part("application/octet-stream", b"x", filename="evil\x00\tname.txt"),
        text_part("application/octet-stream", b"x", filename="n" * 1000),
    )

    parsed = parse(resource(payload=payload))

    assert parsed.attachment_names == ["résumé.pdf", "evil name.txt", "n" * ATTACHMENT_NAME_MAX]


def test_it_truncates_the_body_to_its_limit():
    payload = text_part("text/plain", b"y" * (BODY_TEXT_MAX + 10))

    parsed = parse(resource(payload=payload))

    assert len(parsed.body_text) == BODY_TEXT_MAX


# HTML


def test_it_extracts_text_from_an_html_only_body_without_scripts_or_tags():
    markup = (
        b"<html><head><style>p { color: red }</style></head><body>"
        b"<p>Hello <b>there</b></p><script>alert(1)</script>"
        b"<img src=x onerror=alert(1)><div>Fish &amp; chips</div></body></html>"
    )

    parsed = parse(resource(payload=text_part("text/html", markup)))

    assert parsed.body_text == "Hello there\nFish & chips"
    assert "alert" not in parsed.body_text
    assert "color" not in parsed.body_text


def test_it_turns_block_elements_and_breaks_into_lines_and_cells_into_spaces():
    markup = b"<p>One</p><p>Two<br>Three</p><table><tr><td>a</td><td>b</td></tr></table>"

    parsed = parse(resource(payload=text_part("text/html", markup)))

    assert parsed.body_text == "One\nTwo\nThree\na b"


def test_it_collapses_source_whitespace_in_html():
    markup = b"<div>\n   spread\n   over   lines\n</div>"

    parsed = parse(resource(payload=text_part("text/html", markup)))

    assert parsed.body_text == "spread over lines"


def test_it_unescapes_html_entities_in_the_body_once():
    markup = b"<p>&lt;b&gt; is &amp;lt;b&amp;gt; escaped</p>"

    parsed = parse(resource(payload=text_part("text/html", markup)))

    assert parsed.body_text == "<b> is &lt;b&gt; escaped"


def test_it_keeps_html_text_that_ends_in_a_bare_ampersand():
    parsed = parse(resource(payload=text_part("text/html", b"<p>Call AT&T")))

    assert parsed.body_text == "Call AT&T"


def test_it_keeps_the_text_before_an_unterminated_tag():
    markup = b"<p>Hello</p>" + b"<a " * 5000

    parsed = parse(resource(payload=text_part("text/html", markup)))

    assert parsed.body_text == "Hello"


def test_it_reports_html_the_parser_gives_up_on_and_keeps_the_text_before_it():
    markup = b"<p>Hi</p><![x[ y ]]><p>lost</p>"

    parsed = parse(resource(payload=text_part("text/html", markup)))

    assert parsed.body_text == "Hi"
    assert parsed.parse_error == "malformed HTML"


def test_it_uses_html_when_the_plain_text_part_is_blank():
    payload = multipart(
        "multipart/alternative",
        text_part("text/plain", b"\r\n"),
        text_part("text/html", b"<p>from html</p>"),
    )

    parsed = parse(resource(payload=payload))

    assert parsed.body_text == "from html"


# Top-level fields


def test_it_unescapes_the_snippet_once():
    parsed = parse(resource(snippet="It&#39;s &amp;lt;b&amp;gt; &quot;ok&quot;"))

    assert parsed.snippet == 'It\'s &lt;b&gt; "ok"'


def test_it_reads_a_message_without_labels_or_snippet():
    message = resource()
    del message["labelIds"], message["snippet"]

    parsed = parse(message)

    assert parsed.label_ids == []
    assert parsed.snippet == ""
    assert parsed.parse_error == ""


def test_it_uses_the_message_id_as_thread_id_when_thread_id_is_missing():
    message = resource()
    del message["threadId"]

    parsed = parse(message)

    assert parsed.thread_id == "18c0ffee00000001"
    assert parsed.parse_error == "missing threadId"


def test_it_reports_top_level_fields_of_the_wrong_type():
    parsed = parse(resource(labelIds=["INBOX", 7], historyId=["x"], snippet=3, sizeEstimate="big"))

    assert parsed.label_ids == ["INBOX"]
    assert parsed.history_id == ""
    assert parsed.snippet == ""
    assert parsed.size_estimate == 0
    assert parsed.parse_error == (
        "labelIds holds a non-string; historyId is not a string; snippet is not a string; "
        "sizeEstimate is not a number"
    )


# Malformed originals


def test_it_stores_the_metadata_of_a_resource_without_raw_and_says_so():
    message = resource(headers={"Subject": "lost"})
    del message["raw"]

    parsed = parse(message)

    assert parsed.parse_error == "missing raw"
    assert parsed.gmail_id == "18c0ffee00000001"
    assert parsed.snippet == "snippet"
    assert parsed.subject == ""
    assert parsed.body_text == ""


def test_it_reads_what_it_can_of_bytes_that_are_not_mime():
    parsed = parse(resource() | {"raw": b64(b"\x00\xff garbage\r\n\r\n\xfe body")})

    assert parsed.subject == ""
    assert "\x00" not in parsed.body_text


def test_it_reads_the_headers_of_parts_nested_too_deep_and_says_so():
    raw = b"Subject: deep\r\n"
    for level in range(2000):  # deeper than Python's recursion limit
        raw += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (level, level)
    raw += b"Content-Type: text/plain\r\n\r\ndeep down\r\n"

    parsed = parse(resource() | {"raw": b64(raw)})

    assert parsed.subject == "deep"
    assert (
        parsed.body_text == "deep down"
        or parsed.parse_error == "unreadable parts (RecursionError)"
    )


def test_it_survives_hostile_parameters_and_transfer_encodings():
    payload = multipart(
        "multipart/mixed",
        text_part("text/plain", b"kept"),
        text_part("application/pdf", b"x", disposition="attachment; filename*=x'y'%ZZ%"),
    )
    raw = to_raw({**payload, "headers": [{"name": "Subject", "value": "ok"}]})
    raw = raw.replace(b"Content-Transfer-Encoding: base64", b"Content-Transfer-Encoding: x-uue?")

    parsed = parse(resource() | {"raw": b64(raw)})

    assert parsed.subject == "ok"


@pytest.mark.parametrize(
    "message",
    [
        {"threadId": "t", "payload": {}},
        {"id": "", "payload": {}},
        {"id": 12345, "payload": {}},
        {"id": "x" * 65},
        {"id": "ab\x00c"},
        ["not", "a", "dict"],
        None,
    ],
    ids=["no id", "empty id", "numeric id", "long id", "nul in id", "list", "none"],
)
def test_it_refuses_a_resource_without_a_usable_id(message):
    with pytest.raises(UnparsableMessage):
        parse_message(message, raw=raw_of(message))


# clean_text


def test_clean_text_removes_nul_and_lone_surrogates_and_keeps_the_rest():
    assert clean_text("a\x00b\ud800c\udfffd 😀 é\x01") == "abcd 😀 é\x01"


def test_clean_text_truncates_after_cleaning():
    assert clean_text("\x00\x00abcdef", 4) == "abcd"
    assert clean_text("abc", None) == "abc"
