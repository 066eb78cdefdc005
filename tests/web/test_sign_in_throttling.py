"""Failed sign-ins are counted per username and per address, then locked for a while."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def fail(client: Client, path: str = "/accounts/login/", username: str = "alice", **extra):
    return client.post(path, {"username": username, "password": "wrong"}, **extra)


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

    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-password"})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)
