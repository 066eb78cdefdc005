"""The Gmail emulator in a process of its own, with its request log within reach.

A sync and an emulator in one process share one interpreter lock, so every
figure would measure both. Here the emulator runs apart (`python -m
bench.emulator`), prints its URL on one line, and then answers commands on
stdin, one a line: `log` prints a summary of the request log as JSON, `clear`
empties it, `add EMAIL N` serves one more mailbox of N messages and prints a
refresh token for it, `drain` spends the mailbox's quota until the emulator answers 429
(so that a benchmark starts with an empty bucket). It stops on `stop` or at the
end of stdin, so it cannot outlive a harness that died without cleaning up.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from gmail_emulator import GmailEmulator, cli
from tests.support.processes import Spawned


@dataclass(frozen=True, slots=True)
class RequestLogSummary:
    """What the emulator answered: one entry per API call, inner batch calls included."""

    calls: int
    by_method: dict[str, int]
    by_status: dict[int, int]

    @property
    def rate_limited(self) -> int:
        return self.by_status.get(429, 0)

    def api_calls(self) -> int:
        """Gmail API calls, not counting token refreshes."""
        return sum(n for method, n in self.by_method.items() if method != "token")


class EmulatorProcess:
    """Start with `with EmulatorProcess(...) as emulator:`; `.url` is its base URL."""

    def __init__(
        self,
        *,
        messages: int,
        seed: int = 1,
        email: str = "demo@example.com",
        profile: str = "realistic",
        quota_units_per_minute: float | None = None,
        latency_ms: float = 0,
        mailboxes: int = 0,
        service_ms: float | None = None,
        extra: tuple[str, ...] = (),
        log_dir: Path,
    ) -> None:
        command = [
            sys.executable,
            "-m",
            "bench.emulator",
            "--port=0",
            f"--messages={messages}",
            f"--seed={seed}",
            f"--email={email}",
            f"--profile={profile}",
            f"--latency-ms={latency_ms}",
            f"--mailboxes={mailboxes}",
        ]
        if quota_units_per_minute is not None:
            command.append(f"--quota-units-per-minute={quota_units_per_minute}")
        if service_ms is not None:
            command.append(f"--service-ms={service_ms}")
        # Any other option of `python -m gmail_emulator` (the push ones, say).
        command.extend(extra)
        self._process = Spawned(command, name="gmail-emulator", log_dir=log_dir, stdio=True)
        self.url = ""

    def __enter__(self) -> EmulatorProcess:
        self._process.start()
        try:
            self.url = self._process.readline(timeout=60).strip()
            if not self.url.startswith("http://"):
                raise RuntimeError(f"the emulator did not start: {self._process.output()}")
        except BaseException:
            self._process.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._process.stop()

    @property
    def pid(self) -> int:
        return self._process.pid

    def request_log(self) -> RequestLogSummary:
        data = json.loads(self._command("log"))
        return RequestLogSummary(
            calls=data["calls"],
            by_method=data["by_method"],
            by_status={int(status): n for status, n in data["by_status"].items()},
        )

    def push_statuses(self) -> dict[int, int]:
        """How the push endpoint answered the deliveries so far: status -> count (0: no answer)."""
        return {int(status): n for status, n in json.loads(self._command("pushes")).items()}

    def clear_request_log(self) -> None:
        self._command("clear")

    def drain_quota(self) -> int:
        """Spend the mailbox's quota until the emulator refuses; returns the calls it took.

        The emulator's bucket starts full (a few seconds of quota); drained, it
        grants exactly its rate from now on. The drain's calls are left out of the log.
        """
        calls = int(self._command("drain"))
        self.clear_request_log()
        return calls

    def add_mailbox(self, email: str, *, messages: int) -> str:
        """Serve one more mailbox; returns a refresh token the emulator knows for it."""
        return self._command(f"add {email} {messages}").strip()

    def _command(self, command: str) -> str:
        self._process.writeline(command)
        return self._process.readline(timeout=30)


def _serve(argv: list[str]) -> None:
    # The options of `python -m gmail_emulator`; the commands on stdin are this module's.
    parser = argparse.ArgumentParser(prog="python -m bench.emulator")
    cli.add_arguments(parser)
    options = parser.parse_args(argv)
    emulator = cli.emulator_from(vars(options))
    emulator.start()
    try:
        print(emulator.url, flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "log":
                entries = emulator.request_log
                summary = {
                    "calls": len(entries),
                    "by_method": Counter(entry.method for entry in entries),
                    "by_status": Counter(str(entry.status) for entry in entries),
                }
                print(json.dumps(summary), flush=True)
            elif command == "pushes":
                statuses = Counter(str(delivery.status) for delivery in emulator.push_log)
                print(json.dumps(statuses), flush=True)
            elif command == "clear":
                emulator.clear_request_log()
                print("ok", flush=True)
            elif command == "drain":
                print(_drain(emulator, options.email), flush=True)
            elif command.startswith("add "):
                _, email, messages = command.split()
                emulator.add_mailbox(email, messages=int(messages))
                print(emulator.issue_tokens(email)[1], flush=True)
            elif command == "stop":
                break
    finally:
        emulator.stop()


def _drain(emulator: GmailEmulator, email: str) -> int:
    """Call messages.list (5 units) until the quota answers 429."""
    access_token, _ = emulator.issue_tokens(email)
    url = urlsplit(emulator.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {"Authorization": f"Bearer {access_token}"}
    # One call at a time could not outrun the refill if each took its service time.
    service_ms, emulator.service_ms = emulator.service_ms, 0
    try:
        for calls in range(1, 1_000_000):
            connection.request("GET", "/gmail/v1/users/me/messages?maxResults=1", headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status == 429:
                return calls
            if response.status != 200:
                raise RuntimeError(f"draining the quota: HTTP {response.status}")
    finally:
        emulator.service_ms = service_ms
        connection.close()
    raise RuntimeError("the quota never ran out: is it enforced?")


if __name__ == "__main__":
    _serve(sys.argv[1:])
