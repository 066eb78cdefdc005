"""messages.get in each format, compared with real Gmail responses (tests/fixtures/gmail)."""

import base64
import email
import email.policy
import json
from pathlib import Path

import pytest
from googleapiclient.errors import HttpError

from gmail_emulator import GmailEmulator
from tests.plugins.emulator import gmail_service

FIXTURES = (
    Path(__file__).parent.parent / "fixtures" / "gmail" / "emiltholin_gmail-api-parse-message"
)


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def get(emulator: GmailEmulator, message_id: str, **params) -> dict:
    service = gmail_service(emulator)
    return service.users().messages().get(userId="me", id=message_id, **params).execute()


def alternative_with_attachment(emulator: GmailEmulator) -> dict:
    """The first multipart/mixed message holding multipart/alternative and an attachment."""
    mailbox = emulator.mailbox()
    for message_id in mailbox.message_ids():
        parsed = email.message_from_bytes(mailbox.get(message_id).raw)
        if (
            parsed.get_content_type() == "multipart/mixed"
            and parsed.get_payload(0).get_content_type() == "multipart/alternative"
        ):
            return get(emulator, message_id)
    raise AssertionError("no multipart/alternative message with an attachment")


def test_it_answers_full_format_with_the_keys_gmail_sends(gmail_emulator: GmailEmulator):
    real = fixture("multipartAlternativeWithAttachmentsMessage.json")
    message_id = gmail_emulator.mailbox().message_ids()[0]

    message = get(gmail_emulator, message_id)

    assert set(message) == set(real)
    assert set(real["payload"]) | {"partId"} == set(message["payload"])
    assert isinstance(message["historyId"], str)
    assert message["internalDate"] == str(
        gmail_emulator.mailbox().get(message_id).internal_date_ms
    )


@pytest.mark.parametrize(
    ("fmt", "extra"),
    [("minimal", set()), ("metadata", {"payload"}), ("raw", {"raw"})],
)
def test_it_answers_each_format_with_its_own_keys(gmail_emulator: GmailEmulator, fmt, extra):
    common = {"id", "threadId", "labelIds", "snippet", "historyId", "internalDate", "sizeEstimate"}
    mailbox = gmail_emulator.mailbox()
    message_id = next(i for i in mailbox.message_ids() if mailbox.get(i).label_ids)

    message = get(gmail_emulator, message_id, format=fmt)

    assert set(message) == common | extra


def test_metadata_format_has_headers_but_no_bodies(gmail_emulator: GmailEmulator):
    message_id = gmail_emulator.mailbox().message_ids()[0]

    everything = get(gmail_emulator, message_id, format="metadata")
    chosen = get(
        gmail_emulator, message_id, format="metadata", metadataHeaders=["subject", "From"]
    )

    assert set(everything["payload"]) == {"mimeType", "headers"}
    assert len(everything["payload"]["headers"]) > 2
    assert {h["name"] for h in chosen["payload"]["headers"]} == {"Subject", "From"}


def test_it_builds_the_payload_tree_of_alternative_with_attachment(make_gmail_emulator):
    emulator = make_gmail_emulator(messages=300)
    real = fixture("multipartAlternativeWithAttachmentsMessage.json")["payload"]

    message = alternative_with_attachment(emulator)
    payload = message["payload"]

    assert payload["partId"] == ""
    assert payload["body"] == {"size": 0}
    alternative, attachment = payload["parts"][0], payload["parts"][-1]
    assert alternative["partId"] == "0"
    assert alternative["mimeType"] == "multipart/alternative"
    assert [p["partId"] for p in alternative["parts"]] == ["0.0", "0.1"]
    assert [p["mimeType"] for p in alternative["parts"]] == ["text/plain", "text/html"]
    assert set(alternative["parts"][0]) == set(real["parts"][0]["parts"][0])
    assert set(alternative["parts"][0]["body"]) == {"size", "data"}
    assert attachment["partId"] == str(len(payload["parts"]) - 1)
    assert attachment["filename"].endswith((".pdf", ".png"))
    assert set(attachment["body"]) == set(real["parts"][1]["body"]) == {"attachmentId", "size"}


def test_body_data_is_the_decoded_part_in_its_own_charset(make_gmail_emulator):
    emulator = make_gmail_emulator(messages=300)
    message = alternative_with_attachment(emulator)
    raw = emulator.mailbox().get(message["id"]).raw
    parsed = email.message_from_bytes(raw)
    text_part = next(p for p in parsed.walk() if p.get_content_type() == "text/plain")

    served = message["payload"]["parts"][0]["parts"][0]["body"]

    data = base64.urlsafe_b64decode(served["data"])
    assert data == text_part.get_payload(decode=True)
    assert served["size"] == len(data)


def test_attachments_get_returns_the_attachment_bytes(make_gmail_emulator):
    emulator = make_gmail_emulator(messages=300)
    message = alternative_with_attachment(emulator)
    part = message["payload"]["parts"][-1]
    raw = emulator.mailbox().get(message["id"]).raw
    expected = email.message_from_bytes(raw).get_payload()[-1].get_payload(decode=True)

    attachment = (
        gmail_service(emulator)
        .users()
        .messages()
        .attachments()
        .get(userId="me", messageId=message["id"], id=part["body"]["attachmentId"])
        .execute()
    )

    assert base64.urlsafe_b64decode(attachment["data"]) == expected
    assert attachment["size"] == part["body"]["size"] == len(expected)


def test_it_decodes_rfc2047_subjects_like_gmail(make_gmail_emulator):
    emulator = make_gmail_emulator(messages=300)
    mailbox = emulator.mailbox()
    message_id = next(
        i
        for i in mailbox.message_ids()
        if b"Subject: =?" in mailbox.get(i).raw and i not in mailbox.hostile_ids.values()
    )

    message = get(emulator, message_id, format="metadata", metadataHeaders=["Subject"])

    subject = message["payload"]["headers"][0]["value"]
    assert "=?" not in subject
    assert not subject.isascii()
    assert subject == mailbox.get(message_id).subject


def test_raw_round_trips_through_the_email_package(gmail_emulator: GmailEmulator):
    mailbox = gmail_emulator.mailbox()
    message_id = mailbox.message_ids()[3]

    message = get(gmail_emulator, message_id, format="raw")

    raw = base64.urlsafe_b64decode(message["raw"])
    assert raw == mailbox.get(message_id).raw
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == mailbox.get(message_id).subject
    assert message["sizeEstimate"] == len(raw)


def test_snippets_escape_html_like_gmail(make_gmail_emulator):
    emulator = make_gmail_emulator(messages=200)
    service = gmail_service(emulator)

    snippets = [
        service.users().messages().get(userId="me", id=i, format="minimal").execute()["snippet"]
        for i in emulator.mailbox().message_ids()[:40]
    ]

    assert any("&#39;" in snippet for snippet in snippets)
    assert not any("'" in snippet for snippet in snippets)


def test_it_leaves_label_ids_out_when_a_message_has_none(gmail_emulator: GmailEmulator):
    mailbox = gmail_emulator.mailbox()
    message_id = mailbox.message_ids()[0]
    mailbox.modify_labels(message_id, remove=mailbox.get(message_id).label_ids)

    message = get(gmail_emulator, message_id, format="minimal")

    assert "labelIds" not in message


def test_an_unknown_message_id_is_not_found(gmail_emulator: GmailEmulator):
    with pytest.raises(HttpError) as raised:
        get(gmail_emulator, "ffffffffffffffff")

    assert raised.value.status_code == 404
    assert json.loads(raised.value.content) == {
        "error": {
            "code": 404,
            "message": "Requested entity was not found.",
            "errors": [
                {
                    "message": "Requested entity was not found.",
                    "domain": "global",
                    "reason": "notFound",
                }
            ],
            "status": "NOT_FOUND",
        }
    }
