"""A message's attachments, read from its stored original: listed, and handed out safely.

Everything here came from whoever sent the mail: the file name is cut down to a name
(no folders, no control or direction characters), and the type a browser is told is
one it only displays or saves; anything it could run (HTML, SVG, XML, scripts) goes
out as application/octet-stream.
"""

from __future__ import annotations

import binascii
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message as EmailMessage
from urllib.parse import quote

FILENAME_MAX = 200
# Characters of base64 decoded at a time (a multiple of 4): 48 KB out per step.
_BASE64_STEP = 64 * 1024
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")
# Types a browser shows or saves but never runs; served as declared, all others not.
SAFE_TYPES = frozenset(
    {
        "application/gzip",
        "application/msword",
        "application/pdf",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.oasis.opendocument.presentation",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/zip",
        "audio/mpeg",
        "audio/ogg",
        "audio/wav",
        "image/bmp",
        "image/gif",
        "image/jpeg",
        "image/png",
        "image/webp",
        "text/calendar",
        "text/csv",
        "text/plain",
        "video/mp4",
        "video/webm",
    }
)
FALLBACK_TYPE = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Attachment:
    # Its place in the message's list of attachments (the n of its URL).
    index: int
    filename: str
    # As the message declares it (shown); `served_type` is what a download says.
    content_type: str
    size: int

    @property
    def served_type(self) -> str:
        return self.content_type if self.content_type in SAFE_TYPES else FALLBACK_TYPE


def attachments_of(email: EmailMessage) -> list[tuple[Attachment, EmailMessage]]:
    """The attachments, in the order the message holds them, each with its part.

    A part is an attachment when it has a file name or says `attachment`, as the
    parser that fills `Message.attachment_names` decides; what is inside one (a
    forwarded message) is not looked into.
    """
    found: list[tuple[Attachment, EmailMessage]] = []
    # Iterative, so that hostile nesting cannot hit the recursion limit.
    stack: list[EmailMessage] = [email]
    while stack:
        part = stack.pop()
        name = _filename(part)
        if name or part.get_content_disposition() == "attachment":
            index = len(found)
            attachment = Attachment(
                index=index,
                filename=safe_filename(name, fallback=f"attachment-{index + 1}"),
                content_type=part.get_content_type(),
                size=_decoded_size(part),
            )
            found.append((attachment, part))
        elif part.is_multipart():
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend(reversed([c for c in children if isinstance(c, EmailMessage)]))
    return found


def safe_filename(name: str, *, fallback: str) -> str:
    """The last path part of `name`, without control, format or unassigned characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C"))
    name = name.strip().strip(".").strip()[:FILENAME_MAX]
    return name or fallback


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII name for old clients and the exact one (RFC 5987)."""
    ascii_name = "".join(c if " " <= c < "\x7f" and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def attachment_chunks(part: EmailMessage) -> Iterator[bytes]:
    """The attachment's content, decoded a slice at a time when it is base64."""
    payload = part.get_payload()
    if isinstance(payload, list):
        # An attached message (message/rfc822): its own bytes.
        for inner in payload:
            if isinstance(inner, EmailMessage):
                yield inner.as_bytes()
        return
    if not isinstance(payload, str) or not _is_base64(part):
        data = part.get_payload(decode=True)
        yield data if isinstance(data, bytes) else b""
        return
    left = ""
    for start in range(0, len(payload), _BASE64_STEP):
        text = left + _NOT_BASE64.sub("", payload[start : start + _BASE64_STEP])
        cut = len(text) - len(text) % 4
        left = text[cut:]
        yield binascii.a2b_base64(text[:cut])
    if len(left) > 1:
        # A truncated tail still decodes to what it holds.
        yield binascii.a2b_base64(left + "=" * (-len(left) % 4))


def _decoded_size(part: EmailMessage) -> int:
    payload = part.get_payload()
    if isinstance(payload, list):
        return sum(len(inner.as_bytes()) for inner in payload if isinstance(inner, EmailMessage))
    if isinstance(payload, str) and _is_base64(part):
        return len(_NOT_BASE64.sub("", payload)) * 3 // 4
    data = part.get_payload(decode=True)
    return len(data) if isinstance(data, bytes) else 0


def _is_base64(part: EmailMessage) -> bool:
    return str(part.get("content-transfer-encoding", "")).strip().lower() == "base64"


def _filename(part: EmailMessage) -> str:
    try:
        return part.get_filename() or ""
    except Exception:  # the header parser's bugs on hostile parameters are many
        return ""
