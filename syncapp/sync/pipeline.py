"""Fetching batches of originals from Gmail while the previous batch is stored.

Each message is fetched with format=raw (its RFC 822 source); its original is
written to the mail storage as it arrives, and parsed locally. A listed message
that a batch did not bring back is fetched again on its own: only its own 404
proves it gone, and then it counts as vanished during the sync.

Memory is bounded by design: a message Gmail lists as large (GMAIL_LARGE_MESSAGE_BYTES)
is never put in a batch, whose answer is held whole, several times over, while it is
read; it is fetched on its own, one large message at a time in the process. So a sync
holds at most GMAIL_CONCURRENT_BATCHES fetches, one of them a large message, the others
batches of small ones.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from itertools import zip_longest
from types import TracebackType

from django.conf import settings
from django.db import connections

from syncapp import originals, storage
from syncapp.gmail.client import FetchResult, GmailClient
from syncapp.gmail.ledger import connection_kept
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
    """Fetch and store these messages' originals, with a full sync's `mark`.

    Several fetches are in flight while the previous one is stored: batches of
    GMAIL_RAW_BATCH_SIZE small messages, and between them the large ones, each on
    its own. Fetches are handed to the writer in order, so at most
    GMAIL_CONCURRENT_BATCHES fetched ones and one being stored are held.
    """
    gmail_ids = list(dict.fromkeys(gmail_ids))
    if not gmail_ids:
        return
    pending = iter(_fetches(gmail_ids, large=client.large_message_ids()))
    fetchers = ThreadPoolExecutor(
        max_workers=settings.GMAIL_CONCURRENT_BATCHES, thread_name_prefix="gmail-fetch"
    )
    in_flight: deque[tuple[list[str], bool, Future[FetchResult]]] = deque()

    def fetch_next() -> None:
        ids, alone = next(pending, ([], False))
        if alone:
            in_flight.append((ids, alone, fetchers.submit(_fetch_large, client, ids[0])))
        elif ids:
            fetching = fetchers.submit(_fetch_batch, client, ids)
            in_flight.append((ids, alone, fetching))

    finished = False
    try:
        with BatchWriter(recorder, mark=mark) as writer:
            for _ in range(settings.GMAIL_CONCURRENT_BATCHES):
                fetch_next()
            while in_flight:
                ids, alone, fetching = in_flight.popleft()
                recorder.stage = "fetching messages"
                fetched = fetching.result()
                fetch_next()
                kept = list(fetched.found.values())
                missing = [i for i in ids if i not in fetched.found]
                if alone:
                    # Its own 404: gone.
                    for gmail_id in missing:
                        _vanished(recorder, gmail_id)
                else:
                    kept += fetch_alone(recorder, client, missing)
                writer.submit(kept, processed=len(ids))
        finished = True
    finally:
        # On an error, do not wait for a fetch that may be sleeping in a backoff.
        fetchers.shutdown(wait=finished, cancel_futures=True)


def _fetches(gmail_ids: list[str], *, large: frozenset[str]) -> Iterator[tuple[list[str], bool]]:
    """What to fetch, in order: (ids, whether alone). Batches of the small messages,
    each large one alone between two batches, so that a fetching thread waiting for
    its turn at a large message leaves the others batches to fetch."""
    small = [i for i in gmail_ids if i not in large]
    size = settings.GMAIL_RAW_BATCH_SIZE
    batches = [small[i : i + size] for i in range(0, len(small), size)]
    alone = [[i] for i in gmail_ids if i in large]
    for batch, one in zip_longest(batches, alone):
        if batch:
            yield batch, False
        if one:
            yield one, True


def _fetch_batch(client: GmailClient, gmail_ids: list[str]) -> FetchResult:
    """A batch of small messages, kept as each arrives. Paying for its calls may take
    the quota ledger several times: on one database connection, closed at the end."""
    with connection_kept():
        return client.get_messages(gmail_ids, format="raw", keep=keep_original)


def _fetch_large(client: GmailClient, gmail_id: str) -> FetchResult:
    """A large message fetched and kept on its own, no other large one in the process
    meanwhile; not found when it answers 404."""
    result = FetchResult()
    with _ONE_LARGE_AT_A_TIME:
        resource = client.get_message(gmail_id, format="raw")
        if resource is not None:
            result.found[gmail_id] = keep_original(resource)
    return result


def fetch_alone(recorder: Recorder, client: GmailClient, gmail_ids: list[str]) -> list[Kept]:
    """Fetch listed messages that a batch did not bring back, each on its own.

    A 404 in a batch may be Gmail's moment, not the message's end: a message
    counts as vanished only when it answers 404 itself.
    """
    if not gmail_ids:
        return []
    recorder.stage = "fetching messages a batch did not bring back"
    kept = []
    for gmail_id in gmail_ids:
        resource = client.get_message(gmail_id, format="raw")
        if resource is None:
            _vanished(recorder, gmail_id)
        else:
            kept.append(keep_original(resource))
    return kept


def _vanished(recorder: Recorder, gmail_id: str) -> None:
    recorder.figures.vanished += 1
    logger.info("run %s: message %s vanished during the sync", recorder.run_id, gmail_id)


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
