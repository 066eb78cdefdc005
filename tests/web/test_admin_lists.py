"""The admin's list pages stay narrow: short figures and errors, the whole on the detail page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from syncapp.models import Message, SyncRun, WorkerProcess

pytestmark = pytest.mark.django_db

LONG_ERROR = (
    "Gmail answered 500 backendError while listing messages: "
    + "the backend said something very long about it " * 20
).strip()


@pytest.fixture
def staff_client(client, alice):
    alice.is_staff = True
    alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    return client


@pytest.fixture
def failed_run(alice_mailbox):
    now = timezone.now()
    return SyncRun.objects.create(
        mailbox=alice_mailbox,
        status=SyncRun.Status.FAILED,
        failure=SyncRun.Failure.GMAIL_UNAVAILABLE,
        error=LONG_ERROR,
        started_at=now - timedelta(seconds=95),
        finished_at=now,
        processed=12345,
        total=20000,
        percent=61,
    )


def test_it_lists_runs_with_the_error_cut_to_a_line_and_humanized_figures(
    staff_client, failed_run
):
    response = staff_client.get("/admin/syncapp/syncrun/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Gmail answered 500 backendError while listing messages: the…" in html
    assert LONG_ERROR not in html
    assert "12,345 / 20,000 (61%)" in html
    assert "1 min 35 s" in html


def test_the_runs_detail_page_shows_the_whole_error(staff_client, failed_run):
    response = staff_client.get(f"/admin/syncapp/syncrun/{failed_run.pk}/change/")

    assert response.status_code == 200
    assert LONG_ERROR in response.content.decode()


def test_the_other_list_pages_render_short_columns(staff_client, alice_mailbox, failed_run):
    now = timezone.now()
    WorkerProcess.objects.create(
        name="a-rather-long-host-name.internal.example.com:4242:0123abcd",
        host="a-rather-long-host-name.internal.example.com",
        pid=4242,
        started_at=now - timedelta(hours=2),
        seen_at=now - timedelta(seconds=3),
        run=failed_run,
        queue="mailsync.bulk",
    )
    Message.objects.create(
        mailbox=alice_mailbox,
        gmail_id="m1",
        thread_id="t1",
        internal_date=now,
        subject="A subject that goes on and on " * 10,
        sender="Carol <carol@example.net>",
    )

    pages = {
        path: staff_client.get(path)
        for path in (
            "/admin/syncapp/mailbox/",
            "/admin/syncapp/workerprocess/",
            "/admin/syncapp/message/",
            "/admin/syncapp/label/",
        )
    }

    assert {path: page.status_code for path, page in pages.items()} == dict.fromkeys(pages, 200)
    workers = pages["/admin/syncapp/workerprocess/"].content.decode()
    assert "a-rather-long-host-…:4242:0123abcd" in workers
    assert f"#{failed_run.pk}" in workers
    assert "2 h 0 min" in workers
    messages = pages["/admin/syncapp/message/"].content.decode()
    assert "A subject that goes on and on A subject that goes on and on…" in messages
