"""The emulator's mailboxes, by address."""

import hashlib
import threading
from collections.abc import Callable

from .mailbox import EmulatedMailbox


class Mailboxes:
    """The emulator's mailboxes by address (case-insensitive), one of them the default.

    A mailbox added with `add_later` is generated when first asked for, so that a
    fleet of many large mailboxes starts at once.
    """

    def __init__(self, default: EmulatedMailbox, factory: Callable[..., EmulatedMailbox]) -> None:
        self.default_email = default.email
        self._factory = factory
        self._lock = threading.Lock()
        self._by_email = {default.email.lower(): default}
        self._addresses = [default.email]  # as given, in the order served
        self._later: dict[str, tuple[str, int, int]] = {}  # key -> (email, messages, seed)

    def get(self, email: str | None = None) -> EmulatedMailbox:
        key = (email or self.default_email).lower()
        with self._lock:
            mailbox = self._by_email.get(key)
            if mailbox is not None:
                return mailbox
            address, messages, seed = self._later[key]  # KeyError: not served
            # Generated under the lock, once: a few tens of milliseconds for thousands.
            mailbox = self._factory(address, messages=messages, seed=seed)
            self._by_email[key] = mailbox
            del self._later[key]
            return mailbox

    def addresses(self) -> list[str]:
        """Every address served, the default first, then in the order they were added."""
        with self._lock:
            return list(self._addresses)

    def add(self, email: str, *, messages: int, seed: int) -> EmulatedMailbox:
        mailbox = self._factory(email, messages=messages, seed=seed)
        with self._lock:
            self._remember(email)
            self._by_email[email.lower()] = mailbox
            self._later.pop(email.lower(), None)
        return mailbox

    def add_later(self, email: str, *, messages: int, seed: int) -> None:
        """Serve `email`, generating its mail when it is first asked for."""
        with self._lock:
            self._remember(email)
            self._by_email.pop(email.lower(), None)
            self._later[email.lower()] = (email, messages, seed)

    def ensure(self, email: str, *, messages: int) -> EmulatedMailbox:
        """The mailbox for `email`, created with generated mail if it is new."""
        try:
            return self.get(email)
        except KeyError:
            pass
        # A seed from the address, so a given address always gets the same mail.
        seed = int(hashlib.sha256(email.lower().encode()).hexdigest()[:8], 16)
        mailbox = self._factory(email, messages=messages, seed=seed)
        with self._lock:
            if email.lower() not in self._by_email:
                self._remember(email)
            return self._by_email.setdefault(email.lower(), mailbox)

    def _remember(self, email: str) -> None:
        if email.lower() not in {a.lower() for a in self._addresses}:
            self._addresses.append(email)
