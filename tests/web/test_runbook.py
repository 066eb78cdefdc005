"""The staff runbook page: today's Gmail units against the daily budget."""

from __future__ import annotations

import pytest
from django.utils import timezone

from syncapp.gmail.ledger import Limits, MemoryLedger

pytestmark = pytest.mark.django_db


def test_it_shows_todays_gmail_units_against_the_daily_budget(
    client, django_user_model, settings, monkeypatch
):
    settings.GMAIL_DAILY_UNITS_BUDGET = 1000
    ledger = MemoryLedger(limits=Limits(6000, 1_200_000, daily_budget=1000))
    assert ledger.take(user="a@x", units=950, now=timezone.now().timestamp()).granted
    monkeypatch.setattr("syncapp.views.health.quota_ledger", lambda: ledger)
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)

    page = client.get("/staff/runbook/").content.decode()

    assert "Gmail units today (UTC)" in page
    assert "950 of 1,000 (95%)" in page
    assert "badge--failed" in page, "past 90% of the budget it is shown as bad"
