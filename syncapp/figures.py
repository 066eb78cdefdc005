"""A run's figures: how far it got and what it changed, and their columns on SyncRun."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(slots=True)
class RunFigures:
    processed: int = 0
    total: int = 0
    new: int = 0
    updated: int = 0
    deleted: int = 0
    unparsable: int = 0
    # Listed, then gone when fetched on their own: deleted in Gmail during the sync.
    vanished: int = 0

    @property
    def percent(self) -> int:
        """Percent done while running: never 100 before the run has really ended."""
        if self.total <= 0:
            return 0
        return min(99, self.processed * 100 // self.total)

    def snapshot(self) -> RunFigures:
        """A copy to hand to another thread, its total never below what was processed."""
        copy = RunFigures(**self.as_dict())
        copy.total = max(copy.total, copy.processed)
        return copy

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunFigures:
        names = {field.name for field in fields(cls)}
        return cls(**{name: int(value) for name, value in data.items() if name in names})

    def as_columns(self) -> dict[str, int]:
        """The SyncRun columns these figures are written to."""
        return {
            "processed": self.processed,
            "total": max(self.total, self.processed),
            "percent": self.percent,
            "new_count": self.new,
            "updated_count": self.updated,
            "deleted_count": self.deleted,
            "unparsable_count": self.unparsable,
            "vanished_count": self.vanished,
        }
