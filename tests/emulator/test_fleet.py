"""A fleet: user1@example.com ... userK@example.com beside the default mailbox, each with
its own mail, quota bucket and concurrency limit, under an optional project-wide quota."""

import json
import threading
import time

import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.errors import HttpError

from gmail_emulator import GmailEmulator
from gmail_emulator.fleet import fleet_refresh_token
from tests.plugins.emulator import gmail_credentials, gmail_service
from tests.support.clock import FakeClock

FLEET = ["user1@example.com", "user2@example.com", "user3@example.com"]
PROJECT_MESSAGE = (
    "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service "
    "'gmail.googleapis.com' for consumer 'project_number:123456789012'."
)


def messages_of(emulator: GmailEmulator, email: str):
    return gmail_service(emulator, gmail_credentials(emulator, email)).users().messages()


def rate_limit_message(call) -> str:
    with pytest.raises(HttpError) as raised:
        call.execute()
    assert raised.value.status_code == 429
    error = json.loads(raised.value.content)["error"]
    assert error["errors"][0]["reason"] == "rateLimitExceeded"
    return error["message"]


def test_the_fleet_is_served_beside_the_default_mailbox_each_with_mail_of_its_own(
    make_gmail_emulator,
):
    emulator = make_gmail_emulator(mailboxes=3, messages=40)

    assert emulator.addresses() == ["demo@example.com", *FLEET]
    for email in FLEET:
        service = gmail_service(emulator, gmail_credentials(emulator, email))
        profile = service.users().getProfile(userId="me").execute()
        assert profile["emailAddress"] == email
        assert profile["messagesTotal"] == 40
    subjects = {
        email: emulator.mailbox(email).get(emulator.mailbox(email).message_ids()[0]).subject
        for email in ["demo@example.com", *FLEET]
    }
    assert len(set(subjects.values())) == 4


def test_a_fleet_mailbox_refreshes_with_its_well_known_refresh_token(make_gmail_emulator):
    emulator = make_gmail_emulator(mailboxes=2)
    credentials = Credentials(
        token=None,
        refresh_token=fleet_refresh_token("user2@example.com"),
        token_uri=emulator.url + "token",
        client_id="x",
        client_secret="y",
    )

    profile = gmail_service(emulator, credentials).users().getProfile(userId="me").execute()

    assert profile["emailAddress"] == "user2@example.com"


def test_a_large_fleet_starts_at_once_and_generates_a_mailbox_when_first_asked_for():
    started = time.perf_counter()
    emulator = GmailEmulator(mailboxes=20, messages=2000, profile="realistic")

    assert time.perf_counter() - started < 1.0
    assert len(emulator.addresses()) == 21
    assert len(emulator.mailbox("user20@example.com").message_ids()) == 2000


def test_one_users_spent_quota_does_not_429_another(make_gmail_emulator):
    # 150 units a minute: a bucket of 10 units, two messages.list each.
    emulator = make_gmail_emulator(mailboxes=2, quota_units_per_minute=150, clock=FakeClock().time)
    first, second = (messages_of(emulator, email) for email in FLEET[:2])
    first.list(userId="me").execute()
    first.list(userId="me").execute()

    assert rate_limit_message(first.list(userId="me")).startswith("User-rate limit exceeded.")
    second.list(userId="me").execute()
    second.list(userId="me").execute()


def test_calls_in_flight_are_limited_per_user_not_across_the_fleet(make_gmail_emulator):
    emulator = make_gmail_emulator(
        mailboxes=2, max_concurrent_per_user=1, service_ms=300, service_jitter=0
    )
    statuses: dict[str, list[int]] = {email: [] for email in FLEET[:2]}

    def call(email: str, messages) -> None:
        try:
            messages.list(userId="me").execute()
            statuses[email].append(200)
        except HttpError as error:
            statuses[email].append(error.status_code)

    # A client each: httplib2 connections are not to be shared between threads.
    calls = [(email, messages_of(emulator, email)) for email in [FLEET[0], *FLEET[:2]]]
    threads = [threading.Thread(target=call, args=c) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses[FLEET[0]]) == [200, 429]
    assert statuses[FLEET[1]] == [200]


def test_a_spent_project_quota_429s_every_user_with_the_project_message(make_gmail_emulator):
    # 150 units a minute for the whole project: two messages.list, whoever makes them.
    emulator = make_gmail_emulator(
        mailboxes=2, project_quota_units_per_minute=150, clock=FakeClock().time
    )
    first, second = (messages_of(emulator, email) for email in FLEET[:2])
    first.list(userId="me").execute()
    second.list(userId="me").execute()

    for messages in (first, second, messages_of(emulator, "demo@example.com")):
        assert rate_limit_message(messages.list(userId="me")) == PROJECT_MESSAGE
    assert [e.status for e in emulator.request_log if e.method == "messages.list"] == [
        200,
        200,
        429,
        429,
        429,
    ]


def test_a_call_refused_by_the_project_costs_its_user_nothing(make_gmail_emulator):
    clock = FakeClock()
    emulator = make_gmail_emulator(
        mailboxes=1,
        quota_units_per_minute=150,
        project_quota_units_per_minute=150,
        clock=clock.time,
    )
    demo, user1 = messages_of(emulator, "demo@example.com"), messages_of(emulator, FLEET[0])
    demo.list(userId="me").execute()
    demo.list(userId="me").execute()
    rate_limit_message(user1.list(userId="me"))

    emulator.project_quota_units_per_minute = None
    user1.list(userId="me").execute()
    user1.list(userId="me").execute()
