"""The sync algorithms: what to ask Gmail, what to store, in which order.

Full sync (Google's recipe): read the profile's historyId first, page through
messages.list, skip ids already stored, fetch the rest in batches, store each
batch in one upsert, delete what Gmail no longer lists, and hand back the
historyId read at the start so the next incremental sync catches what changed
meanwhile. Only one page of ids and one batch of bodies is held at a time.

Incremental sync: history.list from the stored historyId; additions are
fetched, deletions and label changes applied. Every step is idempotent, so a
retry after a crash simply runs it again and fetches nothing already stored.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from django.conf import settings
from django.db import connections, transaction

from syncapp import storage
from syncapp.gmail.client import THREADS_PER_BATCH, FetchResult, GmailClient, MessagePage
from syncapp.gmail.errors import HistoryExpired
from syncapp.gmail.parse import ParsedMessage, UnparsableMessage, parse_message
from syncapp.heartbeat import Heartbeat
from syncapp.models import Mailbox, SyncRun
from syncapp.runs import Progress, RunLost, sync_run_assert_owned, sync_run_progress

logger = logging.getLogger(__name__)

T = TypeVar("T")
Observer = Callable[[Progress], None]


@dataclass(slots=True)
class Counts:
    processed: int = 0
    total: int = 0
    new: int = 0
    updated: int = 0
    deleted: int = 0
    unparsable: int = 0

    def progress(self) -> Progress:
        return Progress(
            processed=self.processed,
            total=max(self.total, self.processed),
            new=self.new,
            updated=self.updated,
            deleted=self.deleted,
            unparsable=self.unparsable,
        )

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass
class RunRecorder:
    """What a running sync writes about itself: progress, checkpoint, its stage.

    Progress goes out at most once per SYNC_PROGRESS_INTERVAL_SECONDS (and at
    the end), each time as a single UPDATE that also proves the worker still
    owns the run. Message writes go through `store`, which locks the run row
    first, so nothing is written once the run has been released.
    """

    run_id: int
    worker: str
    mailbox: Mailbox
    heartbeat: Heartbeat
    checkpoint: dict
    observer: Observer | None = None
    clock: Callable[[], float] = time.monotonic
    counts: Counts = field(default_factory=Counts)
    stage: str = "starting"
    _last_write: float = float("-inf")
    _fell_back: bool = False

    def report(self, *, force: bool = False) -> None:
        self._check_owned()
        if self.observer is not None:
            self.observer(self.counts.progress())
        now = self.clock()
        if not force and now - self._last_write < settings.SYNC_PROGRESS_INTERVAL_SECONDS:
            return
        sync_run_progress(
            run_id=self.run_id,
            worker=self.worker,
            progress=self.counts.progress(),
            checkpoint=self.checkpoint,
            kind=SyncRun.Kind.FULL if self._fell_back else None,
        )
        self._last_write = now
        self.heartbeat.proven_alive()

    def store(self, write: Callable[[], T]) -> T:
        self._check_owned()
        with transaction.atomic():
            sync_run_assert_owned(run_id=self.run_id, worker=self.worker)
            return write()

    def fall_back_to_full(self) -> None:
        self._fell_back = True
        self.checkpoint = {}
        self.counts = Counts()
        self.report(force=True)

    def _check_owned(self) -> None:
        if self.heartbeat.lost.is_set():
            raise RunLost(f"run {self.run_id} was released")


def sync(recorder: RunRecorder, client: GmailClient, *, kind: str) -> str:
    """Run the sync; returns the history id where the next one should start."""
    phase = recorder.checkpoint.get("phase")
    if kind == SyncRun.Kind.FULL or phase == "full":
        return full_sync(recorder, client)
    try:
        return incremental_sync(recorder, client)
    except HistoryExpired as exc:
        logger.info("run %s: %s; falling back to a full sync", recorder.run_id, exc)
        recorder.fall_back_to_full()
        return full_sync(recorder, client)


def full_sync(recorder: RunRecorder, client: GmailClient) -> str:
    mailbox = recorder.mailbox
    checkpoint = recorder.checkpoint
    if checkpoint.get("phase") != "full":
        checkpoint.clear()
        checkpoint.update(phase="full", mark=uuid.uuid4().hex, page_token=None, listed=0)
    else:
        # A retry: continue from the page the dead run was on, with its counts then.
        recorder.counts = Counts(**checkpoint["counts"])
    mark = checkpoint["mark"]

    if not checkpoint.get("start_history_id"):
        recorder.stage = "reading the mailbox profile"
        checkpoint["start_history_id"] = str(client.get_profile()["historyId"])
    labels = _sync_labels(recorder, client)

    counts = recorder.counts
    listed = checkpoint["listed"]
    estimate = 0
    page_token = checkpoint["page_token"]
    while True:
        checkpoint.update(page_token=page_token, listed=listed, counts=counts.as_dict())
        recorder.stage = "listing messages"
        page = client.list_messages(page_token=page_token)
        listed += len(page.ids)
        estimate = estimate or page.estimate
        counts.total = max(estimate, listed) if page.next_page_token else listed

        recorder.stage = "storing messages"
        known = storage.messages_known(mailbox=mailbox, gmail_ids=page.ids)
        recorder.store(
            lambda known=known: storage.messages_mark_seen(
                mailbox=mailbox, gmail_ids=list(known), mark=mark
            )
        )
        counts.processed += len(known)
        if any(seen_by != mark for seen_by in known.values()):
            # Stored before this sync (not by a dead attempt of it): labels may be old.
            checkpoint["had_known"] = True
        recorder.report()
        _fetch_page(recorder, client, page, [i for i in page.ids if i not in known], mark=mark)

        if not page.next_page_token:
            break
        page_token = page.next_page_token

    if checkpoint.get("had_known"):
        # Messages stored before were not fetched again: their labels may be old.
        counts.updated += _refresh_labels(recorder, client, labels)

    recorder.stage = "removing messages deleted in Gmail"
    counts.deleted += recorder.store(
        lambda: storage.messages_delete_unseen(mailbox=mailbox, mark=mark)
    )
    return checkpoint["start_history_id"]


def incremental_sync(recorder: RunRecorder, client: GmailClient) -> str:
    mailbox = recorder.mailbox
    recorder.checkpoint.update(phase="incremental")
    counts = recorder.counts

    recorder.stage = "reading changes"
    changes = _read_history(client, start_history_id=mailbox.history_id)
    _sync_labels(recorder, client)
    counts.total = changes.size()
    recorder.report()

    recorder.stage = "removing deleted messages"
    counts.deleted += recorder.store(
        lambda: storage.messages_delete(mailbox=mailbox, gmail_ids=changes.deleted)
    )
    counts.processed += len(changes.deleted)
    recorder.report()

    candidates = (changes.added | changes.touched | set(changes.label_ops)) - changes.deleted
    known = storage.messages_known(mailbox=mailbox, gmail_ids=candidates)
    # New messages are fetched whole; their labels then are already current.
    new_ids = [i for i in changes.added | changes.touched if i not in known and i in candidates]
    _fetch_messages(recorder, client, new_ids, mark="")

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
    counts.updated += recorder.store(
        lambda: storage.messages_set_labels(mailbox=mailbox, labels=labels)
    )
    counts.processed = counts.total
    return changes.history_id


@dataclass
class HistoryChanges:
    history_id: str = ""
    added: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    # Records that name a message with no typed change: refresh it.
    touched: set[str] = field(default_factory=set)
    label_ops: dict[str, list[tuple[str, list[str]]]] = field(
        default_factory=lambda: defaultdict(list)
    )

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


def _apply_label_ops(current: list[str], ops: list[tuple[str, list[str]]]) -> list[str]:
    labels = set(current)
    for op, label_ids in ops:
        if op == "add":
            labels.update(label_ids)
        else:
            labels.difference_update(label_ids)
    return sorted(labels)


def _sync_labels(recorder: RunRecorder, client: GmailClient) -> list[dict]:
    recorder.stage = "listing labels"
    labels = client.list_labels()
    recorder.store(lambda: storage.labels_replace(mailbox=recorder.mailbox, labels=labels))
    return labels


def _refresh_labels(recorder: RunRecorder, client: GmailClient, labels: list[dict]) -> int:
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
            lambda wanted=wanted: storage.messages_set_labels(mailbox=mailbox, labels=wanted)
        )
        recorder.report()
    return changed


# threads.get costs 10 quota units for every message of a thread; messages.get
# costs 5 a message: a thread with this many messages to fetch is cheaper whole.
THREAD_WORTH_FETCHING_WHOLE = 3


def _fetch_page(
    recorder: RunRecorder, client: GmailClient, page: MessagePage, missing: list[str], *, mark: str
) -> None:
    """Fetch a listing page's missing messages, whole threads where that costs less quota.

    Only threads with nothing stored yet are fetched whole, so that no stored
    message is ever fetched again (a retry continues without refetching).
    """
    by_thread: dict[str, list[str]] = defaultdict(list)
    for gmail_id in dict.fromkeys(missing):
        by_thread[page.threads.get(gmail_id, gmail_id)].append(gmail_id)
    worth = [t for t, ids in by_thread.items() if len(ids) >= THREAD_WORTH_FETCHING_WHOLE]
    partly_stored = storage.threads_with_messages(mailbox=recorder.mailbox, thread_ids=worth)
    whole = [t for t in worth if t not in partly_stored]
    step = THREADS_PER_BATCH
    _fetch_and_store(
        recorder,
        client.get_threads,
        [
            (chunk, sum(len(by_thread[t]) for t in chunk))
            for chunk in (whole[i : i + step] for i in range(0, len(whole), step))
        ],
        mark=mark,
    )
    fetched_whole = set(whole)
    singles = [i for t, ids in by_thread.items() if t not in fetched_whole for i in ids]
    _fetch_messages(recorder, client, singles, mark=mark)


def _fetch_messages(
    recorder: RunRecorder, client: GmailClient, gmail_ids: list[str], *, mark: str
) -> None:
    batch_size = settings.GMAIL_BATCH_SIZE
    gmail_ids = list(dict.fromkeys(gmail_ids))
    chunks = [gmail_ids[i : i + batch_size] for i in range(0, len(gmail_ids), batch_size)]
    _fetch_and_store(
        recorder, client.get_messages, [(chunk, len(chunk)) for chunk in chunks], mark=mark
    )


def _fetch_and_store(
    recorder: RunRecorder,
    fetch: Callable[[list[str]], FetchResult],
    jobs: list[tuple[list[str], int]],
    *,
    mark: str,
) -> None:
    """Fetch with several batches in flight while the previous one is stored.

    Each job is the ids of one batch and how many listed messages it accounts
    for. Batches are handed to the writer in order, so at most
    GMAIL_CONCURRENT_BATCHES fetched batches and one being stored are held.
    """
    chunks = iter(jobs)
    fetchers = ThreadPoolExecutor(
        max_workers=settings.GMAIL_CONCURRENT_BATCHES, thread_name_prefix="gmail-fetch"
    )
    in_flight: deque[tuple[int, Future[FetchResult]]] = deque()

    def fetch_next() -> None:
        job = next(chunks, None)
        if job is not None:
            ids, accounts_for = job
            in_flight.append((accounts_for, fetchers.submit(fetch, ids)))

    finished = False
    try:
        with BatchWriter(recorder, mark=mark) as writer:
            for _ in range(settings.GMAIL_CONCURRENT_BATCHES):
                fetch_next()
            while in_flight:
                accounts_for, fetching = in_flight.popleft()
                recorder.stage = "fetching messages"
                fetched = fetching.result()
                fetch_next()
                writer.submit(list(fetched.found.values()), processed=accounts_for)
        finished = True
    finally:
        # On an error, do not wait for a fetch that may be sleeping in a backoff.
        fetchers.shutdown(wait=finished, cancel_futures=True)


class BatchWriter:
    """Parses and stores fetched batches on a thread of its own, one batch behind.

    Fetching waits on the network and Gmail; storing on the database: done one
    after the other they add up, side by side they overlap. At most one batch
    waits to be stored, and its error (RunLost included) surfaces in the caller.
    """

    def __init__(self, recorder: RunRecorder, *, mark: str) -> None:
        self._recorder = recorder
        self._mark = mark
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-writer")
        self._pending: Future[None] | None = None

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.drain()
        finally:
            # The writer's database connection is its own: close it in its thread.
            self._thread.submit(connections.close_all).result()
            self._thread.shutdown()

    def submit(self, resources: list[dict], *, processed: int) -> None:
        self.drain()
        self._pending = self._thread.submit(self._store, resources, processed)

    def drain(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _store(self, resources: list[dict], processed: int) -> None:
        recorder = self._recorder
        parsed = _parse_all(recorder, resources)
        recorder.stage = "storing messages"
        recorder.store(
            lambda: storage.messages_upsert(
                mailbox=recorder.mailbox, messages=parsed, mark=self._mark
            )
        )
        recorder.counts.new += len(parsed)
        recorder.counts.processed += processed
        recorder.report()


def _parse_all(recorder: RunRecorder, resources) -> list[ParsedMessage]:
    parsed = []
    for resource in resources:
        try:
            message = parse_message(resource)
        except UnparsableMessage as exc:
            recorder.counts.unparsable += 1
            logger.warning("run %s: message skipped, cannot be stored: %s", recorder.run_id, exc)
            continue
        if message.parse_error:
            recorder.counts.unparsable += 1
            logger.warning(
                "run %s: message %s stored in part: %s",
                recorder.run_id,
                message.gmail_id,
                message.parse_error,
            )
        parsed.append(message)
    return parsed
