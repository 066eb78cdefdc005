"""One upkeep pass at a time, across every worker process and host.

The reaper and the schedule's tick run from every worker's liveness thread and
from schedules; `one_at_a_time(name)` lets one of them do a pass while the
others skip theirs (a liveness thread that does not get the lock just beats).

- PostgreSQL: a session advisory lock (`pg_try_advisory_lock`), released at
  the end of the pass, and by the server if the process dies with it.
- SQLite (one host by nature): an exclusive `flock` on a file beside the
  database, released by the kernel if the process dies with it.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

from django.db import DatabaseError, connection

# An in-memory SQLite database lives in one process: a thread lock is enough.
_memory_locks: dict[str, threading.Lock] = {}
_memory_guard = threading.Lock()


@contextlib.contextmanager
def one_at_a_time(name: str) -> Iterator[bool]:
    """Yield True when this caller holds the lock `name` for the block, False
    when another process or thread holds it (then skip the work)."""
    if connection.vendor == "postgresql":
        with _advisory_lock(name) as held:
            yield held
    else:
        with _file_lock(name) as held:
            yield held


def _lock_key(name: str) -> int:
    # A stable 32-bit key per name (Python's hash() changes per process).
    return zlib.crc32(f"mailsync:{name}".encode())


@contextlib.contextmanager
def _advisory_lock(name: str) -> Iterator[bool]:
    key = _lock_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        (held,) = cursor.fetchone() or (False,)
    if not held:
        yield False
        return
    try:
        yield True
    finally:
        # A broken connection is closed by its owner, which releases the lock too.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


@contextlib.contextmanager
def _file_lock(name: str) -> Iterator[bool]:
    database = str(connection.settings_dict["NAME"])
    if not database or database == ":memory:" or database.startswith("file:"):
        with _memory_lock(name) as held:
            yield held
        return
    path = Path(f"{database}.{name}.lock")
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _memory_lock(name: str) -> Iterator[bool]:
    with _memory_guard:
        lock = _memory_locks.setdefault(name, threading.Lock())
    if not lock.acquire(blocking=False):
        yield False
        return
    try:
        yield True
    finally:
        lock.release()
