"""The tiny profile: small messages in small threads, quick to make and to serve.

For unit tests: every kind of body and label in a few KB a message. Its numbers are
not measured from real mail (see `realistic` for that).
"""

import random

from . import corpus
from .traits import Traits

_THREAD_SIZES = (1, 2, 3, 4, 5, 6)
_THREAD_SIZE_WEIGHTS = (52, 20, 12, 8, 5, 3)
_CATEGORIES = (
    "CATEGORY_PERSONAL",
    "CATEGORY_SOCIAL",
    "CATEGORY_PROMOTIONS",
    "CATEGORY_UPDATES",
    "CATEGORY_FORUMS",
)
_CATEGORY_WEIGHTS = (50, 10, 20, 15, 5)
_USER_LABELS = ("Label_1", "Label_2", "Label_3", "Label_4", "Label_5")
_STREAM = "mail"


class TinyProfile:
    name = "tiny"

    def thread(self, rng: random.Random) -> tuple[int, str]:
        return rng.choices(_THREAD_SIZES, _THREAD_SIZE_WEIGHTS)[0], _STREAM

    def arriving_stream(self, rng: random.Random) -> str:
        return _STREAM

    def topic(self, rng: random.Random, stream: str) -> tuple[str, int]:
        return corpus.subject(rng), rng.randrange(corpus.MIXED_CORRESPONDENTS)

    def traits(
        self, rng: random.Random, stream: str, *, position: int, outgoing: bool | None
    ) -> Traits:
        if outgoing is None:
            outgoing = rng.random() < 0.12
        labels = _labels(rng, outgoing)
        kind = rng.choices(corpus.KINDS, corpus.KIND_WEIGHTS)[0]
        return Traits(outgoing, labels, kind, rng.randrange(corpus.BODY_VARIANTS))


def _labels(rng: random.Random, outgoing: bool) -> tuple[str, ...]:
    roll = rng.random()
    if outgoing:
        return ("DRAFT",) if roll < 0.08 else ("SENT",)
    if roll < 0.02:
        return ("SPAM", "UNREAD")
    if roll < 0.04:
        return ("TRASH", rng.choices(_CATEGORIES, _CATEGORY_WEIGHTS)[0])
    if roll < 0.07:
        return ()  # archived, read, uncategorised: Gmail omits labelIds entirely
    labels = []
    if roll < 0.72:
        labels.append("INBOX")
    labels.append(rng.choices(_CATEGORIES, _CATEGORY_WEIGHTS)[0])
    if rng.random() < 0.3:
        labels.append("UNREAD")
    if rng.random() < 0.2:
        labels.append("IMPORTANT")
    if rng.random() < 0.05:
        labels.append("STARRED")
    if rng.random() < 0.2:
        labels.append(rng.choice(_USER_LABELS))
    return tuple(labels)
