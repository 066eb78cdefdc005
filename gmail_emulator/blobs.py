"""Attachment bytes made on demand, so that a mailbox of large attachments costs no memory.

A blob is `size` bytes of one kind of file (its first bytes are that kind's signature),
the same for the same key. Only `raw` and `attachments.get` ever need the bytes; the
parts tree and `sizeEstimate` need only their size, known without making them.
"""

import base64
import functools
import math
import random
from dataclasses import dataclass

_BLOCK = 64 * 1024
# base64.encodebytes writes 57 bytes (76 characters) a line.
_BYTES_PER_LINE = 57


@dataclass(frozen=True, slots=True)
class Blob:
    key: str
    size: int
    magic: bytes = b""  # what a file of its kind starts with

    def content(self) -> bytes:
        # Repeating one random block keeps a 25 MB attachment cheap to make.
        whole, rest = divmod(self.size, _BLOCK)
        block = _block(self.key)
        return (self.magic + block * whole + block[:rest])[: self.size]

    def mime_encoded(self) -> bytes:
        """The bytes as a MIME part carries them: base64 lines of 76 characters, CRLF."""
        return base64.encodebytes(self.content()).replace(b"\n", b"\r\n")

    def mime_encoded_size(self) -> int:
        characters = 4 * math.ceil(self.size / 3)
        return characters + 2 * math.ceil(self.size / _BYTES_PER_LINE)


@functools.lru_cache(maxsize=32)
def _block(key: str) -> bytes:
    return random.Random(f"blob:{key}").randbytes(_BLOCK)
