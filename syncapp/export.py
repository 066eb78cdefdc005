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
from collections.abc import Iterable, Iterator
from datetime import UTC
from functools import partial

from django.db import models

from syncapp.models import Message
from syncapp.originals import original_open
from syncapp.zipstream import ZipStream

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
    yield from _gathered(_mbox_parts(messages))


def _mbox_parts(messages: Iterable[Message]) -> Iterator[bytes]:
    for message in messages:
        when = message.internal_date.astimezone(UTC).strftime("%a %b %d %H:%M:%S %Y")
        yield f"From MAILER-DAEMON {when}\n".encode()
        with original_open(message=message) as original:
            for line in original:
                yield b">" + line if _FROM_LINE.match(line) else line
        yield b"\n"


def eml_zip_chunks(*, messages: Iterable[Message]) -> Iterator[bytes]:
    """A zip of one .eml file per message (syncapp.zipstream: memory stays flat)."""
    with ZipStream() as archive:
        yield from _gathered(_zip_parts(archive, messages))


def _zip_parts(archive: ZipStream, messages: Iterable[Message]) -> Iterator[bytes]:
    for message in messages:
        with original_open(message=message) as original:
            contents = iter(partial(original.read, CHUNK), b"")
            yield from archive.entry(eml_name(message), message.internal_date, contents)
    yield from archive.finish()


def _gathered(parts: Iterable[bytes]) -> Iterator[bytes]:
    """The parts in chunks of about CHUNK bytes (not one tiny write per part)."""
    buffer = bytearray()
    for part in parts:
        buffer += part
        if len(buffer) >= CHUNK:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


def eml_name(message: Message) -> str:
    """Sorted by date in any file manager, and unique in the mailbox by Gmail's id."""
    when = message.internal_date.astimezone(UTC).strftime("%Y-%m-%dT%H%M%S")
    return f"{when}-{_UNSAFE_NAME.sub('_', message.gmail_id)}.eml"
