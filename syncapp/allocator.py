"""Large blocks of memory go back to the system when freed (glibc's allocator).

glibc serves an allocation from its heaps unless it is larger than a threshold, and it
raises that threshold to the size of the largest block freed so far (up to 32 MB). After
a worker's first large message, buffers of many megabytes then come from the heaps of
whichever thread asked, and those heaps keep them when they are freed: each fetching
thread held about a large message's worth, and a sync's peak memory depended on which
threads happened to fetch the large messages (`large_message_peak_rss_mib` read 668 MiB
once, 306 the next time). A fixed threshold (which also stops glibc moving it) keeps
every block of a megabyte or more in a mapping of its own, unmapped when freed.
"""

from __future__ import annotations

import ctypes

# mallopt's parameter number for the threshold (malloc.h).
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 1 << 20


def mmap_threshold_pin() -> bool:
    """Fix glibc's threshold for this process (its children inherit it); False where the
    C library has no `mallopt` or refuses it (not glibc), which changes nothing."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
