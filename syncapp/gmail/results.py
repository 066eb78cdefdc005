"""What the client's calls return: pages of ids and history, and fetched resources."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class MessagePage:
    ids: list[str]
    next_page_token: str | None
    estimate: int


@dataclass(frozen=True, slots=True)
class HistoryPage:
    records: list[dict]
    next_page_token: str | None
    history_id: str


@dataclass(slots=True)
class FetchResult:
    # What came back, by id: each resource, or what `keep` made of it.
    found: dict[str, Any] = field(default_factory=dict)
    # Answered 404 in a batch: gone, or only not found at that moment (see the pipeline).
    missing: list[str] = field(default_factory=list)
    # Applied to each resource as it arrives, so that a batch's results need not
    # hold every resource whole (a raw message's source, say) until the batch ends.
    keep: Callable[[dict], Any] | None = None
    # What `keep` raised (a full disk, say): not Gmail's failure, so not retried.
    keep_error: Exception | None = None

    def add(self, item_id: str, resource: dict) -> None:
        if self.keep is None:
            self.found[item_id] = resource
            return
        try:
            self.found[item_id] = self.keep(resource)
        except Exception as exc:
            self.keep_error = self.keep_error or exc
