"""The per-user concurrency limit: every inner call of a batch is a call in flight."""

import json

from gmail_emulator import GmailEmulator
from gmail_emulator.quota import ConcurrencyLimit
from tests.plugins.emulator import gmail_batch, gmail_service
from tests.support.clock import FakeClock


class Outcomes:
    """A batch callback keeping each part's status and error body, in order."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.errors: list[dict] = []

    def __call__(self, request_id, response, exception) -> None:
        self.statuses.append(exception.status_code if exception else 200)
        if exception:
            self.errors.append(json.loads(exception.content)["error"])


def get_batch(emulator: GmailEmulator, count: int) -> Outcomes:
    """Send one batch of `count` messages.get; the outcome of each part."""
    service = gmail_service(emulator)
    outcomes = Outcomes()
    batch = gmail_batch(emulator, outcomes)
    for message_id in emulator.mailbox().message_ids()[:count]:
        batch.add(service.users().messages().get(userId="me", id=message_id))
    batch.execute()
    return outcomes


def test_by_default_the_11th_concurrent_inner_call_gets_gmails_429(gmail_emulator):
    outcomes = get_batch(gmail_emulator, 11)

    assert gmail_emulator.max_concurrent_per_user == 10
    assert outcomes.statuses == [200] * 10 + [429]
    assert outcomes.errors == [
        {
            "code": 429,
            "message": "Too many concurrent requests for user",
            "errors": [
                {
                    "message": "Too many concurrent requests for user",
                    "domain": "global",
                    "reason": "rateLimitExceeded",
                }
            ],
            "status": "RESOURCE_EXHAUSTED",
        }
    ]


def test_every_place_is_given_back_once_the_batch_is_answered(gmail_emulator):
    get_batch(gmail_emulator, 30)

    assert get_batch(gmail_emulator, 10).statuses == [200] * 10


def test_a_limit_of_zero_turns_it_off(make_gmail_emulator):
    emulator = make_gmail_emulator(max_concurrent_per_user=0)

    assert get_batch(emulator, 50).statuses == [200] * 50


def test_the_limit_can_change_while_running(gmail_emulator):
    gmail_emulator.max_concurrent_per_user = 2

    assert get_batch(gmail_emulator, 4).statuses == [200, 200, 429, 429]


def test_quota_and_concurrency_are_independent(make_gmail_emulator):
    # A bucket of 10 units pays for two messages.get; three calls may be in flight.
    emulator = make_gmail_emulator(
        quota_units_per_minute=20, max_concurrent_per_user=3, clock=FakeClock().time
    )

    outcomes = get_batch(emulator, 5)

    quota_refusal, *concurrency_refusals = outcomes.errors
    assert outcomes.statuses == [200, 200, 429, 429, 429]
    assert quota_refusal["message"].startswith("User-rate limit exceeded.  Retry after ")
    assert {e["message"] for e in concurrency_refusals} == {
        "Too many concurrent requests for user"
    }
    # Refused for concurrency, a call costs no quota.
    assert [r.units for r in emulator.request_log] == [5, 5, 0, 0, 0]


def test_each_user_has_a_limit_of_their_own():
    limit = ConcurrencyLimit(2)

    admitted = [limit.enter(user) for user in ("a", "a", "a", "b")]
    limit.leave("a")

    assert admitted == [True, True, False, True]
    assert limit.enter("a")
    assert not limit.enter("a")
