"""pytest fixtures that start the Gmail emulator, and helpers to reach it with the real client.

`gmail_emulator` is a started emulator with a small mailbox of the tiny profile
(60 messages, seed 1) that serves calls at once (no service time), under Gmail's
other default limits;
`make_gmail_emulator(**kwargs)` starts emulators with other options. Both stop
every emulator they started at teardown, whether the test passed or not.
"""

from collections.abc import Callable, Iterator

import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import Resource, build
from googleapiclient.http import BatchHttpRequest

from gmail_emulator import GmailEmulator

# Realistic mail and service time cost seconds; most tests need only the answers.
FAST_SMALL_MAILBOX = {"messages": 60, "seed": 1, "profile": "tiny", "service_ms": 0}


@pytest.fixture
def make_gmail_emulator() -> Iterator[Callable[..., GmailEmulator]]:
    started: list[GmailEmulator] = []

    def make(**kwargs: object) -> GmailEmulator:
        emulator = GmailEmulator(**{**FAST_SMALL_MAILBOX, **kwargs})
        emulator.start()
        started.append(emulator)
        return emulator

    try:
        yield make
    finally:
        for emulator in started:
            emulator.stop()


@pytest.fixture
def gmail_emulator(make_gmail_emulator: Callable[..., GmailEmulator]) -> GmailEmulator:
    return make_gmail_emulator()


def gmail_credentials(emulator: GmailEmulator, email: str | None = None) -> Credentials:
    """Credentials with tokens the emulator issued, refreshing at its token endpoint."""
    access_token, refresh_token = emulator.issue_tokens(email or emulator.mailbox().email)
    return Credentials(
        token=access_token,
        refresh_token=refresh_token,
        token_uri=emulator.url + "token",
        client_id="x",
        client_secret="y",
    )


def gmail_service(emulator: GmailEmulator, credentials: Credentials | None = None) -> Resource:
    """The real googleapiclient Gmail service, pointed at the emulator."""
    return build(
        "gmail",
        "v1",
        credentials=credentials or gmail_credentials(emulator),
        static_discovery=True,
        client_options={"api_endpoint": emulator.url},
    )


def gmail_batch(
    emulator: GmailEmulator, callback: Callable | None = None, path: str = "batch"
) -> BatchHttpRequest:
    """A batch posting to the emulator (batches do not follow `api_endpoint`)."""
    return BatchHttpRequest(callback=callback, batch_uri=emulator.url + path)
