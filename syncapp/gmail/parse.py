"""Turn one Gmail `users.messages.get` (format=raw) resource into the fields we store.

Gmail's resource gives the metadata (ids, labels, dates, snippet); everything else is
parsed here, locally, from the original's bytes with the `email` package, so that an
improved parser can parse stored originals again (`parse_original`) without fetching.

Everything in a message is attacker-controlled, so every string that leaves this module
has been through `clean_text` and fits its column. Malformed input never raises, except
when there is not even an id to store the message under (`UnparsableMessage`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import Message as EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime

from django.db.models import Field

from syncapp.gmail.parts import ATTACHMENT_NAME_MAX, headers_of, read_parts
from syncapp.gmail.payloads import cut_payloads
from syncapp.gmail.text import (
    BODY_TEXT_MAX,
    b64decode,
    clean_text,
    header_text,
)
from syncapp.models import Label, Message

__all__ = [
    "ATTACHMENT_NAME_MAX",
    "BODY_TEXT_MAX",
    "CONTENT_FIELDS",
    "HEADER_TEXT_MAX",
    "ParsedContent",
    "ParsedMessage",
    "UnparsableMessage",
    "clean_text",
    "parse_email",
    "parse_message",
    "parse_original",
    "raw_of",
]

# Address lists and the other long headers (References) are kept up to this many
# characters each; the original keeps them whole.
HEADER_TEXT_MAX = 20_000


def _max_length(field: Field) -> int:
    """The length of a CharField column."""
    if field.max_length is None:
        raise TypeError(f"{field} has no max_length")
    return field.max_length


_ID_MAX = _max_length(Message._meta.get_field("gmail_id"))
_HISTORY_ID_MAX = _max_length(Message._meta.get_field("history_id"))
_LABEL_ID_MAX = _max_length(Label._meta.get_field("label_id"))
# PositiveIntegerField is a signed 32-bit column on PostgreSQL.
_SIZE_MAX = 2**31 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Headers read once (the first wins) and headers whose every occurrence is kept.
_FIRST_HEADERS = {
    "subject": Message.SUBJECT_MAX,
    "from": Message.ADDRESS_MAX,
    "date": Message.ADDRESS_MAX,
    "message-id": Message.ADDRESS_MAX,
    "in-reply-to": HEADER_TEXT_MAX,
    "references": HEADER_TEXT_MAX,
    "list-unsubscribe": HEADER_TEXT_MAX,
}
_LIST_HEADERS = ("to", "cc", "bcc", "reply-to")
# The fields are read with compat32, whose headers stay plain strings: policy.default
# builds a header object for each header a part's walk reads, which made parsing twice
# as slow on the emulator's realistic mail. Both read the same bytes the same way;
# `parse_email` (for what shows or extracts parts) uses policy.default.
_FIELDS_PARSER = BytesParser(policy=policy.compat32)
_PARSER = BytesParser(policy=policy.default)


@dataclass(frozen=True, slots=True)
class ParsedContent:
    """What the original says: its header fields, body text and attachment names."""

    subject: str = ""
    sender: str = ""
    sender_name: str = ""
    sender_address: str = ""
    to: str = ""
    cc: str = ""
    bcc: str = ""
    reply_to: str = ""
    rfc_message_id: str = ""
    in_reply_to: str = ""
    references: str = ""
    list_unsubscribe: str = ""
    date: datetime | None = None
    body_text: str = ""
    attachment_names: list[str] = field(default_factory=list)
    problems: tuple[str, ...] = ()


# The Message columns a ParsedContent fills (reparse_messages writes exactly these).
CONTENT_FIELDS = [f.name for f in fields(ParsedContent) if f.name != "problems"]


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """The stored fields of one message, cleaned and cut to their columns."""

    gmail_id: str
    thread_id: str
    label_ids: list[str]
    history_id: str
    internal_date: datetime
    snippet: str
    size_estimate: int
    content: ParsedContent
    parse_error: str
    # The sha256 of the stored original (set once it is stored), None without one.
    original: str | None = None


class UnparsableMessage(Exception):
    """The resource has no usable id, so there is nothing to store it under."""


def raw_of(resource: dict) -> bytes | None:
    """The original's bytes in a format=raw resource, or None when it carries none."""
    raw = resource.get("raw") if isinstance(resource, dict) else None
    return b64decode(raw) if isinstance(raw, str) else None


def parse_message(resource: dict, *, raw: bytes | None) -> ParsedMessage:
    """Read what can be read; `parse_error` says what could not.

    `raw` is the resource's original (`raw_of`), decoded once by the caller, which
    also stores it.
    """
    if not isinstance(resource, dict):
        raise UnparsableMessage("resource is not an object")
    gmail_id = resource.get("id")
    if not isinstance(gmail_id, str) or not gmail_id or len(gmail_id) > _ID_MAX:
        raise UnparsableMessage("missing or invalid id")
    if clean_text(gmail_id) != gmail_id:
        raise UnparsableMessage("id contains characters the database rejects")

    problems: list[str] = []
    thread_id = resource.get("threadId")
    if not isinstance(thread_id, str) or not thread_id:
        problems.append("missing threadId")
        # A message alone in its thread has the thread's id.
        thread_id = gmail_id

    if raw is None:
        problems.append("missing raw")
        content = ParsedContent()
    else:
        content = parse_original(raw)
        problems.extend(content.problems)

    internal_date = _epoch_ms(resource.get("internalDate"))
    if internal_date is None:
        problems.append("missing or invalid internalDate")
        internal_date = content.date or _EPOCH
    return ParsedMessage(
        gmail_id=gmail_id,
        thread_id=clean_text(thread_id, _ID_MAX),
        label_ids=_label_ids(resource.get("labelIds"), problems),
        history_id=_history_id(resource.get("historyId"), problems),
        internal_date=internal_date,
        snippet=_snippet(resource.get("snippet"), problems),
        size_estimate=_size_estimate(resource.get("sizeEstimate"), problems),
        content=content,
        parse_error="; ".join(dict.fromkeys(problems)),
    )


def parse_email(raw: bytes) -> EmailMessage:
    """The original as an `email` message (policy.default): its headers and parts.

    Raises what the parser raises on input it cannot read at all (deep nesting).
    """
    return _PARSER.parsebytes(raw)


def parse_original(raw: bytes) -> ParsedContent:
    """The fields of an original; never raises, `problems` says what could not be read."""
    problems: list[str] = []
    cut = cut_payloads(raw)
    try:
        email = _FIELDS_PARSER.parsebytes(cut.text)
        headers_only = False
    except (RecursionError, ValueError, LookupError) as exc:
        # Parts nested past the recursion limit, say: the headers can still be read.
        problems.append(f"unreadable parts ({type(exc).__name__})")
        email = _FIELDS_PARSER.parsebytes(cut.text, headersonly=True)
        headers_only = True
    headers = headers_of(email)
    first = {
        name: header_text(values[0], _FIRST_HEADERS[name])
        for name, values in headers.items()
        if name in _FIRST_HEADERS
    }
    lists = {
        name: ", ".join(
            text
            for value in headers.get(name, ())
            if (text := header_text(value, HEADER_TEXT_MAX))
        )[:HEADER_TEXT_MAX]
        for name in _LIST_HEADERS
    }
    sender = first.get("from", "")
    sender_name, sender_address = _address(sender)
    body_text, attachment_names = ("", []) if headers_only else read_parts(email, cut, problems)
    return ParsedContent(
        subject=first.get("subject", ""),
        sender=sender,
        sender_name=sender_name,
        sender_address=sender_address,
        to=lists["to"],
        cc=lists["cc"],
        bcc=lists["bcc"],
        reply_to=lists["reply-to"],
        rfc_message_id=first.get("message-id", ""),
        in_reply_to=first.get("in-reply-to", ""),
        references=first.get("references", ""),
        list_unsubscribe=first.get("list-unsubscribe", ""),
        date=_parse_date(first["date"]) if "date" in first else None,
        body_text=clean_text(body_text, BODY_TEXT_MAX),
        attachment_names=attachment_names,
        problems=tuple(problems),
    )


def _address(sender: str) -> tuple[str, str]:
    """The display name and the address of a From header's text."""
    try:
        name, address = parseaddr(sender)
    except (ValueError, IndexError):
        return "", ""
    return clean_text(name, Message.ADDRESS_MAX), clean_text(address, Message.ADDRESS_MAX)


def _parse_date(value: str) -> datetime | None:
    value = " ".join(clean_text(value).split())
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _epoch_ms(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        return _EPOCH + timedelta(milliseconds=int(value))
    except (ValueError, OverflowError):
        return None


def _label_ids(value: object, problems: list[str]) -> list[str]:
    # Gmail omits the key for a message without labels.
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append("labelIds is not a list")
        return []
    labels = [clean_text(label, _LABEL_ID_MAX) for label in value if isinstance(label, str)]
    if len(labels) != len(value):
        problems.append("labelIds holds a non-string")
    return [label for label in labels if label]


def _history_id(value: object, problems: list[str]) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        problems.append("historyId is not a string")
        return ""
    return clean_text(str(value), _HISTORY_ID_MAX)


def _snippet(value: object, problems: list[str]) -> str:
    # Gmail omits an empty snippet.
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append("snippet is not a string")
        return ""
    # Unescaped once: Gmail escapes it, and templates escape it again on output.
    return clean_text(html.unescape(value), Message.SNIPPET_MAX)


def _size_estimate(value: object, problems: list[str]) -> int:
    if value is None:
        return 0
    if not isinstance(value, bool) and isinstance(value, str | int):
        try:
            return min(max(int(value), 0), _SIZE_MAX)
        except ValueError:
            pass
    problems.append("sizeEstimate is not a number")
    return 0
