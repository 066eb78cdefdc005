"""The realistic profile: a personal Gmail mailbox's shapes, from published figures.

Mail comes in streams, one per Gmail category: conversations with people (threads as
long as people's), and automated mail (newsletters, notifications, social and forum
mail) that mostly stands alone. The numbers and their sources are in the README
("The realistic profile"); where no source gives a figure, the README says so.
"""

import math
import random
from typing import NamedTuple

from . import automated, corpus
from .mixed import Attachment
from .traits import Traits

MB = 1_000_000
# Gmail refuses to send more than 25 MB; it accepts 50 MB from other providers, which
# a file of 35 MB reaches once base64-encoded.
SEND_LIMIT = 25 * MB
RECEIVED_LARGEST = 35 * MB


class Stream(NamedTuple):
    share: float  # of all messages
    sizes: tuple[tuple[int, int, int], ...]  # thread sizes: (fewest, most, weight)
    category: str
    inbox: float  # shares of its messages in the inbox, unread, important
    unread: float
    important: float
    kinds: tuple[tuple[str, int], ...]  # pooled bodies, weighted


# Threads of conversations, from the Enron corpus (Klimt & Yang 2004): 76,898 messages
# alone, then threads of 2, 3, ... messages; "20+" is taken as 21 to 40.
_CONVERSATION_SIZES = (
    (1, 1, 76_898),
    (2, 2, 16_736),
    (3, 3, 4_782),
    (4, 4, 3_049),
    (5, 5, 1_282),
    (6, 6, 879),
    (7, 7, 903),
    (8, 8, 378),
    (9, 9, 214),
    (10, 10, 178),
    (11, 20, 1_260),
    (21, 40, 430),
)
_ALONE = ((1, 1, 1),)
STREAMS = {
    "conversation": Stream(
        share=0.22,
        sizes=_CONVERSATION_SIZES,
        category="CATEGORY_PERSONAL",
        inbox=0.75,
        unread=0.08,
        important=0.55,
        kinds=(("plain", 35), ("alternative", 45), ("latin1", 8), ("international", 12)),
    ),
    # Commercial mail in Gmail (Return Path, 6 billion messages, 2016): 68.4% Promotions,
    # 22.1% Updates; read rates 19.2% Promotions, 28% Updates, 22.4% Social, 21.1% Forums.
    "promotions": Stream(
        share=0.53,
        sizes=_ALONE,
        category="CATEGORY_PROMOTIONS",
        inbox=0.7,
        unread=0.81,
        important=0.02,
        kinds=(("newsletter", 1),),
    ),
    "updates": Stream(
        share=0.17,
        sizes=((1, 1, 90), (2, 2, 10)),
        category="CATEGORY_UPDATES",
        inbox=0.75,
        unread=0.72,
        important=0.25,
        kinds=(("notification", 1),),
    ),
    "social": Stream(
        share=0.055,
        sizes=_ALONE,
        category="CATEGORY_SOCIAL",
        inbox=0.75,
        unread=0.78,
        important=0.02,
        kinds=(("social", 1),),
    ),
    "forums": Stream(
        share=0.025,
        sizes=((1, 1, 50), (2, 2, 20), (3, 3, 12), (4, 4, 8), (5, 10, 10)),
        category="CATEGORY_FORUMS",
        inbox=0.6,
        unread=0.79,
        important=0.02,
        kinds=(("forum", 1),),
    ),
}


def _mean_size(stream: Stream) -> float:
    return sum((low + high) / 2 * w for low, high, w in stream.sizes) / sum(
        w for *_, w in stream.sizes
    )


# A stream's threads are drawn in proportion to its share over its mean thread size,
# so that its messages come out at its share.
_THREAD_WEIGHTS = {
    name: stream.share
    / (
        sum((low + high) / 2 * w for low, high, w in stream.sizes)
        / sum(w for *_, w in stream.sizes)
    )
    for name, stream in STREAMS.items()
}

_REPLY_FROM_OWNER = 0.45  # later messages of a conversation the owner wrote
_STARTED_BY_OWNER = 0.3
_SPAM = 0.03  # of promotions (Gmail deletes spam after 30 days: few are left)
_TRASH = 0.02  # of received mail (deleted after 30 days too)
_USER_LABELS = {
    "conversation": ("Label_2", "Label_3", "Label_4", "Label_5"),
    "updates": ("Label_1", "Label_2"),
}
_USER_LABELLED = 0.15
_STARRED = 0.03  # of conversations and updates

# Files attached to conversations: (share, median bytes, log-normal spread, type, names).
_FILES = (
    (40, 1_200_000, 0.5, "image/jpeg", ("IMG_{n}.jpg", "photo {n}.jpg")),
    (35, 180_000, 1.0, "application/pdf", ("Scan {n}.pdf", "Document {n}.pdf", "Résumé {n}.pdf")),
    (
        15,
        45_000,
        0.8,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ("Notes {n}.docx", "Contrat signé {n}.docx"),
    ),
    (10, 2_000_000, 1.0, "application/zip", ("photos-{n}.zip", "project-{n}.zip")),
)
_WITH_FILES = 0.10  # of conversation messages
_FILE_COUNTS = ((1, 70), (2, 20), (3, 10))
_LARGE = 0.003  # of conversation messages: one video or archive of 10 MB or more
_RECEIPTS = 0.12  # of updates: a PDF receipt or invoice


class RealisticProfile:
    name = "realistic"

    def thread(self, rng: random.Random) -> tuple[int, str]:
        stream = self.arriving_stream(rng)
        low, high, _ = rng.choices(STREAMS[stream].sizes, [w for *_, w in STREAMS[stream].sizes])[
            0
        ]
        return rng.randint(low, high), stream

    def arriving_stream(self, rng: random.Random) -> str:
        return rng.choices(list(_THREAD_WEIGHTS), list(_THREAD_WEIGHTS.values()))[0]

    def topic(self, rng: random.Random, stream: str) -> tuple[str, int]:
        if stream == "conversation":
            return corpus.subject(rng), rng.choice(corpus.PEOPLE)
        return automated.subject(rng, stream), rng.choice(corpus.SENDERS[stream])

    def traits(
        self, rng: random.Random, stream: str, *, position: int, outgoing: bool | None
    ) -> Traits:
        if outgoing is None:
            from_owner = _STARTED_BY_OWNER if position == 0 else _REPLY_FROM_OWNER
            outgoing = stream == "conversation" and rng.random() < from_owner
        spec = STREAMS[stream]
        labels = ("SENT",) if outgoing else _labels(rng, stream, spec)
        kinds = spec.kinds
        kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        return Traits(
            outgoing,
            labels,
            kind,
            rng.randrange(corpus.BODY_VARIANTS),
            _attachments(rng, stream, outgoing),
            trace=not outgoing,
        )


def _labels(rng: random.Random, stream: str, spec: Stream) -> tuple[str, ...]:
    if stream == "promotions" and rng.random() < _SPAM:
        return ("SPAM", "UNREAD")
    if rng.random() < _TRASH:
        return ("TRASH", spec.category)
    labels = ["INBOX"] if rng.random() < spec.inbox else []
    labels.append(spec.category)
    if rng.random() < spec.unread:
        labels.append("UNREAD")
    if rng.random() < spec.important:
        labels.append("IMPORTANT")
    if stream in _USER_LABELS and rng.random() < _STARRED:
        labels.append("STARRED")
    if stream in _USER_LABELS and rng.random() < _USER_LABELLED:
        labels.append(rng.choice(_USER_LABELS[stream]))
    return tuple(labels)


def _attachments(rng: random.Random, stream: str, outgoing: bool) -> tuple[Attachment, ...]:
    if stream == "updates":
        if rng.random() < _RECEIPTS:
            size = _log_normal(rng, 90_000, 0.6)
            return (
                Attachment(
                    f"Invoice-{rng.randrange(10_000, 99_999)}.pdf", "application/pdf", size
                ),
            )
        return ()
    if stream != "conversation":
        return ()
    if rng.random() < _LARGE:
        return (_large_file(rng, outgoing),)
    if rng.random() >= _WITH_FILES:
        return ()
    count = rng.choices([c for c, _ in _FILE_COUNTS], [w for _, w in _FILE_COUNTS])[0]
    files = []
    for _ in range(count):
        _, median, spread, mime_type, names = rng.choices(_FILES, [f[0] for f in _FILES])[0]
        name = rng.choice(names).format(n=rng.randrange(1000, 9999))
        files.append(Attachment(name, mime_type, _log_normal(rng, median, spread)))
    # All files of a message share Gmail's sending limit.
    scale = min(1.0, SEND_LIMIT / sum(f.size for f in files))
    return tuple(f._replace(size=int(f.size * scale)) for f in files)


def _large_file(rng: random.Random, outgoing: bool) -> Attachment:
    # Up to the sending limit; one in four received from elsewhere, up to what Gmail accepts.
    if not outgoing and rng.random() < 0.25:
        size = rng.randrange(SEND_LIMIT, RECEIVED_LARGEST)
    else:
        size = rng.randrange(10 * MB, SEND_LIMIT)
    number = rng.randrange(1000, 9999)
    if rng.random() < 0.5:
        return Attachment(f"VID_{number}.mp4", "video/mp4", size)
    return Attachment(f"archive-{number}.zip", "application/zip", size)


def _log_normal(rng: random.Random, median: float, spread: float) -> int:
    return max(1, int(median * math.exp(rng.gauss(0, spread))))
