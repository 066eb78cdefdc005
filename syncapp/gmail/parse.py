"""Turn one Gmail `users.messages.get` (format=full) resource into the fields we store.

Everything in a message is attacker-controlled, so every string that leaves this module
has been through `clean_text` and fits its column. Malformed input never raises, except
when there is not even an id to store the message under (`UnparsableMessage`).
"""

from __future__ import annotations

import binascii
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

from syncapp.models import Label, Message

BODY_TEXT_MAX = 1_000_000
RECIPIENTS_MAX = 20_000
ATTACHMENT_NAME_MAX = 255
# Bounds the time html.parser spends (about a microsecond per character of hostile
# markup); a longer HTML body loses only its tail.
_HTML_SCAN_MAX = 2 * BODY_TEXT_MAX

_ID_MAX = Message._meta.get_field("gmail_id").max_length
_HISTORY_ID_MAX = Message._meta.get_field("history_id").max_length
_LABEL_ID_MAX = Label._meta.get_field("label_id").max_length
# PositiveIntegerField is a signed 32-bit column on PostgreSQL.
_SIZE_MAX = 2**31 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_MESSAGE_HEADERS = frozenset({"subject", "from", "date", "to", "cc", "bcc"})
_PART_HEADERS = frozenset({"content-type", "content-disposition"})

# Gmail sends base64url; accept the standard alphabet too and drop anything else.
_B64_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_B64_JUNK = bytes(
    set(range(256)) - set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")
)
# Linear: every quantified class stops at "?" or whitespace, so no backtracking blow-up.
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


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


def clean_text(value: str, max_length: int | None = None) -> str:
    """Drop what PostgreSQL text rejects (NUL, lone surrogates), then truncate."""
    value = value.replace("\x00", "")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # Only lone surrogates fail to encode; json.loads already joins valid pairs.
            value = value.encode("utf-8", "ignore").decode("utf-8")
    return value if max_length is None else value[:max_length]


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
        if (text := _header_text(value, RECIPIENTS_MAX))
    )
    return ParsedMessage(
        gmail_id=gmail_id,
        thread_id=clean_text(thread_id, _ID_MAX),
        label_ids=_label_ids(resource.get("labelIds"), problems),
        history_id=_history_id(resource.get("historyId"), problems),
        internal_date=internal_date,
        subject=_header_text(headers.get("subject", [""])[0], Message.SUBJECT_MAX),
        sender=_header_text(headers.get("from", [""])[0], Message.ADDRESS_MAX),
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


def _header_text(value: str, max_length: int) -> str:
    """Decoded, cleaned, unfolded header text with whitespace runs collapsed."""
    if "=?" in value:
        value = _decode_encoded_words(value)
    return " ".join(clean_text(value).split())[:max_length]


def _decode_encoded_words(value: str) -> str:
    """Decode RFC 2047 encoded words, never raising on bad charsets or bytes."""
    pieces: list[str] = []
    # Adjacent words in one charset are decoded together: senders split multibyte
    # characters across words.
    pending = bytearray()
    pending_charset: str | None = None
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        # Whitespace between two encoded words is folding, not text.
        if pending_charset is None or (between and not between.isspace()):
            if pending_charset is not None:
                pieces.append(_decode_bytes(bytes(pending), pending_charset))
                pending.clear()
                pending_charset = None
            pieces.append(between)
        charset = match.group(1).split("*", 1)[0].lower()  # drop an RFC 2231 language
        encoding, text = match.group(2), match.group(3)
        if encoding in "bB":
            data = _b64decode(text)
        else:
            data = binascii.a2b_qp(text.encode("ascii", "replace"), header=True)
        if pending_charset is not None and charset != pending_charset:
            pieces.append(_decode_bytes(bytes(pending), pending_charset))
            pending.clear()
        pending_charset = charset
        pending += data
        position = match.end()
    if pending_charset is not None:
        pieces.append(_decode_bytes(bytes(pending), pending_charset))
    pieces.append(value[position:])
    return "".join(pieces)


def _b64decode(data: str) -> bytes:
    """Decode base64url or base64, with or without padding, ignoring stray characters."""
    raw = data.encode("ascii", "ignore").translate(_B64_TO_STANDARD, _B64_JUNK)
    if len(raw) % 4 == 1:
        # A lone trailing character carries fewer than 8 bits: no byte to recover.
        raw = raw[:-1]
    return binascii.a2b_base64(raw + b"=" * (-len(raw) % 4))


def _decode_bytes(data: bytes, charset: str) -> str:
    try:
        return data.decode(charset or "utf-8", "replace")
    except (LookupError, ValueError):
        # Unknown or non-text codec, or one that cannot replace (idna, punycode).
        return data.decode("utf-8", "replace")


def _charset(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        key, sep, value = param.partition("=")
        if sep and key.strip().lower() == "charset":
            return value.strip().strip("\"'").strip()
    return ""


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
            if name := _header_text(filename, ATTACHMENT_NAME_MAX):
                attachment_names.append(name)
            continue

        children = part.get("parts")
        if isinstance(children, list):
            stack.extend(reversed(children))
        elif children is not None:
            problems.append("parts is not a list")

        content_type = headers.get("content-type", [""])[0]
        mime_type = part.get("mimeType")
        if not isinstance(mime_type, str):
            mime_type = content_type.split(";", 1)[0]
        mime_type = mime_type.strip().lower()
        if mime_type not in ("text/plain", "text/html"):
            continue
        body = part.get("body")
        if not isinstance(body, dict):
            if body is not None:
                problems.append("part body is not an object")
            continue
        # Parts with an attachmentId and no data have no inline text.
        data = body.get("data")
        if not isinstance(data, str):
            if data is not None:
                problems.append("part data is not a string")
            continue
        if mime_type == "text/plain":
            text = _decode_bytes(_b64decode(data), _charset(content_type))
            if text and not text.isspace():
                plain.append(text)
        else:
            # Decoded only when no plain text turns up.
            html_parts.append((data, _charset(content_type)))

    if plain:
        body_text = "\n".join(plain).replace("\r\n", "\n").replace("\r", "\n")
    else:
        texts = []
        for data, charset in html_parts:
            text, complete = _html_to_text(_decode_bytes(_b64decode(data), charset))
            if not complete:
                problems.append("malformed HTML")
            texts.append(text)
        body_text = "\n".join(texts)
    return body_text.strip(), attachment_names


class _TextExtractor(HTMLParser):
    _BLOCK_TAGS = frozenset({
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "footer",
        "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section",
        "table", "tr", "ul",
    })  # fmt: skip
    _CELL_TAGS = frozenset({"td", "th"})
    _HIDDEN_TAGS = frozenset({"script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        # html.parser treats script and style content as raw text, so they cannot nest.
        self._hidden_tag: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN_TAGS:
            self._hidden_tag = tag
        self._separate(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._hidden_tag:
            self._hidden_tag = None
        self._separate(tag)

    def handle_data(self, data: str) -> None:
        if self._hidden_tag is None:
            # Newlines separate blocks; source line breaks are only spaces.
            self.chunks.append(data.replace("\n", " "))

    def _separate(self, tag: str) -> None:
        if tag in self._BLOCK_TAGS:
            self.chunks.append("\n")
        elif tag in self._CELL_TAGS:
            self.chunks.append(" ")


def _html_to_text(markup: str) -> tuple[str, bool]:
    """Visible text of an HTML document, and whether the parser read all of it."""
    parser = _TextExtractor()
    complete = True
    try:
        parser.feed(markup[:_HTML_SCAN_MAX])
        # A trailing newline lets the parser emit text ending in a bare "&" (it waits
        # for a possible entity). close() is never called: on unterminated markup it
        # is quadratic in Python 3.11 (120 KB of "<a " took three minutes), and all
        # it would add is the unterminated tag, which browsers drop as well.
        parser.feed("\n")
    except AssertionError:
        # _markupbase raises it on malformed declarations such as "<![x[".
        complete = False
    lines = (" ".join(line.split()) for line in "".join(parser.chunks).split("\n"))
    return "\n".join(line for line in lines if line), complete


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
