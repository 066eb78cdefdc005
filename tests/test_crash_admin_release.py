"""An admin releases stuck runs from the SyncRun admin; nobody else can."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from syncapp.figures import RunFigures
from syncapp.models import SyncRun
from syncapp.runs import sync_run_claim, sync_run_start, sync_run_succeed

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "/admin/syncapp/syncrun/"


def release(client, *runs):
    return client.post(
        CHANGELIST,
        {"action": "release_selected", "_selected_action": [run.pk for run in runs]},
        follow=True,
    )


def stuck_running(mailbox):
    """A run whose worker went quiet a minute ago."""
    run, _ = sync_run_start(mailbox=mailbox, trigger=SyncRun.Trigger.WEB, enqueue=False)
    sync_run_claim(run_id=run.pk, worker="worker-1")
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=1))
    return SyncRun.objects.get(pk=run.pk)


def succeeded(mailbox):
    run, _ = sync_run_start(mailbox=mailbox, trigger=SyncRun.Trigger.WEB, enqueue=False)
    sync_run_claim(run_id=run.pk, worker="worker-1")
    sync_run_succeed(
        run_id=run.pk,
        worker="worker-1",
        figures=RunFigures(processed=3, total=3),
        history_id="1",
        finished_at=timezone.now(),
    )
    return SyncRun.objects.get(pk=run.pk)


def test_an_admin_releases_the_selected_active_runs(
    admin_client, admin_user, alice_mailbox, bob_mailbox
):
    finished = succeeded(alice_mailbox)
    alices = stuck_running(alice_mailbox)
    bobs, _ = sync_run_start(mailbox=bob_mailbox, trigger=SyncRun.Trigger.WEB, enqueue=False)

    response = release(admin_client, finished, alices, bobs)

    assert response.status_code == 200
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Released 2 run(s).",
        "1 run(s) had already ended and were left alone.",
    ]
    for run in (alices, bobs):
        run.refresh_from_db()
        assert run.status == SyncRun.Status.FAILED
        assert run.failure == SyncRun.Failure.RELEASED
        assert run.error.startswith(f"Released by {admin_user.username} at ")
        assert run.retry_at is None
    untouched = SyncRun.objects.get(pk=finished.pk)
    assert (untouched.status, untouched.error) == (SyncRun.Status.SUCCEEDED, "")
    assert not SyncRun.objects.active().exists()


def test_a_user_who_is_not_staff_cannot_release_runs(client, alice, alice_mailbox):
    stuck = stuck_running(alice_mailbox)
    client.force_login(alice)

    response = client.post(
        CHANGELIST, {"action": "release_selected", "_selected_action": [stuck.pk]}
    )

    assert response.status_code == 302
    assert response.url == f"/admin/login/?next={CHANGELIST}"
    stuck_now = SyncRun.objects.get(pk=stuck.pk)
    assert (stuck_now.status, stuck_now.error) == (SyncRun.Status.RUNNING, "")
