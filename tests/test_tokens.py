"""OAuth tokens at rest: encrypted, rotated, forgotten when access ends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from syncapp.mailboxes import mailbox_mark_reconnect
from syncapp.models import Mailbox

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
ACCESS = "ya29.a-clear-access-token"
REFRESH = "1//a-clear-refresh-token"


def stored_tokens(mailbox: Mailbox) -> tuple[str, str]:
    """The columns as the database holds them, past the model field."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM syncapp_mailbox WHERE id = %s", [mailbox.pk]
        )
        return cursor.fetchone()


@pytest.fixture
def tokened(alice) -> Mailbox:
    return Mailbox.objects.create(
        owner=alice, email="alice@example.com", access_token=ACCESS, refresh_token=REFRESH
    )


def test_the_database_holds_no_token_in_clear_text(tokened, settings):
    access, refresh = stored_tokens(tokened)

    assert ACCESS not in access and REFRESH not in refresh
    key = Fernet(settings.TOKEN_ENCRYPTION_KEYS[0])
    assert key.decrypt(refresh.encode()).decode() == REFRESH
    reread = Mailbox.objects.get(pk=tokened.pk)
    assert (reread.access_token, reread.refresh_token) == (ACCESS, REFRESH)


def test_a_token_saved_by_update_is_encrypted_too(tokened):
    Mailbox.objects.filter(pk=tokened.pk).update(access_token="ya29.refreshed")

    assert "ya29.refreshed" not in stored_tokens(tokened)[0]
    assert Mailbox.objects.get(pk=tokened.pk).access_token == "ya29.refreshed"


def test_rotation_re_encrypts_every_token_with_the_new_first_key(alice, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [old]
    mailbox = Mailbox.objects.create(owner=alice, email="a@example.com", refresh_token=REFRESH)

    settings.TOKEN_ENCRYPTION_KEYS = [new, old]
    call_command("reencrypt_tokens", stdout=open(os.devnull, "w"))  # noqa: SIM115

    settings.TOKEN_ENCRYPTION_KEYS = [new]
    assert Mailbox.objects.get(pk=mailbox.pk).refresh_token == REFRESH
    assert Fernet(new).decrypt(stored_tokens(mailbox)[1].encode()).decode() == REFRESH


def test_a_token_no_key_opens_reads_as_missing_and_the_log_does_not_show_it(
    tokened, settings, caplog
):
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    mailbox = Mailbox.objects.get(pk=tokened.pk)

    assert mailbox.refresh_token == ""
    assert "cannot be decrypted" in caplog.text
    assert stored_tokens(tokened)[1] not in caplog.text


def test_a_revoked_mailbox_forgets_both_tokens(tokened):
    mailbox_mark_reconnect(mailbox_id=tokened.pk)

    assert stored_tokens(tokened) == ("", "")
    assert Mailbox.objects.get(pk=tokened.pk).needs_reconnect


def run_check(**env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "TOKEN_ENCRYPTION_KEYS"}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=base | {"DEBUG": "False"} | env,
        capture_output=True,
        text=True,
    )


def test_production_refuses_to_start_without_token_keys():
    result = run_check()

    assert result.returncode != 0
    assert "TOKEN_ENCRYPTION_KEYS must be set when DEBUG is not True" in result.stderr


def test_production_refuses_a_key_that_is_not_a_fernet_key():
    result = run_check(TOKEN_ENCRYPTION_KEYS="not-a-key")

    assert result.returncode != 0
    assert "TOKEN_ENCRYPTION_KEYS must be Fernet keys" in result.stderr
    assert "not-a-key" not in result.stderr
