"""The part tree of an original: its body text and its attachment names.

Parsed from the original as `payloads.cut_payloads` gives it to the parser: a text
part's base64 runs are put back when it is read, and an HTML part is read only when
there is no plain text (most mail has both).
"""

from __future__ import annotations

from email.message import Message as EmailMessage

from syncapp.gmail.payloads import Cut
from syncapp.gmail.text import (
    b64decode_lines,
    charset_of,
    decode_bytes,
    header_text,
    html_to_text,
)

ATTACHMENT_NAME_MAX = 255


def headers_of(part: EmailMessage) -> dict[str, list[str]]:
    """Every header's values as written, by lower-cased name, in message order.

    Read raw (not through the policy's header objects, whose parsing of hostile
    values can raise); 8-bit bytes are read as UTF-8, as Gmail does.
    """
    found: dict[str, list[str]] = {}
    for name, value in part.raw_items():
        text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        found.setdefault(name.lower(), []).append(text)
    return found


def read_parts(email: EmailMessage, cut: Cut, problems: list[str]) -> tuple[str, list[str]]:
    """Walk the part tree: the body text and the attachment names (parsed from `cut`,
    whose runs a text part's payload gets back before it is decoded)."""
    plain: list[str] = []
    html_parts: list[tuple[EmailMessage, str]] = []
    attachment_names: list[str] = []
    # Iterative, so that hostile nesting cannot hit the recursion limit.
    stack: list[EmailMessage] = [email]
    while stack:
        part = stack.pop()
        headers = headers_of(part)
        content_type = headers.get("content-type", [""])[0]
        disposition = headers.get("content-disposition", [""])[0]
        filename = _filename(part, problems)
        if filename or disposition.lstrip().lower().startswith("attachment"):
            # An attachment without a name has none to show. Its children (a forwarded
            # message) are the attachment's content, not this message's body.
            if name := header_text(filename, ATTACHMENT_NAME_MAX):
                attachment_names.append(name)
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend(reversed([child for child in payload if isinstance(child, EmailMessage)]))
            continue
        mime_type = content_type.split(";", 1)[0].strip().lower() or "text/plain"
        if mime_type == "text/plain":
            text = _text_of(part, content_type, cut)
            if text and not text.isspace():
                plain.append(text)
        elif mime_type == "text/html":
            # Read only if there is no plain text: most mail has both.
            html_parts.append((part, content_type))
    if plain:
        return "\n".join(plain).replace("\r\n", "\n").replace("\r", "\n").strip(), attachment_names
    html = [_text_of(part, content_type, cut) for part, content_type in html_parts]
    return _html_text([text for text in html if text is not None], problems), attachment_names


def _text_of(part: EmailMessage, content_type: str, cut: Cut) -> str | None:
    """A text part's payload (its runs put back), decoded, in its charset."""
    payload = part.get_payload()
    data: object = None
    if isinstance(payload, str):
        payload = cut.restored(payload)
        part.set_payload(payload)
        if str(part.get("content-transfer-encoding", "")).lower() == "base64":
            data = b64decode_lines(payload)
    if data is None:
        data = part.get_payload(decode=True)
    return decode_bytes(data, charset_of(content_type)) if isinstance(data, bytes) else None


def _filename(part: EmailMessage, problems: list[str]) -> str:
    try:
        return part.get_filename() or ""
    except Exception:  # the header parser's bugs on hostile parameters are many
        problems.append("unreadable file name")
        return ""


def _html_text(html_parts: list[str], problems: list[str]) -> str:
    """The visible text of the HTML parts."""
    texts = []
    for markup in html_parts:
        text, complete = html_to_text(markup)
        if not complete:
            problems.append("malformed HTML")
        texts.append(text)
    return "\n".join(texts).strip()
