"""A sync against Gmail's default limits copies the mailbox, meeting few concurrency 429s."""

import pytest

from gmail_emulator.timing import DEFAULT_SERVICE_MS
from syncapp.models import SyncRun
from tests.helpers import assert_database_matches, run_sync

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_full_sync_under_the_default_limits_ends_with_the_mailbox_equal(emulate, alice_mailbox):
    # The emulator's defaults: realistic mail, 10 calls in flight per user, calls that
    # take time.
    emulator = emulate(
        email=alice_mailbox.email,
        messages=400,
        seed=8,
        profile="realistic",
        service_ms=DEFAULT_SERVICE_MS,
    )

    run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert_database_matches(alice_mailbox, emulator.mailbox())
    fetches = [r for r in emulator.request_log if r.method in ("messages.get", "threads.get")]
    refused = [r for r in fetches if r.status == 429]
    # The client stays under the limit once it has found it: refusals are rare probes.
    assert len(refused) <= len(fetches) // 20
