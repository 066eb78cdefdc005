"""The emulator's mailboxes, by address."""

import hashlib
import threading
from collections.abc import Callable

from .mailbox import EmulatedMailbox


class Mailboxes:
    """The emulator's mailboxes by address (case-insensitive), one of them the default."""

    def __init__(self, default: EmulatedMailbox, factory: Callable[..., EmulatedMailbox]) -> None:
        self.default_email = default.email
        self._factory = factory
        self._lock = threading.Lock()
        self._by_email = {default.email.lower(): default}

    def get(self, email: str | None = None) -> EmulatedMailbox:
        with self._lock:
            return self._by_email[(email or self.default_email).lower()]

    def add(self, email: str, *, messages: int, seed: int) -> EmulatedMailbox:
        mailbox = self._factory(email, messages=messages, seed=seed)
        with self._lock:
            self._by_email[email.lower()] = mailbox
        return mailbox

    def ensure(self, email: str, *, messages: int) -> EmulatedMailbox:
        """The mailbox for `email`, created with generated mail if it is new."""
        with self._lock:
            existing = self._by_email.get(email.lower())
        if existing is not None:
            return existing
        # A seed from the address, so a given address always gets the same mail.
        seed = int(hashlib.sha256(email.lower().encode()).hexdigest()[:8], 16)
        mailbox = self._factory(email, messages=messages, seed=seed)
        with self._lock:
            return self._by_email.setdefault(email.lower(), mailbox)
