"""Text from attacker-controlled mail: made safe to store, and decoded without raising.

Header words (RFC 2047), base64 body data, declared charsets and HTML are all read
leniently: bad input gives replacement characters or less text, never an exception.
"""

from __future__ import annotations

import binascii
import io
import re
from html.parser import HTMLParser

import pybase64

BODY_TEXT_MAX = 1_000_000
# Bounds the time html.parser spends (about a microsecond per character of hostile
# markup); a longer HTML body loses only its tail.
_HTML_SCAN_MAX = 2 * BODY_TEXT_MAX

# Gmail sends base64url; accept the standard alphabet too and drop anything else.
_B64_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_B64_JUNK = bytes(
    set(range(256)) - set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")
)
# Characters of base64 decoded at a time (junk and padding are dropped first).
_B64_CHUNK = 1 << 20
# Linear: every quantified class stops at "?" or whitespace, so no backtracking blow-up.
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


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


def header_text(value: str, max_length: int) -> str:
    """Decoded, cleaned, unfolded header text with whitespace runs collapsed."""
    if "=?" in value:
        value = decode_encoded_words(value)
    return " ".join(clean_text(value).split())[:max_length]


def decode_encoded_words(value: str) -> str:
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
                pieces.append(decode_bytes(bytes(pending), pending_charset))
                pending.clear()
                pending_charset = None
            pieces.append(between)
        charset = match.group(1).split("*", 1)[0].lower()  # drop an RFC 2231 language
        encoding, text = match.group(2), match.group(3)
        if encoding in "bB":
            data = b64decode(text)
        else:
            data = binascii.a2b_qp(text.encode("ascii", "replace"), header=True)
        if pending_charset is not None and charset != pending_charset:
            pieces.append(decode_bytes(bytes(pending), pending_charset))
            pending.clear()
        pending_charset = charset
        pending += data
        position = match.end()
    if pending_charset is not None:
        pieces.append(decode_bytes(bytes(pending), pending_charset))
    pieces.append(value[position:])
    return "".join(pieces)


def b64decode(data: str) -> bytes:
    """Decode base64url or base64, with or without padding, ignoring stray characters.

    What Gmail sends (base64url, padded, nothing else) is decoded by pybase64, several
    times faster than `binascii` (a sync decodes every message's original); anything
    else is read again, leniently.
    """
    try:
        return _b64decode_clean(data)
    except ValueError:
        return _b64decode_lenient(data)


def _b64decode_clean(data: str) -> bytes:
    """Decode base64url with nothing in it but base64url and its last padding, or raise
    ValueError. A chunk at a time, as `_b64decode_lenient`."""
    decoded = io.BytesIO()
    for start in range(0, len(data), _B64_CHUNK):
        piece = data[start : start + _B64_CHUNK]
        if "+" in piece or "/" in piece:
            # The standard alphabet: pybase64 would take it too, with a warning that
            # it will not.
            raise ValueError("not base64url")
        if start + _B64_CHUNK >= len(data):
            piece += "=" * (-len(piece) % 4)
        decoded.write(pybase64.b64decode(piece, altchars=b"-_", validate=True))
    return decoded.getvalue()


def b64decode_lines(data: str) -> bytes | None:
    """A MIME part's base64 body (lines of the standard alphabet) decoded, as the
    `email` package decodes it but several times faster; None when it holds anything
    else, for the `email` package to read leniently."""
    try:
        clean = data.encode("ascii").translate(None, b"\r\n")
        return pybase64.b64decode(clean + b"=" * (-len(clean) % 4), validate=True)
    except ValueError:
        return None


def _b64decode_lenient(data: str) -> bytes:
    """Decode base64 of either alphabet, dropping whatever else it holds.

    A chunk at a time: a 25 MB original decoded whole would also hold its text
    twice more (as ASCII bytes, then translated) at once.
    """
    decoded = io.BytesIO()
    carry = b""
    for start in range(0, len(data), _B64_CHUNK):
        text = data[start : start + _B64_CHUNK].encode("ascii", "ignore")
        piece = carry + text.translate(_B64_TO_STANDARD, _B64_JUNK)
        whole = len(piece) - len(piece) % 4
        decoded.write(binascii.a2b_base64(piece[:whole]))
        carry = piece[whole:]
    if len(carry) % 4 == 1:
        # A lone trailing character carries fewer than 8 bits: no byte to recover.
        carry = carry[:-1]
    decoded.write(binascii.a2b_base64(carry + b"=" * (-len(carry) % 4)))
    # No copy: the buffer becomes the bytes.
    return decoded.getvalue()


def decode_bytes(data: bytes, charset: str) -> str:
    try:
        return data.decode(charset or "utf-8", "replace")
    except (LookupError, ValueError):
        # Unknown or non-text codec, or one that cannot replace (idna, punycode).
        return data.decode("utf-8", "replace")


def charset_of(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        key, sep, value = param.partition("=")
        if sep and key.strip().lower() == "charset":
            return value.strip().strip("\"'").strip()
    return ""


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


def html_to_text(markup: str) -> tuple[str, bool]:
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
