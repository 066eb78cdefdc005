"""Turn one Gmail `users.messages.get` (format=full) resource into the fields we store.

Everything in a message is attacker-controlled, so every string that leaves this module
has been through `clean_text` and fits its column. Malformed input never raises, except
when there is not even an id to store the message under (`UnparsableMessage`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from django.db.models import Field

from syncapp.gmail.text import (
    BODY_TEXT_MAX,
    b64decode,
    charset_of,
    clean_text,
    decode_bytes,
    header_text,
    html_to_text,
)
from syncapp.models import Label, Message

__all__ = [
    "ATTACHMENT_NAME_MAX",
    "BODY_TEXT_MAX",
    "RECIPIENTS_MAX",
    "ParsedMessage",
    "UnparsableMessage",
    "clean_text",
    "parse_message",
]

RECIPIENTS_MAX = 20_000
ATTACHMENT_NAME_MAX = 255


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

_MESSAGE_HEADERS = frozenset({"subject", "from", "date", "to", "cc", "bcc"})
_PART_HEADERS = frozenset({"content-type", "content-disposition"})


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """The stored fields of one message, cleaned and cut to their columns."""

    gmail_id: str
    thread_id: str
    label_ids: list[str]
    history_id: str
    internal_date: datetime
    subject: str
    sender: str
    recipients: str
    date: datetime | None
    snippet: str
    size_estimate: int
    body_text: str
    attachment_names: list[str]
    parse_error: str


class UnparsableMessage(Exception):
    """The resource has no usable id, so there is nothing to store it under."""


def parse_message(resource: dict) -> ParsedMessage:
    """Read what can be read; `parse_error` says what could not."""
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

    payload = resource.get("payload")
    if not isinstance(payload, dict):
        problems.append("missing payload" if payload is None else "payload is not an object")
        payload = {}
    headers = _headers(payload, _MESSAGE_HEADERS, problems)
    body_text, attachment_names = _read_parts(payload, problems)

    date_header = headers.get("date")
    date = _parse_date(date_header[0]) if date_header else None
    internal_date = _epoch_ms(resource.get("internalDate"))
    if internal_date is None:
        problems.append("missing or invalid internalDate")
        internal_date = date or _EPOCH

    recipients = ", ".join(
        text
        for name in ("to", "cc", "bcc")
        for value in headers.get(name, ())
        if (text := header_text(value, RECIPIENTS_MAX))
    )
    return ParsedMessage(
        gmail_id=gmail_id,
        thread_id=clean_text(thread_id, _ID_MAX),
        label_ids=_label_ids(resource.get("labelIds"), problems),
        history_id=_history_id(resource.get("historyId"), problems),
        internal_date=internal_date,
        subject=header_text(headers.get("subject", [""])[0], Message.SUBJECT_MAX),
        sender=header_text(headers.get("from", [""])[0], Message.ADDRESS_MAX),
        recipients=recipients[:RECIPIENTS_MAX],
        date=date,
        snippet=_snippet(resource.get("snippet"), problems),
        size_estimate=_size_estimate(resource.get("sizeEstimate"), problems),
        body_text=clean_text(body_text, BODY_TEXT_MAX),
        attachment_names=attachment_names,
        parse_error="; ".join(dict.fromkeys(problems)),
    )


def _headers(part: dict, wanted: frozenset[str], problems: list[str]) -> dict[str, list[str]]:
    """The values of the wanted headers, by lower-cased name, in message order."""
    found: dict[str, list[str]] = {}
    headers = part.get("headers")
    if headers is None:
        return found
    if not isinstance(headers, list):
        problems.append("headers is not a list")
        return found
    for header in headers:
        if not isinstance(header, dict):
            problems.append("malformed header")
            continue
        name, value = header.get("name"), header.get("value")
        if not isinstance(name, str) or not isinstance(value, str):
            problems.append("malformed header")
            continue
        key = name.lower()
        if key in wanted:
            found.setdefault(key, []).append(value)
    return found


def _read_parts(payload: dict, problems: list[str]) -> tuple[str, list[str]]:
    """Walk the part tree: the body text and the attachment names."""
    plain: list[str] = []
    html_parts: list[tuple[str, str]] = []
    attachment_names: list[str] = []
    # Iterative, so that hostile nesting cannot hit the recursion limit.
    stack: list[object] = [payload]
    while stack:
        part = stack.pop()
        if not isinstance(part, dict):
            problems.append("part is not an object")
            continue
        headers = _headers(part, _PART_HEADERS, problems)
        filename = part.get("filename")
        if not isinstance(filename, str):
            filename = ""
        disposition = headers.get("content-disposition", [""])[0]
        if filename or disposition.lstrip().lower().startswith("attachment"):
            # Gmail fills filename whenever the headers name the file, so an attachment
            # without one has no name to show. Its children (a forwarded message) are
            # the attachment's content, not this message's body.
            if name := header_text(filename, ATTACHMENT_NAME_MAX):
                attachment_names.append(name)
            continue

        children = part.get("parts")
        if isinstance(children, list):
            stack.extend(reversed(children))
        elif children is not None:
            problems.append("parts is not a list")

        text = _text_data(part, headers.get("content-type", [""])[0], problems)
        if text is None:
            continue
        mime_type, data, charset = text
        if mime_type == "text/plain":
            decoded = decode_bytes(b64decode(data), charset)
            if decoded and not decoded.isspace():
                plain.append(decoded)
        else:
            # Decoded only when no plain text turns up.
            html_parts.append((data, charset))
    return _body_text(plain, html_parts, problems), attachment_names


def _text_data(part: dict, content_type: str, problems: list[str]) -> tuple[str, str, str] | None:
    """(mime type, base64 data, charset) of a text/plain or text/html part with inline data."""
    mime_type = part.get("mimeType")
    if not isinstance(mime_type, str):
        mime_type = content_type.split(";", 1)[0]
    mime_type = mime_type.strip().lower()
    if mime_type not in ("text/plain", "text/html"):
        return None
    body = part.get("body")
    if not isinstance(body, dict):
        if body is not None:
            problems.append("part body is not an object")
        return None
    # Parts with an attachmentId and no data have no inline text.
    data = body.get("data")
    if not isinstance(data, str):
        if data is not None:
            problems.append("part data is not a string")
        return None
    return mime_type, data, charset_of(content_type)


def _body_text(plain: list[str], html_parts: list[tuple[str, str]], problems: list[str]) -> str:
    """The plain text parts, or failing those the visible text of the HTML ones."""
    if plain:
        return "\n".join(plain).replace("\r\n", "\n").replace("\r", "\n").strip()
    texts = []
    for data, charset in html_parts:
        text, complete = html_to_text(decode_bytes(b64decode(data), charset))
        if not complete:
            problems.append("malformed HTML")
        texts.append(text)
    return "\n".join(texts).strip()


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
