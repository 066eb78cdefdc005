"""Fetching overlaps storing, and an error is blamed on the stage that raised it."""

import threading

import pytest

from syncapp.figures import RunFigures
from syncapp.gmail.client import FetchResult
from syncapp.gmail.errors import GmailUnavailable
from syncapp.sync.checkpoint import Checkpoint
from syncapp.sync.pipeline import fetch_and_store

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


def test_a_fetch_error_after_a_batch_was_stored_is_blamed_on_fetching(alice_mailbox):
    recorder = StoringRecorder(alice_mailbox)

    def fetch(ids):
        if ids == ["m2"]:
            # Fail only once the writer thread has stored the first batch.
            assert recorder.stored.wait(10)
            raise GmailUnavailable("503 backendError")
        return FetchResult(found={})

    with pytest.raises(GmailUnavailable):
        fetch_and_store(recorder, fetch, [(["m1"], 1), (["m2"], 1)], mark="")

    assert recorder.stage == "fetching messages"


def test_a_store_error_is_blamed_on_storing(alice_mailbox):
    recorder = StoringRecorder(alice_mailbox, fail_store=True)

    with pytest.raises(RuntimeError, match="disk full"):
        fetch_and_store(recorder, lambda ids: FetchResult(found={}), [(["m1"], 1)], mark="")

    assert recorder.stage == "storing messages"
