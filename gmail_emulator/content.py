"""The content of one message (raw bytes, parts tree, snippet), built when first asked for.

A generated message is its own top-level headers, written per message with the
`email` package's folding, followed by a pooled MIME body (see `corpus`); its
parts tree is the pooled body's tree with the top headers prepended, exactly what
parsing the whole message would give (a test checks that). Other messages
(hostile ones, `add_message`) are stored as raw bytes and parsed in full.
"""

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.header import Header
from email.utils import format_datetime, formataddr
from typing import NamedTuple

from . import corpus, mime
from .policy import POLICY


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


class RawSource(NamedTuple):
    raw: bytes


Source = GeneratedSource | RawSource


@dataclass(frozen=True, slots=True)
class MessageContent:
    raw: bytes
    root: mime.Part
    snippet: str


def rfc822_message_id(gmail_id: str) -> str:
    """The Message-ID header of a generated message, derived from its Gmail id."""
    return f"<em.{gmail_id}.{int(gmail_id, 16) % 999983:x}@mail.example.com>"


@functools.lru_cache(maxsize=2048)
def content(source: Source) -> MessageContent:
    """Build (or fetch from the bounded cache) a message's content."""
    if isinstance(source, RawSource):
        parsed = mime.parse_message(source.raw)
        return MessageContent(raw=source.raw, root=parsed.root, snippet=parsed.snippet)
    body_raw, body = corpus.body(source.seed, source.kind, source.variant)
    block = b"".join(_header_lines(source))
    top = body.root
    root = mime.Part(
        part_id="",
        mime_type=top.mime_type,
        filename="",
        headers=mime.header_json(mime.header_pairs(block)) + top.headers,
        body=top.body,
        parts=top.parts,
        data=top.data,
    )
    return MessageContent(raw=block + body_raw, root=root, snippet=body.snippet)


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
