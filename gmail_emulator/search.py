"""Which messages a listing shows: `labelIds`, `includeSpamTrash` and the `q` search together.

`q` supports Gmail's operators on what the emulator knows of each message (its labels,
its date and its size): `in:`, `is:`, `label:`, `category:`, `after:`, `before:`,
`larger:`, `smaller:` (bytes, or with a K or M suffix: 1,000 and 1,000,000), each of them
negated with `-`, all of them ANDed. Anything else (free text, `from:`, `OR`, quotes,
parentheses...) is refused with a 400 rather than ignored: a sync tested here must not
rely on a search the emulator only pretends to run.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .content import content_size
from .generate import MessageRecord
from .labels import SPAM_TRASH, SYSTEM_LABELS, USER_LABELS

_IN = {
    "inbox": "INBOX",
    "sent": "SENT",
    "drafts": "DRAFT",
    "draft": "DRAFT",
    "spam": "SPAM",
    "trash": "TRASH",
    "starred": "STARRED",
    "important": "IMPORTANT",
}
_IS = {"unread": "UNREAD", "starred": "STARRED", "important": "IMPORTANT"}
_CATEGORIES = {
    "primary": "CATEGORY_PERSONAL",
    "social": "CATEGORY_SOCIAL",
    "promotions": "CATEGORY_PROMOTIONS",
    "updates": "CATEGORY_UPDATES",
    "forums": "CATEGORY_FORUMS",
}
_SIZE_UNITS = {"": 1, "K": 1000, "M": 1_000_000}
SUPPORTED = "in:, is:, label:, category:, after:, before:, larger:, smaller: and - (negation)"

Predicate = Callable[[MessageRecord], bool]


class UnsupportedQuery(ValueError):
    """A `q` the emulator cannot run; the message says which part."""


@dataclass(frozen=True)
class Search:
    """A parsed `q`: every term must hold (or, negated, must not)."""

    text: str
    # (negated, predicate) per term; compared by the text alone.
    terms: tuple[tuple[bool, Predicate], ...] = field(compare=False)
    # in:spam, in:trash or in:anywhere lift the usual exclusion of spam and trash.
    names_spam_or_trash: bool = field(compare=False)

    def matches(self, record: MessageRecord) -> bool:
        return all(test(record) != negated for negated, test in self.terms)


@dataclass(frozen=True)
class Filter:
    required: frozenset[str]
    excluded: frozenset[str]
    search: Search | None = None

    def matches(self, record: MessageRecord) -> bool:
        labels = record.label_ids
        return (
            self.required.issubset(labels)
            and self.excluded.isdisjoint(labels)
            and (self.search is None or self.search.matches(record))
        )


def listing_filter(label_ids: list[str], include_spam_trash: bool, q: str | None) -> Filter:
    required = frozenset(label_ids)
    search = parse(q) if q and q.strip() else None
    # Asking for SPAM or TRASH, by label or in the search, lists them without
    # includeSpamTrash.
    if include_spam_trash or (search is not None and search.names_spam_or_trash):
        excluded: frozenset[str] = frozenset()
    else:
        excluded = SPAM_TRASH - required
    return Filter(required, excluded, search)


def parse(q: str) -> Search:
    terms = []
    names_spam_or_trash = False
    for token in q.split():
        negated = token.startswith("-") and len(token) > 1
        operator, colon, value = token.removeprefix("-").partition(":")
        if not colon or not value:
            raise UnsupportedQuery(_unsupported(token))
        test, lifts_exclusion = _term(operator.lower(), value, token)
        names_spam_or_trash = names_spam_or_trash or (lifts_exclusion and not negated)
        terms.append((negated, test))
    return Search(q, tuple(terms), names_spam_or_trash)


def _term(operator: str, value: str, token: str) -> tuple[Predicate, bool]:
    """The term's test, and whether it asks for spam or trash (which lifts their exclusion)."""
    lowered = value.lower()
    if operator == "in" and lowered == "anywhere":
        return (lambda record: True), True
    label = {
        "in": _IN.get(lowered),
        "is": _IS.get(lowered),
        "category": _CATEGORIES.get(lowered),
        "label": _label_id(lowered),
    }.get(operator)
    if label is not None:
        return (lambda record: label in record.label_ids), label in SPAM_TRASH
    if operator == "is" and lowered == "read":
        return (lambda record: "UNREAD" not in record.label_ids), False
    if operator in ("after", "before"):
        moment = _moment(value, token)
        if operator == "after":
            return (lambda record: record.internal_ms >= moment), False
        return (lambda record: record.internal_ms < moment), False
    if operator in ("larger", "smaller"):
        size = _size(value, token)
        if operator == "larger":
            return (lambda record: content_size(record.source) > size), False
        return (lambda record: content_size(record.source) < size), False
    raise UnsupportedQuery(_unsupported(token))


def _size(value: str, token: str) -> int:
    """The bytes of `larger:`/`smaller:`: a number, or one with a K or M suffix."""
    number, unit = (value[:-1], value[-1].upper()) if value[-1:].isalpha() else (value, "")
    if not number.isdigit() or unit not in _SIZE_UNITS:
        raise UnsupportedQuery(f"Invalid size in search query: {token}")
    return int(number) * _SIZE_UNITS[unit]


def _label_id(value: str) -> str | None:
    """A label by id or by name, written as Gmail's search writes it (lower case, `-`)."""
    for label_id in SYSTEM_LABELS:
        if value == label_id.lower():
            return label_id
    for label_id, name in USER_LABELS.items():
        if value in (label_id.lower(), name.lower().replace(" ", "-").replace("/", "-")):
            return label_id
    return None


def _moment(value: str, token: str) -> int:
    """Epoch milliseconds of `after:`/`before:`: seconds since the epoch, or a date (UTC)."""
    if value.isdigit():
        return int(value) * 1000
    for layout in ("%Y/%m/%d", "%Y-%m-%d"):
        try:
            day = datetime.strptime(value, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
        return int(day.timestamp() * 1000)
    raise UnsupportedQuery(f"Invalid date in search query: {token}")


def _unsupported(token: str) -> str:
    return f"Unsupported search query term {token!r}: the emulator supports {SUPPORTED}"
