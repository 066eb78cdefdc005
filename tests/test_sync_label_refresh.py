"""A full resync makes stored labels Gmail's, a page or a chunk at a time, and survives a crash."""

import math

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from syncapp import storage
from syncapp.models import Label, LabelMembership, Message, SyncRun
from syncapp.runs import sync_run_start
from syncapp.worker.execute import sync_run_execute
from tests.helpers import assert_database_matches, fetched_message_ids, run_sync

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = 10
CHUNK = 7


@pytest.fixture
def copied(emulate, alice_mailbox, monkeypatch):
    """Alice's 80 messages copied once, with Gmail listing 10 ids a page and storage 7 a chunk."""
    monkeypatch.setattr("syncapp.gmail.client.PAGE_SIZE", PAGE)
    monkeypatch.setattr("syncapp.storage.CHUNK", CHUNK)
    emulator = emulate(email=alice_mailbox.email, messages=80, seed=12)
    run = run_sync(alice_mailbox)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return emulator


def relabel(gmail, gmail_ids: list[str]) -> None:
    """Change the labels of these messages in Gmail, four different ways in turn."""
    for n, gmail_id in enumerate(gmail_ids):
        match n % 4:
            case 0:
                gmail.modify_labels(gmail_id, add=["STARRED"], remove=["INBOX"])
            case 1:
                gmail.modify_labels(gmail_id, add=["Label_2", "IMPORTANT"])
            case 2:
                gmail.modify_labels(gmail_id, remove=list(gmail.get(gmail_id).label_ids))
            case _:
                gmail.modify_labels(gmail_id, add=["Label_1"], remove=["UNREAD", "INBOX"])


def stored_labels(mailbox) -> dict[str, list[str]]:
    return {
        gmail_id: sorted(label_ids)
        for gmail_id, label_ids in Message.objects.filter(mailbox=mailbox).values_list(
            "gmail_id", "label_ids"
        )
    }


def full_resync(mailbox) -> SyncRun:
    return run_sync(mailbox, kind=SyncRun.Kind.FULL)


def test_a_resync_gives_every_stored_message_exactly_gmails_labels(copied, alice_mailbox):
    gmail = copied.mailbox()
    relabel(gmail, gmail.message_ids()[::3])
    before = stored_labels(alice_mailbox)
    expected = {i: sorted(m["label_ids"]) for i, m in gmail.snapshot().items()}
    copied.clear_request_log()

    run = full_resync(alice_mailbox)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.updated_count == sum(before[i] != expected[i] for i in expected) > CHUNK
    assert_database_matches(alice_mailbox, gmail)
    assert [] in stored_labels(alice_mailbox).values(), "no message was left without labels"
    assert fetched_message_ids(copied) == []
    assert not LabelMembership.objects.exists(), "the staged labels were not cleared"


def test_the_refresh_lists_each_label_once_page_by_page_as_before(copied, alice_mailbox):
    gmail = copied.mailbox()
    relabel(gmail, gmail.message_ids()[::5])
    snapshot = gmail.snapshot()
    copied.clear_request_log()

    full_resync(alice_mailbox)

    label_pages = sum(
        max(1, math.ceil(sum(label.label_id in m["label_ids"] for m in snapshot.values()) / PAGE))
        for label in Label.objects.filter(mailbox=alice_mailbox)
    )
    listing_pages = math.ceil(len(snapshot) / PAGE)
    listed = [r for r in copied.request_log if r.method == "messages.list"]
    assert len(listed) == listing_pages + label_pages
    assert {r.units for r in listed} == {5}


def test_the_refresh_holds_one_page_of_ids_or_one_chunk_of_messages_at_a_time(
    copied, alice_mailbox, monkeypatch
):
    relabel(copied.mailbox(), copied.mailbox().message_ids()[::4])
    staged_pages: list[int] = []
    chunk_queries: list[int] = []
    stage, apply = storage.label_memberships_add, storage.messages_apply_label_memberships

    def stage_page(**kwargs):
        staged_pages.append(len(kwargs["gmail_ids"]))
        return stage(**kwargs)

    def apply_chunk(**kwargs):
        with CaptureQueriesContext(connection) as queries:
            applied = apply(**kwargs)
        chunk_queries.append(len(queries.captured_queries))
        return applied

    monkeypatch.setattr("syncapp.storage.label_memberships_add", stage_page)
    monkeypatch.setattr("syncapp.storage.messages_apply_label_memberships", apply_chunk)

    run = full_resync(alice_mailbox)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert max(staged_pages) == PAGE and len(staged_pages) > 80 / PAGE
    # One call a chunk of 7 stored messages, and one that finds none left.
    assert len(chunk_queries) == math.ceil(80 / CHUNK) + 1
    # The chunk's messages, their staged labels, the update, the staged rows' removal.
    assert max(chunk_queries) == 4
    assert_database_matches(alice_mailbox, copied.mailbox())


def database_gone_on_the_third_call(monkeypatch, target: str) -> None:
    real = getattr(storage, target)
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) == 3:
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    monkeypatch.setattr(f"syncapp.storage.{target}", flaky)


@pytest.mark.parametrize("target", ["label_memberships_add", "messages_apply_label_memberships"])
def test_a_retry_after_a_crash_in_the_refresh_still_gives_gmails_labels(
    copied, alice_mailbox, monkeypatch, target
):
    gmail = copied.mailbox()
    relabel(gmail, gmail.message_ids()[::3])
    with monkeypatch.context() as patched:
        database_gone_on_the_third_call(patched, target)
        failed = full_resync(alice_mailbox)
    assert failed.status == SyncRun.Status.FAILED
    assert failed.error.startswith("Database error while refreshing labels")
    assert failed.retry_at is not None
    # Labels change again meanwhile: what the dead attempt staged is out of date.
    last = Message.objects.filter(mailbox=alice_mailbox).latest("pk").gmail_id
    gmail.modify_labels(last, add=["Label_3"], remove=list(gmail.get(last).label_ids))

    retry, created = sync_run_start(
        mailbox=alice_mailbox, trigger=SyncRun.Trigger.RETRY, resume=failed, enqueue=False
    )
    assert created and retry.checkpoint.get("had_known")
    finished = sync_run_execute(run_id=retry.pk)

    assert finished is not None and finished.status == SyncRun.Status.SUCCEEDED, finished
    assert_database_matches(alice_mailbox, gmail)
    assert Message.objects.get(mailbox=alice_mailbox, gmail_id=last).label_ids == ["Label_3"]
    assert not LabelMembership.objects.exists()
