"""The batch endpoint through googleapiclient's BatchHttpRequest."""

import json

import pytest
from googleapiclient.errors import HttpError

from gmail_emulator import GmailEmulator
from tests.plugins.emulator import gmail_batch, gmail_credentials, gmail_service


class Collector:
    """A batch callback that keeps every (response, exception) by request id."""

    def __init__(self) -> None:
        self.results: dict[str, tuple[dict | None, HttpError | None]] = {}

    def __call__(self, request_id: str, response: dict | None, exception: HttpError | None):
        self.results[request_id] = (response, exception)


@pytest.mark.parametrize("path", ["batch", "batch/gmail/v1"])
def test_a_batch_of_50_reaches_every_callback(make_gmail_emulator, path):
    # Without the concurrency limit, which would refuse 40 of the 50 at once.
    emulator = make_gmail_emulator(messages=80, max_concurrent_per_user=0)
    service = gmail_service(emulator)
    ids = emulator.mailbox().message_ids()[:50]
    collector = Collector()
    batch = gmail_batch(emulator, collector, path=path)
    for message_id in ids:
        batch.add(service.users().messages().get(userId="me", id=message_id, format="full"))

    batch.execute()

    assert len(collector.results) == 50
    assert [response["id"] for response, _ in collector.results.values()] == ids
    assert all(exception is None for _, exception in collector.results.values())


def test_inner_calls_are_logged_and_charged_one_by_one(gmail_emulator: GmailEmulator):
    service = gmail_service(gmail_emulator)
    batch = gmail_batch(gmail_emulator, Collector())
    for message_id in gmail_emulator.mailbox().message_ids()[:3]:
        batch.add(service.users().messages().get(userId="me", id=message_id))
    gmail_emulator.clear_request_log()

    batch.execute()

    log = gmail_emulator.request_log
    assert [(e.method, e.in_batch, e.units, e.status) for e in log] == [
        ("messages.get", True, 5, 200)
    ] * 3


def test_more_than_50_inner_requests_are_rejected(make_gmail_emulator):
    emulator = make_gmail_emulator(messages=80)
    service = gmail_service(emulator)
    batch = gmail_batch(emulator, Collector())
    for message_id in emulator.mailbox().message_ids()[:51]:
        batch.add(service.users().messages().get(userId="me", id=message_id))

    with pytest.raises(HttpError) as raised:
        batch.execute()

    assert raised.value.status_code == 400
    error = json.loads(raised.value.content)["error"]
    assert error["message"] == "Inner request count exceeds the limit. Received: 51, Limit: 50"


def test_an_inner_404_reaches_its_callback_as_http_error(gmail_emulator: GmailEmulator):
    service = gmail_service(gmail_emulator)
    known = gmail_emulator.mailbox().message_ids()[0]
    collector = Collector()
    batch = gmail_batch(gmail_emulator, collector)
    batch.add(service.users().messages().get(userId="me", id=known), request_id="known")
    batch.add(
        service.users().messages().get(userId="me", id="0000000000000000"), request_id="gone"
    )

    batch.execute()

    response, exception = collector.results["gone"]
    assert response is None
    assert exception.status_code == 404
    assert exception.error_details[0]["reason"] == "notFound"
    assert collector.results["known"][0]["id"] == known


def test_inner_401s_are_retried_once_after_a_token_refresh(gmail_emulator: GmailEmulator):
    credentials = gmail_credentials(gmail_emulator)
    service = gmail_service(gmail_emulator, credentials)
    stale_token = credentials.token
    gmail_emulator.expire_access_tokens(gmail_emulator.mailbox().email)
    collector = Collector()
    batch = gmail_batch(gmail_emulator, collector)
    for message_id in gmail_emulator.mailbox().message_ids()[:3]:
        batch.add(service.users().messages().get(userId="me", id=message_id))
    gmail_emulator.clear_request_log()

    batch.execute()

    assert all(exception is None for _, exception in collector.results.values())
    assert credentials.token != stale_token
    statuses = [(e.method, e.status) for e in gmail_emulator.request_log]
    assert statuses == [("messages.get", 401)] * 3 + [("token", 200)] + [("messages.get", 200)] * 3


def test_a_batch_of_mixed_methods_answers_each_in_order(gmail_emulator: GmailEmulator):
    service = gmail_service(gmail_emulator)
    users = service.users()
    thread_id = gmail_emulator.mailbox().get(gmail_emulator.mailbox().message_ids()[0]).thread_id
    collector = Collector()
    batch = gmail_batch(gmail_emulator, collector)
    batch.add(users.getProfile(userId="me"))
    batch.add(users.labels().list(userId="me"))
    batch.add(users.threads().get(userId="me", id=thread_id, format="minimal"))
    batch.add(users.history().list(userId="me", startHistoryId="1"))

    batch.execute()

    (profile, _), (labels, _), (thread, _), (_, history_error) = collector.results.values()
    assert profile["emailAddress"] == gmail_emulator.mailbox().email
    assert labels["labels"]
    assert thread["id"] == thread_id
    assert history_error.status_code == 404
