"""A text field encrypted at rest: OAuth tokens never reach the database in clear.

The database holds a Fernet token (AES-128-CBC with an HMAC, base64); Python sees the
clear text, so code reading `mailbox.refresh_token` needs no change. The keys are
TOKEN_ENCRYPTION_KEYS: the first encrypts, every one decrypts, so a key is rotated by
adding a new one first, running `manage.py reencrypt_tokens`, then removing the old one.
An empty value stays empty: "no token" is not a secret, and checks for it stay simple.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

logger = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def token_fernet() -> MultiFernet:
    """The keys in force (cached per list of keys, so tests may change them)."""
    return _fernet(tuple(settings.TOKEN_ENCRYPTION_KEYS))


def encrypt_text(value: str) -> str:
    if not value:
        return ""
    return token_fernet().encrypt(value.encode()).decode()


def decrypt_text(stored: str) -> str:
    """The clear text; "" (logged, never the value) when no key in force opens it."""
    if not stored:
        return ""
    try:
        return token_fernet().decrypt(stored.encode()).decode()
    except InvalidToken:
        logger.error(
            "a stored token cannot be decrypted with TOKEN_ENCRYPTION_KEYS "
            "(was its key removed?); it is treated as missing"
        )
        return ""


class EncryptedTextField(models.TextField):
    """Clear text in Python, a Fernet token in the database. Cannot be searched."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return None if value is None else decrypt_text(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return None if value is None else encrypt_text(value)
