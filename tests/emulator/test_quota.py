"""Per-user quota, answered like Google."""

import json
import re
from datetime import UTC, datetime

import pytest
from googleapiclient.errors import HttpError

from gmail_emulator.errors import retry_time
from tests.plugins.emulator import gmail_batch, gmail_service
from tests.support.clock import FakeClock

RETRY_AFTER = re.compile(
    r"^User-rate limit exceeded\.  Retry after (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)$"
)


def test_calls_beyond_the_bucket_get_429_with_a_retry_time(make_gmail_emulator):
    clock = FakeClock()
    # 20 units a minute: 1/3 unit/s, a bucket of 10 units (30 s, and the dearest call).
    emulator = make_gmail_emulator(quota_units_per_minute=20, clock=clock.time)
    messages = gmail_service(emulator).users().messages()
    messages.list(userId="me").execute()
    messages.list(userId="me").execute()

    with pytest.raises(HttpError) as raised:
        messages.list(userId="me").execute()

    assert raised.value.status_code == 429
    error = json.loads(raised.value.content)["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["errors"][0] == {
        "message": error["message"],
        "domain": "global",
        "reason": "rateLimitExceeded",
    }
    retry_at = RETRY_AFTER.match(error["message"]).group(1)
    assert datetime.fromisoformat(retry_at).timestamp() == pytest.approx(clock.now + 15, abs=0.01)


def test_the_bucket_refills_with_time(make_gmail_emulator):
    clock = FakeClock()
    emulator = make_gmail_emulator(quota_units_per_minute=20, clock=clock.time)
    messages = gmail_service(emulator).users().messages()
    messages.list(userId="me").execute()
    messages.list(userId="me").execute()

    clock.advance(15)
    messages.list(userId="me").execute()

    assert [e.units for e in emulator.request_log] == [5, 5, 5]


def test_batch_inner_calls_are_charged_separately(make_gmail_emulator):
    clock = FakeClock()
    emulator = make_gmail_emulator(quota_units_per_minute=20, clock=clock.time)
    service = gmail_service(emulator)
    exceptions = []
    batch = gmail_batch(emulator, lambda request_id, response, error: exceptions.append(error))
    for message_id in emulator.mailbox().message_ids()[:3]:
        batch.add(service.users().messages().get(userId="me", id=message_id))

    batch.execute()

    assert [e.status_code if e else 200 for e in exceptions] == [200, 200, 429]


def test_quota_can_be_lifted_while_running(make_gmail_emulator):
    emulator = make_gmail_emulator(quota_units_per_minute=20, clock=FakeClock().time)
    profile = gmail_service(emulator).users().getProfile(userId="me")
    for _ in range(10):
        profile.execute()
    with pytest.raises(HttpError):
        profile.execute()

    emulator.quota_units_per_minute = None

    assert profile.execute()["emailAddress"]


def test_retry_times_are_utc_with_milliseconds():
    at = datetime(2024, 11, 12, 11, 16, 42, 247000, tzinfo=UTC).timestamp()

    assert retry_time(at) == "2024-11-12T11:16:42.247Z"
