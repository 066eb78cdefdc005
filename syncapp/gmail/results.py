"""What the client's calls return: pages of ids and history, and fetched resources."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class MessagePage:
    ids: list[str]
    next_page_token: str | None
    estimate: int
    # The thread of each listed message, by message id.
    threads: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HistoryPage:
    records: list[dict]
    next_page_token: str | None
    history_id: str


@dataclass(slots=True)
class FetchResult:
    found: dict[str, dict] = field(default_factory=dict)
    # Listed, then gone before we fetched them (deleted meanwhile).
    missing: list[str] = field(default_factory=list)
