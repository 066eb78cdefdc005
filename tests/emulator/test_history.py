"""history.list after mutations: record types, paging, empty answers, expiry."""

import itertools
import json

import pytest
from googleapiclient.errors import HttpError

from gmail_emulator import GmailEmulator
from tests.plugins.emulator import gmail_service
from tests.support.clock import FakeClock

TYPED = {"messagesAdded", "messagesDeleted", "labelsAdded", "labelsRemoved"}


def history(emulator: GmailEmulator, start: int, **params) -> dict:
    service = gmail_service(emulator)
    return (
        service.users().history().list(userId="me", startHistoryId=str(start), **params).execute()
    )


def all_records(emulator: GmailEmulator, start: int, **params) -> list[dict]:
    service = gmail_service(emulator)
    records = []
    request = service.users().history().list(userId="me", startHistoryId=str(start), **params)
    while request is not None:
        response = request.execute()
        records += response.get("history", [])
        request = service.users().history().list_next(request, response)
    return records


def test_nothing_changed_answers_only_the_history_id(gmail_emulator: GmailEmulator):
    start = gmail_emulator.mailbox().history_id

    response = history(gmail_emulator, start)

    assert response == {"historyId": str(start)}


def test_changes_come_back_as_typed_records(gmail_emulator: GmailEmulator):
    mailbox = gmail_emulator.mailbox()
    start = mailbox.history_id
    existing, deleted = [
        i
        for i in mailbox.message_ids()
        if {"INBOX"} == set(mailbox.get(i).label_ids) & {"INBOX", "STARRED"}
    ][:2]
    [added] = mailbox.add_messages(1)
    mailbox.modify_labels(existing, add=["STARRED"], remove=["INBOX"])
    mailbox.delete_message(deleted)
    mailbox.modify_labels(existing, remove=["STARRED"])

    records = all_records(gmail_emulator, start)

    kinds = [sorted(set(r) & TYPED) for r in records]
    assert kinds == [
        ["messagesAdded"],
        ["labelsAdded", "labelsRemoved"],
        ["messagesDeleted"],
        ["labelsRemoved"],
    ]
    assert records[0]["messagesAdded"][0]["message"]["id"] == added
    assert records[1]["labelsAdded"][0]["labelIds"] == ["STARRED"]
    assert records[1]["labelsRemoved"][0]["labelIds"] == ["INBOX"]
    assert records[2]["messagesDeleted"][0]["message"]["id"] == deleted
    assert all(r["messages"][0]["id"] in (added, existing, deleted) for r in records)
    ids = [int(r["id"]) for r in records]
    assert ids == sorted(ids) and ids[-1] == mailbox.history_id
    assert any(b - a > 1 for a, b in itertools.pairwise(ids))


def test_a_change_that_changes_nothing_leaves_a_record_with_only_messages(
    gmail_emulator: GmailEmulator,
):
    mailbox = gmail_emulator.mailbox()
    start = mailbox.history_id
    message_id = mailbox.message_ids()[0]
    mailbox.modify_labels(message_id, add=mailbox.get(message_id).label_ids[:1])

    [record] = all_records(gmail_emulator, start)

    assert set(record) == {"id", "messages"}


def test_history_types_filter_records_and_fields(gmail_emulator: GmailEmulator):
    mailbox = gmail_emulator.mailbox()
    start = mailbox.history_id
    mailbox.add_messages(2)
    mailbox.modify_labels(mailbox.message_ids()[10], add=["STARRED"])

    records = all_records(gmail_emulator, start, historyTypes=["labelAdded"])

    assert len(records) == 1
    assert set(records[0]) == {"id", "messages", "labelsAdded"}


def test_history_pages_and_a_page_may_be_empty_but_go_on(make_gmail_emulator):
    emulator = make_gmail_emulator()
    mailbox = emulator.mailbox()
    start = mailbox.history_id
    mailbox.add_messages(5)
    target = mailbox.message_ids()[20]
    mailbox.modify_labels(target, add=["STARRED"])

    first = history(emulator, start, maxResults=2, historyTypes=["labelAdded"])
    records = all_records(emulator, start, maxResults=2)

    assert "history" not in first
    assert "nextPageToken" in first
    assert len(records) == 6


def test_an_expired_start_history_id_is_not_found(gmail_emulator: GmailEmulator):
    mailbox = gmail_emulator.mailbox()
    start = mailbox.history_id
    mailbox.add_messages(1)
    mailbox.expire_history()

    with pytest.raises(HttpError) as raised:
        history(gmail_emulator, start)

    assert raised.value.status_code == 404
    assert json.loads(raised.value.content)["error"]["errors"][0]["reason"] == "notFound"
    assert history(gmail_emulator, mailbox.history_id) == {"historyId": str(mailbox.history_id)}


def test_history_older_than_the_window_is_not_found(make_gmail_emulator):
    clock = FakeClock()
    emulator = make_gmail_emulator(clock=clock.time, history_window_seconds=3600)
    mailbox = emulator.mailbox()
    old_start = mailbox.history_id
    mailbox.add_messages(1)
    recent_start = mailbox.history_id
    clock.advance(3601)
    mailbox.add_messages(1)

    with pytest.raises(HttpError) as raised:
        history(emulator, old_start)
    response = history(emulator, recent_start)

    assert raised.value.status_code == 404
    assert len(response["history"]) == 1


def test_a_start_id_from_before_the_mailbox_existed_is_not_found(gmail_emulator: GmailEmulator):
    with pytest.raises(HttpError) as raised:
        history(gmail_emulator, 1)

    assert raised.value.status_code == 404


def test_new_messages_are_newest_and_reachable(gmail_emulator: GmailEmulator):
    mailbox = gmail_emulator.mailbox()
    newest_before = mailbox.get(mailbox.message_ids()[0]).internal_date_ms

    added = mailbox.add_message(subject="Bonjour 👋", body="Hello", labels=["INBOX"])

    message = gmail_service(gmail_emulator).users().messages().get(userId="me", id=added).execute()
    assert mailbox.message_ids()[0] == added
    assert int(message["internalDate"]) > newest_before
    assert message["labelIds"] == ["INBOX"]
    assert mailbox.get(added).subject == "Bonjour 👋"
    assert int(message["historyId"]) == mailbox.history_id
