"""Incremental sync: what changed since the stored history id.

history.list from the stored historyId; additions are fetched, deletions and
label changes applied. Every step is idempotent, so a retry after a crash
simply runs it again and fetches nothing already stored.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from syncapp import storage
from syncapp.gmail.client import GmailClient
from syncapp.sync.labels import labels_sync
from syncapp.sync.pipeline import fetch_messages
from syncapp.sync.recorder import Recorder

LabelOps = list[tuple[str, list[str]]]


def incremental_sync(recorder: Recorder, client: GmailClient) -> str:
    """Apply what changed; returns the history id where the next sync starts.

    Raises HistoryExpired when Gmail no longer has history that old.
    """
    mailbox = recorder.mailbox
    recorder.checkpoint.phase = "incremental"
    figures = recorder.figures

    recorder.stage = "reading changes"
    changes = _read_history(client, start_history_id=mailbox.history_id)
    labels_sync(recorder, client)
    figures.total = changes.size()
    recorder.report()

    recorder.stage = "removing deleted messages"
    figures.deleted += recorder.store(
        lambda: storage.messages_delete(mailbox=mailbox, gmail_ids=changes.deleted)
    )
    figures.processed += len(changes.deleted)
    recorder.report()

    candidates = (changes.added | changes.touched | set(changes.label_ops)) - changes.deleted
    known = storage.messages_known(mailbox=mailbox, gmail_ids=candidates)
    # New messages are fetched whole; their labels then are already current.
    new_ids = [i for i in changes.added | changes.touched if i not in known and i in candidates]
    fetch_messages(recorder, client, new_ids, mark="")

    recorder.stage = "updating labels"
    labels = storage.messages_labels(
        mailbox=mailbox, gmail_ids=[i for i in changes.label_ops if i in known]
    )
    for gmail_id, current in labels.items():
        labels[gmail_id] = _apply_label_ops(current, changes.label_ops[gmail_id])
    touched_known = [i for i in changes.touched if i in known and i not in changes.label_ops]
    if touched_known:
        recorder.stage = "fetching label changes"
        fetched = client.get_messages(touched_known, format="minimal")
        for gmail_id, resource in fetched.found.items():
            labels[gmail_id] = sorted(resource.get("labelIds", []))
    figures.updated += recorder.store(
        lambda: storage.messages_set_labels(mailbox=mailbox, labels=labels)
    )
    figures.processed = figures.total
    return changes.history_id


@dataclass
class HistoryChanges:
    history_id: str = ""
    added: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    # Records that name a message with no typed change: refresh it.
    touched: set[str] = field(default_factory=set)
    label_ops: defaultdict[str, LabelOps] = field(default_factory=lambda: defaultdict(list))

    def size(self) -> int:
        ids = self.added | self.deleted | self.touched | set(self.label_ops)
        return len(ids)


def _read_history(client: GmailClient, *, start_history_id: str) -> HistoryChanges:
    changes = HistoryChanges()
    page_token = None
    while True:
        page = client.list_history(start_history_id=start_history_id, page_token=page_token)
        for record in page.records:
            _collect(changes, record)
        changes.history_id = page.history_id
        if not page.next_page_token:
            return changes
        page_token = page.next_page_token


def _collect(changes: HistoryChanges, record: dict) -> None:
    typed = False
    for item in record.get("messagesAdded", []):
        typed = True
        gmail_id = item["message"]["id"]
        changes.added.add(gmail_id)
        changes.deleted.discard(gmail_id)
    for item in record.get("messagesDeleted", []):
        typed = True
        gmail_id = item["message"]["id"]
        changes.deleted.add(gmail_id)
        changes.added.discard(gmail_id)
        changes.touched.discard(gmail_id)
        changes.label_ops.pop(gmail_id, None)
    for key, op in (("labelsAdded", "add"), ("labelsRemoved", "remove")):
        for item in record.get(key, []):
            typed = True
            changes.label_ops[item["message"]["id"]].append((op, item.get("labelIds", [])))
    if not typed:
        for message in record.get("messages", []):
            if message["id"] not in changes.deleted:
                changes.touched.add(message["id"])


def _apply_label_ops(current: list[str], ops: LabelOps) -> list[str]:
    labels = set(current)
    for op, label_ids in ops:
        if op == "add":
            labels.update(label_ids)
        else:
            labels.difference_update(label_ids)
    return sorted(labels)
