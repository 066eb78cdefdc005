"""Export: messages' stored originals as one mbox file or a zip of .eml files, streamed.

Each message goes out as its original, byte for byte, read from the mail storage a
slice at a time and handed on in chunks, so that memory stays flat whatever the number
of messages (the messages come from an iterator, never a list).

mbox is mboxrd: each message is a `From ` line, the original with every line that
matches `^>*From ` given one more `>`, and one `\n`; removing that `\n` and one `>`
from those lines gives the original back exactly, whatever its line endings.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator
from datetime import UTC

from django.db import models

from syncapp.models import Message
from syncapp.originals import original_open

# Bytes gathered before a chunk is handed on.
CHUNK = 64 * 1024
_FROM_LINE = re.compile(rb">*From ")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


class ExportFormat(models.TextChoices):
    MBOX = "mbox", "mbox (mboxrd)"
    EML = "eml", "zip of .eml files"


def export_chunks(*, messages: Iterable[Message], format: ExportFormat) -> Iterator[bytes]:
    if format == ExportFormat.MBOX:
        return mbox_chunks(messages=messages)
    return eml_zip_chunks(messages=messages)


def export_filename(*, name: str, format: ExportFormat) -> str:
    return _UNSAFE_NAME.sub("_", name) + (".mbox" if format == ExportFormat.MBOX else ".zip")


def mbox_chunks(*, messages: Iterable[Message]) -> Iterator[bytes]:
    buffer = bytearray()
    for message in messages:
        when = message.internal_date.astimezone(UTC).strftime("%a %b %d %H:%M:%S %Y")
        buffer += f"From MAILER-DAEMON {when}\n".encode()
        with original_open(message=message) as original:
            for line in original:
                if _FROM_LINE.match(line):
                    buffer += b">"
                buffer += line
                if len(buffer) >= CHUNK:
                    yield bytes(buffer)
                    buffer.clear()
        buffer += b"\n"
        if len(buffer) >= CHUNK:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


class _Sink:
    """A write-only file that zipfile writes to and the generator empties."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        self.buffer += data
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: the generator takes what was written."""

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


def eml_zip_chunks(*, messages: Iterable[Message]) -> Iterator[bytes]:
    """A zip (deflated, written as it goes: zipfile sees a stream it cannot seek)."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:  # type: ignore[call-overload]
        for message in messages:
            with (
                original_open(message=message) as original,
                archive.open(eml_name(message), "w") as entry,
            ):
                while data := original.read(CHUNK):
                    entry.write(data)
                    if len(sink.buffer) >= CHUNK:
                        yield sink.take()
            yield sink.take()
    yield sink.take()


def eml_name(message: Message) -> str:
    """Sorted by date in any file manager, and unique in the mailbox by Gmail's id."""
    when = message.internal_date.astimezone(UTC).strftime("%Y-%m-%dT%H%M%S")
    return f"{when}-{_UNSAFE_NAME.sub('_', message.gmail_id)}.eml"
