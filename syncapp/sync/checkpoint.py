"""Where a run is, so that a retry continues instead of starting over.

Stored as JSON on the run; keys stay as they were so that checkpoints written
by earlier versions still resume.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from syncapp.figures import RunFigures

Phase = Literal["", "full", "incremental"]


@dataclass(slots=True)
class Checkpoint:
    phase: Phase = ""
    # Full sync: the mark its listing puts on every message it sees; the next
    # page to list, how many ids were listed before it, and the figures then.
    mark: str = ""
    page_token: str | None = None
    listed: int = 0
    figures: RunFigures | None = None
    # The run whose figures those are: a retry (another run) takes over only the
    # position (processed, total), and counts what it changes itself.
    figures_of_run: int | None = None
    # Where the next incremental sync starts: read before the listing began.
    start_history_id: str = ""
    # Messages stored before this sync were seen: their labels may be old.
    had_known: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checkpoint:
        counts = data.get("counts")
        return cls(
            phase=data.get("phase", ""),
            mark=data.get("mark", ""),
            page_token=data.get("page_token"),
            listed=int(data.get("listed", 0)),
            figures=RunFigures.from_dict(counts) if counts else None,
            figures_of_run=data.get("counts_of_run"),
            start_history_id=data.get("start_history_id", ""),
            had_known=bool(data.get("had_known", False)),
        )

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"phase": self.phase}
        if self.phase == "full":
            data.update(mark=self.mark, page_token=self.page_token, listed=self.listed)
            if self.figures is not None:
                data["counts"] = self.figures.as_dict()
                if self.figures_of_run is not None:
                    data["counts_of_run"] = self.figures_of_run
            if self.start_history_id:
                data["start_history_id"] = self.start_history_id
            if self.had_known:
                data["had_known"] = True
        return data if self.phase else {}

    def start_full(self) -> None:
        """Begin a full sync's listing from its first page, under a new mark."""
        self.phase = "full"
        self.mark = uuid.uuid4().hex
        self.page_token = None
        self.listed = 0
        self.figures = None
        self.figures_of_run = None
        self.start_history_id = ""
        self.had_known = False

    def figures_for(self, run_id: int) -> RunFigures:
        """The figures a run continuing from here starts with.

        The same run (its next slice) goes on with its own figures; another run (a
        retry) starts where the listing was, with nothing new, updated or deleted
        yet: what the run it continues changed stays that run's.
        """
        saved = self.figures or RunFigures()
        if self.figures_of_run == run_id:
            return saved.snapshot()
        return RunFigures(processed=saved.processed, total=max(saved.total, saved.processed))
