"""messages.list through the real client: paging, limits, filters."""

import pytest
from googleapiclient.errors import HttpError

from gmail_emulator import GmailEmulator
from tests.plugins.emulator import gmail_service


def list_all(service, **params) -> list[str]:
    ids = []
    request = service.users().messages().list(userId="me", **params)
    while request is not None:
        response = request.execute()
        ids += [m["id"] for m in response.get("messages", [])]
        request = service.users().messages().list_next(request, response)
    return ids


def test_it_pages_through_messages_list_to_the_exact_set_of_ids(gmail_emulator: GmailEmulator):
    service = gmail_service(gmail_emulator)

    ids = list_all(service, maxResults=7)

    assert ids == gmail_emulator.mailbox().message_ids(include_spam_trash=False)
    assert len(ids) == len(set(ids))


def test_it_lists_newest_first_with_id_and_thread_id_only(gmail_emulator: GmailEmulator):
    response = gmail_service(gmail_emulator).users().messages().list(userId="me").execute()

    messages = response["messages"]
    assert all(set(m) == {"id", "threadId"} for m in messages)
    dates = [gmail_emulator.mailbox().get(m["id"]).internal_date_ms for m in messages]
    assert dates == sorted(dates, reverse=True)


def test_it_defaults_to_100_per_page_and_clamps_max_results_to_500(make_gmail_emulator):
    emulator = make_gmail_emulator(messages=1200)
    messages = gmail_service(emulator).users().messages()

    default_page = messages.list(userId="me").execute()
    clamped_page = messages.list(userId="me", maxResults=1000).execute()

    assert len(default_page["messages"]) == 100
    assert len(clamped_page["messages"]) == 500
    assert "nextPageToken" in clamped_page


def test_it_gives_an_estimate_rather_than_an_exact_count(make_gmail_emulator):
    emulator = make_gmail_emulator(messages=1234)
    exact = len(emulator.mailbox().message_ids(include_spam_trash=False))

    response = gmail_service(emulator).users().messages().list(userId="me").execute()

    assert response["resultSizeEstimate"] % 10 == 0
    assert abs(response["resultSizeEstimate"] - exact) <= exact * 0.05


def test_it_leaves_out_spam_and_trash_unless_asked(gmail_emulator: GmailEmulator):
    service = gmail_service(gmail_emulator)
    mailbox = gmail_emulator.mailbox()
    spam_id = mailbox.message_ids()[0]
    mailbox.modify_labels(spam_id, add=["SPAM"])

    default_ids = list_all(service, maxResults=500)
    all_ids = list_all(service, maxResults=500, includeSpamTrash=True)
    spam_ids = list_all(service, labelIds=["SPAM"])

    assert spam_id not in default_ids
    assert spam_id in all_ids
    assert spam_id in spam_ids
    assert set(all_ids) == set(mailbox.message_ids())


def test_it_filters_by_every_given_label(gmail_emulator: GmailEmulator):
    service = gmail_service(gmail_emulator)
    mailbox = gmail_emulator.mailbox()

    ids = list_all(service, labelIds=["INBOX", "UNREAD"])

    expected = [
        i
        for i in mailbox.message_ids(include_spam_trash=False)
        if {"INBOX", "UNREAD"} <= set(mailbox.get(i).label_ids)
    ]
    assert ids == expected
    assert ids


def test_it_answers_an_empty_list_without_a_messages_key(gmail_emulator: GmailEmulator):
    service = gmail_service(gmail_emulator)

    response = service.users().messages().list(userId="me", labelIds=["Label_999"]).execute()

    assert response == {"resultSizeEstimate": 0}


def test_it_rejects_a_page_token_it_did_not_issue(gmail_emulator: GmailEmulator):
    service = gmail_service(gmail_emulator)

    with pytest.raises(HttpError) as raised:
        service.users().messages().list(userId="me", pageToken="not-a-token").execute()

    assert raised.value.status_code == 400
