"""A mailbox's labels, and its stored messages' labels made Gmail's again."""

from __future__ import annotations

from collections import defaultdict
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
    """
    recorder.stage = "refreshing labels"
    carrying: dict[str, list[str]] = defaultdict(list)
    for label in labels:
        page_token = None
        while True:
            page = client.list_messages(page_token=page_token, label_id=label["id"])
            for gmail_id in page.ids:
                carrying[gmail_id].append(label["id"])
            page_token = page.next_page_token
            if not page_token:
                break
    changed = 0
    mailbox = recorder.mailbox
    for chunk in storage.message_id_chunks(mailbox=mailbox):
        wanted = {gmail_id: carrying.get(gmail_id, []) for gmail_id in chunk}
        changed += recorder.store(
            partial(storage.messages_set_labels, mailbox=mailbox, labels=wanted)
        )
        recorder.report()
    return changed
