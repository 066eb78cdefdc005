"""Failed sign-ins are counted per username and per address, slowed, then locked for a while."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.db.models import F, Sum
from django.test import Client
from django.utils import timezone

from syncapp.signin import signin_wait_seconds

pytestmark = pytest.mark.django_db


def time_passes(seconds: float) -> None:
    """The clock moves on: every failure django-axes recorded happened that much earlier."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(seconds=seconds))


def just_failed() -> None:
    """The last failures happened this very moment (a request takes a while here)."""
    AccessAttempt.objects.update(attempt_time=timezone.now())


def fail(client: Client, path: str = "/accounts/login/", username: str = "alice", **extra):
    """A wrong password, tried once the slow-down's wait has passed."""
    time_passes(60)
    return client.post(path, {"username": username, "password": "wrong"}, **extra)


def fail_at_once(client: Client, path: str = "/accounts/login/", username: str = "alice"):
    return client.post(path, {"username": username, "password": "wrong"})


def right(client: Client, path: str = "/accounts/login/", username: str = "alice"):
    return client.post(path, {"username": username, "password": f"{username}-password"})


def failures_recorded() -> int:
    return AccessAttempt.objects.aggregate(n=Sum("failures_since_start"))["n"] or 0


def test_a_burst_of_failed_sign_ins_locks_the_user_out_even_with_the_right_password(
    client, alice, settings
):
    answers = [fail(client).status_code for _ in range(settings.AXES_FAILURE_LIMIT)]

    right = client.post("/accounts/login/", {"username": "alice", "password": "alice-password"})

    assert answers[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert answers[-1] == 429
    assert right.status_code == 429
    assert "Too many failed sign-ins" in right.content.decode()
    assert "Try again in 15 minutes" in right.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_username_from_any_address(client, alice, settings):
    for index in range(settings.AXES_FAILURE_LIMIT):
        fail(client, REMOTE_ADDR=f"10.0.0.{index}")

    elsewhere = Client(REMOTE_ADDR="10.9.9.9")
    response = elsewhere.post(
        "/accounts/login/", {"username": "alice", "password": "alice-password"}
    )

    assert response.status_code == 429


def test_the_lock_is_per_address_across_usernames(client, alice, bob, settings):
    for index in range(settings.AXES_FAILURE_LIMIT):
        fail(client, username=f"guess{index}")

    response = client.post("/accounts/login/", {"username": "bob", "password": "bob-password"})

    assert response.status_code == 429


def test_the_admin_sign_in_is_throttled_too(client, alice, settings):
    answers = [
        fail(client, "/admin/login/").status_code for _ in range(settings.AXES_FAILURE_LIMIT)
    ]

    assert answers[-1] == 429


def test_a_few_mistakes_then_the_right_password_sign_in(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        fail(client)
    time_passes(60)

    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-password"})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_after_two_failures_a_try_within_a_second_is_refused_without_checking_the_password(
    client, alice
):
    fail_at_once(client)
    fail_at_once(client)
    just_failed()

    response = right(client)

    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    assert "Too many failed sign-ins: try again in 1 second." in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert failures_recorded() == 2, "a refused try is not a failure"


def test_once_the_wait_has_passed_the_right_password_signs_in(client, alice):
    fail_at_once(client)
    fail_at_once(client)
    time_passes(1)

    response = right(client)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_the_wait_doubles_with_each_further_failure(client, alice):
    fail_at_once(client)
    fail_at_once(client)
    time_passes(1)
    assert fail_at_once(client).status_code == 200

    just_failed()
    refused_after_three = fail_at_once(client)
    time_passes(2)
    assert fail_at_once(client).status_code == 200
    just_failed()
    refused_after_four = fail_at_once(client)

    assert "try again in 2 seconds" in refused_after_three.content.decode()
    assert "try again in 4 seconds" in refused_after_four.content.decode()
    assert failures_recorded() == 4


def test_the_slow_down_is_per_address_across_usernames(client, alice, bob):
    fail_at_once(client, username="guess1")
    fail_at_once(client, username="guess2")
    just_failed()

    response = right(client, username="bob")

    assert response.status_code == 429
    assert "try again in 1 second" in response.content.decode()


def test_the_slow_down_is_per_username_from_any_address(client, alice):
    fail(client, REMOTE_ADDR="10.0.0.1")
    client.post(
        "/accounts/login/", {"username": "alice", "password": "wrong"}, REMOTE_ADDR="10.0.0.2"
    )

    elsewhere = Client(REMOTE_ADDR="10.9.9.9")
    just_failed()

    assert right(elsewhere).status_code == 429


def test_the_admin_sign_in_is_slowed_too(client, alice):
    alice.is_staff = True
    alice.save()
    fail_at_once(client, "/admin/login/")
    fail_at_once(client, "/admin/login/")
    just_failed()

    response = right(client, "/admin/login/")

    assert response.status_code == 429
    assert "try again in 1 second" in response.content.decode()


def test_the_wait_counts_from_the_last_failure():
    now = timezone.now()
    AccessAttempt.objects.create(
        username="alice",
        ip_address="10.0.0.1",
        user_agent="a browser",
        failures_since_start=3,
        attempt_time=now,
    )
    AccessAttempt.objects.filter(username="alice").update(attempt_time=now)

    def wait(after: float) -> int:
        moment = now + timedelta(seconds=after)
        return signin_wait_seconds(username="alice", ip_address="10.9.9.9", now=moment)

    assert [wait(0), wait(0.5), wait(1.5), wait(2)] == [2, 2, 1, 0]
    assert signin_wait_seconds(username="bob", ip_address="10.0.0.1", now=now) == 2
    assert signin_wait_seconds(username="bob", ip_address="10.9.9.9", now=now) == 0
