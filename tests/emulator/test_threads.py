"""threads.list and threads.get."""

import pytest
from googleapiclient.errors import HttpError

from gmail_emulator import GmailEmulator
from tests.plugins.emulator import gmail_service


def test_it_pages_through_threads_most_recent_first(gmail_emulator: GmailEmulator):
    mailbox = gmail_emulator.mailbox()
    threads = gmail_service(gmail_emulator).users().threads()
    listed = []
    request = threads.list(userId="me", maxResults=4, includeSpamTrash=True)
    while request is not None:
        response = request.execute()
        listed += response.get("threads", [])
        request = threads.list_next(request, response)

    expected = list(dict.fromkeys(mailbox.get(i).thread_id for i in mailbox.message_ids()))
    assert [t["id"] for t in listed] == expected
    assert all(set(t) == {"id", "snippet", "historyId"} for t in listed)


def test_thread_get_returns_every_message_oldest_first(gmail_emulator: GmailEmulator):
    mailbox = gmail_emulator.mailbox()
    snapshot = mailbox.snapshot()
    sizes = {}
    for message_id, message in snapshot.items():
        sizes.setdefault(message["thread_id"], []).append(message_id)
    thread_id, members = max(sizes.items(), key=lambda item: len(item[1]))

    thread = (
        gmail_service(gmail_emulator)
        .users()
        .threads()
        .get(userId="me", id=thread_id, format="metadata")
        .execute()
    )

    assert len(members) > 1
    assert [m["id"] for m in thread["messages"]] == sorted(members)
    assert thread["historyId"] == str(max(int(m["historyId"]) for m in thread["messages"]))
    assert all("headers" in m["payload"] for m in thread["messages"])


def test_replies_carry_in_reply_to_and_references(gmail_emulator: GmailEmulator):
    mailbox = gmail_emulator.mailbox()
    reply = next(mailbox.get(i) for i in mailbox.message_ids() if mailbox.get(i).thread_id != i)

    thread = (
        gmail_service(gmail_emulator)
        .users()
        .threads()
        .get(userId="me", id=reply.thread_id)
        .execute()
    )

    first, second = thread["messages"][:2]
    headers = {h["name"]: h["value"] for h in second["payload"]["headers"]}
    first_id = next(h["value"] for h in first["payload"]["headers"] if h["name"] == "Message-ID")
    assert headers["In-Reply-To"] == first_id
    assert headers["References"].startswith(first_id)
    assert headers["Subject"].startswith("Re: ")


def test_an_unknown_thread_is_not_found(gmail_emulator: GmailEmulator):
    with pytest.raises(HttpError) as raised:
        gmail_service(gmail_emulator).users().threads().get(userId="me", id="123").execute()

    assert raised.value.status_code == 404
