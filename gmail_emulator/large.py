"""Messages made to carry one large file, on request (`--large-messages`).

A benchmark of memory needs a known number of messages at Gmail's sending limit,
which the realistic profile draws only rarely. They are chosen among the generated
messages from the seed, so the same options always give the same mailbox; the rest
of the mail is what the profile made.
"""

import random

from .content import GeneratedSource
from .generate import MessageRecord
from .mixed import Attachment

# Gmail's sending limit: the largest file a Gmail user can attach.
LARGE_FILE_BYTES = 25_000_000


def with_large_files(
    records: list[MessageRecord], *, count: int, size: int, seed: int
) -> list[MessageRecord]:
    """The records, `count` generated ones of them carrying one file of `size` bytes
    (a video) in place of their own files."""
    rng = random.Random(f"large:{seed}")
    generated = [i for i, r in enumerate(records) if isinstance(r.source, GeneratedSource)]
    changed = list(records)
    for index in sorted(rng.sample(generated, min(count, len(generated)))):
        record = changed[index]
        assert isinstance(record.source, GeneratedSource)
        video = Attachment(f"VID_{rng.randrange(1000, 9999)}.mp4", "video/mp4", size)
        changed[index] = record._replace(source=record.source._replace(attachments=(video,)))
    return changed
