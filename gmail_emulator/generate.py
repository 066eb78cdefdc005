"""Deterministic mailbox generation: the same (seed, size) always gives the same mail.

Only metadata is generated up front (ids, threads, dates, labels, subjects); the
bytes of each message are derived from it on demand (see `content`).
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.mime.text import MIMEText
from email.utils import format_datetime
from typing import NamedTuple

from . import corpus, hostile
from .content import GeneratedSource, RawSource, Source, content, rfc822_message_id
from .traits import Profile

# Generated mail spans about three years before this instant (2025-06-01T00:00:00Z).
END_MS = 1_748_736_000_000
SPAN_MS = 3 * 365 * 24 * 3600 * 1000
FIRST_HISTORY_ID = 100_000


class MessageRecord(NamedTuple):
    """One message as the mailbox stores it; replaced, never mutated."""

    id: str
    thread_id: str
    internal_ms: int
    label_ids: tuple[str, ...]
    history_id: int
    subject: str
    source: Source


@dataclass
class GeneratedMailbox:
    records: list[MessageRecord]  # oldest first
    history_id: int
    hostile_ids: dict[str, str]


class MailGenerator:
    """Generates a mailbox's initial mail, then the mail `add_messages` delivers."""

    def __init__(self, seed: int, owner: str, profile: Profile) -> None:
        self.seed = seed
        self.owner = owner
        self.profile = profile
        self._rng = random.Random(f"mailbox:{seed}")
        self._used_ids: set[str] = set()

    def initial(self, count: int) -> GeneratedMailbox:
        rng = self._rng
        hostile_raw = hostile.hostile_messages(self.owner, self.seed) if count >= 10 else {}
        timeline, streams, hostile_threads = self._timeline(count, list(hostile_raw))
        records: list[MessageRecord] = []
        hostile_ids: dict[str, str] = {}
        thread_ids: dict[int, str] = {}
        thread_members: dict[int, list[str]] = {}
        thread_meta: dict[int, tuple[str, int]] = {}
        history_id = FIRST_HISTORY_ID + rng.randrange(1000)
        for internal_ms, thread, _ in timeline:
            message_id = self.new_id(internal_ms)
            thread_id = thread_ids.setdefault(thread, message_id)
            history_id += rng.randint(1, 40)
            name = hostile_threads.get(thread)
            if name is not None:
                hostile_ids[name] = message_id
                labels = ("INBOX", "CATEGORY_PERSONAL", "UNREAD")
                records.append(
                    self.raw_record(
                        message_id, thread_id, internal_ms, history_id, labels, hostile_raw[name]
                    )
                )
                continue
            stream = streams[thread]
            if thread not in thread_meta:
                thread_meta[thread] = self.profile.topic(rng, stream)
            topic, correspondent = thread_meta[thread]
            members = thread_members.setdefault(thread, [])
            records.append(
                self._generated_record(
                    message_id,
                    thread_id,
                    internal_ms,
                    history_id,
                    topic if not members else "Re: " + topic,
                    correspondent,
                    tuple(members),
                    stream,
                )
            )
            members.append(message_id)
        history_id += rng.randint(1, 40)
        return GeneratedMailbox(records=records, history_id=history_id, hostile_ids=hostile_ids)

    def _timeline(
        self, count: int, hostile_names: list[str]
    ) -> tuple[list[tuple[int, int, int]], list[str], dict[int, str]]:
        """Each message's (internal_ms, thread number, position in thread), oldest first.

        Also each thread's stream, and the hostile case of each hostile thread: those
        are 1-message threads.
        """
        rng = self._rng
        timeline: list[tuple[int, int, int]] = []
        streams: list[str] = []
        threads = 0
        remaining = count - len(hostile_names)
        while remaining > 0:
            size, stream = self.profile.thread(rng)
            size = min(remaining, size)
            streams.append(stream)
            moment = END_MS - SPAN_MS + rng.randrange(SPAN_MS - 7 * 24 * 3600 * 1000)
            for position in range(size):
                timeline.append((moment, threads, position))
                moment += 60_000 + int(rng.expovariate(1 / 28_800_000))
            threads += 1
            remaining -= size
        hostile_threads = {}
        for name in hostile_names:
            hostile_threads[threads] = name
            streams.append("hostile")
            timeline.append((END_MS - SPAN_MS + rng.randrange(SPAN_MS), threads, 0))
            threads += 1
        timeline.sort()
        return timeline, streams, hostile_threads

    def delivered(
        self,
        internal_ms: int,
        history_id: int,
        thread: list[MessageRecord] | None,
    ) -> MessageRecord:
        """A newly arrived message; a reply in `thread` when one is given."""
        message_id = self.new_id(internal_ms)
        rng = self._rng
        if not thread:
            stream = self.profile.arriving_stream(rng)
            topic, correspondent = self.profile.topic(rng, stream)
            return self._generated_record(
                message_id,
                message_id,
                internal_ms,
                history_id,
                topic,
                correspondent,
                (),
                stream,
                outgoing=False,
            )
        first = thread[0]
        if isinstance(first.source, GeneratedSource):
            stream, correspondent = first.source.stream, first.source.correspondent
        else:
            # A reply to a hostile message, from one of the mailbox's usual correspondents.
            stream = self.profile.arriving_stream(rng)
            _, correspondent = self.profile.topic(rng, stream)
        return self._generated_record(
            message_id,
            first.thread_id,
            internal_ms,
            history_id,
            "Re: " + first.subject,
            correspondent,
            tuple(record.id for record in thread),
            stream,
            outgoing=False,
        )

    def written(self, message_id: str, internal_ms: int, subject: str, body: str) -> bytes:
        """A plain-text message written to the owner, as `add_message` delivers it."""
        message = MIMEText(body, "plain", "utf-8")
        message["From"] = "Emulator <sender@example.com>"
        message["To"] = self.owner
        message["Date"] = format_datetime(datetime.fromtimestamp(internal_ms / 1000, UTC))
        if subject.isascii():
            message["Subject"] = subject
        else:
            # Message takes a Header as a value (typeshed says str only).
            message["Subject"] = Header(subject, "utf-8")  # type: ignore[assignment]
        message["Message-ID"] = rfc822_message_id(message_id)
        return corpus.serialize(message)

    def new_id(self, internal_ms: int) -> str:
        """A fresh Gmail-like id: receive time in ms shifted left 20 bits, random low bits."""
        while True:
            message_id = f"{(internal_ms << 20) | self._rng.getrandbits(20):016x}"
            if message_id not in self._used_ids:
                self._used_ids.add(message_id)
                return message_id

    @staticmethod
    def raw_record(
        message_id: str,
        thread_id: str,
        internal_ms: int,
        history_id: int,
        label_ids: tuple[str, ...],
        raw: bytes,
    ) -> MessageRecord:
        """A record for a message stored as raw bytes; its subject is read from them."""
        source = RawSource(raw)
        subject = next(
            (h["value"] for h in content(source).root.headers if h["name"].lower() == "subject"),
            "",
        )
        return MessageRecord(
            message_id, thread_id, internal_ms, label_ids, history_id, subject, source
        )

    def _generated_record(
        self,
        message_id: str,
        thread_id: str,
        internal_ms: int,
        history_id: int,
        subject: str,
        correspondent: int,
        references: tuple[str, ...],
        stream: str,
        outgoing: bool | None = None,
    ) -> MessageRecord:
        traits = self.profile.traits(
            self._rng, stream, position=len(references), outgoing=outgoing
        )
        source = GeneratedSource(
            seed=self.seed,
            kind=traits.kind,
            variant=traits.variant,
            message_id=message_id,
            owner=self.owner,
            correspondent=correspondent,
            outgoing=traits.outgoing,
            internal_ms=internal_ms,
            subject=subject,
            references=references[-5:],
            attachments=traits.attachments,
            trace=traits.trace,
            stream=stream,
        )
        return MessageRecord(
            message_id, thread_id, internal_ms, traits.labels, history_id, subject, source
        )
