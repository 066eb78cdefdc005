"""What parsing an original for its fields need not read line by line: its base64 payloads.

The `email` parser reads a message a line at a time, in Python. A 30 KB HTML body in
base64 is 400 lines, most of a message's parsing time; a 25 MB attachment would be
held several times over, for fields that only note its name. So before parsing, each
long run of base64 lines is replaced by one placeholder line (`cut_payloads`), and the
fields' reader puts a text part's payload back (`Cut.restored`) when it reads the body
text, up to what the body text keeps. The parser sees the same structure: a base64
line can be neither a boundary (those start with "--") nor a header (no colon, no
leading space), nor can the placeholder line that stands for a run of them.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from syncapp.gmail.text import BODY_TEXT_MAX

# The first line of a run of base64 lines, as MIME writes a part's body (76 characters
# a line), and the line ending before it: with a literal first, a search skips from one
# line ending to the next instead of trying every position.
_RUN_START = re.compile(rb"\n([A-Za-z0-9+/]{60,76}={0,2}(\r?\n))")
# Base64 lines of any of those lengths: the end of a run.
_RUN_REST = re.compile(rb"(?:[A-Za-z0-9+/]{60,76}={0,2}\r?\n)*")
# What a run's lines are made of, their line endings aside.
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
# The lines of a run as long as its first are checked a window at a time: first this
# many, then twice as many each time, up to _CHECKED_AT_ONCE bytes (so that a 30 MB
# attachment is not copied whole to be checked).
_FIRST_WINDOW = 16
_CHECKED_AT_ONCE = 1 << 20
# Shorter runs are left for the parser: a placeholder would save it little.
_RUN_MIN = 1024
# A text part's run is put back up to this much: that much base64 holds more text
# than the body text column, at 4 bytes a character.
_RUN_KEPT = 6 * BODY_TEXT_MAX
# A placeholder line: its parse's nonce and its run's number. Compiled once: a pattern
# made for each message would be compiled for each message.
_PLACEHOLDER = re.compile(r"MAILSYNC([0-9a-f]{16})X(\d+)(\r?\n)?")


@dataclass(frozen=True, slots=True)
class Cut:
    """An original as the parser is given it, and the runs its placeholders stand for."""

    text: bytes
    raw: bytes
    # Each placeholder's run, by number: (start, end) in `raw`.
    runs: list[tuple[int, int]] = field(default_factory=list)
    nonce: str = ""

    def restored(self, payload: str) -> str:
        """A part's payload, as the parser read it from `text`, with the runs its
        placeholders stand for put back, each up to what the body text keeps."""
        if not self.runs:
            return payload
        return _PLACEHOLDER.sub(self._run, payload)

    def _run(self, match: re.Match[str]) -> str:
        if match[1] != self.nonce:
            return match[0]
        start, end = self.runs[int(match[2])]
        end = min(end, self.raw.rfind(b"\n", start, start + _RUN_KEPT) + 1 or end)
        # The parser keeps the placeholder's line ending, except the last one of a
        # part, which belongs to the boundary after it.
        run = self.raw[start:end].rstrip(b"\r\n").decode("ascii")
        return run + (match[3] or "")


def cut_payloads(raw: bytes) -> Cut:
    """The original with each base64 run of `_RUN_MIN` bytes or more replaced by a
    placeholder line. Its nonce is new for each call, so that no message can hold a
    line that would be taken for one."""
    nonce = secrets.token_hex(8)
    token = f"MAILSYNC{nonce}X"
    pieces: list[bytes] = []
    runs: list[tuple[int, int]] = []
    kept_to = 0
    position = 0
    while first := _RUN_START.search(raw, position):
        start = first.start(1)
        end = _same_length_lines_end(raw, start, first.end(1) - start, first[2])
        end = position = _RUN_REST.match(raw, end).end()  # type: ignore[union-attr]
        if end - start < _RUN_MIN:
            continue
        ending = b"\r\n" if raw[end - 2 : end] == b"\r\n" else b"\n"
        pieces += [raw[kept_to:start], f"{token}{len(runs)}".encode(), ending]
        runs.append((start, end))
        kept_to = end
    if not runs:
        return Cut(raw, raw)
    return Cut(b"".join([*pieces, raw[kept_to:]]), raw, runs, nonce)


def _same_length_lines_end(raw: bytes, start: int, length: int, ending: bytes) -> int:
    """Where the base64 lines from `start` as long as the first one (`length` bytes with
    its `ending`) end: most of a run, found without reading it a byte at a time in
    Python or in a pattern.

    A window of lines at a time: those whose last byte is a line feed are counted from
    every `length`-th byte, then checked: base64 and one line ending each, in its place.
    The run ends before a window that is not (and `_RUN_REST` reads on). Windows start
    small and double, so that finding a run costs about its length.
    """
    end = start
    window = _FIRST_WINDOW
    while True:
        feeds = raw[end + length - 1 : end + window * length : length]
        count = len(feeds) - len(feeds.lstrip(b"\n"))
        block = raw[end : end + count * length]
        # A lone carriage return ends a line too, for the parser.
        returns = block[length - 2 :: length] if ending == b"\r\n" else b""
        if block.translate(None, _BASE64_ALPHABET) != ending * count or returns.strip(b"\r"):
            return end
        end += count * length
        if count < window:
            return end
        window = min(2 * window, max(1, _CHECKED_AT_ONCE // length))
