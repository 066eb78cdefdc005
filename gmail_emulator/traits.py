"""What a mailbox profile decides about generated mail, thread by thread and message by message."""

import random
from typing import NamedTuple, Protocol

from .mixed import Attachment


class Traits(NamedTuple):
    """What one generated message is, as its profile drew it."""

    outgoing: bool
    labels: tuple[str, ...]
    kind: str  # the pooled body's kind (see `pool`)
    variant: int
    attachments: tuple[Attachment, ...] = ()
    trace: bool = False  # write the trace headers Gmail adds to received mail


class Profile(Protocol):
    """A kind of mailbox. Each method draws from the mailbox's RNG, so order matters."""

    name: str

    def thread(self, rng: random.Random) -> tuple[int, str]:
        """A new thread of the initial mailbox: its size and its stream."""

    def arriving_stream(self, rng: random.Random) -> str:
        """The stream of a new message that starts a thread of its own."""

    def topic(self, rng: random.Random, stream: str) -> tuple[str, int]:
        """A new thread's subject and correspondent (an index in `corpus.CORRESPONDENTS`)."""

    def traits(
        self, rng: random.Random, stream: str, *, position: int, outgoing: bool | None
    ) -> Traits:
        """One message of a thread; `outgoing` is decided by the caller when not None."""
