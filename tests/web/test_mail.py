"""Reading synced mail: the message list (pages, labels, search) and one message."""

import re
from datetime import UTC, datetime

import pytest
from django.db import connection

from syncapp.mailfilters import messages_matching, messages_with_label
from syncapp.models import Message
from syncapp.selectors import COUNT_MAX

pytestmark = pytest.mark.django_db


def listed_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/messages/(\d+)/"', html)]


def older_link(html: str) -> str | None:
    found = re.search(r'href="(\?[^"]*)" rel="next"', html)
    return found[1].replace("&amp;", "&") if found else None


def test_messages_come_newest_first_in_pages_of_fifty(alice_client, alice_mailbox, make_messages):
    messages = make_messages(alice_mailbox, 120)
    url = f"/mailboxes/{alice_mailbox.pk}/messages/"

    pages = []
    link = ""
    while link is not None:
        html = alice_client.get(url + link).content.decode()
        pages.append(listed_ids(html))
        link = older_link(html)

    assert [len(page) for page in pages] == [50, 50, 20]
    assert [i for page in pages for i in page] == [m.pk for m in messages]


def test_messages_received_at_the_same_instant_are_neither_skipped_nor_repeated(
    alice_client, alice_mailbox, make_messages
):
    same = datetime(2025, 1, 1, tzinfo=UTC)
    make_messages(alice_mailbox, 75)
    Message.objects.update(internal_date=same)
    url = f"/mailboxes/{alice_mailbox.pk}/messages/"

    first = alice_client.get(url).content.decode()
    second = alice_client.get(url + older_link(first)).content.decode()

    seen = listed_ids(first) + listed_ids(second)
    assert sorted(seen) == sorted(Message.objects.values_list("pk", flat=True))
    assert older_link(second) is None


def test_a_page_never_counts_the_whole_table(
    alice_client, alice_mailbox, make_messages, django_assert_max_num_queries
):
    make_messages(alice_mailbox, 60)

    with django_assert_max_num_queries(5) as queries:
        alice_client.get(f"/mailboxes/{alice_mailbox.pk}/messages/?q=Message&label=INBOX")

    counting = [q["sql"] for q in queries.captured_queries if "COUNT(*) FROM (" in q["sql"]]
    assert len(counting) == 1
    assert f"LIMIT {COUNT_MAX + 1}" in counting[0]


def test_a_page_link_that_is_not_ours_is_a_bad_request(alice_client, alice_mailbox):
    url = f"/mailboxes/{alice_mailbox.pk}/messages/?before="
    for cursor in ("nonsense", "1.x", "99999999999999999999999999.1"):
        assert alice_client.get(url + cursor).status_code == 400


def test_the_label_filter_shows_only_messages_with_that_label(
    alice_client, alice_mailbox, alice_labels, make_messages
):
    inbox = make_messages(alice_mailbox, 3)
    Message.objects.filter(pk=inbox[1].pk).update(label_ids=["INBOX", "Label_7"])
    Message.objects.filter(pk=inbox[2].pk).update(label_ids=["Label_70"])

    html = alice_client.get(f"/mailboxes/{alice_mailbox.pk}/messages/?label=Label_7").content

    assert listed_ids(html.decode()) == [inbox[1].pk]
    assert b'<option value="Label_7" selected>Receipts</option>' in html


@pytest.mark.parametrize(
    ("field", "stored", "query"),
    [
        ("subject", "Quarterly invoice for March", "invoice"),
        ("sender", "Dora Explorer <dora@maps.example>", "dora"),
        ("body_text", "Please find the tickets for the opera attached.", "opera tickets"),
    ],
)
def test_search_finds_words_in_subject_sender_and_body(
    alice_client, alice_mailbox, make_messages, field, stored, query
):
    hit, _miss = make_messages(alice_mailbox, 2)
    Message.objects.filter(pk=hit.pk).update(**{field: stored})

    html = alice_client.get(f"/mailboxes/{alice_mailbox.pk}/messages/", {"q": query})

    assert listed_ids(html.content.decode()) == [hit.pk]


def test_a_nul_character_in_the_search_or_label_is_dropped(
    alice_client, alice_mailbox, make_messages
):
    (message,) = make_messages(alice_mailbox, 1, body_text="an invoice")

    response = alice_client.get(
        f"/mailboxes/{alice_mailbox.pk}/messages/", {"q": "invo\x00ice", "label": "IN\x00BOX"}
    )

    assert response.status_code == 200
    assert listed_ids(response.content.decode()) == [message.pk]


def test_search_does_not_reach_bobs_messages(
    alice_client, alice_mailbox, bob_mailbox, make_messages
):
    make_messages(bob_mailbox, 1, body_text="the secret plans")

    html = alice_client.get(f"/mailboxes/{alice_mailbox.pk}/messages/", {"q": "secret"})

    assert listed_ids(html.content.decode()) == []


@pytest.mark.postgres
def test_search_and_the_label_filter_use_their_indexes_on_postgresql():
    messages = Message.objects.all()
    plans = []
    with connection.cursor() as cursor:
        # On an empty table a scan is cheapest: forbid it, to see whether an index fits.
        cursor.execute("SET enable_seqscan = off")
        for queryset in (
            messages_matching(messages=messages, query="invoice"),
            messages_with_label(messages=messages, label="INBOX"),
        ):
            sql, params = queryset.query.sql_with_params()
            cursor.execute("EXPLAIN " + sql, params)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
        cursor.execute("RESET enable_seqscan")

    assert "message_search" in plans[0], plans[0]
    assert "message_label_ids" in plans[1], plans[1]


def test_a_message_shows_headers_labels_body_and_attachments(
    alice_client, alice_mailbox, alice_labels, make_messages
):
    (message,) = make_messages(
        alice_mailbox,
        1,
        to="alice@example.com",
        cc="Eve <eve@example.org>",
        bcc="Mallory <mallory@example.org>",
        body_text="Hello Alice,\n\nthe report is attached.\n",
        attachment_names=["report.pdf", "chart.png"],
    )
    Message.objects.filter(pk=message.pk).update(label_ids=["INBOX", "Label_7", "CATEGORY_X"])

    response = alice_client.get(f"/messages/{message.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Message 0" in html
    assert "Carol &lt;carol@example.net&gt;" in html
    assert "<dt>To</dt><dd>alice@example.com</dd>" in html
    assert "<dt>Cc</dt><dd>Eve &lt;eve@example.org&gt;</dd>" in html
    assert "<dt>Bcc</dt><dd>Mallory &lt;mallory@example.org&gt;</dd>" in html
    assert "Reply-To" not in html
    assert '<span class="chip">Receipts</span>' in html
    assert '<span class="chip">Inbox</span>' in html
    assert '<span class="chip">CATEGORY_X</span>' in html
    assert "<li>report.pdf</li>" in html and "<li>chart.png</li>" in html
    assert "Hello Alice,\n\nthe report is attached." in html


def test_every_value_of_a_message_is_escaped(alice_client, alice_mailbox, make_messages):
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    (message,) = make_messages(
        alice_mailbox,
        1,
        to=attack,
        cc=attack,
        snippet=attack,
        body_text=f"<html><body>{attack}</body></html>",
        attachment_names=[attack],
    )
    Message.objects.filter(pk=message.pk).update(subject=attack, sender=attack)

    pages = [
        alice_client.get(f"/messages/{message.pk}/").content.decode(),
        alice_client.get(f"/mailboxes/{alice_mailbox.pk}/messages/").content.decode(),
    ]

    for html in pages:
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_bob_cannot_read_alices_mail(bob_client, alice_mailbox, make_messages):
    (message,) = make_messages(alice_mailbox, 1)

    assert bob_client.get(f"/messages/{message.pk}/").status_code == 404
    assert bob_client.get(f"/mailboxes/{alice_mailbox.pk}/messages/").status_code == 404
