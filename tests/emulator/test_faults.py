"""Injected faults: rate limits, backend errors, dropped connections, latency."""

import http.client
import json
import time

import httplib2
import pytest
from googleapiclient.errors import HttpError

from gmail_emulator import GmailEmulator
from tests.plugins.emulator import gmail_batch, gmail_service


def test_rate_limit_next_answers_the_next_calls_then_recovers(gmail_emulator: GmailEmulator):
    profile = gmail_service(gmail_emulator).users().getProfile(userId="me")
    gmail_emulator.faults.rate_limit_next(2)

    errors = []
    for _ in range(2):
        with pytest.raises(HttpError) as raised:
            profile.execute()
        errors.append(raised.value)
    profile.execute()

    assert [e.status_code for e in errors] == [429, 429]
    assert json.loads(errors[0].content)["error"]["message"].startswith(
        "User-rate limit exceeded.  Retry after "
    )


def test_rate_limit_next_can_answer_the_older_403_form(gmail_emulator: GmailEmulator):
    gmail_emulator.faults.rate_limit_next(1, reason="userRateLimitExceeded", status=403)

    with pytest.raises(HttpError) as raised:
        gmail_service(gmail_emulator).users().getProfile(userId="me").execute()

    assert raised.value.status_code == 403
    error = json.loads(raised.value.content)["error"]["errors"][0]
    assert (error["domain"], error["reason"]) == ("usageLimits", "userRateLimitExceeded")


def test_rate_limit_next_counts_inner_batch_calls_one_each(gmail_emulator: GmailEmulator):
    service = gmail_service(gmail_emulator)
    statuses = []
    batch = gmail_batch(
        gmail_emulator,
        lambda request_id, response, error: statuses.append(error and error.status_code),
    )
    for message_id in gmail_emulator.mailbox().message_ids()[:3]:
        batch.add(service.users().messages().get(userId="me", id=message_id))
    gmail_emulator.faults.rate_limit_next(2)

    batch.execute()

    assert statuses == [429, 429, None]


def test_an_error_rate_of_one_answers_backend_errors(gmail_emulator: GmailEmulator):
    gmail_emulator.faults.error_rate = 1.0

    with pytest.raises(HttpError) as raised:
        gmail_service(gmail_emulator).users().labels().list(userId="me").execute()

    assert raised.value.status_code == 500
    assert raised.value.error_details[0]["reason"] == "backendError"


def test_the_error_rate_follows_a_seeded_rng(make_gmail_emulator):
    def outcomes(emulator: GmailEmulator) -> list[int]:
        emulator.faults.error_rate = 0.5
        profile = gmail_service(emulator).users().getProfile(userId="me")
        statuses = []
        for _ in range(12):
            try:
                profile.execute()
                statuses.append(200)
            except HttpError as error:
                statuses.append(error.status_code)
        return statuses

    first = outcomes(make_gmail_emulator(seed=3))
    second = outcomes(make_gmail_emulator(seed=3))

    assert first == second
    assert set(first) == {200, 500}


def test_a_drop_rate_of_one_closes_connections_without_an_answer(gmail_emulator: GmailEmulator):
    service = gmail_service(gmail_emulator)
    gmail_emulator.faults.drop_rate = 1.0

    with pytest.raises((ConnectionError, http.client.HTTPException, httplib2.HttpLib2Error)):
        service.users().getProfile(userId="me").execute()

    gmail_emulator.faults.clear()
    assert service.users().getProfile(userId="me").execute()["emailAddress"]
    assert [e.method for e in gmail_emulator.request_log] == ["users.getProfile"]


def test_latency_and_slow_requests_delay_the_answer(make_gmail_emulator):
    emulator = make_gmail_emulator(latency_ms=150)
    profile = gmail_service(emulator).users().getProfile(userId="me")

    started = time.perf_counter()
    profile.execute()
    with_latency = time.perf_counter() - started
    emulator.latency_ms = 0
    emulator.faults.slow_rate = 1.0
    emulator.faults.slow_seconds = 0.15
    started = time.perf_counter()
    profile.execute()
    slowed = time.perf_counter() - started

    assert with_latency >= 0.15
    assert slowed >= 0.15
