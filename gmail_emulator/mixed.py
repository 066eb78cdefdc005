"""A generated message with attachments: its pooled body and its files in a multipart/mixed.

The files' bytes are blobs, made only when asked for, so the parts tree and the size
of a 30 MB message cost what a small one does. Each piece is written the way the
`email` package would parse it back (a test parses whole messages to check).
"""

import dataclasses
import hashlib
from email.utils import encode_rfc2231
from typing import NamedTuple

from . import mime
from .blobs import Blob

# What files of each type start with, so that the bytes look like what they claim to be.
MAGIC = {
    "application/pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "application/zip": b"PK\x03\x04\x14\x00\x00\x00",
    "video/mp4": b"\x00\x00\x00\x20ftypisom",
}
# Office documents are zip files too.
_ZIP = MAGIC["application/zip"]


class Attachment(NamedTuple):
    filename: str
    mime_type: str
    size: int


Chunk = bytes | Blob


def with_attachments(
    *,
    message_id: str,
    header_block: bytes,
    body_raw: bytes,
    body_root: mime.Part,
    attachments: tuple[Attachment, ...],
) -> tuple[mime.Part, tuple[Chunk, ...]]:
    """The parts tree and the raw message (as chunks) of the body followed by the files."""
    boundary = "0000000000" + hashlib.sha256(message_id.encode()).hexdigest()[:18]
    delimiter = f"--{boundary}\r\n".encode()
    container = (
        f'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="{boundary}"\r\n'
    ).encode()
    chunks: list[Chunk] = [header_block + container + b"\r\n" + delimiter + body_raw + b"\r\n"]
    parts = [_renumbered(body_root, "0")]
    for index, attachment in enumerate(attachments, start=1):
        head = _attachment_head(message_id, index, attachment)
        blob = Blob(
            f"{message_id}/{index}",
            attachment.size,
            MAGIC.get(attachment.mime_type, _ZIP),
        )
        chunks += [delimiter + head + b"\r\n", blob]
        parsed = mime.parse_message(head + b"\r\n").root
        parts.append(dataclasses.replace(parsed, part_id=str(index), blob=blob))
    chunks.append(f"--{boundary}--\r\n".encode())
    root = mime.Part(
        part_id="",
        mime_type="multipart/mixed",
        filename="",
        headers=mime.header_json(mime.header_pairs(header_block + container)),
        parts=tuple(parts),
    )
    return root, tuple(chunks)


def _attachment_head(message_id: str, index: int, attachment: Attachment) -> bytes:
    """The part's headers as Gmail's web client writes them (RFC 2231 for other names)."""
    attachment_id = f"f_{hashlib.sha256(f'{message_id}/{index}'.encode()).hexdigest()[:9]}"
    name = attachment.filename
    if name.isascii():
        content_type = f'{attachment.mime_type}; name="{name}"'
        disposition = f'attachment; filename="{name}"'
    else:
        encoded = encode_rfc2231(name, "utf-8")
        content_type = f"{attachment.mime_type}; name*={encoded}"
        disposition = f"attachment; filename*={encoded}"
    lines = [
        f"Content-Type: {content_type}",
        f"Content-Disposition: {disposition}",
        "Content-Transfer-Encoding: base64",
        f"Content-ID: <{attachment_id}>",
        f"X-Attachment-Id: {attachment_id}",
    ]
    return "".join(line + "\r\n" for line in lines).encode("ascii")


def _renumbered(part: mime.Part, part_id: str) -> mime.Part:
    """A pooled body's tree as part `part_id` of a bigger one (Gmail numbers "0.1" and so on)."""
    children = tuple(
        _renumbered(child, f"{part_id}.{index}") for index, child in enumerate(part.parts)
    )
    return dataclasses.replace(part, part_id=part_id, parts=children)
