"""Users, mailboxes and in-process syncs for the benchmarks."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

from django.contrib.auth import get_user_model
from django.test import Client

from syncapp import storage
from syncapp.gmail.client import gmail_client_for
from syncapp.models import Mailbox, Message, SyncRun
from syncapp.runs import sync_run_start
from syncapp.worker.execute import ClientFactory, sync_run_execute

# The emulator's default mailbox, which accepts any refresh token.
EMAIL = "demo@example.com"
PASSWORD = "bench-password"


def mailbox_create(username: str, *, email: str = EMAIL) -> Mailbox:
    """A new user owning one mailbox; any earlier user of that name is deleted first."""
    user_model = get_user_model()
    user_model.objects.filter(username=username).delete()
    user = user_model.objects.create_user(username, password=PASSWORD)
    return Mailbox.objects.create(owner=user, email=email, refresh_token=f"{username}-refresh")


def web_client(**options) -> Client:
    """Django's test client, addressing a host that ALLOWED_HOSTS accepts (DEBUG is off)."""
    return Client(SERVER_NAME="localhost", **options)


def mailbox_delete(mailbox: Mailbox) -> None:
    """Remove the mailbox's user and everything synced (originals included), so the
    next benchmark starts small."""
    owner = mailbox.owner
    storage.mailbox_delete(mailbox=mailbox)
    owner.delete()


def client_factory(url: str, **overrides) -> ClientFactory:
    """The app's own client factory, pointed at an emulator, with setting overrides."""
    return partial(gmail_client_for, endpoint=url, token_uri=url + "token", **overrides)


@dataclass(frozen=True, slots=True)
class TimedSync:
    run: SyncRun
    seconds: float  # wall time from starting the run to its end, in this process

    @property
    def succeeded(self) -> bool:
        return self.run.status == SyncRun.Status.SUCCEEDED

    def describe(self) -> str:
        if self.succeeded:
            return f"{self.run.kind} sync of {self.run.processed} in {self.seconds:.2f} s"
        return f"{self.run.kind} sync {self.run.status}: {self.run.error}"


def sync_once(
    mailbox: Mailbox, *, kind: SyncRun.Kind, factory: ClientFactory, slice_seconds: float = 0
) -> TimedSync:
    """Start a run and execute it here, timing the whole of it: in one slice, as
    `syncmail` does, or slice after slice, as an idle worker would take them."""
    mailbox.refresh_from_db()
    started = time.perf_counter()
    run, created = sync_run_start(
        mailbox=mailbox, kind=kind, trigger=SyncRun.Trigger.CLI, enqueue=False
    )
    if not created:
        raise RuntimeError(f"mailbox {mailbox.pk} already had active run {run.pk}")
    finished = sync_run_execute(run_id=run.pk, client_factory=factory, slice_seconds=slice_seconds)
    while finished is not None and finished.is_active:
        finished = sync_run_execute(
            run_id=run.pk, client_factory=factory, slice_seconds=slice_seconds
        )
    seconds = time.perf_counter() - started
    if finished is None:
        raise RuntimeError(f"run {run.pk} was claimed by someone else")
    return TimedSync(run=finished, seconds=seconds)


def stored_count(mailbox: Mailbox) -> int:
    return Message.objects.filter(mailbox=mailbox).count()
