"""Partial responses: Google's `fields` parameter, checked against each method's resource.

The syntax is Google's: `a,b` selects fields, `a/b` a field of a field, `a(b,c)` some
fields of each element of `a` (or of the object `a`), and `*` every field at its level,
e.g. `messages(id,threadId),nextPageToken` or `id,payload/headers`. A field the
resource does not have is a 400 "Invalid field selection", as at Google.
"""

from typing import Any

# A selection: field name -> the selection within it, or None for the whole field.
Selection = dict[str, "Selection | None"]
# A resource's shape: field name -> the shape within it, or None for a plain value.
Schema = dict[str, "Schema | None"]

_HEADER: Schema = {"name": None, "value": None}
_BODY: Schema = {"attachmentId": None, "size": None, "data": None}
PART: Schema = {
    "partId": None,
    "mimeType": None,
    "filename": None,
    "headers": _HEADER,
    "body": _BODY,
}
PART["parts"] = PART
MESSAGE: Schema = {
    "id": None,
    "threadId": None,
    "labelIds": None,
    "snippet": None,
    "historyId": None,
    "internalDate": None,
    "payload": PART,
    "sizeEstimate": None,
    "raw": None,
}
THREAD: Schema = {"id": None, "snippet": None, "historyId": None, "messages": MESSAGE}
_LABEL_CHANGE: Schema = {"message": MESSAGE, "labelIds": None}
_HISTORY: Schema = {
    "id": None,
    "messages": MESSAGE,
    "messagesAdded": {"message": MESSAGE},
    "messagesDeleted": {"message": MESSAGE},
    "labelsAdded": _LABEL_CHANGE,
    "labelsRemoved": _LABEL_CHANGE,
}
_LABEL: Schema = {
    name: None
    for name in (
        "id",
        "name",
        "type",
        "messageListVisibility",
        "labelListVisibility",
        "messagesTotal",
        "messagesUnread",
        "threadsTotal",
        "threadsUnread",
        "color",
    )
}
SCHEMAS: dict[str, Schema] = {
    "users.getProfile": {
        "emailAddress": None,
        "messagesTotal": None,
        "threadsTotal": None,
        "historyId": None,
    },
    "labels.list": {"labels": _LABEL},
    "messages.list": {"messages": MESSAGE, "nextPageToken": None, "resultSizeEstimate": None},
    "messages.get": MESSAGE,
    "messages.attachments.get": {"attachmentId": None, "size": None, "data": None},
    "threads.list": {"threads": THREAD, "nextPageToken": None, "resultSizeEstimate": None},
    "threads.get": THREAD,
    "history.list": {"history": _HISTORY, "nextPageToken": None, "historyId": None},
}


class InvalidFields(ValueError):
    """A `fields` value that is not well formed, or names a field the resource lacks."""


def parse(expression: str, schema: Schema) -> Selection:
    """The selection `expression` makes, checked against `schema`."""
    selection, rest = _fields(expression.replace(" ", ""), 0)
    if rest != len(expression.replace(" ", "")) or not selection:
        raise InvalidFields(f"Invalid field selection {expression}")
    _check(selection, schema)
    return selection


def select(value: Any, selection: Selection | None) -> Any:
    """`value` with only the selected fields (lists: of each element)."""
    if selection is None or "*" in selection:
        return value
    if isinstance(value, list):
        return [select(item, selection) for item in value]
    if not isinstance(value, dict):
        return value
    return {name: select(value[name], selection[name]) for name in selection if name in value}


def _fields(text: str, at: int) -> tuple[Selection, int]:
    """Parse `field(,field)*` from `at`; returns the selection and where it stopped."""
    selection: Selection = {}
    while True:
        at = _field(text, at, selection)
        if at < len(text) and text[at] == ",":
            at += 1
            continue
        return selection, at


def _field(text: str, at: int, into: Selection) -> int:
    """Parse `name(/name)*` and an optional `(fields)`, merging it into `into`."""
    start = at
    while at < len(text) and (text[at].isalnum() or text[at] in "_*/"):
        at += 1
    path = text[start:at].split("/")
    if not all(path):
        raise InvalidFields(f"Invalid field selection {text}")
    inner: Selection | None = None
    if at < len(text) and text[at] == "(":
        inner, at = _fields(text, at + 1)
        if at >= len(text) or text[at] != ")":
            raise InvalidFields(f"Invalid field selection {text}")
        at += 1
    for name in path[:-1]:
        child = into.setdefault(name, {})
        if child is None:
            return at  # the whole field is selected already
        into = child
    existing = into.get(path[-1], {})
    if existing is not None:
        into[path[-1]] = None if inner is None else {**existing, **inner}
    return at


def _check(selection: Selection, schema: Schema) -> None:
    for name, inner in selection.items():
        if name == "*":
            continue
        if name not in schema:
            raise InvalidFields(f"Invalid field selection {name}")
        if inner is not None:
            below = schema[name]
            if below is None:
                raise InvalidFields(f"Invalid field selection {name}")
            _check(inner, below)
