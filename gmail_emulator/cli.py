"""The command line: `python -m gmail_emulator`, and `manage.py gmail_emulator` through it."""

import argparse
import dataclasses
import random
import signal
import sys
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from .large import LARGE_FILE_BYTES
from .profiles import DEFAULT_PROFILE, PROFILES
from .push import DEFAULT_PUSH_EMAIL, PushOptions
from .quota import DEFAULT_MAX_CONCURRENT_PER_USER
from .server import GmailEmulator
from .timing import DEFAULT_BATCH_PARALLELISM, DEFAULT_SERVICE_JITTER, DEFAULT_SERVICE_MS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025, help="0 picks a free port")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--email", default="demo@example.com")
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=DEFAULT_PROFILE,
        help="the generated mailbox's shape: realistic mail, or tiny messages for unit tests",
    )
    parser.add_argument(
        "--large-messages",
        type=int,
        default=0,
        help="of the messages, this many (chosen from the seed) carry one file of "
        "--large-message-bytes",
    )
    parser.add_argument(
        "--large-message-bytes",
        type=int,
        default=LARGE_FILE_BYTES,
        help="the size of each large message's file (default: Gmail's sending limit, 25 MB)",
    )
    parser.add_argument(
        "--quota-units-per-minute",
        type=float,
        default=None,
        help="per-user quota (Gmail's is 6000 for new projects); unlimited when absent",
    )
    parser.add_argument(
        "--project-quota-units-per-minute",
        type=float,
        default=None,
        help="the project's quota, all users together (Gmail's is 1,200,000); unlimited when "
        "absent",
    )
    parser.add_argument(
        "--mailboxes",
        type=int,
        default=0,
        help="also serve user1@example.com ... userK@example.com, --messages each, own seeds",
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0, help="added once to every HTTP request"
    )
    parser.add_argument(
        "--max-concurrent-per-user",
        type=int,
        default=DEFAULT_MAX_CONCURRENT_PER_USER,
        help="calls in flight per user, each inner call of a batch counting one; 0: no limit",
    )
    parser.add_argument(
        "--service-ms",
        type=float,
        default=DEFAULT_SERVICE_MS,
        help="how long a messages.get takes to serve (other calls in proportion to their cost)",
    )
    parser.add_argument(
        "--service-jitter",
        type=float,
        default=DEFAULT_SERVICE_JITTER,
        help="spread of the log-normal factor service times are multiplied by; 0: none",
    )
    parser.add_argument(
        "--batch-parallelism",
        type=int,
        default=DEFAULT_BATCH_PARALLELISM,
        help="inner calls of one batch served at once",
    )
    _add_push_arguments(parser)


def _add_push_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--push-endpoint",
        default=None,
        help="POST Pub/Sub push messages for watched mailboxes here; none when absent",
    )
    parser.add_argument(
        "--push-audience", default=None, help="the token's audience; the endpoint URL by default"
    )
    parser.add_argument(
        "--push-email", default=DEFAULT_PUSH_EMAIL, help="the service account the token names"
    )
    parser.add_argument(
        "--push-delay-ms", type=float, default=0, help="added to every push delivery"
    )
    parser.add_argument(
        "--push-drop-rate", type=float, default=0, help="share of push messages never delivered"
    )
    parser.add_argument(
        "--push-duplicate-rate", type=float, default=0, help="share of push messages sent twice"
    )
    parser.add_argument(
        "--push-reorder-rate",
        type=float,
        default=0,
        help="share of push messages held back 0.5-1.5 s, so that later ones overtake them",
    )
    parser.add_argument(
        "--push-min-interval",
        type=float,
        default=1.0,
        help="seconds between a user's push messages (Gmail: about 1); changes between are "
        "folded into the next",
    )


@dataclasses.dataclass(frozen=True)
class Options:
    """The options `add_arguments` declares, with the types their `type=` gives them."""

    host: str
    port: int
    messages: int
    seed: int
    email: str
    profile: str
    large_messages: int
    large_message_bytes: int
    quota_units_per_minute: float | None
    project_quota_units_per_minute: float | None
    mailboxes: int
    latency_ms: float
    max_concurrent_per_user: int
    service_ms: float
    service_jitter: float
    batch_parallelism: int
    push_endpoint: str | None
    push_audience: str | None
    push_email: str
    push_delay_ms: float
    push_drop_rate: float
    push_duplicate_rate: float
    push_reorder_rate: float
    push_min_interval: float

    @classmethod
    def parsed(cls, options: Mapping[str, Any]) -> "Options":
        """Those of parsed options, argparse's `vars(namespace)` or Django's (others ignored).

        The values are untyped there; `add_arguments` is what gives them these types.
        """
        return cls(**{field.name: options[field.name] for field in dataclasses.fields(cls)})


class Output(Protocol):
    """Where `serve` writes: a text stream, or a Django command's `OutputWrapper`."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> None: ...


def emulator_from(options: Mapping[str, Any]) -> GmailEmulator:
    """An emulator configured from parsed options (extra keys, such as Django's, are ignored)."""
    parsed = Options.parsed(options)
    return GmailEmulator(
        messages=parsed.messages,
        seed=parsed.seed,
        email=parsed.email,
        profile=parsed.profile,
        large_messages=parsed.large_messages,
        large_message_bytes=parsed.large_message_bytes,
        quota_units_per_minute=parsed.quota_units_per_minute,
        project_quota_units_per_minute=parsed.project_quota_units_per_minute,
        mailboxes=parsed.mailboxes,
        latency_ms=parsed.latency_ms,
        max_concurrent_per_user=parsed.max_concurrent_per_user,
        service_ms=parsed.service_ms,
        service_jitter=parsed.service_jitter,
        batch_parallelism=parsed.batch_parallelism,
        push=PushOptions(
            endpoint=parsed.push_endpoint,
            audience=parsed.push_audience,
            email=parsed.push_email,
            delay_seconds=parsed.push_delay_ms / 1000,
            drop_rate=parsed.push_drop_rate,
            duplicate_rate=parsed.push_duplicate_rate,
            reorder_rate=parsed.push_reorder_rate,
            min_interval=parsed.push_min_interval,
            rng=random.Random(f"push:{parsed.seed}"),
        ),
        host=parsed.host,
        port=parsed.port,
    )


def serve(emulator: GmailEmulator, out: Output) -> None:
    """Start, write the base URL on one line, and serve until SIGINT or SIGTERM."""
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    emulator.start()
    try:
        # Only the URL, so that scripts can read it with one readline().
        out.write(emulator.url + "\n")
        out.flush()
        stopping.wait()
    finally:
        emulator.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m gmail_emulator",
        description="Serve a Gmail API v1 emulator with a generated mailbox until interrupted.",
    )
    add_arguments(parser)
    serve(emulator_from(vars(parser.parse_args(argv))), sys.stdout)
