"""The emulator's log of API calls, one entry per call (inner batch calls included)."""

import threading
from collections import deque
from dataclasses import dataclass

# Old entries are dropped past this, so a long-running emulator's memory stays bounded.
MAX_ENTRIES = 1_000_000


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    at: float
    email: str | None
    method: str  # "messages.get", "history.list", "token", ...
    message_id: str | None  # the message (or thread) id in the path, if any
    status: int
    in_batch: bool
    units: int  # quota units charged


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: deque[LoggedRequest] = deque(maxlen=MAX_ENTRIES)

    def append(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
