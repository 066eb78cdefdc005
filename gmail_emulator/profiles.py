"""Mailbox profiles by name: `realistic` (the default) and `tiny` (for fast unit tests)."""

from .realistic import RealisticProfile
from .tiny import TinyProfile
from .traits import Profile

PROFILES: dict[str, Profile] = {"realistic": RealisticProfile(), "tiny": TinyProfile()}
DEFAULT_PROFILE = "realistic"


def profile_named(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}: choose from {sorted(PROFILES)}") from None
