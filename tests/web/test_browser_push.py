"""Push in a real Chromium: mail that arrives in Gmail shows up on the page by itself.

A live server takes the emulator's signed push deliveries, a real qcluster runs the
incremental sync they start, and the message list, left alone, shows the new mail.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from gmail_emulator.push import DEFAULT_PUSH_EMAIL, PushOptions
from syncapp.models import Mailbox, SyncRun
from tests.helpers import run_sync
from tests.web.test_browser import page, sign_in, watched  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)

TOPIC = "projects/mailsync/topics/gmail"


def test_mail_added_in_gmail_shows_up_in_the_message_list_without_a_click(
    page,  # noqa: F811
    watched,  # noqa: F811
    emulate,
    start_cluster,
    settings,
    live_server,
    alice,
):
    endpoint = live_server.url + "/gmail/push/"
    emulator = emulate(email="alice@example.com", messages=30, push=PushOptions(endpoint=endpoint))
    settings.GMAIL_PUBSUB_TOPIC = TOPIC
    settings.GOOGLE_OIDC_CERTS_URL = emulator.url + "oauth2/v1/certs"
    settings.GMAIL_PUSH_AUDIENCE = endpoint
    settings.GMAIL_PUSH_SERVICE_ACCOUNT = DEFAULT_PUSH_EMAIL
    settings.GMAIL_QUOTA_UNITS_PER_MINUTE = 1_000_000
    mailbox = Mailbox.objects.create(owner=alice, email="alice@example.com", refresh_token="x")
    assert run_sync(mailbox).status == SyncRun.Status.SUCCEEDED
    assert emulator.watched(mailbox.email)
    start_cluster(GMAIL_PUBSUB_TOPIC=TOPIC)

    sign_in(page, "alice", "alice-password")
    expect(page.locator(".mailbox__facts")).to_contain_text("Live (push)")
    page.goto(f"/mailboxes/{mailbox.pk}/messages/")
    expect(page.get_by_text("Pushed to you")).to_have_count(0)
    emulator.mailbox().add_message(subject="Pushed to you")

    expect(page.get_by_text("Pushed to you")).to_be_visible(timeout=20_000)
    pushed = SyncRun.objects.get(trigger=SyncRun.Trigger.PUSH)
    assert pushed.status == SyncRun.Status.SUCCEEDED
    assert [d.status for d in emulator.push_log] == [204]
    assert watched.errors == []
