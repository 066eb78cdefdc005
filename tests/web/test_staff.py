"""What staff see: a link to the runbook and the admin, and the runbook's steps."""

import pytest
from django.contrib import admin

from syncapp.models import WorkerProcess

pytestmark = pytest.mark.django_db


def test_staff_find_sync_health_and_the_admin_from_every_page(alice_client, alice):
    alice.is_staff = True
    alice.save()

    html = alice_client.get("/").content.decode()

    assert 'href="/staff/runbook/">Sync health</a>' in html
    assert 'href="/admin/">Admin</a>' in html


def test_a_user_who_is_not_staff_sees_no_staff_links(alice_client):
    html = alice_client.get("/").content.decode()

    assert "/staff/runbook/" not in html
    assert 'href="/admin/"' not in html


def test_a_red_figure_says_what_it_means_and_what_to_do(alice_client, alice):
    alice.is_staff = True
    alice.save()

    html = alice_client.get("/staff/runbook/").content.decode()

    assert "When it is red" in html
    assert "No sync worker has reported" in html
    assert "release_stuck_runs" in html
    assert 'class="row--bad"' in html  # no worker is alive in this test


def test_the_admin_names_worker_processes_in_the_plural_correctly():
    assert admin.site._registry[WorkerProcess].opts.verbose_name_plural == "worker processes"
