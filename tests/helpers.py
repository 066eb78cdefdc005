"""Small helpers shared by the sync tests."""

from __future__ import annotations

import re

from syncapp.models import Mailbox, Message, SyncRun
from syncapp.runs import sync_run_start
from syncapp.worker.execute import sync_run_execute


def run_sync(mailbox: Mailbox, *, kind: str = SyncRun.Kind.INCREMENTAL, **execute) -> SyncRun:
    """Start a run and execute it in this process, as `syncmail` does."""
    run, created = sync_run_start(
        mailbox=mailbox, kind=kind, trigger=SyncRun.Trigger.CLI, enqueue=False
    )
    assert created, f"mailbox already had active run {run.pk}"
    finished = sync_run_execute(run_id=run.pk, **execute)
    assert finished is not None
    return finished


def stored_subject(subject: str) -> str:
    """How a subject must be stored: no NUL, whitespace folded, cut to the column."""
    subject = re.sub(r"\s+", " ", subject.replace("\x00", "")).strip()
    return subject[: Message.SUBJECT_MAX]


def assert_database_matches(mailbox: Mailbox, emulated) -> None:
    """The stored mailbox equals the emulator's: ids, threads, labels, subjects."""
    expected = emulated.snapshot()
    stored = {
        message.gmail_id: message
        for message in Message.objects.filter(mailbox=mailbox).only(
            "gmail_id", "thread_id", "label_ids", "subject"
        )
    }
    assert sorted(stored) == sorted(expected)
    for gmail_id, want in expected.items():
        message = stored[gmail_id]
        assert message.thread_id == want["thread_id"], gmail_id
        assert sorted(message.label_ids) == sorted(want["label_ids"]), gmail_id
        assert message.subject == stored_subject(want["subject"]), gmail_id


def fetched_message_ids(emulator) -> list[str]:
    """Every message the sync fetched: alone, or with its whole thread."""
    threads: dict[str, list[str]] = {}
    for gmail_id, message in emulator.mailbox().snapshot().items():
        threads.setdefault(message["thread_id"], []).append(gmail_id)
    fetched = []
    for request in emulator.request_log:
        if request.status != 200:
            continue
        if request.method == "messages.get":
            fetched.append(request.message_id)
        elif request.method == "threads.get":
            fetched.extend(threads[request.message_id])
    return fetched
