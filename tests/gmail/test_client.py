"""The Gmail client against the emulator: retries, pacing and credentials."""

from collections import Counter

import pytest

from syncapp.gmail.client import GmailClient
from syncapp.gmail.errors import GmailError, GmailUnavailable, HistoryExpired, ReconnectRequired
from syncapp.gmail.ledger import Limits, MemoryLedger
from tests.support.clock import FakeClock


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def emulator(make_gmail_emulator, clock):
    return make_gmail_emulator(email="alice@example.com", messages=60, seed=3, clock=clock.time)


def client_for(emulator, clock, *, saved=None, **options):
    access, refresh = emulator.issue_tokens("alice@example.com")
    settings = {
        "access_token": access,
        "refresh_token": refresh,
        "token_expires_at": None,
        "on_token_refresh": lambda token, expiry: (saved if saved is not None else []).append(
            token
        ),
        "endpoint": emulator.url,
        "token_uri": emulator.url + "token",
        "client_id": "client",
        "client_secret": "secret",
        "quota_units_per_minute": 6_000_000,
        "batch_size": 50,
        "large_message_bytes": 1_000_000,
        "max_calls_in_flight": 150,
        "request_timeout": 10,
        "retry_budget": 300,
        "clock": clock.time,
        "sleep": clock.sleep,
    }
    settings.update(options)
    return GmailClient(**settings)


def gets(emulator):
    return [r for r in emulator.request_log if r.method == "messages.get"]


def test_it_lists_every_message_id_in_pages(emulator, clock):
    client = client_for(emulator, clock)

    page = client.list_messages()

    assert page.ids == emulator.mailbox().message_ids()
    assert page.next_page_token is None


def test_only_the_failed_parts_of_a_batch_are_sent_again(emulator, clock):
    client = client_for(emulator, clock)
    ids = emulator.mailbox().message_ids()[:20]
    emulator.faults.rate_limit_next(5)

    result = client.get_messages(ids)

    assert sorted(result.found) == sorted(ids)
    statuses = Counter(r.status for r in gets(emulator))
    assert statuses == {200: 20, 429: 5}


def test_it_waits_until_the_time_gmail_names(emulator, clock):
    client = client_for(emulator, clock)
    ids = emulator.mailbox().message_ids()[:3]
    emulator.faults.rate_limit_next(3)
    started = clock.time()

    client.get_messages(ids)

    # The emulator says "Retry after" one second from now.
    assert clock.time() - started >= 1.0
    assert [r.status for r in gets(emulator)][-3:] == [200, 200, 200]


def test_rate_limit_403s_are_retried_like_429s(emulator, clock):
    client = client_for(emulator, clock)
    emulator.faults.rate_limit_next(2, reason="userRateLimitExceeded", status=403)

    profile = client.get_profile()

    assert profile["emailAddress"] == "alice@example.com"
    assert clock.slept, "the client did not back off"


def test_server_errors_are_retried_with_growing_delays(emulator, clock):
    client = client_for(emulator, clock, retry_budget=60)
    emulator.faults.error_rate = 1.0

    with pytest.raises(GmailUnavailable, match="Gmail kept failing for 60 seconds"):
        client.list_labels()

    assert len(clock.slept) >= 4
    assert clock.slept[3] > clock.slept[0]


def test_dropped_connections_are_retried(emulator, clock):
    client = client_for(emulator, clock, retry_budget=30)
    emulator.faults.drop_rate = 1.0
    with pytest.raises(GmailUnavailable, match="connection problem"):
        client.get_profile()

    emulator.faults.clear()
    assert client.get_profile()["emailAddress"] == "alice@example.com"


def test_a_message_deleted_before_fetching_is_reported_missing(emulator, clock):
    client = client_for(emulator, clock)
    ids = emulator.mailbox().message_ids()[:4]
    emulator.mailbox().delete_message(ids[0])

    result = client.get_messages(ids)

    assert result.missing == [ids[0]]
    assert sorted(result.found) == sorted(ids[1:])


def test_an_expired_history_id_raises_history_expired(emulator, clock):
    client = client_for(emulator, clock)
    start = str(emulator.mailbox().history_id)
    emulator.mailbox().expire_history()

    with pytest.raises(HistoryExpired):
        client.list_history(start_history_id=start)


def test_a_revoked_grant_asks_the_user_to_reconnect(emulator, clock):
    client = client_for(emulator, clock)
    emulator.revoke("alice@example.com")

    with pytest.raises(ReconnectRequired, match="Reconnect your Google account"):
        client.get_messages(emulator.mailbox().message_ids()[:2])


def test_a_refreshed_token_is_handed_back_to_be_saved(emulator, clock):
    saved = []
    client = client_for(emulator, clock, saved=saved)
    emulator.expire_access_tokens("alice@example.com")

    client.get_profile()
    client.get_profile()

    assert len(saved) == 1
    assert saved[0] != ""


def test_a_refresh_that_can_never_work_fails_at_once(emulator, clock):
    client = client_for(emulator, clock, access_token="", client_id=None)

    with pytest.raises(GmailError, match="token refresh failed"):
        client.get_profile()

    assert clock.slept == []


def test_it_paces_itself_to_the_configured_quota(emulator, clock):
    client = client_for(emulator, clock, quota_units_per_minute=300)
    started = clock.time()

    client.get_messages(emulator.mailbox().message_ids()[:60])

    # 300 units at 5 units a second, less the one batch the bucket holds.
    assert clock.time() - started >= 10.0
    assert all(r.status == 200 for r in gets(emulator))


def test_it_retries_only_the_calls_refused_for_concurrency_and_settles_under_the_limit(
    emulator, clock
):
    emulator.max_concurrent_per_user = 2
    client = client_for(emulator, clock)
    ids = emulator.mailbox().message_ids()[:20]

    result = client.get_messages(ids)

    assert sorted(result.found) == sorted(ids)
    fetched = Counter(r.message_id for r in gets(emulator) if r.status == 200)
    assert fetched == dict.fromkeys(ids, 1)
    # 5 sent, 3 refused; then 3 sent, 1 refused; then 2 at a time.
    assert Counter(r.status for r in gets(emulator)) == {200: 20, 429: 4}
    assert client.in_flight.limit == 2
    # A concurrency 429 clears when other calls finish: short waits, and quota untouched.
    assert clock.slept and max(clock.slept) <= 2.0
    assert client.bucket.rate == client.bucket.configured_rate


def test_the_shared_ledger_counts_only_the_calls_gmail_is_sent(emulator, clock):
    ledger = MemoryLedger(limits=Limits(6000, 1_200_000, daily_budget=10_000))
    client = client_for(emulator, clock, ledger=ledger, quota_user="alice@example.com")
    # Another thread of the sync holds 4 of the 5 calls in flight: each batch pays for
    # its fair share and is granted the one call left.
    held = client.in_flight.acquire(4)

    result = client.get_messages(emulator.mailbox().message_ids()[:3])

    client.in_flight.release(held, refused=0)
    assert len(result.found) == len(gets(emulator)) == 3
    assert ledger.units_today(now=clock.time()) == 3 * 5


def test_it_keeps_more_calls_in_flight_while_gmail_allows_them(emulator, clock):
    client = client_for(emulator, clock)

    client.get_messages(emulator.mailbox().message_ids()[:45])

    assert all(r.status == 200 for r in gets(emulator))
    # Windows of 5, 6, 7, 8, 9 and 10 calls answered: one more call each time.
    assert client.in_flight.limit == 11
