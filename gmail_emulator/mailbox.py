"""A mailbox's state: messages, threads, labels and history, and its mutations.

All state is guarded by one lock per mailbox. Records are immutable tuples that
mutations replace, so a record read under the lock stays consistent after it.
"""

import bisect
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from .content import Source, content, content_size
from .generate import MailGenerator, MessageRecord
from .labels import ALL_LABELS, SPAM_TRASH
from .large import LARGE_FILE_BYTES, with_large_files
from .profiles import DEFAULT_PROFILE, profile_named
from .search import Filter

Clock = Callable[[], float]
# Told of every change: (address, the new history id, the changed message's labels).
Listener = Callable[[str, int, tuple[str, ...]], None]
DEFAULT_HISTORY_WINDOW = 7 * 24 * 3600


class HistoryExpired(Exception):
    """The startHistoryId is older than the history the mailbox still has."""


@dataclass(frozen=True)
class EmulatedMessage:
    id: str
    thread_id: str
    label_ids: list[str]
    internal_date_ms: int
    history_id: int
    subject: str
    size_estimate: int
    source: Source = field(repr=False)

    @property
    def raw(self) -> bytes:
        """The whole message; a large one's attachments are made now, at their full size."""
        return content(self.source).raw()


class HistoryRecord(NamedTuple):
    id: int
    at: float
    message_id: str
    thread_id: str
    label_ids: tuple[str, ...]  # the message's labels after the change
    change: str  # "messagesAdded", "messagesDeleted", "labels", or "" (only `messages`)
    labels_added: tuple[str, ...] = ()
    labels_removed: tuple[str, ...] = ()


class Page(NamedTuple):
    items: list
    next_cursor: str | None
    estimate: int


class EmulatedMailbox:
    def __init__(
        self,
        email: str,
        *,
        messages: int = 60,
        seed: int = 1,
        profile: str = DEFAULT_PROFILE,
        clock: Clock = time.time,
        history_window_seconds: float = DEFAULT_HISTORY_WINDOW,
        listener: Listener | None = None,
        large_messages: int = 0,
        large_message_bytes: int = LARGE_FILE_BYTES,
    ) -> None:
        self.email = email
        self._listener = listener
        self.seed = seed
        self._clock = clock
        self._window = history_window_seconds
        self._lock = threading.RLock()
        self._generator = MailGenerator(seed, email, profile_named(profile))
        self._history_rng = random.Random(f"history:{seed}")
        generated = self._generator.initial(messages)
        records = with_large_files(
            generated.records, count=large_messages, size=large_message_bytes, seed=seed
        )
        self._hostile_ids = generated.hostile_ids
        self._messages: dict[str, MessageRecord] = {}
        self._ids: list[str] = []  # ascending; fixed-width hex, so string order is id order
        self._threads: dict[str, list[str]] = {}  # oldest message first
        for record in records:
            self._messages[record.id] = record
            self._threads.setdefault(record.thread_id, []).append(record.id)
        self._ids = sorted(self._messages)
        self._newest_ms = max((r.internal_ms for r in records), default=0)
        self._history_id = generated.history_id
        self._history: list[HistoryRecord] = []
        self._history_ids: list[int] = []
        # The oldest startHistoryId still answered; older ones get 404.
        self._floor = generated.history_id
        self._version = 0  # bumped on every change, keys the caches below
        self._counts: dict[tuple[Filter, bool], tuple[int, int]] = {}
        self._thread_order: tuple[int, list[tuple[str, str]]] = (-1, [])

    # -- Python API ---------------------------------------------------------------

    @property
    def history_id(self) -> int:
        with self._lock:
            return self._history_id

    @property
    def hostile_ids(self) -> dict[str, str]:
        return dict(self._hostile_ids)

    def message_ids(self, include_spam_trash: bool = True) -> list[str]:
        """Ids of all messages, newest first."""
        with self._lock:
            return [
                message_id
                for message_id in reversed(self._ids)
                if include_spam_trash
                or SPAM_TRASH.isdisjoint(self._messages[message_id].label_ids)
            ]

    def get(self, message_id: str) -> EmulatedMessage:
        record = self.record(message_id)
        return EmulatedMessage(
            id=record.id,
            thread_id=record.thread_id,
            label_ids=list(record.label_ids),
            internal_date_ms=record.internal_ms,
            history_id=record.history_id,
            subject=record.subject,
            size_estimate=content_size(record.source),
            source=record.source,
        )

    def add_messages(self, count: int) -> list[str]:
        """Deliver `count` new messages, some of them replies in recent threads."""
        added = []
        with self._lock:
            rng = self._history_rng
            for _ in range(count):
                thread = None
                if self._ids and rng.random() < 0.3:
                    recent = self._messages[rng.choice(self._ids[-20:])].thread_id
                    thread = [self._messages[i] for i in self._threads[recent]]
                record = self._generator.delivered(
                    self._arrival_ms(), self._next_history_id(), thread
                )
                self._insert(record)
                added.append(record.id)
        return added

    def add_message(
        self,
        *,
        subject: str = "Hello from the emulator",
        body: str = "A message added by a test.",
        labels: Iterable[str] = ("INBOX", "UNREAD"),
    ) -> str:
        """Deliver one plain-text message with the given subject, body and labels."""
        label_ids = tuple(labels)
        _check_labels(label_ids)
        with self._lock:
            internal_ms = self._arrival_ms()
            message_id = self._generator.new_id(internal_ms)
            raw = self._generator.written(message_id, internal_ms, subject, body)
            self._insert(
                self._generator.raw_record(
                    message_id, message_id, internal_ms, self._next_history_id(), label_ids, raw
                )
            )
            return message_id

    def delete_message(self, message_id: str) -> None:
        with self._lock:
            record = self.record(message_id)
            del self._messages[message_id]
            del self._ids[bisect.bisect_left(self._ids, message_id)]
            members = self._threads[record.thread_id]
            members.remove(message_id)
            if not members:
                del self._threads[record.thread_id]
            self._append_history(record, "messagesDeleted", self._next_history_id())

    def modify_labels(
        self, message_id: str, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> None:
        add, remove = tuple(add), tuple(remove)
        _check_labels(add + remove)
        with self._lock:
            record = self.record(message_id)
            added = tuple(label for label in dict.fromkeys(add) if label not in record.label_ids)
            removed = tuple(label for label in dict.fromkeys(remove) if label in record.label_ids)
            labels = tuple(label for label in record.label_ids if label not in removed) + added
            history_id = self._next_history_id()
            record = record._replace(label_ids=labels, history_id=history_id)
            self._messages[message_id] = record
            # A change that changes nothing still leaves a record, with only `messages`.
            self._append_history(
                record, "labels" if added or removed else "", history_id, added, removed
            )

    def expire_history(self) -> None:
        """Make every startHistoryId up to now too old (history.list answers 404)."""
        with self._lock:
            self._floor = self._next_history_id()
            self._history.clear()
            self._history_ids.clear()
            self._version += 1

    def snapshot(self) -> dict[str, dict]:
        with self._lock:
            return {
                record.id: {
                    "thread_id": record.thread_id,
                    "label_ids": sorted(record.label_ids),
                    "subject": record.subject,
                }
                for record in self._messages.values()
            }

    # -- queries the API answers from -------------------------------------------

    def record(self, message_id: str) -> MessageRecord:
        with self._lock:
            return self._messages[message_id]

    def profile(self) -> tuple[int, int, int]:
        """(messagesTotal, threadsTotal, historyId)."""
        with self._lock:
            return len(self._messages), len(self._threads), self._history_id

    def list_messages(self, shown: Filter, max_results: int, cursor: str | None) -> Page:
        """A page of the messages `shown` lets through, newest first, older than `cursor`."""
        with self._lock:
            start = bisect.bisect_left(self._ids, cursor) if cursor else len(self._ids)
            items: list[MessageRecord] = []
            for index in range(start - 1, -1, -1):
                record = self._messages[self._ids[index]]
                if shown.matches(record):
                    if len(items) == max_results:
                        return Page(items, items[-1].id, self._estimate(shown, False))
                    items.append(record)
            return Page(items, None, self._estimate(shown, False))

    def thread(self, thread_id: str) -> list[MessageRecord]:
        with self._lock:
            return [self._messages[i] for i in self._threads[thread_id]]

    def list_threads(self, shown: Filter, max_results: int, cursor: str | None) -> Page:
        """A page of the threads with a message `shown` lets through, latest activity first."""
        with self._lock:
            order = self._threads_by_activity()
            start = bisect.bisect_left(order, (cursor,)) if cursor else len(order)
            items: list[list[MessageRecord]] = []
            for index in range(start - 1, -1, -1):
                records = [self._messages[i] for i in self._threads[order[index][1]]]
                if any(shown.matches(r) for r in records):
                    if len(items) == max_results:
                        return Page(items, items[-1][-1].id, self._estimate(shown, True))
                    items.append(records)
            return Page(items, None, self._estimate(shown, True))

    def history(self, start: int, cursor: int | None, max_results: int) -> tuple[list, bool, int]:
        """Records after `start` (or after `cursor`), whether more follow, current id."""
        with self._lock:
            self._forget_old_history()
            if start < self._floor:
                raise HistoryExpired(start)
            low = bisect.bisect_right(self._history_ids, max(start, cursor or 0))
            page = self._history[low : low + max_results]
            more = low + max_results < len(self._history)
            return page, more, self._history_id

    # -- internals -----------------------------------------------------------------

    def _arrival_ms(self) -> int:
        self._newest_ms = max(int(self._clock() * 1000), self._newest_ms + 1000)
        return self._newest_ms

    def _next_history_id(self) -> int:
        # Gmail's history ids grow with gaps between them.
        self._history_id += self._history_rng.randint(1, 97)
        return self._history_id

    def _insert(self, record: MessageRecord) -> None:
        self._messages[record.id] = record
        bisect.insort(self._ids, record.id)
        self._threads.setdefault(record.thread_id, []).append(record.id)
        self._append_history(record, "messagesAdded", record.history_id)

    def _append_history(
        self,
        record: MessageRecord,
        change: str,
        history_id: int,
        added: tuple[str, ...] = (),
        removed: tuple[str, ...] = (),
    ) -> None:
        self._history.append(
            HistoryRecord(
                history_id,
                self._clock(),
                record.id,
                record.thread_id,
                record.label_ids,
                change,
                added,
                removed,
            )
        )
        self._history_ids.append(history_id)
        self._version += 1
        if self._listener is not None:
            self._listener(self.email, history_id, record.label_ids)

    def _forget_old_history(self) -> None:
        horizon = self._clock() - self._window
        old = 0
        while old < len(self._history) and self._history[old].at < horizon:
            old += 1
        if old:
            # A start id before a forgotten record could miss it, so it is too old now.
            self._floor = max(self._floor, self._history_ids[old - 1])
            del self._history[:old]
            del self._history_ids[:old]

    def _estimate(self, shown: Filter, threads: bool) -> int:
        key = (shown, threads)
        cached = self._counts.get(key)
        if cached is None or cached[0] != self._version:
            matching = (r for r in self._messages.values() if shown.matches(r))
            count = len({r.thread_id for r in matching}) if threads else sum(1 for _ in matching)
            cached = self._counts[key] = (self._version, count)
        return _round_estimate(cached[1])

    def _threads_by_activity(self) -> list[tuple[str, str]]:
        """(latest message id, thread id), ascending; cached until the next change."""
        version, order = self._thread_order
        if version != self._version:
            order = sorted((members[-1], tid) for tid, members in self._threads.items())
            self._thread_order = (self._version, order)
        return order


def _check_labels(label_ids: Iterable[str]) -> None:
    unknown = set(label_ids) - ALL_LABELS
    if unknown:
        raise ValueError(f"unknown label ids: {sorted(unknown)}")


def _round_estimate(count: int) -> int:
    """Gmail's resultSizeEstimate is approximate: keep two significant digits."""
    if count < 100:
        return count
    magnitude = 10 ** (len(str(count)) - 2)
    return round(count / magnitude) * magnitude
