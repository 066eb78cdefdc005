"""`q` on messages.list and threads.list: Gmail's operators on labels, dates, sizes, else 400."""

import json
from datetime import UTC, datetime

import pytest
from googleapiclient.errors import HttpError

from gmail_emulator import GmailEmulator
from gmail_emulator.content import content
from tests.plugins.emulator import gmail_service


@pytest.fixture
def emulator(make_gmail_emulator) -> GmailEmulator:
    return make_gmail_emulator(messages=300, seed=4)


def listed(emulator: GmailEmulator, **params) -> list[str]:
    messages = gmail_service(emulator).users().messages()
    ids, request = [], messages.list(userId="me", maxResults=500, **params)
    while request is not None:
        response = request.execute()
        ids += [m["id"] for m in response.get("messages", [])]
        request = messages.list_next(request, response)
    return ids


def where(emulator: GmailEmulator, test, include_spam_trash: bool = False) -> list[str]:
    """The mailbox's own answer: ids of the messages passing `test`, newest first."""
    mailbox = emulator.mailbox()
    return [
        i
        for i in mailbox.message_ids(include_spam_trash=include_spam_trash)
        if test(mailbox.get(i))
    ]


def test_in_and_is_select_by_label(emulator):
    inbox = listed(emulator, q="in:inbox")
    unread_archived = listed(emulator, q="is:unread -in:inbox")

    assert inbox == listed(emulator, labelIds=["INBOX"])
    assert inbox == where(emulator, lambda m: "INBOX" in m.label_ids)
    assert unread_archived
    assert unread_archived == where(
        emulator, lambda m: "UNREAD" in m.label_ids and "INBOX" not in m.label_ids
    )


def test_label_and_category_take_names_as_gmail_writes_them(emulator):
    travel = listed(emulator, q="label:travel")
    promotions = listed(emulator, q="category:promotions is:read")

    assert travel
    assert travel == where(emulator, lambda m: "Label_2" in m.label_ids)
    assert promotions == where(
        emulator,
        lambda m: "CATEGORY_PROMOTIONS" in m.label_ids and "UNREAD" not in m.label_ids,
    )


def test_after_and_before_bound_the_received_date(emulator):
    start = datetime(2023, 1, 1, tzinfo=UTC).timestamp() * 1000
    end = datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000

    in_2023 = listed(emulator, q="after:2023/01/01 before:2024-01-01")

    assert in_2023
    assert in_2023 == where(emulator, lambda m: start <= m.internal_date_ms < end)
    assert listed(emulator, q=f"after:{int(end / 1000)}") == where(
        emulator, lambda m: m.internal_date_ms >= end
    )


def test_larger_and_smaller_bound_the_size(emulator):
    large = listed(emulator, q="larger:5K", includeSpamTrash=True)
    small = listed(emulator, q="smaller:1500")

    assert large and small
    assert large == where(emulator, lambda m: m.size_estimate > 5000, include_spam_trash=True)
    assert small == where(emulator, lambda m: m.size_estimate < 1500)
    assert listed(emulator, q="larger:1M") == listed(emulator, q="larger:1000000") == []


def test_a_size_search_makes_no_message_again_once_it_knows_the_sizes(emulator):
    first = listed(emulator, q="larger:5K")
    content.cache_clear()

    assert listed(emulator, q="larger:5K") == first
    # As Gmail answers from its index: no message was built for the second search.
    assert content.cache_info().misses == 0


def test_spam_and_trash_are_listed_when_the_search_asks_for_them(emulator):
    spam = listed(emulator, q="in:spam")
    everything = listed(emulator, q="in:anywhere")

    assert spam
    assert spam == where(emulator, lambda m: "SPAM" in m.label_ids, include_spam_trash=True)
    assert everything == emulator.mailbox().message_ids()


def test_threads_list_shows_threads_with_a_matching_message(emulator):
    response = (
        gmail_service(emulator)
        .users()
        .threads()
        .list(userId="me", q="is:starred", maxResults=500)
        .execute()
    )

    starred = {
        emulator.mailbox().get(i).thread_id
        for i in where(emulator, lambda m: "STARRED" in m.label_ids)
    }
    assert {t["id"] for t in response["threads"]} == starred
    assert response["resultSizeEstimate"] == len(starred)


@pytest.mark.parametrize(
    ("q", "named"),
    [
        ("hello", "hello"),
        ("from:alice@example.org", "from:alice@example.org"),
        ("in:inbox OR is:starred", "OR"),
        ("after:yesterday", "after:yesterday"),
        ("larger:10MB", "larger:10MB"),
    ],
)
def test_what_it_cannot_search_is_a_400_never_ignored(emulator, q, named):
    with pytest.raises(HttpError) as raised:
        gmail_service(emulator).users().messages().list(userId="me", q=q).execute()

    assert raised.value.status_code == 400
    assert named in json.loads(raised.value.content)["error"]["message"]
