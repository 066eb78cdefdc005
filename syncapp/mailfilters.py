"""Which messages a page or an export is about: a folder, a label, a search.

Folders are Gmail's system labels as a mail client shows them; All Mail is everything
but Spam and Trash, as in Gmail. Search is PostgreSQL's full-text search on PostgreSQL;
elsewhere (SQLite, for development) every word must appear in the subject, sender or
body, compared casefolded by Python so that it ignores case in every language (SQLite's
own LIKE folds ASCII letters only).
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, F, Func, Q, QuerySet, TextField
from django.db.models.functions import Left
from django.db.models.sql.compiler import SQLCompiler

from syncapp.models import Message

# The full-text index covers this much of each body: to_tsvector fails on
# values whose vector would pass 1 MB, and a failing index would fail the sync.
SEARCH_BODY_CHARS = 50_000
SEARCH_CONFIG = "english"
# SQLite scans every body once per word: a bound on the words bounds the scan.
SEARCH_WORDS_MAX = 8
# The SQL function registered on every SQLite connection (syncapp.apps).
CASEFOLD_FUNCTION = "mailsync_casefold"


class Folder(models.TextChoices):
    INBOX = "inbox", "Inbox"
    SENT = "sent", "Sent"
    DRAFTS = "drafts", "Drafts"
    SPAM = "spam", "Spam"
    TRASH = "trash", "Trash"
    ALL = "all", "All Mail"


FOLDER_LABELS = {
    Folder.INBOX: "INBOX",
    Folder.SENT: "SENT",
    Folder.DRAFTS: "DRAFT",
    Folder.SPAM: "SPAM",
    Folder.TRASH: "TRASH",
}
NOT_IN_ALL_MAIL = ("SPAM", "TRASH")


def casefold(value: str | None) -> str | None:
    """The SQLite function CASEFOLD_FUNCTION."""
    return None if value is None else value.casefold()


def sqlite_functions_register(*, connection: BaseDatabaseWrapper, **_: Any) -> None:
    """On connection_created: give SQLite the functions the filters call."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(CASEFOLD_FUNCTION, 1, casefold, deterministic=True)


class _HasLabel(Func):
    """SQLite: the JSON array of label ids holds this id (PostgreSQL uses jsonb containment)."""

    output_field = BooleanField()

    def __init__(self, label: str) -> None:
        super().__init__(F("label_ids"))
        self.label = label

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[str | int, ...]]:
        column, params = compiler.compile(self.source_expressions[0])
        sql = f"EXISTS (SELECT 1 FROM json_each({column}) AS label WHERE label.value = %s)"
        return sql, (*params, self.label)


def _has_label(label: str) -> Q | _HasLabel:
    if connection.vendor == "postgresql":
        # jsonb containment, served by the GIN index of migration 0002.
        return Q(label_ids__contains=[label])
    return _HasLabel(label)


def messages_with_label(*, messages: QuerySet[Message], label: str) -> QuerySet[Message]:
    return messages.filter(_has_label(label))


def messages_in_folder(*, messages: QuerySet[Message], folder: Folder) -> QuerySet[Message]:
    if folder == Folder.ALL:
        for label in NOT_IN_ALL_MAIL:
            messages = messages.exclude(_has_label(label))
        return messages
    return messages_with_label(messages=messages, label=FOLDER_LABELS[folder])


def message_search_vector() -> SearchVector:
    """The expression the full-text GIN index of migration 0002 is built on.

    A query uses that index only if it compares exactly this expression.
    """
    return SearchVector(
        "subject", "sender", Left("body_text", SEARCH_BODY_CHARS), config=SEARCH_CONFIG
    )


def messages_matching(*, messages: QuerySet[Message], query: str) -> QuerySet[Message]:
    if connection.vendor == "postgresql":
        search = SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
        return messages.alias(search=message_search_vector()).filter(search=search)
    # Every word, anywhere in subject, sender or body, as the full-text search does.
    folded = {
        f"{name}_folded": Func(F(name), function=CASEFOLD_FUNCTION, output_field=TextField())
        for name in ("subject", "sender", "body_text")
    }
    messages = messages.alias(**folded)
    for word in query.casefold().split()[:SEARCH_WORDS_MAX]:
        messages = messages.filter(
            Q(subject_folded__contains=word)
            | Q(sender_folded__contains=word)
            | Q(body_text_folded__contains=word)
        )
    return messages


def messages_filtered(
    *, messages: QuerySet[Message], folder: Folder | None, label: str, query: str
) -> QuerySet[Message]:
    """A label, else a folder (None: every message); then the search, if any."""
    if label:
        messages = messages_with_label(messages=messages, label=label)
    elif folder is not None:
        messages = messages_in_folder(messages=messages, folder=folder)
    if query:
        messages = messages_matching(messages=messages, query=query)
    return messages
