"""A mailbox's labels, and its stored messages' labels made Gmail's again."""

from __future__ import annotations

from functools import partial

from syncapp import storage
from syncapp.gmail.client import GmailClient
from syncapp.sync.recorder import Recorder


def labels_sync(recorder: Recorder, client: GmailClient) -> list[dict]:
    recorder.stage = "listing labels"
    labels = client.list_labels()
    recorder.store(lambda: storage.labels_replace(mailbox=recorder.mailbox, labels=labels))
    return labels


def labels_refresh(recorder: Recorder, client: GmailClient, labels: list[dict]) -> int:
    """Make stored messages' labels Gmail's; returns how many messages changed.

    Gmail lists each label's messages 500 ids for 5 quota units, where fetching
    a message costs 5 units each: listing every label is a hundred times cheaper.
    Each page of ids is staged in the database as it comes, then the stored
    messages take their staged labels a chunk at a time, so memory stays one
    page or one chunk whatever the mailbox's size. A retry starts it over.
    """
    recorder.stage = "refreshing labels"
    mailbox = recorder.mailbox
    recorder.store(partial(storage.label_memberships_clear, mailbox=mailbox))
    for label in labels:
        page_token = None
        while True:
            page = client.list_messages(page_token=page_token, label_id=label["id"])
            recorder.store(
                partial(
                    storage.label_memberships_add,
                    mailbox=mailbox,
                    label_id=label["id"],
                    gmail_ids=page.ids,
                )
            )
            recorder.report()
            page_token = page.next_page_token
            if not page_token:
                break
    changed = 0
    after_pk = 0
    while applied := recorder.store(
        partial(storage.messages_apply_label_memberships, mailbox=mailbox, after_pk=after_pk)
    ):
        chunk_changed, after_pk = applied
        changed += chunk_changed
        recorder.report()
    # What is left was listed under a label but is not stored.
    recorder.store(partial(storage.label_memberships_clear, mailbox=mailbox))
    return changed
