"""Fetching overlaps storing, and an error is blamed on the stage that raised it."""

import threading

import pytest

from syncapp.figures import RunFigures
from syncapp.gmail.client import FetchResult
from syncapp.gmail.errors import GmailUnavailable
from syncapp.sync.checkpoint import Checkpoint
from syncapp.sync.pipeline import Kept, fetch_messages

pytestmark = pytest.mark.django_db(transaction=True)


class StoringRecorder:
    """Stores nothing; tells when the first batch's store has been done."""

    def __init__(self, mailbox, *, fail_store=False):
        self.run_id = 1
        self.mailbox = mailbox
        self.figures = RunFigures()
        self.checkpoint = Checkpoint()
        self.stage = "starting"
        self.stored = threading.Event()
        self.fail_store = fail_store

    def report(self, *, force=False):
        pass

    def store(self, write):
        self.stored.set()
        if self.fail_store:
            raise RuntimeError("disk full")
        return None

    def fall_back_to_full(self):
        pass


class FakeClient:
    """Brings every message back, except that it fails on `failing` once `ready`."""

    def __init__(self, *, failing=None, ready=None):
        self.failing, self.ready = failing, ready

    def get_messages(self, ids, *, format, keep):
        if ids == self.failing:
            # Fail only once the writer thread has stored the first batch.
            assert self.ready.wait(10)
            raise GmailUnavailable("503 backendError")
        return FetchResult(found={i: Kept(None, None, "not stored") for i in ids})

    def large_message_ids(self):
        return frozenset()


@pytest.fixture(autouse=True)
def one_message_a_batch(settings):
    settings.GMAIL_RAW_BATCH_SIZE = 1


def test_a_fetch_error_after_a_batch_was_stored_is_blamed_on_fetching(alice_mailbox):
    recorder = StoringRecorder(alice_mailbox)
    client = FakeClient(failing=["m2"], ready=recorder.stored)

    with pytest.raises(GmailUnavailable):
        fetch_messages(recorder, client, ["m1", "m2"], mark="")

    assert recorder.stage == "fetching messages"


def test_a_store_error_is_blamed_on_storing(alice_mailbox):
    recorder = StoringRecorder(alice_mailbox, fail_store=True)

    with pytest.raises(RuntimeError, match="disk full"):
        fetch_messages(recorder, FakeClient(), ["m1"], mark="")

    assert recorder.stage == "storing messages"
