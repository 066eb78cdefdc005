"""A real django-q cluster picks up an enqueued run and finishes it."""

import io

import pytest
from django.core.management import call_command

from syncapp.models import Message, SyncRun
from tests.helpers import fetched_message_ids
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_cluster_executes_an_enqueued_run(emulate, alice_mailbox, start_cluster):
    emulate(email=alice_mailbox.email, messages=200, seed=1)
    cluster = start_cluster()

    call_command("syncmail", "--user", "alice", "--enqueue")

    run = SyncRun.objects.get()
    finished = wait_for(
        lambda: SyncRun.objects.finished().filter(pk=run.pk).first(),
        timeout=90,
        what=lambda: f"the cluster to finish the run\n{cluster.output()}",
    )
    assert finished.status == SyncRun.Status.SUCCEEDED, finished.error
    assert finished.task_id
    assert Message.objects.filter(mailbox=alice_mailbox).count() == 200


def test_syncmail_wait_follows_the_workers_run_to_its_end(emulate, alice_mailbox, start_cluster):
    emulator = emulate(email=alice_mailbox.email, messages=120, seed=2)
    start_cluster()
    out = io.StringIO()

    call_command("syncmail", "--user", "alice", "--enqueue", "--wait", stdout=out)

    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert f"run {run.pk} queued for the workers" in out.getvalue()
    assert "120 processed, 120 new" in out.getvalue()
    assert sorted(fetched_message_ids(emulator)) == sorted(emulator.mailbox().message_ids())
