"""Fetching batches of messages from Gmail while the previous batch is stored."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

from django.conf import settings
from django.db import connections

from syncapp import storage
from syncapp.gmail.client import FetchResult, GmailClient
from syncapp.gmail.parse import ParsedMessage, UnparsableMessage, parse_message
from syncapp.sync.recorder import Recorder

logger = logging.getLogger(__name__)

# The ids of one batch, and how many listed messages it accounts for.
Job = tuple[list[str], int]


def fetch_messages(
    recorder: Recorder, client: GmailClient, gmail_ids: list[str], *, mark: str
) -> None:
    """Fetch and store these messages a batch at a time, with a full sync's `mark`."""
    batch_size = settings.GMAIL_BATCH_SIZE
    gmail_ids = list(dict.fromkeys(gmail_ids))
    chunks = [gmail_ids[i : i + batch_size] for i in range(0, len(gmail_ids), batch_size)]
    jobs = [(chunk, len(chunk)) for chunk in chunks]
    fetch_and_store(recorder, client.get_messages, jobs, mark=mark)


def fetch_and_store(
    recorder: Recorder, fetch: Callable[[list[str]], FetchResult], jobs: list[Job], *, mark: str
) -> None:
    """Fetch with several batches in flight while the previous one is stored.

    Batches are handed to the writer in order, so at most
    GMAIL_CONCURRENT_BATCHES fetched batches and one being stored are held.
    """
    pending = iter(jobs)
    fetchers = ThreadPoolExecutor(
        max_workers=settings.GMAIL_CONCURRENT_BATCHES, thread_name_prefix="gmail-fetch"
    )
    in_flight: deque[tuple[int, Future[FetchResult]]] = deque()

    def fetch_next() -> None:
        job = next(pending, None)
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

    def submit(self, resources: list[dict], *, processed: int) -> None:
        self.drain()
        self._pending = self._thread.submit(self._store, resources, processed)

    def drain(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        try:
            pending.result()
        except BaseException:
            self._recorder.stage = "storing messages"
            raise

    def _store(self, resources: list[dict], processed: int) -> None:
        recorder = self._recorder
        parsed = parse_all(recorder, resources)
        recorder.store(
            lambda: storage.messages_upsert(
                mailbox=recorder.mailbox, messages=parsed, mark=self._mark
            )
        )
        recorder.figures.new += len(parsed)
        recorder.figures.processed += processed
        recorder.report()


def parse_all(recorder: Recorder, resources: list[dict]) -> list[ParsedMessage]:
    """Parse fetched messages; what cannot be parsed is counted and logged, not stored."""
    parsed = []
    for resource in resources:
        try:
            message = parse_message(resource)
        except UnparsableMessage as exc:
            recorder.figures.unparsable += 1
            logger.warning("run %s: message skipped, cannot be stored: %s", recorder.run_id, exc)
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
