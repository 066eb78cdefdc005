"""Every lifecycle step is logged with its run and mailbox, and no token ever is."""

import logging

import pytest

from syncapp.models import SyncRun
from tests.helpers import run_sync

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_sync_logs_its_steps_and_never_a_token(emulate, alice_mailbox, caplog):
    emulator = emulate(email=alice_mailbox.email, messages=20, seed=1)
    _, refresh = emulator.issue_tokens(alice_mailbox.email)
    alice_mailbox.access_token, alice_mailbox.refresh_token = "expired-token", refresh
    alice_mailbox.save()
    emulator.expire_access_tokens(alice_mailbox.email)

    with caplog.at_level(logging.DEBUG):
        run = run_sync(alice_mailbox)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    alice_mailbox.refresh_from_db()
    text = caplog.text
    for step in ("created", "claimed", "succeeded"):
        assert f"run {run.pk} {step}" in text
    assert f"mailbox {alice_mailbox.pk}" in text
    for secret in (refresh, "expired-token", alice_mailbox.access_token):
        assert secret not in text
