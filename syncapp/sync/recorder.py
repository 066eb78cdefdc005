"""What the sync algorithm writes about itself, and through what.

The algorithm never touches the run row: it reports figures, keeps its
checkpoint and stores mail through a Recorder. The worker's recorder writes
them to the run (and refuses once the run is no longer its own); tests and
benchmarks may pass their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from syncapp.figures import RunFigures
from syncapp.models import Mailbox
from syncapp.sync.checkpoint import Checkpoint

T = TypeVar("T")


class SliceEnded(Exception):
    """The slice's time is up; the checkpoint says where the next slice continues."""


class Recorder(Protocol):
    run_id: int
    mailbox: Mailbox
    figures: RunFigures
    checkpoint: Checkpoint
    # What the sync is doing, for a failure's message; set by the sync's own thread only.
    stage: str

    def report(self, *, force: bool = False) -> None:
        """Publish the figures and checkpoint (at most once a second unless forced)."""

    def store(self, write: Callable[[], T]) -> T:
        """Run a write of mail in a transaction that holds the run."""
        ...

    def fall_back_to_full(self) -> None:
        """An incremental sync found its history expired: start over as a full sync."""

    def slice_over(self) -> bool:
        """Whether this slice's time is up: the sync stops at its next checkpoint."""
        ...
