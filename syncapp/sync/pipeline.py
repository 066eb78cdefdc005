"""Fetching batches of originals from Gmail while the previous batch is stored.

Each message is fetched with format=raw (its RFC 822 source); its original is
written to the mail storage as it arrives, and parsed locally. A listed message
that a batch did not bring back is fetched again on its own: only its own 404
proves it gone, and then it counts as vanished during the sync.

Memory is bounded by design: a message Gmail lists as large (GMAIL_LARGE_MESSAGE_BYTES)
is never put in a batch, whose answer is held whole, several times over, while it is
read; it is fetched on its own, one large message at a time in the process. So a sync
holds at most GMAIL_CONCURRENT_BATCHES batches of small messages and one large one.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from types import TracebackType

from django.conf import settings
from django.db import connections

from syncapp import originals, storage
from syncapp.gmail.client import FetchResult, GmailClient
from syncapp.gmail.parse import ParsedMessage, UnparsableMessage, parse_message, raw_of
from syncapp.originals import StoredOriginal
from syncapp.sync.recorder import Recorder

logger = logging.getLogger(__name__)

# A worker's slices are threads of one process: one large message at a time in it.
_ONE_LARGE_AT_A_TIME = threading.Lock()


@dataclass(frozen=True, slots=True)
class Kept:
    """What is kept of one fetched message: its fields and its stored original, or
    why it cannot be stored."""

    parsed: ParsedMessage | None
    original: StoredOriginal | None
    error: str = ""


def keep_original(resource: dict) -> Kept:
    """Parse a format=raw resource and store its original (in a fetching thread, as
    each arrives, so that a batch holds parsed fields rather than sources)."""
    raw = raw_of(resource)
    if isinstance(resource, dict):
        # Its text (a third larger than its bytes) is not needed any more: let it go now.
        resource.pop("raw", None)
    try:
        parsed = parse_message(resource, raw=raw)
    except UnparsableMessage as exc:
        return Kept(None, None, str(exc))
    if raw is None:
        return Kept(parsed, None)
    stored = originals.original_put(raw)
    return Kept(replace(parsed, original=stored.sha256), stored)


def fetch_messages(
    recorder: Recorder, client: GmailClient, gmail_ids: list[str], *, mark: str
) -> None:
    """Fetch and store these messages' originals, with a full sync's `mark`: the
    small ones in batches, then the large ones each on its own."""
    gmail_ids = list(dict.fromkeys(gmail_ids))
    if not gmail_ids:
        return
    large = client.large_message_ids()
    with BatchWriter(recorder, mark=mark) as writer:
        _fetch_in_batches(recorder, client, [i for i in gmail_ids if i not in large], writer)
        for gmail_id in (i for i in gmail_ids if i in large):
            recorder.stage = "fetching large messages"
            with _ONE_LARGE_AT_A_TIME:
                kept = fetch_one(recorder, client, gmail_id)
            writer.submit([kept] if kept else [], processed=1)


def _fetch_in_batches(
    recorder: Recorder, client: GmailClient, gmail_ids: list[str], writer: BatchWriter
) -> None:
    """Several batches (GMAIL_RAW_BATCH_SIZE messages each) are in flight while the
    previous one is stored; batches are handed to the writer in order, so at most
    GMAIL_CONCURRENT_BATCHES fetched batches and one being stored are held.
    """
    batch_size = settings.GMAIL_RAW_BATCH_SIZE
    pending = iter(gmail_ids[i : i + batch_size] for i in range(0, len(gmail_ids), batch_size))
    fetchers = ThreadPoolExecutor(
        max_workers=settings.GMAIL_CONCURRENT_BATCHES, thread_name_prefix="gmail-fetch"
    )
    in_flight: deque[tuple[list[str], Future[FetchResult]]] = deque()

    def fetch_next() -> None:
        ids = next(pending, None)
        if ids is not None:
            fetching = fetchers.submit(client.get_messages, ids, format="raw", keep=keep_original)
            in_flight.append((ids, fetching))

    finished = False
    try:
        for _ in range(settings.GMAIL_CONCURRENT_BATCHES):
            fetch_next()
        while in_flight:
            ids, fetching = in_flight.popleft()
            recorder.stage = "fetching messages"
            fetched = fetching.result()
            fetch_next()
            kept = list(fetched.found.values())
            kept += fetch_alone(recorder, client, [i for i in ids if i not in fetched.found])
            writer.submit(kept, processed=len(ids))
        finished = True
    finally:
        # On an error, do not wait for a fetch that may be sleeping in a backoff.
        fetchers.shutdown(wait=finished, cancel_futures=True)


def fetch_alone(recorder: Recorder, client: GmailClient, gmail_ids: list[str]) -> list[Kept]:
    """Fetch listed messages that a batch did not bring back, each on its own.

    A 404 in a batch may be Gmail's moment, not the message's end: a message
    counts as vanished only when it answers 404 itself.
    """
    if not gmail_ids:
        return []
    recorder.stage = "fetching messages a batch did not bring back"
    return [kept for i in gmail_ids if (kept := fetch_one(recorder, client, i)) is not None]


def fetch_one(recorder: Recorder, client: GmailClient, gmail_id: str) -> Kept | None:
    """Fetch one message on its own; None when it answers 404 (it vanished)."""
    resource = client.get_message(gmail_id, format="raw")
    if resource is None:
        recorder.figures.vanished += 1
        logger.info("run %s: message %s vanished during the sync", recorder.run_id, gmail_id)
        return None
    return keep_original(resource)


class BatchWriter:
    """Stores fetched batches on a thread of its own, one batch behind.

    Fetching waits on the network and Gmail; storing on the database: done one
    after the other they add up, side by side they overlap. At most one batch
    waits to be stored, and its error (RunLost included) surfaces in the caller,
    which names the stage: the writer's thread never sets it.
    """

    def __init__(self, recorder: Recorder, *, mark: str) -> None:
        self._recorder = recorder
        self._mark = mark
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-writer")
        self._pending: Future[None] | None = None

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.drain()
        finally:
            # The writer's database connection is its own: close it in its thread.
            self._thread.submit(connections.close_all).result()
            self._thread.shutdown()

    def submit(self, kept: list[Kept], *, processed: int) -> None:
        self.drain()
        self._pending = self._thread.submit(self._store, kept, processed)

    def drain(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        try:
            pending.result()
        except BaseException:
            self._recorder.stage = "storing messages"
            raise

    def _store(self, kept: list[Kept], processed: int) -> None:
        recorder = self._recorder
        parsed = count_unparsable(recorder, kept)
        recorder.store(
            lambda: storage.messages_upsert(
                mailbox=recorder.mailbox,
                messages=parsed,
                originals=[k.original for k in kept if k.original is not None and k.parsed],
                mark=self._mark,
            )
        )
        recorder.figures.new += len(parsed)
        recorder.figures.processed += processed
        recorder.report()


def count_unparsable(recorder: Recorder, kept: list[Kept]) -> list[ParsedMessage]:
    """The messages to store; what cannot be parsed is counted and logged, not stored."""
    parsed = []
    for item in kept:
        message = item.parsed
        if message is None:
            recorder.figures.unparsable += 1
            logger.warning(
                "run %s: message skipped, cannot be stored: %s", recorder.run_id, item.error
            )
            continue
        if message.parse_error:
            recorder.figures.unparsable += 1
            logger.warning(
                "run %s: message %s stored in part: %s",
                recorder.run_id,
                message.gmail_id,
                message.parse_error,
            )
        parsed.append(message)
    return parsed
