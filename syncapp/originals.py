"""Each message's original (its RFC 822 source, byte for byte), kept in the "mail" storage.

The only code that reads or writes that storage. An original is compressed with
Zstandard (level 3: on the emulator's realistic mail about as small as gzip's best and
over ten times faster than gzip's fastest, so storing costs little beside fetching) and named by
the sha256 of its bytes, so identical originals (the same mail in two mailboxes) are
stored once; a `Blob` row stands for each, and a message refers to its blob. Blobs no
message refers to any more are deleted (`blobs_delete_unused`), after the transaction
that deleted their last message has committed; row locks keep a deletion and a sync
storing the same original from passing each other.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message as EmailMessage

import zstandard
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, storages
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from syncapp.gmail.parse import parse_email
from syncapp.models import Blob, Message

# Blobs deleted per transaction.
CHUNK = 500
ZSTD_LEVEL = 3
# A compressor serves one thread at a time: each fetching thread keeps its own.
_compressors = threading.local()
# An original up to SPOOLED_MAX is compressed in one call, in memory; a larger one
# COMPRESS_CHUNK bytes at a time, into a file.
COMPRESS_CHUNK = 1 << 20
SPOOLED_MAX = 1 << 20


class OriginalMissing(Exception):
    """The message has no stored original (synced before originals were kept)."""


class OriginalLost(Exception):
    """An original found stored when it arrived was deleted (its last user was) before
    its message was written; the batch is not stored, and a retry fetches it again."""


@dataclass(frozen=True, slots=True)
class StoredOriginal:
    sha256: str
    size: int
    stored_size: int


def mail_storage() -> Storage:
    return storages["mail"]


def blob_name(sha256: str) -> str:
    """Where an original is stored: fanned out, so that no folder holds millions."""
    return f"originals/{sha256[:2]}/{sha256[2:4]}/{sha256}.eml.zst"


def original_put(raw: bytes) -> StoredOriginal:
    """Store an original unless the same bytes are stored already.

    Called as each message arrives, before its row is written; the `Blob` row is
    written with the message's (`blobs_register`), in the same transaction.
    """
    sha256 = hashlib.sha256(raw).hexdigest()
    storage, name = mail_storage(), blob_name(sha256)
    if storage.exists(name):
        return StoredOriginal(sha256, len(raw), storage.size(name))
    if len(raw) <= SPOOLED_MAX:
        compressed = _compressor().compress(raw)
        storage.save(name, ContentFile(compressed))
        return StoredOriginal(sha256, len(raw), len(compressed))
    # A large one is compressed a chunk at a time into a file that spills to disk, so
    # that it is not held a second time, compressed, in memory. The frame names the
    # original's size, so that it can also be decompressed in one call.
    with tempfile.SpooledTemporaryFile(max_size=SPOOLED_MAX) as spooled:
        with _compressor().stream_writer(spooled, size=len(raw), closefd=False) as writer:
            view = memoryview(raw)
            for start in range(0, len(raw), COMPRESS_CHUNK):
                writer.write(view[start : start + COMPRESS_CHUNK])
        stored_size = spooled.tell()
        spooled.seek(0)
        storage.save(name, File(spooled))
    return StoredOriginal(sha256, len(raw), stored_size)


def _compressor() -> zstandard.ZstdCompressor:
    compressor = getattr(_compressors, "compressor", None)
    if compressor is None:
        compressor = _compressors.compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    return compressor


def blobs_register(*, originals: Iterable[StoredOriginal]) -> None:
    """Record stored originals, in the transaction that writes their messages.

    The rows recorded already are locked until it commits, so that no deletion takes
    them meanwhile; a deletion under way is waited for, and then its blobs count as
    new. A new blob's file is checked: `original_put` may have found it just before a
    deletion removed it (OriginalLost).
    """
    originals = list(originals)
    with transaction.atomic():
        known = set(
            Blob.objects.select_for_update()
            .filter(sha256__in=[o.sha256 for o in originals])
            .values_list("sha256", flat=True)
        )
        Blob.objects.bulk_create(
            [Blob(sha256=o.sha256, size=o.size, stored_size=o.stored_size) for o in originals],
            ignore_conflicts=True,
        )
        storage = mail_storage()
        lost = [
            o.sha256
            for o in originals
            if o.sha256 not in known and not storage.exists(blob_name(o.sha256))
        ]
        if lost:
            raise OriginalLost(f"{len(lost)} original(s) deleted while being stored: {lost[0]}")


@contextmanager
def original_open(
    *, message: Message
) -> Iterator[io.BufferedReader[zstandard.ZstdDecompressionReader]]:
    """The message's original as a stream of its bytes (decompressed as it is read)."""
    if message.original_id is None:
        raise OriginalMissing(f"message {message.gmail_id} has no stored original")
    with (
        mail_storage().open(blob_name(message.original_id), "rb") as stored,
        io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(stored)) as original,
    ):
        yield original


def original_bytes(*, message: Message) -> bytes:
    """The message's original, byte for byte."""
    with original_open(message=message) as original:
        return original.read()


def original_email(*, message: Message) -> EmailMessage:
    """The message's original parsed by the `email` package (policy.default): its
    headers and parts, for what shows or extracts them (attachments, HTML)."""
    return parse_email(original_bytes(message=message))


def blobs_delete_unused(*, sha256s: Iterable[str]) -> int:
    """Delete those of these blobs that no message refers to; returns how many."""
    wanted = list(dict.fromkeys(sha256s))
    return sum(_delete_unused(wanted[i : i + CHUNK]) for i in range(0, len(wanted), CHUNK))


def blobs_prune() -> int:
    """Delete every blob no message refers to (those of mailboxes deleted at once,
    by a cascade), a chunk at a time."""
    deleted = 0
    after = ""
    while True:
        chunk = list(
            Blob.objects.filter(sha256__gt=after)
            .order_by("sha256")
            .values_list("sha256", flat=True)[:CHUNK]
        )
        if not chunk:
            return deleted
        after = chunk[-1]
        deleted += _delete_unused(chunk)


def _delete_unused(chunk: list[str]) -> int:
    """Delete the unused blobs of a chunk, rows and files, in one transaction.

    Their rows stay locked until the files are gone, so that a sync storing the same
    original meanwhile waits (`blobs_register`) and then finds it gone. A blob that a
    message started to use meanwhile is protected (PROTECT, and the foreign key) and
    kept: the chunk is left for a later pass.
    """
    try:
        with transaction.atomic():
            gone = list(
                Blob.objects.select_for_update(of=("self",))
                .filter(sha256__in=chunk, messages__isnull=True)
                .values_list("sha256", flat=True)
            )
            Blob.objects.filter(sha256__in=gone).delete()
            # The foreign key is checked now, not at commit (after the files are gone).
            _check_constraints_now()
            storage = mail_storage()
            for sha256 in gone:
                storage.delete(blob_name(sha256))
    except (IntegrityError, ProtectedError):
        return 0
    return len(gone)


def _check_constraints_now() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
