"""Reads for the web pages and the API.

Everything a user asks for by id or address goes through a `*_for_user`
selector that filters by owner in the same query, so another user's mailbox,
run or message is simply not found (404), never fetched and then refused.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, TypeAlias, TypedDict, cast

from django.contrib.auth.models import User
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone

from syncapp.mailfilters import Folder, messages_filtered
from syncapp.models import (
    GmailWatch,
    Label,
    Mailbox,
    Message,
    SyncRun,
    WorkerProcess,
    alive_cutoff,
)

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    # The models as the selectors return them, with what they annotate.
    class RunAnnotations(TypedDict):
        workers_alive: bool
        # A later run of the mailbox exists: this one is history, not to be retried.
        superseded: bool

    class MailboxAnnotations(TypedDict):
        message_count: int
        # Prefetch(to_attr=...): the latest run, or none before the first sync.
        latest_runs: list[AnnotatedRun]

    AnnotatedRun: TypeAlias = WithAnnotations[SyncRun, RunAnnotations]
    AnnotatedMailbox: TypeAlias = WithAnnotations[Mailbox, MailboxAnnotations]

MESSAGE_PAGE_SIZE = 50
RUN_HISTORY_SIZE = 50
# Rows an export reads at a time.
EXPORT_CHUNK = 500
# A page says how many threads match up to this many ("more than" past it): counting
# further would cost more than the page itself on a large mailbox.
COUNT_MAX = 10_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


MAILBOX_TOKENS = ("mailbox__access_token", "mailbox__refresh_token")


# The poll reads its run every second for every open page: the ORM compiles an
# Exists subquery at about the cost of running a whole query, so these two are SQL.
def _workers_alive(cutoff: datetime) -> RawSQL:
    """Whether any sync worker is alive: annotated on runs, so pages need no query for it."""
    workers = WorkerProcess._meta.db_table
    return RawSQL(
        f'EXISTS (SELECT 1 FROM "{workers}" WHERE "seen_at" >= %s)',
        (cutoff,),
        output_field=BooleanField(),
    )


def _superseded() -> RawSQL:
    """Whether the mailbox has a later run than this one."""
    runs = SyncRun._meta.db_table
    return RawSQL(
        f'EXISTS (SELECT 1 FROM "{runs}" AS later WHERE later."mailbox_id" = "{runs}"."mailbox_id"'
        f' AND later."id" > "{runs}"."id")',
        (),
        output_field=BooleanField(),
    )


def mailbox_list_for_user(*, user: User) -> list[AnnotatedMailbox]:
    """The user's mailboxes, each with `message_count` and `latest_runs` (0 or 1 run)."""
    latest = _runs_annotated().order_by("-created_at", "-id")[:1]
    return list(
        Mailbox.objects.filter(owner=user)
        .select_related("watch")
        .annotate(message_count=Count("messages"))
        .prefetch_related(Prefetch("runs", queryset=latest, to_attr="latest_runs"))
        .order_by("email")
    )


def mailbox_watch_or_none(*, mailbox: Mailbox) -> GmailWatch | None:
    """The mailbox's watch (selected with it by mailbox_list_for_user), if it has one."""
    try:
        return mailbox.watch
    except GmailWatch.DoesNotExist:
        return None


def mailbox_is_pushed(*, mailbox: Mailbox) -> bool:
    """Whether Gmail pushes the mailbox's changes now (a live watch)."""
    return GmailWatch.objects.live(now=timezone.now()).filter(mailbox=mailbox).exists()


def watches_expiring(*, now: datetime, within: timedelta, limit: int = 50) -> QuerySet[GmailWatch]:
    """Watches of connected mailboxes that lapse within `within` (lapsed ones too),
    soonest first: the daily renewal should have renewed them."""
    return (
        GmailWatch.objects.filter(expires_at__lt=now + within, mailbox__needs_reconnect=False)
        .select_related("mailbox")
        .order_by("expires_at")[:limit]
    )


def mailbox_get_for_user(*, user: User, mailbox_id: int) -> Mailbox:
    try:
        return Mailbox.objects.get(pk=mailbox_id, owner=user)
    except Mailbox.DoesNotExist:
        raise Http404("No such mailbox") from None


def mailbox_find_for_user(*, user: User, email: str | None) -> Mailbox:
    """The mailbox with this address, or the user's only one when no address is given.

    Raises Http404 when there is no such mailbox, and ValueError when no address
    was given and the user has several.
    """
    mailboxes = Mailbox.objects.filter(owner=user)
    if email is not None:
        mailboxes = mailboxes.filter(email__iexact=email)
    found = list(mailboxes[:2])
    if not found:
        raise Http404("No such mailbox")
    if len(found) > 1:
        raise ValueError("You have several mailboxes: say which one")
    return found[0]


def run_get_for_user(*, user: User, run_id: int) -> AnnotatedRun:
    """The run, its mailbox and whether a worker is alive, in one query, if the user owns it."""
    try:
        return (
            _runs_annotated()
            .select_related("mailbox")
            # Pages have no use for the OAuth tokens: not read, not decrypted.
            .defer(*MAILBOX_TOKENS)
            .get(pk=run_id, mailbox__owner=user)
        )
    except SyncRun.DoesNotExist:
        raise Http404("No such run") from None


def run_poll_for_user(*, user: User, run_id: int) -> AnnotatedRun:
    """The run as the progress poll reads it every second for every open page: as
    `run_get_for_user` without the mailbox, by a statement the ORM compiled once.

    Compiling it again for every poll cost more than the database took to answer it.
    """
    sql, order = _poll_statement()
    values = {_POLL_RUN: run_id, _POLL_OWNER: user.pk, _POLL_CUTOFF: alive_cutoff(timezone.now())}
    found = cast(
        "list[AnnotatedRun]", list(SyncRun.objects.raw(sql, [values[name] for name in order]))
    )
    if not found:
        raise Http404("No such run")
    return found[0]


_POLL_RUN, _POLL_OWNER, _POLL_CUTOFF = "run", "owner", "cutoff"


@cache
def _poll_statement() -> tuple[str, tuple[str, ...]]:
    """The poll's SQL, and which value each of its parameters takes (found by probes)."""
    run, owner, cutoff = -1, -2, datetime(1970, 1, 2, tzinfo=UTC)
    probes: dict[object, str] = {run: _POLL_RUN, owner: _POLL_OWNER, cutoff: _POLL_CUTOFF}
    runs = _runs_annotated(cutoff=cutoff).filter(pk=run, mailbox__owner_id=owner)
    sql, params = runs.order_by().query.sql_with_params()
    return sql, tuple(probes[param] for param in params)


def _runs_annotated(*, cutoff: datetime | None = None) -> QuerySet[AnnotatedRun]:
    cutoff = alive_cutoff(timezone.now()) if cutoff is None else cutoff
    runs = SyncRun.objects.annotate(workers_alive=_workers_alive(cutoff), superseded=_superseded())
    # RawSQL annotations are untyped: say what they are.
    return cast("QuerySet[AnnotatedRun]", runs)


def run_list_for_mailbox(*, mailbox: Mailbox, limit: int = RUN_HISTORY_SIZE) -> list[AnnotatedRun]:
    runs = _runs_annotated().filter(mailbox=mailbox)
    return list(runs.order_by("-created_at", "-id")[:limit])


def label_names_for_mailbox(*, mailbox: Mailbox) -> dict[str, str]:
    """Label id -> name; ids Gmail sent on messages but not in labels.list keep their id."""
    return dict(Label.objects.filter(mailbox=mailbox).values_list("label_id", "name"))


def message_get_for_user(*, user: User, message_id: int) -> Message:
    try:
        return Message.objects.select_related("mailbox").get(pk=message_id, mailbox__owner=user)
    except Message.DoesNotExist:
        raise Http404("No such message") from None


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page of messages starts: strictly older than this (date, id)."""

    internal_date: datetime
    message_id: int

    def __str__(self) -> str:
        # Whole microseconds, exactly: a float timestamp could skip or repeat a row.
        return f"{(self.internal_date - _EPOCH) // _MICROSECOND}.{self.message_id}"

    @classmethod
    def parse(cls, value: str) -> Cursor:
        """Read a cursor from a URL; ValueError when it is not one of ours."""
        micros, _, message_id = value.partition(".")
        try:
            when = _EPOCH + int(micros) * _MICROSECOND
        except OverflowError as exc:
            raise ValueError(f"not a cursor: {value!r}") from exc
        return cls(internal_date=when, message_id=int(message_id))


@dataclass(frozen=True, slots=True)
class MessagePage:
    # The newest matching message of each thread, with `thread_count` annotated.
    messages: Sequence[Message]
    # Where the next (older) page starts; None on the last page.
    next_cursor: Cursor | None
    # How many threads match, counted up to COUNT_MAX + 1.
    total: int


def message_page_for_mailbox(
    *,
    mailbox: Mailbox,
    folder: Folder | None = None,
    label: str = "",
    query: str = "",
    cursor: Cursor | None = None,
    page_size: int = MESSAGE_PAGE_SIZE,
) -> MessagePage:
    """One page of conversations, newest first, by keyset: one row per thread (its
    newest matching message) with the number of messages in the thread.

    Reads one row more than the page to know whether an older page exists, and
    counts the matching threads up to COUNT_MAX + 1, in the same query.
    """
    matching = messages_filtered(
        messages=Message.objects.filter(mailbox=mailbox), folder=folder, label=label, query=query
    )
    newer = matching.filter(thread_id=OuterRef("thread_id")).filter(
        Q(internal_date__gt=OuterRef("internal_date"))
        | Q(internal_date=OuterRef("internal_date"), id__gt=OuterRef("id"))
    )
    threads = matching.filter(~Exists(newer))
    in_thread = (
        Message.objects.filter(mailbox_id=OuterRef("mailbox_id"), thread_id=OuterRef("thread_id"))
        .values("thread_id")
        .annotate(n=Count("*"))
        .values("n")
    )
    # Uncorrelated, so computed once for the page's query: no query of its own.
    total = Func(
        Subquery(threads.order_by().values("id")[: COUNT_MAX + 1]),
        template="(SELECT COUNT(*) FROM %(expressions)s AS counted)",
        output_field=IntegerField(),
    )
    rows = threads.defer("body_text", "to", "cc", "bcc", "references").annotate(
        thread_count=Subquery(in_thread), total=total
    )
    if cursor is not None:
        rows = rows.filter(
            Q(internal_date__lt=cursor.internal_date)
            | Q(internal_date=cursor.internal_date, id__lt=cursor.message_id)
        )
    found = list(rows.order_by("-internal_date", "-id")[: page_size + 1])
    next_cursor = None
    if len(found) > page_size:
        found = found[:page_size]
        last = found[-1]
        next_cursor = Cursor(internal_date=last.internal_date, message_id=last.pk)
    total_found = found[0].total if found else 0
    return MessagePage(messages=found, next_cursor=next_cursor, total=total_found)


def messages_for_export(
    *, mailbox: Mailbox, folder: Folder | None = None, label: str = "", query: str = ""
) -> Iterator[Message]:
    """Every matching message that has a stored original, oldest first, read a chunk
    of rows at a time (never all at once)."""
    matching = messages_filtered(
        messages=Message.objects.filter(mailbox=mailbox, original__isnull=False),
        folder=folder,
        label=label,
        query=query,
    )
    return (
        matching.only("id", "gmail_id", "internal_date", "original_id")
        .order_by("internal_date", "id")
        .iterator(chunk_size=EXPORT_CHUNK)
    )
