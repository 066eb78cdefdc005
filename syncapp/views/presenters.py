"""What the run templates show, derived from a run: no query, no side effect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings

from syncapp.models import GmailWatch, SyncRun

if TYPE_CHECKING:
    from syncapp.selectors import AnnotatedRun

# A run waiting longer than this behind busy workers says so.
WORKER_AWAITED_SECONDS = 30
# Speed and time left are shown once the run has gone this long: before, the
# first batches (and the setup before them) make them jump about.
RATE_SETTLE_SECONDS = 5


@dataclass(frozen=True, slots=True)
class RunProgress:
    """A run as its progress partial shows it, with the figures derived from it."""

    # As the run selectors return it: with workers_alive.
    run: AnnotatedRun
    now: datetime

    @property
    def elapsed_seconds(self) -> float:
        if self.run.started_at is None:
            return 0.0
        end = self.run.finished_at or self.now
        return max(0.0, (end - self.run.started_at).total_seconds())

    @property
    def rate(self) -> float | None:
        """Messages per second this run has gone through since it started, once settled.

        What the run it continues had already been through (a retry starts where
        that run stopped) is not this run's speed.
        """
        done = self.run.processed - self.run.resumed_from
        if done <= 0 or self.elapsed_seconds < RATE_SETTLE_SECONDS:
            return None
        return done / self.elapsed_seconds

    @property
    def rate_text(self) -> str:
        rate = self.rate
        if rate is None:
            return "measuring…"
        return f"{rate:.1f}" if rate < 10 else f"{rate:,.0f}"

    @property
    def time_left_text(self) -> str:
        rate = self.rate
        if rate is None or self.run.total <= self.run.processed:
            return "—"
        return "about " + rough_duration((self.run.total - self.run.processed) / rate)

    @property
    def error_text(self) -> str:
        return run_error_sentence(self.run)

    @property
    def duration_text(self) -> str:
        return human_duration(self.elapsed_seconds)

    @property
    def workers_alive(self) -> bool:
        """Whether any sync worker is alive, as the run's selector annotated it."""
        return self.run.workers_alive

    @property
    def waiting_text(self) -> str:
        """For a CREATED run waiting long behind busy workers: how long."""
        waited = (self.now - self.run.created_at).total_seconds()
        if waited < WORKER_AWAITED_SECONDS:
            return ""
        return human_duration(waited)

    @property
    def silent_text(self) -> str:
        """For a RUNNING run whose worker stopped sending heartbeats: since when."""
        beat = self.run.heartbeat_at or self.run.started_at
        if self.run.status != SyncRun.Status.RUNNING or beat is None:
            return ""
        silent = (self.now - beat).total_seconds()
        if silent < settings.SYNC_STALE_SECONDS:
            return ""
        return human_duration(silent)


# Failures whose error holds an exception's text: users read a sentence instead; the
# text stays on the run, for the log and the admin.
TECHNICAL_FAILURES: dict[str, str] = {
    SyncRun.Failure.ERROR: "The sync stopped on an unexpected error.",
    SyncRun.Failure.DATABASE: "The sync stopped because the database failed.",
}


def run_error_sentence(run: SyncRun) -> str:
    """What a user is told about a failed run: never an exception's text."""
    sentence = TECHNICAL_FAILURES.get(run.failure)
    if sentence is None:
        return run.error
    return f"{sentence} It has been logged for the administrator; Retry continues from there."


def rough_duration(seconds: float) -> str:
    """An estimate, steady from one poll to the next: 5 s steps, then whole minutes."""
    if seconds < 60:
        return f"{max(5, 5 * round(seconds / 5))} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    return human_duration(seconds)


def human_duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


@dataclass(frozen=True, slots=True)
class ChangeDelivery:
    """How a mailbox's changes reach the copy: pushed by Gmail (live) or polled."""

    live: bool
    last_change_at: datetime | None
    # Why a mailbox is polled although push is configured: its watch failed or lapsed.
    problem: str

    @classmethod
    def of(cls, watch: GmailWatch | None, *, now: datetime) -> ChangeDelivery:
        if watch is None:
            return cls(live=False, last_change_at=None, problem="")
        live = watch.expires_at is not None and watch.expires_at > now
        problem = ""
        if watch.error:
            problem = "Gmail refused to push its changes"
        elif not live:
            problem = "its push notifications lapsed"
        return cls(live=live, last_change_at=watch.last_change_at, problem=problem)


# Gmail's system labels by the names its own pages give them; user labels keep theirs.
SYSTEM_LABEL_NAMES = {
    "INBOX": "Inbox",
    "SENT": "Sent",
    "DRAFT": "Drafts",
    "SPAM": "Spam",
    "TRASH": "Trash",
    "UNREAD": "Unread",
    "STARRED": "Starred",
    "IMPORTANT": "Important",
    "CHAT": "Chat",
    "CATEGORY_PERSONAL": "Personal",
    "CATEGORY_SOCIAL": "Social",
    "CATEGORY_PROMOTIONS": "Promotions",
    "CATEGORY_UPDATES": "Updates",
    "CATEGORY_FORUMS": "Forums",
}


def label_name(label_id: str, names: dict[str, str]) -> str:
    """What a person calls the label: `names` is the mailbox's id -> name."""
    return SYSTEM_LABEL_NAMES.get(label_id) or names.get(label_id) or label_id
