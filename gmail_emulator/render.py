"""Gmail API resources (messages in each format, threads, history records) as JSON dicts.

Key order follows what Gmail sends today. Like Gmail (proto3 JSON), empty
`labelIds` are left out rather than sent as [].
"""

import base64
import hashlib
from collections.abc import Iterable

from .content import content
from .generate import MessageRecord
from .mailbox import HistoryRecord
from .mime import Part

FORMATS = ("minimal", "metadata", "full", "raw")
HISTORY_TYPES = {
    "messageAdded": "messagesAdded",
    "messageDeleted": "messagesDeleted",
    "labelAdded": "labelsAdded",
    "labelRemoved": "labelsRemoved",
}
_ATTACHMENT_PREFIX = "ANGjdJ"


def message(record: MessageRecord, fmt: str, metadata_headers: Iterable[str] = ()) -> dict:
    out: dict = {"id": record.id, "threadId": record.thread_id}
    if record.label_ids:
        out["labelIds"] = list(record.label_ids)
    message_content = content(record.source)
    out["snippet"] = message_content.snippet
    if fmt == "full":
        out["payload"] = payload(message_content.root, record.id)
    elif fmt == "metadata":
        out["payload"] = _metadata_payload(message_content.root, metadata_headers)
    out["sizeEstimate"] = message_content.size
    if fmt == "raw":
        out["raw"] = base64.urlsafe_b64encode(message_content.raw()).decode("ascii")
    out["historyId"] = str(record.history_id)
    out["internalDate"] = str(record.internal_ms)
    return out


def thread(records: list[MessageRecord], fmt: str, metadata_headers: Iterable[str] = ()) -> dict:
    headers = tuple(metadata_headers)
    return {
        "id": records[0].thread_id,
        "historyId": str(max(r.history_id for r in records)),
        "messages": [message(r, fmt, headers) for r in records],
    }


def thread_summary(records: list[MessageRecord]) -> dict:
    return {
        "id": records[0].thread_id,
        "snippet": content(records[-1].source).snippet,
        "historyId": str(max(r.history_id for r in records)),
    }


def payload(part: Part, message_id: str) -> dict:
    node: dict = {
        "partId": part.part_id,
        "mimeType": part.mime_type,
        "filename": part.filename,
        "headers": part.headers,
    }
    if part.parts:
        node["body"] = {"size": 0}
        node["parts"] = [payload(child, message_id) for child in part.parts]
    elif part.is_attachment:
        node["body"] = {
            "attachmentId": attachment_id(message_id, part.part_id),
            "size": part.size,
        }
    elif part.body:
        node["body"] = {"size": part.size, "data": part.data}
    else:
        node["body"] = {"size": 0}
    return node


def attachment_id(message_id: str, part_id: str) -> str:
    """An opaque id naming one part of one message (Gmail's are long and opaque too)."""
    digest = hashlib.sha256(f"{message_id}/{part_id}".encode()).digest()
    token = base64.urlsafe_b64encode(part_id.encode() + b"/" + digest * 3)
    return _ATTACHMENT_PREFIX + token.decode("ascii").rstrip("=")


def attachment_part(root: Part, message_id: str, token: str) -> Part | None:
    """The attachment part an id from `attachment_id` names, or None."""
    if not token.startswith(_ATTACHMENT_PREFIX):
        return None
    encoded = token[len(_ATTACHMENT_PREFIX) :]
    try:
        decoded = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        part_id = decoded.split(b"/", 1)[0].decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    if attachment_id(message_id, part_id) != token:
        return None
    part = root.find(part_id)
    return part if part is not None and part.is_attachment else None


def history_record(
    record: HistoryRecord, types: frozenset[str], label_id: str | None
) -> dict | None:
    """One history record, or None when the historyTypes / labelId filters drop it."""
    if label_id and label_id not in record.label_ids + record.labels_removed:
        return None
    ref = {"id": record.message_id, "threadId": record.thread_id}
    full_ref: dict[str, str | list[str]] = dict(ref)
    if record.label_ids:
        full_ref["labelIds"] = list(record.label_ids)
    typed: dict = {}
    if record.change in ("messagesAdded", "messagesDeleted"):
        typed[record.change] = [{"message": full_ref}]
    if record.labels_added:
        typed["labelsAdded"] = [{"message": full_ref, "labelIds": list(record.labels_added)}]
    if record.labels_removed:
        typed["labelsRemoved"] = [{"message": full_ref, "labelIds": list(record.labels_removed)}]
    if types:
        typed = {field: value for field, value in typed.items() if field in types}
        if not typed:
            return None
    return {"id": str(record.id), "messages": [ref], **typed}


def _metadata_payload(root: Part, names: Iterable[str]) -> dict:
    wanted = {name.lower() for name in names}
    headers = [h for h in root.headers if not wanted or h["name"].lower() in wanted]
    node: dict = {"mimeType": root.mime_type}
    if headers:
        node["headers"] = headers
    return node
