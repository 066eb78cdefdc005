"""`fields`: partial responses trimmed as Google trims them, unknown fields a 400."""

import json

import pytest
from googleapiclient.errors import HttpError

from gmail_emulator import GmailEmulator
from tests.plugins.emulator import gmail_batch, gmail_service


def first_id(emulator: GmailEmulator) -> str:
    return emulator.mailbox().message_ids()[0]


def test_it_trims_a_listing_to_the_fields_asked_for(gmail_emulator):
    response = (
        gmail_service(gmail_emulator)
        .users()
        .messages()
        .list(userId="me", maxResults=10, fields="messages(id),nextPageToken")
        .execute()
    )

    assert set(response) == {"messages", "nextPageToken"}
    assert all(set(m) == {"id"} for m in response["messages"])


def test_it_trims_a_message_down_to_nested_fields(gmail_emulator):
    message = (
        gmail_service(gmail_emulator)
        .users()
        .messages()
        .get(userId="me", id=first_id(gmail_emulator), fields="id,labelIds,payload/headers")
        .execute()
    )

    assert set(message) <= {"id", "labelIds", "payload"}
    assert set(message["payload"]) == {"headers"}
    assert {"name", "value"} == set(message["payload"]["headers"][0])


def test_sub_selections_apply_to_every_element(gmail_emulator):
    thread_id = gmail_emulator.mailbox().get(first_id(gmail_emulator)).thread_id

    thread = (
        gmail_service(gmail_emulator)
        .users()
        .threads()
        .get(userId="me", id=thread_id, fields="messages(id,payload(mimeType,parts/partId))")
        .execute()
    )

    assert set(thread) == {"messages"}
    for message in thread["messages"]:
        assert set(message) == {"id", "payload"}
        assert set(message["payload"]) <= {"mimeType", "parts"}
        assert all(set(part) == {"partId"} for part in message["payload"].get("parts", []))


def test_inner_calls_of_a_batch_are_trimmed_one_by_one(gmail_emulator):
    service = gmail_service(gmail_emulator)
    answers = []
    batch = gmail_batch(gmail_emulator, lambda _, response, error: answers.append(response))
    for message_id in gmail_emulator.mailbox().message_ids()[:3]:
        batch.add(service.users().messages().get(userId="me", id=message_id, fields="id,snippet"))

    batch.execute()

    assert [set(answer) for answer in answers] == [{"id", "snippet"}] * 3


def test_a_wildcard_keeps_everything(gmail_emulator):
    messages = gmail_service(gmail_emulator).users().messages()

    whole = messages.get(userId="me", id=first_id(gmail_emulator)).execute()
    starred = messages.get(userId="me", id=first_id(gmail_emulator), fields="*").execute()

    assert starred == whole


@pytest.mark.parametrize("fields", ["nope", "payload/nope", "id(", "id,,snippet", "snippet/x"])
def test_a_field_the_resource_lacks_or_a_malformed_selection_is_a_400(gmail_emulator, fields):
    request = (
        gmail_service(gmail_emulator)
        .users()
        .messages()
        .get(userId="me", id=first_id(gmail_emulator), fields=fields)
    )

    with pytest.raises(HttpError) as raised:
        request.execute()

    assert raised.value.status_code == 400
    error = json.loads(raised.value.content)["error"]
    assert error["message"].startswith("Invalid field selection")
    assert error["errors"][0]["reason"] == "invalidParameter"
