"""The content of one message (raw bytes, parts tree, snippet), built when first asked for.

A generated message is its own top-level headers, written per message with the
`email` package's folding, followed by a pooled MIME body (see `pool`); its
parts tree is the pooled body's tree with the top headers prepended, exactly what
parsing the whole message would give (a test checks that). A message with
attachments puts that body and its files in a multipart/mixed (see `mixed`), the
files' bytes made only when asked for. Other messages (hostile ones, `add_message`)
are stored as raw bytes and parsed in full.
"""

import dataclasses
import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.header import Header
from email.utils import format_datetime, formataddr
from typing import NamedTuple

from . import corpus, mime, pool
from .blobs import Blob
from .mixed import Attachment, Chunk, with_attachments
from .policy import POLICY
from .trace import trace_lines


class GeneratedSource(NamedTuple):
    """Everything a generated message's bytes are derived from."""

    seed: int
    kind: str
    variant: int
    message_id: str
    owner: str
    correspondent: int
    outgoing: bool
    internal_ms: int
    subject: str
    # Gmail ids of the earlier messages of the thread, oldest first.
    references: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    # Whether to write the trace headers (Received, DKIM...) Gmail adds to received mail.
    trace: bool = False
    stream: str = ""  # the profile's stream (category) the message belongs to


class RawSource(NamedTuple):
    raw: bytes


Source = GeneratedSource | RawSource


@dataclass(frozen=True, slots=True)
class MessageContent:
    root: mime.Part
    snippet: str
    # The raw message: bytes as they are, and attachments' blobs as their base64 lines.
    chunks: tuple[Chunk, ...]

    @property
    def size(self) -> int:
        return sum(
            chunk.mime_encoded_size() if isinstance(chunk, Blob) else len(chunk)
            for chunk in self.chunks
        )

    def raw(self) -> bytes:
        return b"".join(
            chunk.mime_encoded() if isinstance(chunk, Blob) else chunk for chunk in self.chunks
        )


def rfc822_message_id(gmail_id: str) -> str:
    """The Message-ID header of a generated message, derived from its Gmail id."""
    return f"<em.{gmail_id}.{int(gmail_id, 16) % 999983:x}@mail.example.com>"


# Sizes are kept for many more messages than contents: a size search (`larger:`) reads
# every message's, which Gmail answers from its index, and making each message's content
# again for it took seconds a search on a mailbox of 10,000.
SIZES_KEPT = 1_000_000


@functools.lru_cache(maxsize=SIZES_KEPT)
def content_size(source: Source) -> int:
    """A message's size in bytes (its raw message's)."""
    return content(source).size


@functools.lru_cache(maxsize=2048)
def content(source: Source) -> MessageContent:
    """Build (or fetch from the bounded cache) a message's content."""
    if isinstance(source, RawSource):
        parsed = mime.parse_message(source.raw)
        return MessageContent(parsed.root, parsed.snippet, (source.raw,))
    body_raw, body = pool.body(source.seed, source.kind, source.variant)
    block = b"".join(_header_lines(source))
    if source.attachments:
        root, chunks = with_attachments(
            message_id=source.message_id,
            header_block=block,
            body_raw=body_raw,
            body_root=body.root,
            attachments=source.attachments,
        )
        return MessageContent(root, body.snippet, chunks)
    top = body.root
    root = dataclasses.replace(
        top, headers=mime.header_json(mime.header_pairs(block)) + top.headers
    )
    return MessageContent(root, body.snippet, (block + body_raw,))


def _header_lines(source: GeneratedSource) -> list[bytes]:
    """The message's own header lines, folded and encoded by the `email` package."""
    fold = POLICY.fold_binary
    correspondent = _address(source.correspondent)
    offset = timedelta(minutes=corpus.TIMEZONES[source.correspondent % len(corpus.TIMEZONES)])
    # The Date header is the sender's clock, a little before Gmail received it.
    sent = datetime.fromtimestamp(source.internal_ms / 1000 - 7 - source.internal_ms % 53, UTC)
    lines = []
    if not source.outgoing:
        lines.append(fold("Delivered-To", source.owner))
        if source.trace:
            lines += trace_lines(
                message_id=source.message_id,
                owner=source.owner,
                sender=corpus.CORRESPONDENTS[source.correspondent][1],
                internal_ms=source.internal_ms,
            )
    lines.append(fold("Date", format_datetime(sent.astimezone(timezone(offset)))))
    if source.outgoing:
        lines += [fold("From", source.owner), fold("To", correspondent)]
    else:
        lines += [fold("From", correspondent), fold("To", source.owner)]
    lines.append(_subject_line(source.subject, _subject_charset(source)))
    lines.append(fold("Message-ID", rfc822_message_id(source.message_id)))
    if source.references:
        lines.append(fold("In-Reply-To", rfc822_message_id(source.references[-1])))
        lines.append(fold("References", " ".join(map(rfc822_message_id, source.references))))
    return lines


# Replies share their thread's subject and there are few correspondents, so the
# encoded forms are cached: encoding is most of the cost of writing the headers.
@functools.lru_cache(maxsize=64)
def _address(correspondent: int) -> str:
    return formataddr(corpus.CORRESPONDENTS[correspondent], charset="utf-8")


@functools.lru_cache(maxsize=4096)
def _subject_line(text: str, charset: str) -> bytes:
    value = text if text.isascii() else Header(text, charset, header_name="Subject")
    return POLICY.fold_binary("Subject", value)


def _subject_charset(source: GeneratedSource) -> str:
    # Latin-1 subjects are sometimes sent in iso-8859-1 (quoted-printable words).
    if int(source.message_id, 16) % 3 == 0:
        try:
            source.subject.encode("iso-8859-1")
        except UnicodeEncodeError:
            return "utf-8"
        return "iso-8859-1"
    return "utf-8"
