"""What a chaos run did, what it left in the database, and its verdict."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count

from syncapp.models import Mailbox, Message

# How many of each kind of difference between the database and Gmail are shown.
EXAMPLES = 5


@dataclass
class Actions:
    sync_requests: int = 0
    joined_active: int = 0
    kills: int = 0
    added: int = 0
    deleted: int = 0
    relabelled: int = 0
    faults: int = 0
    driver_database_errors: int = 0


@dataclass
class Report:
    seed: int
    actions: Actions
    runs_started: Counter
    succeeded: int
    failed: Counter
    still_active: int
    final_failed: int
    longest: timedelta = timedelta(0)
    longest_run: int | None = None
    messages: int = 0
    lost: int = 0
    duplicated: int = 0
    not_deleted: int = 0
    mismatched_labels: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The verdict: every run ended, and the database ends equal to Gmail."""
        return not (
            self.lost
            or self.duplicated
            or self.not_deleted
            or self.mismatched_labels
            or self.still_active
            or self.final_failed
        )

    def compare(self, mailbox: Mailbox, expected: dict[str, dict]) -> None:
        """Count how the stored `mailbox` differs from Gmail's snapshot of it."""
        stored = dict(Message.objects.filter(mailbox=mailbox).values_list("gmail_id", "label_ids"))
        lost = expected.keys() - stored.keys()
        not_deleted = stored.keys() - expected.keys()
        mismatched = [
            gmail_id
            for gmail_id, want in expected.items()
            if gmail_id in stored and sorted(stored[gmail_id]) != want["label_ids"]
        ]
        self.messages += len(expected)
        self.lost += len(lost)
        self.not_deleted += len(not_deleted)
        self.mismatched_labels += len(mismatched)
        for gmail_id in sorted(lost)[:EXAMPLES]:
            self.examples.append(f"{mailbox.email}: {gmail_id} lost")
        for gmail_id in sorted(not_deleted)[:EXAMPLES]:
            self.examples.append(f"{mailbox.email}: {gmail_id} deleted in Gmail, still stored")
        for gmail_id in mismatched[:EXAMPLES]:
            self.examples.append(
                f"{mailbox.email}: {gmail_id} labels {sorted(stored[gmail_id])} "
                f"in the database, {expected[gmail_id]['label_ids']} in Gmail"
            )
        twice = (
            Message.objects.filter(mailbox=mailbox)
            .values("gmail_id")
            .annotate(copies=Count("id"))
            .filter(copies__gt=1)
        )
        self.duplicated += sum(row["copies"] - 1 for row in twice)

    def lines(self) -> list[str]:
        a = self.actions
        started = sum(self.runs_started.values())
        by_trigger = ", ".join(f"{t} {n}" for t, n in sorted(self.runs_started.items()))
        failed = sum(self.failed.values())
        by_failure = ", ".join(f"{f} {n}" for f, n in self.failed.most_common()) or "none"
        return [
            f"seed: {self.seed}",
            f"sync requests: {a.sync_requests} ({a.joined_active} joined an active run)",
            f"clusters killed: {a.kills}; faults injected: {a.faults}; mailbox changes: "
            f"{a.added} added, {a.deleted} deleted, {a.relabelled} relabelled",
            f"runs started: {started} ({by_trigger})",
            f"runs succeeded: {self.succeeded}",
            f"runs failed: {failed} ({by_failure})",
            f"runs still active after settling: {self.still_active}",
            f"longest time non-terminal: {self.longest.total_seconds():.1f}s"
            + (f" (run {self.longest_run})" if self.longest_run else ""),
            f"final syncs failed: {self.final_failed}",
            f"messages in Gmail: {self.messages}",
            f"messages lost: {self.lost}",
            f"messages duplicated: {self.duplicated}",
            f"messages deleted in Gmail but still stored: {self.not_deleted}",
            f"messages with mismatched labels: {self.mismatched_labels}",
            f"driver database errors: {a.driver_database_errors}",
            *(f"  {example}" for example in self.examples),
            "result: " + ("OK" if self.ok else "PROBLEM"),
        ]
