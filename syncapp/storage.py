"""The only code that writes synced mail (messages and labels) to the database."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import Field, QuerySet

from syncapp.gmail.parse import CONTENT_FIELDS, ParsedMessage, clean_text
from syncapp.models import Label, LabelMembership, Mailbox, Message
from syncapp.originals import StoredOriginal, blobs_delete_unused, blobs_register

# A ParsedMessage's own fields, then its content's; sync_mark comes from the sync.
_METADATA_FIELDS = [
    "thread_id",
    "label_ids",
    "history_id",
    "internal_date",
    "snippet",
    "size_estimate",
    "original",
]
UPSERT_FIELDS = [*_METADATA_FIELDS, *CONTENT_FIELDS, "sync_mark"]
# Keeps each IN (...) list well below SQLite's limit on bound parameters.
CHUNK = 500


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def messages_known(*, mailbox: Mailbox, gmail_ids: Iterable[str]) -> dict[str, str]:
    """Which of these ids are stored, each with the mark of the full sync that last saw it."""
    known: dict[str, str] = {}
    for chunk in _chunks(list(gmail_ids)):
        known.update(
            Message.objects.filter(mailbox=mailbox, gmail_id__in=chunk).values_list(
                "gmail_id", "sync_mark"
            )
        )
    return known


def threads_with_messages(*, mailbox: Mailbox, thread_ids: Iterable[str]) -> set[str]:
    """Which of these threads have a message stored."""
    found: set[str] = set()
    for chunk in _chunks(list(thread_ids)):
        found.update(
            Message.objects.filter(mailbox=mailbox, thread_id__in=chunk)
            .values_list("thread_id", flat=True)
            .distinct()
        )
    return found


def messages_upsert(
    *,
    mailbox: Mailbox,
    messages: list[ParsedMessage],
    originals: Iterable[StoredOriginal] = (),
    mark: str = "",
) -> None:
    """Record the batch's stored originals, then insert or update its messages in
    one statement.

    Written as SQL because bulk_create spends more time compiling a batch than
    the database spends storing it; the values still go through each field's
    own preparation, so both SQLite and PostgreSQL get their types.
    """
    if not messages:
        return
    blobs_register(originals=originals)
    rows = {parsed.gmail_id: parsed for parsed in messages}.values()
    params: list[Any] = []
    for parsed in rows:
        values = [
            *(getattr(parsed, name) for name in ["gmail_id", *_METADATA_FIELDS]),
            *(getattr(parsed.content, name) for name in CONTENT_FIELDS),
        ]
        params.append(mailbox.pk)
        params.extend(
            field.get_db_prep_save(value, connection)
            for field, value in zip(_UPSERT_MODEL_FIELDS, [*values, mark], strict=True)
        )
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(len(rows)), params)


def _upsert_fields(names: list[str]) -> tuple[list[Field[Any, Any]], list[str]]:
    """Message's fields of these names, and their columns."""
    fields: list[Field[Any, Any]] = []
    columns: list[str] = []
    for name in names:
        field = Message._meta.get_field(name)
        # Each name is a column of Message itself, not the far end of a relation.
        assert isinstance(field, Field) and field.column is not None, name
        fields.append(field)
        columns.append(field.column)
    return fields, columns


# The columns an upsert writes after mailbox_id.
_UPSERT_MODEL_FIELDS, _UPSERT_COLUMNS = _upsert_fields(["gmail_id", *UPSERT_FIELDS])


def _upsert_sql(row_count: int) -> str:
    quote = connection.ops.quote_name
    columns = ["mailbox_id", *_UPSERT_COLUMNS]
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    updates = ", ".join(
        f"{quote(column)} = excluded.{quote(column)}" for column in _UPSERT_COLUMNS[1:]
    )
    return (
        f"INSERT INTO {quote(Message._meta.db_table)} ({', '.join(map(quote, columns))}) "
        f"VALUES {', '.join([row] * row_count)} "
        f"ON CONFLICT ({quote('mailbox_id')}, {quote('gmail_id')}) DO UPDATE SET {updates}"
    )


def messages_mark_seen(*, mailbox: Mailbox, gmail_ids: list[str], mark: str) -> None:
    """Record that a full sync saw these ids in Gmail's listing."""
    for chunk in _chunks(gmail_ids):
        Message.objects.filter(mailbox=mailbox, gmail_id__in=chunk).update(sync_mark=mark)


# Rows one big deletion removes per transaction: on SQLite the writer lock is
# released between chunks, so that progress, heartbeats and pages get their turn.
DELETE_CHUNK = 2000


def delete_in_chunks(rows: QuerySet[Any], *, chunk: int | None = None) -> int:
    """Delete these rows `chunk` (DELETE_CHUNK) at a time, each chunk its own
    transaction (unless the caller holds one), so that on SQLite the writer lock is
    released between them; returns how many rows went, cascades included."""
    size = chunk or DELETE_CHUNK
    deleted = 0
    while True:
        ids = list(rows.order_by().values_list("pk", flat=True)[:size])
        if not ids:
            return deleted
        count, _ = rows.model.objects.filter(pk__in=ids).delete()
        deleted += count


def messages_delete_unseen(*, mailbox: Mailbox, mark: str, limit: int = DELETE_CHUNK) -> int:
    """Delete up to `limit` of what the full sync with this mark did not see (it is
    gone from Gmail); call again, in a new transaction, while it returns `limit`."""
    unseen = Message.objects.filter(mailbox=mailbox).exclude(sync_mark=mark).order_by()
    return _delete_with_originals(unseen, limit=limit)


def messages_delete(*, mailbox: Mailbox, gmail_ids: Iterable[str]) -> int:
    deleted = 0
    for chunk in _chunks(list(gmail_ids)):
        deleted += _delete_with_originals(
            Message.objects.filter(mailbox=mailbox, gmail_id__in=chunk), limit=CHUNK
        )
    return deleted


def mailbox_delete(*, mailbox: Mailbox) -> None:
    """Delete a mailbox: its messages a chunk per transaction (see DELETE_CHUNK),
    the originals only they used, then the rest of it."""
    messages = Message.objects.filter(mailbox=mailbox).order_by()
    while True:
        with transaction.atomic():
            if _delete_with_originals(messages, limit=DELETE_CHUNK) < DELETE_CHUNK:
                break
    mailbox.delete()


def _delete_with_originals(messages: QuerySet[Message], *, limit: int) -> int:
    """Delete up to `limit` of these messages; once that has committed, the originals
    that only they used."""
    rows = list(messages.values_list("pk", "original_id")[:limit])
    if not rows:
        return 0
    deleted, _ = Message.objects.filter(pk__in=[pk for pk, _ in rows]).delete()
    originals = {sha256 for _, sha256 in rows if sha256}
    if originals:
        transaction.on_commit(lambda: blobs_delete_unused(sha256s=originals))
    return deleted


def messages_set_labels(*, mailbox: Mailbox, labels: dict[str, list[str]]) -> int:
    """Replace the label ids of stored messages; returns how many rows changed."""
    changed = []
    for chunk in _chunks(list(labels)):
        for message in Message.objects.filter(mailbox=mailbox, gmail_id__in=chunk).only(
            "id", "gmail_id", "label_ids"
        ):
            wanted = sorted(labels[message.gmail_id])
            if sorted(message.label_ids) != wanted:
                message.label_ids = wanted
                changed.append(message)
    Message.objects.bulk_update(changed, ["label_ids"], batch_size=CHUNK)
    return len(changed)


def message_id_chunks(*, mailbox: Mailbox) -> Iterable[list[str]]:
    """Every stored message id of the mailbox, a chunk at a time."""
    last_pk = 0
    while True:
        rows = list(
            Message.objects.filter(mailbox=mailbox, pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", "gmail_id")[:CHUNK]
        )
        if not rows:
            return
        last_pk = rows[-1][0]
        yield [gmail_id for _, gmail_id in rows]


def label_memberships_clear(*, mailbox: Mailbox) -> None:
    """Forget the mailbox's staged label memberships, a dead refresh's included."""
    LabelMembership.objects.filter(mailbox=mailbox).delete()


def label_memberships_add(*, mailbox: Mailbox, label_id: str, gmail_ids: list[str]) -> None:
    """Stage one page of Gmail's listing of a label: these messages carry it."""
    # Cleaned as a message's own label ids are; an id no message can have is skipped.
    label_id = clean_text(label_id, _STAGED_LABEL_MAX)
    if not label_id:
        return
    LabelMembership.objects.bulk_create(
        [
            LabelMembership(mailbox=mailbox, gmail_id=gmail_id, label_id=label_id)
            for gmail_id in gmail_ids
            if 0 < len(gmail_id) <= _STAGED_ID_MAX and clean_text(gmail_id) == gmail_id
        ],
        ignore_conflicts=True,
        batch_size=CHUNK,
    )


_STAGED_ID_MAX = LabelMembership._meta.get_field("gmail_id").max_length or 0
_STAGED_LABEL_MAX = LabelMembership._meta.get_field("label_id").max_length


def messages_apply_label_memberships(*, mailbox: Mailbox, after_pk: int) -> tuple[int, int] | None:
    """Give the next chunk of stored messages (by pk) exactly their staged labels.

    Returns how many of them changed and the chunk's last pk, or None when no
    message is stored past `after_pk`. The chunk's staged rows go with it.
    """
    rows = list(
        Message.objects.filter(mailbox=mailbox, pk__gt=after_pk)
        .order_by("pk")
        .values_list("pk", "gmail_id", "label_ids")[:CHUNK]
    )
    if not rows:
        return None
    staged = LabelMembership.objects.filter(
        mailbox=mailbox, gmail_id__in=[gmail_id for _, gmail_id, _ in rows]
    )
    wanted: dict[str, list[str]] = defaultdict(list)
    for gmail_id, label_id in staged.values_list("gmail_id", "label_id"):
        wanted[gmail_id].append(label_id)
    changed = [
        Message(pk=pk, label_ids=sorted(wanted[gmail_id]))
        for pk, gmail_id, label_ids in rows
        if sorted(label_ids) != sorted(wanted[gmail_id])
    ]
    Message.objects.bulk_update(changed, ["label_ids"], batch_size=CHUNK)
    staged.delete()
    return len(changed), rows[-1][0]


def messages_labels(*, mailbox: Mailbox, gmail_ids: Iterable[str]) -> dict[str, list[str]]:
    """The stored label ids of these messages."""
    labels: dict[str, list[str]] = {}
    for chunk in _chunks(list(gmail_ids)):
        labels.update(
            Message.objects.filter(mailbox=mailbox, gmail_id__in=chunk).values_list(
                "gmail_id", "label_ids"
            )
        )
    return labels


def labels_replace(*, mailbox: Mailbox, labels: list[dict]) -> None:
    """Make the mailbox's labels those Gmail listed."""
    with transaction.atomic():
        Label.objects.bulk_create(
            [
                Label(
                    mailbox=mailbox,
                    label_id=clean_text(label["id"], 255),
                    name=clean_text(str(label.get("name", label["id"])), 255),
                    type=clean_text(str(label.get("type", "")), 16),
                )
                for label in labels
            ],
            update_conflicts=True,
            unique_fields=["mailbox", "label_id"],
            update_fields=["name", "type"],
        )
        Label.objects.filter(mailbox=mailbox).exclude(
            label_id__in=[clean_text(label["id"], 255) for label in labels]
        ).delete()
