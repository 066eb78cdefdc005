"""Child processes of the tests and the bench: each in its own process group, always stopped.

Every child (a qcluster, gunicorn, the emulator, syncmail) is a `Spawned`: started in
a new session, so that stopping it signals its whole group (qcluster's and gunicorn's
own children included), and so that a terminal's Ctrl-C reaches only the parent, whose
fixtures and `finally` blocks then stop them. `stop_all()` is the last line of defence.

Starting and stopping hold back SIGINT and SIGTERM until they are done: an interrupt in
the middle of Popen would otherwise leave a child running that nothing knows of, and one
in the middle of a stop would leave it half-stopped.

A qcluster shares the database and some settings of the process that starts its runs:
`cluster_env()` gives it them.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
QCLUSTER = [sys.executable, "manage.py", "qcluster"]
SYNCWORKERS = [sys.executable, "manage.py", "syncworkers"]
# Heartbeats every second and a run stale after four: a dead worker's run ends in seconds.
FAST_TIMINGS = {
    "SYNC_HEARTBEAT_SECONDS": 1,
    "SYNC_STALE_SECONDS": 4,
    "SYNC_QUEUE_GRACE_SECONDS": 3,
    "SYNC_RETRY_DELAY_SECONDS": 1,
}
# Settings a cluster takes from the process that starts it, so that both sides agree
# on what "stale" means and how Gmail is fetched.
SHARED_TIMINGS = [
    "SYNC_HEARTBEAT_SECONDS",
    "SYNC_STALE_SECONDS",
    "SYNC_QUEUE_TIMEOUT_SECONDS",
    "SYNC_QUEUE_GRACE_SECONDS",
    "SYNC_MAX_RETRIES",
    "SYNC_RETRY_DELAY_SECONDS",
    "SYNC_SLICE_SECONDS",
    "SYNC_TASK_TIMEOUT_SECONDS",
    "SYNC_MAX_INTERRUPTIONS",
    "SYNC_LANES",
    "GMAIL_QUOTA_UNITS_PER_MINUTE",
    "GMAIL_BATCH_SIZE",
    "GMAIL_CONCURRENT_BATCHES",
    "GMAIL_REQUEST_TIMEOUT_SECONDS",
    "GMAIL_RETRY_BUDGET_SECONDS",
]
# How long a child killed with SIGKILL may take to be reaped.
REAP_SECONDS = 15

_live: dict[Spawned, None] = {}
_live_lock = threading.Lock()
DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back until the block ends, then deliver them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {
        signum: signal.signal(signum, lambda signum, frame: pending.append(signum))
        for signum in DEFERRED_SIGNALS
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if pending:
            signal.raise_signal(pending[0])


class Spawned:
    """A child process in its own session; its stdout and stderr go to a log in `log_dir`.

    With `stdio`, its stdin and stdout are a line protocol instead (`readline`, `writeline`).
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        name: str,
        log_dir: Path,
        env: dict[str, str] | None = None,
        stdio: bool = False,
    ) -> None:
        self.command = list(command)
        self.name = name
        self.log = Path(log_dir) / f"{name}-{time.monotonic_ns()}.log"
        self.env = env
        self.stdio = stdio
        self.process: subprocess.Popen | None = None
        self._log_file = None
        self._lines: queue.Queue[str | None] = queue.Queue()

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> Spawned:
        with signals_deferred():
            self._start()
        return self

    def _start(self) -> None:
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.PIPE if self.stdio else subprocess.DEVNULL,
            stdout=subprocess.PIPE if self.stdio else self._log_file,
            stderr=self._log_file,
            start_new_session=True,
            text=self.stdio,
            bufsize=1 if self.stdio else -1,
        )
        with _live_lock:
            _live[self] = None
        if self.stdio:
            threading.Thread(
                target=self._read_stdout, name=f"{self.name}-stdout", daemon=True
            ).start()

    def __enter__(self) -> Spawned:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, *, grace: float = 5.0) -> None:
        """SIGTERM to the group, SIGKILL after `grace` seconds; then reap the leader."""
        with signals_deferred():
            self._end(grace=grace)

    def kill(self) -> None:
        """SIGKILL to the group at once, as a crash would end it; then reap the leader."""
        with signals_deferred():
            self._end(grace=None)

    def _end(self, *, grace: float | None) -> None:
        process = self.process
        if process is None:
            return
        # Children that lead groups of their own (syncworkers' clusters) are not in ours.
        groups_started = _groups_led_by_children(process.pid)
        try:
            if grace is not None and process.poll() is None:
                self._signal_group(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=grace)
            # Even when the leader is gone: children it started may linger.
            self._signal_group(signal.SIGKILL)
            for group in groups_started:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(group, signal.SIGKILL)
            process.wait(timeout=REAP_SECONDS)
        finally:
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            if self._log_file is not None:
                self._log_file.close()
            with _live_lock:
                _live.pop(self, None)

    def wait_with_rusage(self, *, timeout: float) -> tuple[int, int]:
        """Wait for the process to end: (exit code, its own peak RSS in KiB).

        `os.wait4` reports the usage of this one child, where
        RUSAGE_CHILDREN would report the largest of all children ever waited for.
        """
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                self.process.returncode = os.waitstatus_to_exitcode(status)
                return self.process.returncode, usage.ru_maxrss
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} still running after {timeout:.0f}s")
            time.sleep(0.05)

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    # -- line protocol on stdin/stdout ----------------------------------------------

    def readline(self, *, timeout: float) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"{self.name} said nothing for {timeout:.0f}s") from None
        if line is None:
            raise RuntimeError(f"{self.name} ended: {self.output()}")
        return line

    def writeline(self, line: str) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def _read_stdout(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        with contextlib.suppress(ValueError, OSError):
            for line in self.process.stdout:
                self._lines.put(line)
        self._lines.put(None)

    def output(self) -> str:
        """What the process wrote to its log (stderr, and stdout unless piped)."""
        if self._log_file is not None and not self._log_file.closed:
            self._log_file.flush()
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


def stop_all() -> None:
    """Stop whatever is still running (newest first)."""
    with _live_lock:
        remaining = list(_live)
    for spawned in reversed(remaining):
        spawned.stop(grace=5.0)


def _groups_led_by_children(parent: int) -> list[int]:
    """Process groups that children of `parent` lead (started with a session of their own)."""
    groups = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            pid = int(stat_file.parent.name)
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
            ppid, pgid = int(fields[1]), int(fields[2])
            if ppid == parent and pgid == pid:
                groups.append(pid)
    return groups


def alive(pid: int) -> bool:
    """Whether a process runs; a killed one nobody has reaped yet (a zombie) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def database_url() -> str:
    """The URL of the database this process uses, for children that must share it."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(db["NAME"])
        if name in (":memory:", "") or "mode=memory" in name:
            raise ValueError("children cannot share an in-memory SQLite database")
        return f"sqlite:///{Path(name).resolve()}"
    if connection.vendor != "postgresql":
        raise ValueError(f"children share SQLite or PostgreSQL, not {connection.vendor}")
    user = quote(db.get("USER") or "postgres", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def _mail_storage_dir() -> str:
    options = settings.STORAGES["mail"].get("OPTIONS", {})
    return str(options.get("location", settings.MAIL_STORAGE_DIR))


def cluster_env(*, queue: str, redis_url: str, workers: int, **overrides: str) -> dict[str, str]:
    """The environment of a qcluster serving `queue` for this process.

    It uses this process's database, mail storage, Gmail and SHARED_TIMINGS; the
    ORM broker unless `redis_url` is given.
    """
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "TEST_DATABASE_NAME": "",
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": str(bool(settings.DEBUG)),
        "GMAIL_API_ENDPOINT": settings.GMAIL_API_ENDPOINT,
        "GOOGLE_TOKEN_URI": settings.GOOGLE_TOKEN_URI,
        "MAIL_STORAGE_DIR": _mail_storage_dir(),
        "SYNC_QUEUE": queue,
        "Q_CLUSTER_NAME": queue,
        "REDIS_URL": redis_url,
        "Q_WORKERS": str(workers),
        **{name: str(getattr(settings, name)) for name in SHARED_TIMINGS},
        **overrides,
    }
