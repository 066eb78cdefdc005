"""What parsing an original for its fields never needs to read: large base64 payloads.

A 25 MB attachment parsed whole would be held several times over by the `email`
parser, for fields that only note its name. So before parsing, the base64 of large
non-text parts is cut out, and that of text parts past what the body text keeps.
"""

from __future__ import annotations

import re

from syncapp.gmail.text import BODY_TEXT_MAX

# A run of base64 lines, as MIME writes a part's body (76 characters a line).
_BASE64_RUN = re.compile(rb"(?:^[A-Za-z0-9+/]{60,76}={0,2}\r?\n)+", re.MULTILINE)
_CONTENT_TYPE = re.compile(rb"^content-type:[ \t]*([^\s;]*)", re.IGNORECASE | re.MULTILINE)
# Runs shorter than this are left alone; a text part's run is kept up to _RUN_KEPT:
# that much base64 holds more text than the body text column, at 4 bytes a character.
_RUN_MIN = 64 * 1024
_RUN_KEPT = 6 * BODY_TEXT_MAX


def without_payloads(raw: bytes) -> bytes:
    """The original, cut as the module says. A part's type is read from the headers
    above its body; a part whose type is not found there is taken for text."""
    pieces = []
    kept_to = 0
    for run in _BASE64_RUN.finditer(raw):
        start, end = run.span()
        if end - start < _RUN_MIN:
            continue
        non_text = _non_text(raw, start)
        if not non_text and end - start <= _RUN_KEPT:
            continue
        keep = 0 if non_text else _RUN_KEPT
        cut = raw.rfind(b"\n", start, start + keep) + 1 if keep else start
        pieces += [raw[kept_to:cut]]
        kept_to = end
    if not pieces:
        return raw
    return b"".join([*pieces, raw[kept_to:]])


def _non_text(raw: bytes, start: int) -> bool:
    """Whether the part whose body starts at `start` says it is not text."""
    # Its headers follow the boundary line before them, if not too far above.
    above = max(start - _RUN_MIN, 0)
    types = _CONTENT_TYPE.findall(raw, max(raw.rfind(b"\n--", above, start), above), start)
    return bool(types) and not types[-1].lower().startswith(b"text/")
