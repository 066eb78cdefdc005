"""The message list reads like a mail client's: conversations, folders, names people use,
markers, counts, and search that ignores case in every language."""

import re

import pytest
from django.db import connection

from syncapp.models import Label, Message

pytestmark = pytest.mark.django_db


def listed_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/messages/(\d+)/"', html)]


def test_a_conversation_is_one_row_with_its_newest_message_and_its_count(
    alice_client, alice_mailbox, make_messages
):
    newest, middle, lone, oldest = make_messages(alice_mailbox, 4)
    Message.objects.filter(pk__in=[newest.pk, middle.pk, oldest.pk]).update(thread_id="trip")

    html = alice_client.get(f"/mailboxes/{alice_mailbox.pk}/messages/").content.decode()

    assert listed_ids(html) == [newest.pk, lone.pk]
    assert 'aria-label="3 messages">3</span>' in html
    assert "1\N{EN DASH}2 of 2" in html


def test_the_count_says_where_a_page_is_among_all_of_them(
    alice_client, alice_mailbox, make_messages
):
    make_messages(alice_mailbox, 1234)
    url = f"/mailboxes/{alice_mailbox.pk}/messages/"

    first = alice_client.get(url).content.decode()
    older = re.search(r'href="(\?[^"]*)" rel="next"', first)[1].replace("&amp;", "&")
    second = alice_client.get(url + older).content.decode()

    assert "1\N{EN DASH}50 of 1,234" in first
    assert "51\N{EN DASH}100 of 1,234" in second


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("inbox", ["inbox"]),
        ("sent", ["sent"]),
        ("drafts", ["draft"]),
        ("spam", ["spam"]),
        ("trash", ["trash"]),
        ("all", ["inbox", "sent", "draft", "archived"]),
    ],
)
def test_folders_are_gmails_system_labels_and_all_mail_leaves_out_spam_and_trash(
    alice_client, alice_mailbox, make_messages, folder, expected
):
    labels = {
        "inbox": ["INBOX"],
        "sent": ["SENT"],
        "draft": ["DRAFT"],
        "spam": ["SPAM"],
        "trash": ["TRASH"],
        "archived": ["CATEGORY_UPDATES"],
    }
    messages = dict(zip(labels, make_messages(alice_mailbox, len(labels)), strict=True))
    for name, label_ids in labels.items():
        Message.objects.filter(pk=messages[name].pk).update(label_ids=label_ids)

    html = alice_client.get(f"/mailboxes/{alice_mailbox.pk}/messages/?folder={folder}").content

    assert listed_ids(html.decode()) == [messages[name].pk for name in expected]


def test_labels_have_the_names_people_know_them_by(
    alice_client, alice_mailbox, alice_labels, make_messages
):
    Label.objects.create(
        mailbox=alice_mailbox, label_id="CATEGORY_UPDATES", name="CATEGORY_UPDATES"
    )
    (message,) = make_messages(alice_mailbox, 1)
    Message.objects.filter(pk=message.pk).update(
        label_ids=["INBOX", "CATEGORY_UPDATES", "Label_7"]
    )

    page = alice_client.get(f"/mailboxes/{alice_mailbox.pk}/messages/").content.decode()
    detail = alice_client.get(f"/messages/{message.pk}/").content.decode()

    assert '<option value="CATEGORY_UPDATES">Updates</option>' in page
    assert '<option value="Label_7">Receipts</option>' in page
    for name in ("Inbox", "Updates", "Receipts"):
        assert f'<span class="chip">{name}</span>' in detail


def test_a_row_shows_the_senders_name_and_marks_unread_mail_and_attachments(
    alice_client, alice_mailbox, make_messages
):
    unread, _read = make_messages(
        alice_mailbox, 2, sender_name="Carol Danvers", sender_address="carol@example.net"
    )
    Message.objects.filter(pk=unread.pk).update(
        label_ids=["INBOX", "UNREAD"], attachment_names=["plans.pdf"]
    )

    html = alice_client.get(f"/mailboxes/{alice_mailbox.pk}/messages/").content.decode()

    rows = html.split('<li class="messages__item')[1:]
    assert rows[0].startswith(' messages__item--unread"') and "Unread: " in rows[0]
    assert 'aria-label="Has attachments"' in rows[0]
    assert not rows[1].startswith(" messages__item--unread") and "Has attachments" not in rows[1]
    assert 'title="carol@example.net">Carol Danvers' in rows[1]


@pytest.mark.parametrize(
    ("stored", "query"),
    [
        ("Überweisung erhalten", "überweisung"),
        ("ΣΥΝΑΝΤΗΣΗ αύριο", "συναντηση"),
        ("Straße gesperrt", "STRASSE"),
        ("Счёт за МАЙ", "май"),
    ],
)
def test_search_ignores_case_in_every_language(
    alice_client, alice_mailbox, make_messages, stored, query
):
    if connection.vendor == "postgresql" and "ß" in stored:
        pytest.skip("PostgreSQL's full-text search lowercases ß but does not fold it to ss")
    hit, _miss = make_messages(alice_mailbox, 2)
    Message.objects.filter(pk=hit.pk).update(subject=stored)

    html = alice_client.get(f"/mailboxes/{alice_mailbox.pk}/messages/", {"q": query}).content

    assert listed_ids(html.decode()) == [hit.pk]


def test_a_folder_that_is_not_one_is_a_bad_request(alice_client, alice_mailbox):
    response = alice_client.get(f"/mailboxes/{alice_mailbox.pk}/messages/?folder=secret")

    assert response.status_code == 400
