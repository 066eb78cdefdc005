"""users.watch and users.stop, the push deliveries a watched mailbox's changes send,
the certificates that verify them, and new mail added over HTTP."""

import base64
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import google_auth_httplib2
import httplib2
import pytest
from google.oauth2 import id_token
from googleapiclient.errors import HttpError

from gmail_emulator.push import PushOptions
from tests.plugins.emulator import gmail_service
from tests.support.clock import FakeClock
from tests.support.waiting import wait_for

TOPIC = "projects/mailsync/topics/gmail"


class Receiver:
    """A push endpoint on localhost that records what it is sent and answers `status`."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, str]] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((json.loads(body), self.headers["Authorization"]))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/gmail/push/"

    def notifications(self) -> list[dict]:
        return [json.loads(base64.b64decode(body["message"]["data"])) for body, _ in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join()


def push_emulator(make_gmail_emulator, receiver: Receiver, **options):
    return make_gmail_emulator(push=PushOptions(endpoint=receiver.url, min_interval=0, **options))


def test_it_answers_watch_with_the_history_id_and_an_expiry_a_week_away(make_gmail_emulator):
    clock = FakeClock()
    emulator = make_gmail_emulator(clock=clock.time)
    answer = (
        gmail_service(emulator).users().watch(userId="me", body={"topicName": TOPIC}).execute()
    )
    assert answer == {
        "historyId": str(emulator.mailbox().history_id),
        "expiration": str(int((clock.now + 7 * 24 * 3600) * 1000)),
    }
    assert emulator.watched(emulator.mailbox().email)
    assert [(r.method, r.units) for r in emulator.request_log] == [("users.watch", 100)]


def test_it_refuses_a_watch_without_a_topic(gmail_emulator):
    with pytest.raises(HttpError) as raised:
        gmail_service(gmail_emulator).users().watch(userId="me", body={}).execute()
    assert raised.value.resp.status == 400


def test_it_ends_a_watch_on_stop_at_a_cost_of_50(gmail_emulator):
    service = gmail_service(gmail_emulator)
    service.users().watch(userId="me", body={"topicName": TOPIC}).execute()
    service.users().stop(userId="me").execute()
    assert not gmail_emulator.watched(gmail_emulator.mailbox().email)
    assert gmail_emulator.request_log[-1].units == 50


def test_it_posts_a_signed_push_message_when_a_watched_mailbox_changes(
    make_gmail_emulator, receiver
):
    emulator = push_emulator(make_gmail_emulator, receiver)
    gmail_service(emulator).users().watch(userId="me", body={"topicName": TOPIC}).execute()
    emulator.mailbox().add_message(subject="Hi")
    wait_for(lambda: receiver.received, timeout=10, what="a push delivery")
    body, authorization = receiver.received[0]
    assert receiver.notifications() == [
        {"emailAddress": "demo@example.com", "historyId": emulator.mailbox().history_id}
    ]
    assert body["subscription"] and body["message"]["messageId"]
    request = google_auth_httplib2.Request(httplib2.Http())
    claims = id_token.verify_token(
        authorization.removeprefix("Bearer "),
        request,
        audience=receiver.url,
        certs_url=emulator.url + "oauth2/v1/certs",
    )
    assert claims["email"] == "gmail-push@emulator.example.com"
    assert claims["iss"] == "https://accounts.google.com"


def test_it_sends_nothing_for_an_unwatched_mailbox(make_gmail_emulator, receiver):
    emulator = push_emulator(make_gmail_emulator, receiver)
    service = gmail_service(emulator)
    service.users().watch(userId="me", body={"topicName": TOPIC}).execute()
    service.users().stop(userId="me").execute()
    emulator.mailbox().add_message()
    # A change is published (or not) at once: nothing is queued to come later.
    assert emulator.push_log == [] and receiver.received == []


def test_it_folds_changes_within_the_minimum_interval_into_one_message(
    make_gmail_emulator, receiver
):
    emulator = make_gmail_emulator(push=PushOptions(endpoint=receiver.url, min_interval=0.5))
    gmail_service(emulator).users().watch(userId="me", body={"topicName": TOPIC}).execute()
    emulator.mailbox().add_message()
    wait_for(lambda: receiver.received, timeout=10, what="the first delivery")
    emulator.mailbox().add_messages(5)
    wait_for(lambda: len(receiver.received) == 2, timeout=10, what="the folded delivery")
    assert receiver.notifications()[-1]["historyId"] == emulator.mailbox().history_id


def test_it_drops_and_duplicates_deliveries_when_told(make_gmail_emulator, receiver):
    emulator = push_emulator(make_gmail_emulator, receiver, drop_rate=1.0)
    gmail_service(emulator).users().watch(userId="me", body={"topicName": TOPIC}).execute()
    emulator.mailbox().add_message()
    emulator.push.drop_rate, emulator.push.duplicate_rate = 0.0, 1.0
    emulator.mailbox().add_message()
    wait_for(lambda: len(receiver.received) == 2, timeout=10, what="two deliveries")
    assert [n["historyId"] for n in receiver.notifications()] == [
        emulator.mailbox().history_id
    ] * 2


def test_it_delivers_again_until_the_endpoint_takes_it(make_gmail_emulator, receiver):
    receiver.status = 503
    emulator = push_emulator(make_gmail_emulator, receiver)
    gmail_service(emulator).users().watch(userId="me", body={"topicName": TOPIC}).execute()
    emulator.mailbox().add_message()
    wait_for(lambda: receiver.received, timeout=10, what="a refused delivery")
    receiver.status = 204
    wait_for(lambda: len(receiver.received) == 2, timeout=10, what="the delivery again")
    assert [d.status for d in emulator.push_log] == [503, 204]


def test_it_adds_messages_over_http(gmail_emulator):
    request = urllib.request.Request(
        gmail_emulator.url + "_emulator/demo@example.com/messages?count=3", method="POST"
    )
    with urllib.request.urlopen(request) as response:
        answer = json.load(response)
    ids = [m["id"] for m in answer["messages"]]
    assert len(ids) == 3
    assert set(ids) <= set(gmail_emulator.mailbox().message_ids())
    assert all(m["threadId"] for m in answer["messages"])


def test_it_answers_404_for_messages_added_to_an_unknown_address(gmail_emulator):
    request = urllib.request.Request(
        gmail_emulator.url + "_emulator/nobody@example.com/messages?count=1", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request)
    assert raised.value.code == 404
