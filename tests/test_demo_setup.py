"""`manage.py demo_setup`: the demo user, and with --mailboxes K a fleet to sync."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from gmail_emulator.fleet import fleet_address, fleet_refresh_token, fleet_username
from syncapp.models import Mailbox, Message

pytestmark = pytest.mark.django_db(transaction=True)


def demo_setup(*args: str) -> str:
    out = io.StringIO()
    call_command("demo_setup", *args, stdout=out)
    return out.getvalue()


def test_it_creates_k_fleet_users_each_signing_in_with_its_name_and_owning_its_mailbox():
    out = demo_setup("--mailboxes", "3")

    users = get_user_model().objects.order_by("username")
    assert [u.username for u in users] == ["demo", "user1", "user2", "user3"]
    for user in users:
        assert user.check_password(user.username)
        assert list(Mailbox.objects.filter(owner=user).values_list("email", flat=True)) == [
            f"{user.username}@example.com"
        ]
    assert "user1 ... user3" in out


def test_running_it_again_creates_nothing_twice_and_keeps_changed_passwords():
    demo_setup("--mailboxes", "2")
    user1 = get_user_model().objects.get(username="user1")
    user1.set_password("changed")
    user1.save()

    demo_setup("--mailboxes", "3")
    demo_setup("--mailboxes", "3")

    assert get_user_model().objects.count() == 4
    assert Mailbox.objects.count() == 4
    assert get_user_model().objects.get(username="user1").check_password("changed")


def test_without_mailboxes_it_creates_only_the_demo_user():
    demo_setup()

    assert list(get_user_model().objects.values_list("username", flat=True)) == ["demo"]


def test_the_fleet_it_creates_is_the_one_the_emulator_serves():
    demo_setup("--mailboxes", "2")

    for number in (1, 2):
        mailbox = Mailbox.objects.get(owner__username=fleet_username(number))
        assert mailbox.email == fleet_address(number)
        assert mailbox.refresh_token == fleet_refresh_token(fleet_address(number))


def test_a_fleet_users_mailbox_syncs_from_the_emulators_matching_mailbox(emulate):
    emulator = emulate(mailboxes=2, messages=30, seed=5)
    demo_setup("--mailboxes", "2")

    call_command("syncmail", "--user", "user2", stdout=io.StringIO(), stderr=io.StringIO())

    mailbox = Mailbox.objects.get(email="user2@example.com")
    stored = set(Message.objects.filter(mailbox=mailbox).values_list("gmail_id", flat=True))
    assert stored == set(emulator.mailbox("user2@example.com").message_ids())
    assert stored != set(emulator.mailbox("demo@example.com").message_ids())


def test_it_announces_when_the_schedule_first_syncs_the_demo_mailbox():
    call_command("ensure_schedules", stdout=io.StringIO())

    out = demo_setup()

    assert (
        "The first automatic sync of demo@example.com starts in about 30 seconds; "
        "press Sync to start it now." in out
    )


def test_it_announces_a_later_next_sync_once_the_mailbox_has_synced():
    demo_setup()
    now = timezone.now()
    Mailbox.objects.filter(email="demo@example.com").update(
        last_synced_at=now, next_sync_at=now + timedelta(minutes=10)
    )

    out = demo_setup()

    assert "The next automatic sync of demo@example.com starts in about 10 minutes" in out
