"""A Gmail API v1 emulator for tests, benchmarks and the demo (pure stdlib, no Django)."""

from .mailbox import EmulatedMailbox, EmulatedMessage
from .requestlog import LoggedRequest
from .server import GmailEmulator

__all__ = ["EmulatedMailbox", "EmulatedMessage", "GmailEmulator", "LoggedRequest"]
