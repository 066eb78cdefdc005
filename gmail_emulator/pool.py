"""The pool of MIME bodies a mailbox's messages share.

Building and parsing a body costs about a millisecond (a large newsletter more), far
too slow to do for every `messages.get`, so each mailbox draws its bodies from a pool
of BODY_VARIANTS variants per kind, built on first use and cached; what makes each
message unique (its top-level headers, its attachments) is written per message.
"""

import functools
import random

from . import automated, corpus, mime

BUILDERS = {**corpus.BUILDERS, **automated.BUILDERS}


@functools.lru_cache(maxsize=1024)
def body(seed: int, kind: str, variant: int) -> tuple[bytes, mime.ParsedMessage]:
    """The MIME body (its own headers included) of one pool entry, and its parse."""
    rng = random.Random(f"body:{seed}:{kind}:{variant}")
    raw = corpus.serialize(BUILDERS[kind](rng))
    return raw, mime.parse_message(raw)
