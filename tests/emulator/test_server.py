"""The server itself: profile and labels, the request log, keep-alive, start and stop."""

import http.client
import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

import httplib2
import pytest

from gmail_emulator import GmailEmulator
from tests.plugins.emulator import gmail_service

PROFILE_FIXTURE = Path(__file__).parent.parent / "fixtures/gmail/home-assistant/get_profile.json"


def test_get_profile_has_the_shape_gmail_sends(gmail_emulator: GmailEmulator):
    real = json.loads(PROFILE_FIXTURE.read_text())
    mailbox = gmail_emulator.mailbox()

    profile = gmail_service(gmail_emulator).users().getProfile(userId="me").execute()

    assert set(profile) == set(real)
    assert profile["emailAddress"] == mailbox.email
    assert profile["messagesTotal"] == len(mailbox.message_ids())
    assert profile["historyId"] == str(mailbox.history_id)
    assert profile["threadsTotal"] < profile["messagesTotal"]


def test_labels_list_has_system_and_user_labels(gmail_emulator: GmailEmulator):
    labels = gmail_service(gmail_emulator).users().labels().list(userId="me").execute()["labels"]

    by_id = {label["id"]: label for label in labels}
    assert {"INBOX", "SENT", "DRAFT", "SPAM", "TRASH", "UNREAD", "STARRED", "IMPORTANT"} <= set(
        by_id
    )
    assert {
        f"CATEGORY_{c}" for c in ("PERSONAL", "SOCIAL", "PROMOTIONS", "UPDATES", "FORUMS")
    } <= set(by_id)
    assert by_id["INBOX"]["type"] == "system"
    assert by_id["Label_1"]["type"] == "user"


def test_the_request_log_names_each_call(gmail_emulator: GmailEmulator):
    service = gmail_service(gmail_emulator)
    message_id = gmail_emulator.mailbox().message_ids()[0]

    service.users().getProfile(userId="me").execute()
    service.users().messages().get(userId="me", id=message_id, format="minimal").execute()

    first, second = gmail_emulator.request_log
    assert (first.method, first.units, first.message_id) == ("users.getProfile", 1, None)
    assert (second.method, second.units, second.message_id) == ("messages.get", 5, message_id)
    assert (second.email, second.status, second.in_batch) == (
        gmail_emulator.mailbox().email,
        200,
        False,
    )
    gmail_emulator.clear_request_log()
    assert gmail_emulator.request_log == []


def test_it_keeps_connections_alive_between_requests(gmail_emulator: GmailEmulator):
    connection = httplib2.Http()
    headers = {"Authorization": "Bearer anything"}

    first, _ = connection.request(gmail_emulator.url + "gmail/v1/users/me/labels", headers=headers)
    [kept] = connection.connections.values()
    socket_before = kept.sock
    second, _ = connection.request(
        gmail_emulator.url + "gmail/v1/users/me/labels", headers=headers
    )

    assert (first.status, second.status) == (200, 200)
    assert kept.sock is socket_before


def test_stop_closes_kept_alive_connections(make_gmail_emulator):
    emulator = make_gmail_emulator()
    address = urlsplit(emulator.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    connection.request("GET", "/gmail/v1/users/me/labels", headers={"Authorization": "Bearer t"})
    answer = connection.getresponse()
    answer.read()

    emulator.stop()

    assert answer.status == 200
    assert connection.sock.recv(1) == b""  # the server closed the kept-alive connection
    connection.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((address.hostname, address.port), timeout=5)


def test_it_works_as_a_context_manager_with_a_url_ending_in_a_slash():
    with GmailEmulator(messages=12) as emulator:
        url = emulator.url
        response, _ = httplib2.Http().request(
            url + "gmail/v1/users/me/profile", headers={"Authorization": "Bearer t"}
        )

    assert url.startswith("http://127.0.0.1:") and url.endswith("/")
    assert response.status == 200


def test_unknown_paths_answer_google_style_404(gmail_emulator: GmailEmulator):
    response, body = httplib2.Http().request(gmail_emulator.url + "nowhere")

    assert response.status == 404
    assert json.loads(body)["error"]["status"] == "NOT_FOUND"
