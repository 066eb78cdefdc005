"""RFC 822 bytes -> the parts tree, headers and snippet that Gmail shows for them.

Parsing uses the stdlib `email` package (compat32, which keeps malformed input
instead of raising). Header values are shown as Gmail shows them: unfolded and
RFC 2047-decoded; body data keeps the part's own charset with the transfer
encoding removed.
"""

import base64
import codecs
import email.header
import email.parser
import email.policy
import functools
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import errors
from email.message import Message

from .blobs import Blob

SNIPPET_LENGTH = 200

_FOLD = re.compile(r"\r?\n(?=[ \t])")
_LINE_BREAK = re.compile(r"\r?\n")
_INVISIBLE_HTML = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_SNIPPET_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
)
_PARSER = email.parser.BytesParser(policy=email.policy.compat32)


@dataclass(frozen=True, slots=True)
class Part:
    """One node of Gmail's `payload` tree."""

    part_id: str
    mime_type: str
    filename: str
    headers: tuple[dict, ...]
    body: bytes = b""
    parts: tuple["Part", ...] = ()
    # base64url of `body`, computed once because generated bodies are shared.
    data: str = field(default="", repr=False)
    # A generated attachment's bytes, made only when asked for (`body` is then empty).
    blob: Blob | None = None

    @property
    def is_attachment(self) -> bool:
        return bool(self.filename) and not self.parts

    @property
    def size(self) -> int:
        return self.blob.size if self.blob else len(self.body)

    def content(self) -> bytes:
        return self.blob.content() if self.blob else self.body

    def base64url(self) -> str:
        if self.blob is None:
            return self.data
        return base64.urlsafe_b64encode(self.blob.content()).decode("ascii")

    def find(self, part_id: str) -> "Part | None":
        if self.part_id == part_id:
            return self
        for part in self.parts:
            if part_id == part.part_id or part_id.startswith(part.part_id + "."):
                return part.find(part_id)
        return None


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    root: Part
    snippet: str


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse a whole message into Gmail's parts tree and snippet."""
    texts: dict[str, str] = {}
    root = _part(_PARSER.parsebytes(raw), "", texts)
    return ParsedMessage(root=root, snippet=snippet_of(texts))


def header_pairs(block: bytes) -> list[tuple[str, str]]:
    """Split a header block into (name, raw value) pairs, keeping folds like compat32."""
    pairs: list[tuple[str, str]] = []
    for line in block.decode("ascii", "surrogateescape").split("\r\n"):
        if not line:
            continue
        if line[0] in " \t" and pairs:
            name, value = pairs[-1]
            pairs[-1] = (name, f"{value}\r\n{line}")
        else:
            name, _, value = line.partition(":")
            pairs.append((name, value.lstrip(" \t")))
    return pairs


def header_json(pairs: Iterable[tuple[str, str]]) -> tuple[dict, ...]:
    return tuple({"name": name, "value": decode_header_value(value)} for name, value in pairs)


@functools.lru_cache(maxsize=8192)
def decode_header_value(value: str) -> str:
    """Unfold a raw header value and decode RFC 2047 words and raw 8-bit bytes."""
    if "\n" in value:
        value = _LINE_BREAK.sub("", _FOLD.sub("", value))
    if not value.isascii():
        # compat32 keeps raw 8-bit header bytes as surrogates; Gmail reads them as UTF-8.
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if "=?" not in value:
        return value
    try:
        chunks = email.header.decode_header(value)
    except (errors.HeaderParseError, ValueError):
        return value
    return "".join(
        chunk if isinstance(chunk, str) else decode_bytes(chunk, charset or "raw-unicode-escape")
        for chunk, charset in chunks
    )


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode text in a declared charset, falling back to UTF-8 for unknown charsets."""
    try:
        codec = codecs.lookup(charset or "utf-8").name
    except LookupError:
        codec = "utf-8"
    if codec == "ascii":
        codec = "utf-8"
    return data.decode(codec, "replace")


def snippet_of(texts: dict[str, str]) -> str:
    """Gmail's snippet: the start of the text, whitespace collapsed, HTML-escaped."""
    text = texts.get("text/plain")
    if text is None:
        text = html.unescape(_TAG.sub(" ", _INVISIBLE_HTML.sub(" ", texts.get("text/html", ""))))
    return " ".join(text.split())[:SNIPPET_LENGTH].translate(_SNIPPET_ESCAPES)


def _part(message: Message, part_id: str, texts: dict[str, str]) -> Part:
    headers = header_json(message.raw_items())
    mime_type = message.get_content_type()
    filename = decode_header_value(message.get_filename() or "")
    if message.is_multipart():
        children = tuple(
            _part(child, f"{part_id}.{index}" if part_id else str(index), texts)
            for index, child in enumerate(message.get_payload())
        )
        return Part(part_id, mime_type, filename, headers, parts=children)
    # A part that is not multipart decodes to bytes (None only for a multipart).
    payload = message.get_payload(decode=True)
    body = payload if isinstance(payload, bytes) else b""
    if not filename and mime_type in ("text/plain", "text/html") and mime_type not in texts:
        texts[mime_type] = decode_bytes(body, message.get_content_charset())
    data = base64.urlsafe_b64encode(body).decode("ascii")
    return Part(part_id, mime_type, filename, headers, body=body, data=data)
