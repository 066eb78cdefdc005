import pytest
from django.core.cache import cache
from django.db import connection

from syncapp import queue
from syncapp.models import Mailbox

pytest_plugins = ["tests.plugins.emulator", "tests.plugins.processes"]


@pytest.fixture(autouse=True)
def empty_cache():
    """Counters (the API's start limit) never carry over from one test to the next."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def mail_storage(settings, tmp_path):
    """Each test keeps the originals it stores in a folder of its own."""
    location = tmp_path / "mail"
    settings.STORAGES = {
        **settings.STORAGES,
        "mail": {
            "BACKEND": "syncapp.originalstorage.OriginalFileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
    }
    return location


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.org", "alice-password")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.org", "bob-password")


@pytest.fixture
def alice_mailbox(alice):
    return Mailbox.objects.create(
        owner=alice, email="alice@example.com", refresh_token="alice-refresh-token"
    )


@pytest.fixture
def bob_mailbox(bob):
    return Mailbox.objects.create(owner=bob, email="bob@example.com", refresh_token="bob-refresh")


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    if connection.vendor != "postgresql":
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


class Enqueued(list):
    def __init__(self) -> None:
        super().__init__()
        self.lanes: list[str] = []


@pytest.fixture
def enqueued(monkeypatch):
    """Stands in for the broker: records the runs handed to the workers, and their lanes."""
    runs = Enqueued()

    def enqueue(*, run_id, lane):
        runs.append(run_id)
        runs.lanes.append(lane)
        return f"task-for-{run_id}", queue.lane_queue(lane)

    monkeypatch.setattr("syncapp.runs.queue.enqueue_sync_run", enqueue)
    return runs


@pytest.fixture
def emulate(settings, make_gmail_emulator):
    """Start a Gmail emulator and point the app's Gmail settings at it."""

    def start(**options):
        emulator = make_gmail_emulator(**options)
        settings.GMAIL_API_ENDPOINT = emulator.url
        settings.GOOGLE_TOKEN_URI = emulator.url + "token"
        return emulator

    return start
