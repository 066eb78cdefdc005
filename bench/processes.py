"""Processes the harness starts, each in its own process group, always stopped.

Every child (emulators, gunicorn, qcluster, syncmail) is a `Spawned`: started in
a new session, so that stopping it signals its whole group (gunicorn's and
qcluster's own children included), and so that the terminal's Ctrl-C reaches
only the harness, whose `finally` blocks then stop them in order. `stop_all()`
is the last line of defence in `bench/run.py`.

Starting and stopping hold back SIGINT and SIGTERM until they are done: an
interrupt in the middle of Popen would otherwise leave a child running that
nothing knows of, and one in the middle of a stop would leave it half-stopped.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_live: dict[Spawned, None] = {}
_live_lock = threading.Lock()
DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def signals_deferred():
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
            self._stop(grace)

    def _stop(self, grace: float) -> None:
        process = self.process
        if process is None:
            return
        try:
            if process.returncode is None:
                self._signal_group(signal.SIGTERM)
                try:
                    process.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    self._signal_group(signal.SIGKILL)
                    process.wait(timeout=grace)
            # The leader may be gone while children it started linger.
            self._signal_group(signal.SIGKILL)
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

    def output(self, *, limit: int = 4000) -> str:
        """The end of what the process wrote to its log (stderr, and stdout unless piped)."""
        if self._log_file is not None and not self._log_file.closed:
            self._log_file.flush()
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return text[-limit:]


def stop_all() -> None:
    """Stop whatever is still running (newest first)."""
    with _live_lock:
        remaining = list(_live)
    for spawned in reversed(remaining):
        spawned.stop(grace=5.0)
