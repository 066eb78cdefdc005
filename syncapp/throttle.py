"""How often a user may ask to start syncs through the API: SYNC_API_STARTS_PER_MINUTE.

A fixed one-minute window counted in the cache (Redis when REDIS_URL is set, so every
web process shares it; otherwise each process counts for itself).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 60


def sync_start_throttle(*, user_id: int, now: float | None = None) -> int | None:
    """Count one start by this user; None when allowed, else seconds until it would be."""
    moment = time.time() if now is None else now
    window = int(moment // WINDOW_SECONDS)
    key = f"mailsync:api-sync-starts:{user_id}:{window}"
    # add() creates the counter only if missing, so two processes never reset each other.
    cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=WINDOW_SECONDS * 2)
        count = 1
    if count <= settings.SYNC_API_STARTS_PER_MINUTE:
        return None
    return max(1, int((window + 1) * WINDOW_SECONDS - moment) + 1)
