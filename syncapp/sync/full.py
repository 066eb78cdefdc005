"""Full sync, Google's recipe.

Read the profile's historyId first, page through messages.list, skip ids
already stored, fetch the rest's originals in batches of messages.get (threads.get
cannot return them), store each batch in one upsert,
delete what Gmail no longer lists, and hand back the historyId read at the
start so the next incremental sync catches what changed meanwhile. Only one
page of ids and a few batches of bodies are held at a time.
"""

from __future__ import annotations

from functools import partial

from syncapp import storage
from syncapp.gmail.client import GmailClient, MessagePage
from syncapp.sync.labels import labels_refresh, labels_sync
from syncapp.sync.pipeline import fetch_messages
from syncapp.sync.recorder import Recorder, SliceEnded


def full_sync(recorder: Recorder, client: GmailClient) -> str:
    """Copy the whole mailbox; returns the history id where the next sync starts."""
    checkpoint = recorder.checkpoint
    if checkpoint.phase != "full" or not checkpoint.mark:
        checkpoint.start_full()
    elif checkpoint.figures is not None:
        # A next slice or a retry: continue from the page where the listing was.
        recorder.figures = checkpoint.figures_for(recorder.run_id)
    mark = checkpoint.mark

    if not checkpoint.start_history_id:
        recorder.stage = "reading the mailbox profile"
        checkpoint.start_history_id = str(client.get_profile()["historyId"])
    labels = labels_sync(recorder, client)

    figures = recorder.figures
    listed = checkpoint.listed
    estimate = 0
    page_token = checkpoint.page_token
    pages = 0
    while True:
        checkpoint.page_token, checkpoint.listed = page_token, listed
        checkpoint.figures = figures.snapshot()
        checkpoint.figures_of_run = recorder.run_id
        # Every slice lists at least one page, so that each one makes progress.
        if pages and recorder.slice_over():
            raise SliceEnded()
        pages += 1
        recorder.stage = "listing messages"
        page = client.list_messages(page_token=page_token)
        listed += len(page.ids)
        estimate = estimate or page.estimate
        figures.total = max(estimate, listed) if page.next_page_token else listed

        _copy_page(recorder, client, page, mark=mark)
        if not page.next_page_token:
            break
        page_token = page.next_page_token

    if checkpoint.had_known:
        figures.updated += labels_refresh(recorder, client, labels)

    figures.deleted += _delete_unseen(recorder, mark=mark)
    return checkpoint.start_history_id


def _copy_page(recorder: Recorder, client: GmailClient, page: MessagePage, *, mark: str) -> None:
    """Mark a listing page's stored messages seen, and fetch the others."""
    recorder.stage = "storing messages"
    mailbox = recorder.mailbox
    known = storage.messages_known(mailbox=mailbox, gmail_ids=page.ids)
    recorder.store(
        partial(storage.messages_mark_seen, mailbox=mailbox, gmail_ids=list(known), mark=mark)
    )
    recorder.figures.processed += len(known)
    if any(seen_by != mark for seen_by in known.values()):
        # Stored before this sync (not by a dead attempt of it): labels may be old.
        recorder.checkpoint.had_known = True
    recorder.report()
    fetch_messages(recorder, client, [i for i in page.ids if i not in known], mark=mark)


def _delete_unseen(recorder: Recorder, *, mark: str) -> int:
    """Delete what the listing did not see, in chunks each in its own transaction."""
    recorder.stage = "removing messages deleted in Gmail"
    deleted = 0
    while True:
        chunk = recorder.store(
            partial(
                storage.messages_delete_unseen,
                mailbox=recorder.mailbox,
                mark=mark,
                limit=storage.DELETE_CHUNK,
            )
        )
        deleted += chunk
        if chunk < storage.DELETE_CHUNK:
            return deleted
