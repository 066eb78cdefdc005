"""`manage.py syncmail`: the same lifecycle from a shell."""

import io
import logging
import re
import sys

import pytest
from django.core.management import CommandError, call_command

from syncapp.models import Mailbox, Message, SyncRun
from syncapp.runs import sync_run_start

pytestmark = pytest.mark.django_db(transaction=True)


def syncmail(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("syncmail", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_syncs_a_users_mailbox_in_this_process(emulate, alice_mailbox):
    emulate(email=alice_mailbox.email, messages=40, seed=1)

    out, _ = syncmail("--user", "alice")

    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.trigger == SyncRun.Trigger.CLI
    assert Message.objects.filter(mailbox=alice_mailbox).count() == 40
    assert f"alice@example.com: run {run.pk} succeeded in " in out
    assert "40 processed, 40 new, 0 updated, 0 deleted" in out


def test_it_selects_a_mailbox_by_address(emulate, alice_mailbox, bob_mailbox):
    emulate(email=bob_mailbox.email, messages=10, seed=1)

    syncmail("--email", "BOB@example.com")

    assert list(SyncRun.objects.values_list("mailbox__email", flat=True)) == ["bob@example.com"]


def test_it_hands_the_run_to_the_workers_with_enqueue(alice_mailbox, enqueued):
    out, _ = syncmail("--user", "alice", "--enqueue", "--full")

    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.CREATED
    assert run.kind == SyncRun.Kind.FULL
    assert enqueued == [run.pk]
    assert f"run {run.pk} queued for the workers" in out


def test_it_says_so_when_a_run_is_already_active(alice_mailbox, enqueued):
    active, _ = sync_run_start(mailbox=alice_mailbox, trigger=SyncRun.Trigger.WEB)

    out, _ = syncmail("--user", "alice")

    assert f"run {active.pk} is already waiting for a worker" in out
    assert SyncRun.objects.count() == 1


def test_it_exits_with_status_1_when_the_run_failed(emulate, alice_mailbox):
    emulator = emulate(email=alice_mailbox.email, messages=10, seed=1)
    emulator.revoke(alice_mailbox.email)

    with pytest.raises(CommandError) as failure:
        syncmail("--user", "alice")

    assert failure.value.returncode == 1
    assert SyncRun.objects.get().status == SyncRun.Status.FAILED


def test_it_skips_a_mailbox_that_needs_reconnecting(alice_mailbox):
    Mailbox.objects.filter(pk=alice_mailbox.pk).update(needs_reconnect=True)

    with pytest.raises(CommandError):
        syncmail("--all")

    assert not SyncRun.objects.exists()


def test_it_rejects_an_unknown_user(alice_mailbox):
    with pytest.raises(CommandError, match="No user named 'carol'"):
        syncmail("--user", "carol")


def test_a_person_at_a_terminal_sees_a_progress_bar(emulate, alice_mailbox, monkeypatch):
    emulate(email=alice_mailbox.email, messages=40, seed=1)

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    call_command("syncmail", "--user", "alice", stdout=terminal)

    shown = terminal.getvalue()
    assert "alice@example.com: 100%" in shown
    assert "40/40" in shown
    assert "succeeded in" in shown


def test_a_log_line_during_the_bar_is_written_above_it_on_its_own_line(
    emulate, alice_mailbox, monkeypatch
):
    emulate(email=alice_mailbox.email, messages=40, seed=1)

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    # One terminal for the bar and the console log, as a person's shell has.
    monkeypatch.setattr(sys, "stderr", terminal)
    console = logging.StreamHandler(terminal)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logging.root.addHandler(console)
    try:
        call_command("syncmail", "--user", "alice", stdout=terminal)
    finally:
        logging.root.removeHandler(console)

    shown = terminal.getvalue()
    # The worker claims the run, and it succeeds, while the bar shows: each log
    # line starts a line of its own, none is glued to the bar.
    for logged in (r"run \d+ claimed by worker \w+ \(mailbox \d+\)", r"run \d+ succeeded"):
        assert re.search(rf"(^|[\r\n])INFO syncapp\.runs {logged}[^\r\n]*\n", shown), shown
    assert "]INFO" not in shown
    assert "alice@example.com: 100%" in shown
