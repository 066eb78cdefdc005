"""The progress partial at /runs/<id>/progress/: what each state shows, and what a poll costs."""

import json
from datetime import timedelta

import httplib2
import pytest
from django.http import Http404
from django.utils import timezone
from django_htmx.http import HTMX_STOP_POLLING

from syncapp.models import SyncRun, WorkerProcess
from syncapp.selectors import run_get_for_user, run_poll_for_user
from tests.web import HTMX

pytestmark = pytest.mark.django_db

Status = SyncRun.Status


def poll(client, run):
    return client.get(f"/runs/{run.pk}/progress/", **HTMX)


def test_a_waiting_run_says_it_waits_for_a_worker_and_keeps_polling(
    alice_client, alice_mailbox, make_run
):
    run = make_run(alice_mailbox, Status.CREATED)

    response = poll(alice_client, run)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Waiting for a worker" in html
    assert f'hx-get="/runs/{run.pk}/progress/"' in html
    assert 'hx-trigger="every 1s"' in html
    assert 'aria-valuenow="0"' in html
    assert "<html" not in html, "an htmx poll gets the fragment, not the page"


def a_worker(*, busy_with=None, seen=None):
    now = timezone.now()
    return WorkerProcess.objects.create(
        name="host:1",
        host="host",
        pid=1,
        started_at=now - timedelta(hours=1),
        seen_at=seen or now,
        run=busy_with,
        idle_since=None if busy_with else now,
    )


def test_a_queued_run_says_when_no_worker_is_running(alice_client, alice_mailbox, make_run):
    a_worker(seen=timezone.now() - timedelta(hours=1))
    run = make_run(alice_mailbox, Status.CREATED)

    html = poll(alice_client, run).content.decode()

    assert "No sync worker is running; your sync is queued." in html


def test_a_queued_run_behind_busy_workers_says_how_long_it_waited(
    alice_client, alice_mailbox, bob_mailbox, make_run
):
    a_worker(busy_with=make_run(bob_mailbox, Status.RUNNING))
    run = make_run(alice_mailbox, Status.CREATED)
    SyncRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(minutes=2))

    html = poll(alice_client, run).content.decode()

    assert "All sync workers are busy; your sync is queued (2 min 0 s so far)" in html
    assert "No sync worker is running" not in html


def test_a_freshly_queued_run_beside_a_live_worker_just_waits(
    alice_client, alice_mailbox, make_run
):
    a_worker()
    run = make_run(alice_mailbox, Status.CREATED)

    html = poll(alice_client, run).content.decode()

    assert "Waiting for a worker" in html
    assert "run__warning" not in html


def test_a_running_run_shows_percent_counts_speed_and_time_left(
    alice_client, alice_mailbox, make_run
):
    run = make_run(
        alice_mailbox,
        Status.RUNNING,
        processed=400,
        total=1000,
        percent=40,
        started_at=timezone.now() - timedelta(seconds=20),
    )

    response = poll(alice_client, run)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="progressbar"' in html
    assert 'aria-valuenow="40"' in html
    assert 'aria-valuemin="0"' in html
    assert 'aria-valuemax="100"' in html
    assert "bar__fill--40" in html
    assert "400</span> / 1,000" in html
    assert "20 messages/s" in html
    assert "about 30 s" in html
    assert 'hx-trigger="every 1s"' in html


def test_a_running_run_still_counting_says_so(alice_client, alice_mailbox, make_run):
    run = make_run(alice_mailbox, Status.RUNNING)

    html = poll(alice_client, run).content.decode()

    assert "Counting messages" in html


def test_a_run_whose_worker_went_silent_says_so(alice_client, alice_mailbox, make_run):
    run = make_run(
        alice_mailbox,
        Status.RUNNING,
        processed=10,
        total=100,
        percent=10,
        started_at=timezone.now() - timedelta(minutes=10),
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )

    html = poll(alice_client, run).content.decode()

    assert "The worker has not reported for 5 min" in html


def test_a_succeeded_run_shows_its_counts_and_stops_the_polling(
    alice_client, alice_mailbox, make_run
):
    run = make_run(
        alice_mailbox,
        Status.SUCCEEDED,
        processed=500,
        total=500,
        new_count=480,
        updated_count=15,
        deleted_count=5,
    )

    response = poll(alice_client, run)

    assert response.status_code == HTMX_STOP_POLLING == 286
    html = response.content.decode()
    assert "hx-trigger" not in html
    assert "hx-get" not in html
    assert 'aria-valuenow="100"' in html
    assert "Done in 1 min 15 s" in html
    assert "<strong>480</strong> new" in html
    assert "<strong>15</strong> updated" in html
    assert "<strong>5</strong> deleted" in html
    assert json.loads(response["HX-Trigger"]) == {f"mailbox-{alice_mailbox.pk}-run-ended": {}}


def test_a_poll_of_an_active_run_does_not_refresh_the_mailbox(
    alice_client, alice_mailbox, make_run
):
    run = make_run(alice_mailbox, Status.RUNNING)

    assert "HX-Trigger" not in poll(alice_client, run)


def test_a_failed_run_shows_the_reason_and_a_retry_button_and_stops_the_polling(
    alice_client, alice_mailbox, make_run
):
    run = make_run(alice_mailbox, Status.FAILED, error="Reconnect your <b>Google</b> account")

    response = poll(alice_client, run)

    assert response.status_code == 286
    html = response.content.decode()
    assert "hx-trigger" not in html
    assert "Reconnect your &lt;b&gt;Google&lt;/b&gt; account" in html
    assert f'hx-post="/runs/{run.pk}/retry/"' in html
    assert ">Retry</button>" in html


def test_opening_the_progress_url_in_the_browser_shows_the_whole_page(
    alice_client, alice_mailbox, make_run
):
    run = make_run(alice_mailbox, Status.SUCCEEDED)

    response = alice_client.get(f"/runs/{run.pk}/progress/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    assert f'id="run-{run.pk}"' in html
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize("status", list(Status))
def test_a_poll_costs_at_most_three_queries_and_no_gmail_call(
    alice_client, alice_mailbox, make_run, status, django_assert_max_num_queries, monkeypatch
):
    run = make_run(alice_mailbox, status)

    def no_network(*args, **kwargs):
        raise AssertionError("the poll called Gmail")

    monkeypatch.setattr(httplib2.Http, "request", no_network)
    with django_assert_max_num_queries(3):
        response = poll(alice_client, run)

    assert response.status_code in (200, 286)


def test_no_browser_or_proxy_caches_a_poll(alice_client, alice_mailbox, make_run):
    run = make_run(alice_mailbox, Status.RUNNING)

    response = poll(alice_client, run)

    assert "no-store" in response["Cache-Control"]
    assert "no-cache" in response["Cache-Control"]


def test_bob_cannot_poll_alices_run(bob_client, alice_mailbox, make_run):
    run = make_run(alice_mailbox, Status.RUNNING)

    assert poll(bob_client, run).status_code == 404
    assert bob_client.get(f"/runs/{run.pk}/progress/").status_code == 404


def test_speed_and_time_left_wait_for_the_run_to_settle(alice_client, alice_mailbox, make_run):
    run = make_run(
        alice_mailbox,
        Status.RUNNING,
        processed=50,
        total=1000,
        percent=5,
        started_at=timezone.now() - timedelta(seconds=2),
    )

    html = poll(alice_client, run).content.decode()

    assert "measuring… messages/s" in html
    assert "about" not in html


def test_a_retrys_speed_counts_only_what_it_went_through_itself(
    alice_client, alice_mailbox, make_run
):
    dead = make_run(alice_mailbox, Status.FAILED, processed=600, total=1000)
    run = make_run(
        alice_mailbox,
        Status.RUNNING,
        retry_of=dead,
        resumed_from=dead.processed,
        processed=900,
        total=1000,
        percent=90,
        started_at=timezone.now() - timedelta(seconds=20),
    )

    html = poll(alice_client, run).content.decode()

    assert "15 messages/s" in html
    assert "about 5 s" in html


@pytest.mark.parametrize(
    "status", [Status.CREATED, Status.RUNNING, Status.SUCCEEDED, Status.FAILED]
)
def test_the_poll_reads_the_run_as_the_page_does(alice, alice_mailbox, make_run, status):
    run = make_run(alice_mailbox, status, processed=5, total=10)
    if not run.is_active:
        make_run(alice_mailbox, Status.SUCCEEDED)  # a later run: the first is superseded
    a_worker()

    polled = run_poll_for_user(user=alice, run_id=run.pk)
    paged = run_get_for_user(user=alice, run_id=run.pk)

    fields = [field.attname for field in SyncRun._meta.concrete_fields]
    assert [getattr(polled, name) for name in fields] == [getattr(paged, name) for name in fields]
    assert (bool(polled.workers_alive), bool(polled.superseded)) == (
        paged.workers_alive,
        paged.superseded,
    )


def test_the_poll_does_not_find_bobs_run_for_alice(alice, bob_mailbox, make_run):
    run = make_run(bob_mailbox, Status.RUNNING)

    with pytest.raises(Http404):
        run_poll_for_user(user=alice, run_id=run.pk)
