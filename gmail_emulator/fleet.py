"""A fleet of mailboxes: `user1@example.com` ... `userK@example.com` beside the default one.

The addresses, seeds and refresh tokens are fixed by K and the emulator's seed, so that
`manage.py demo_setup --mailboxes K` can connect the same mailboxes the emulator serves.
"""

FLEET_DOMAIN = "example.com"
FLEET_REFRESH_TOKEN_PREFIX = "fleet-refresh-token-"


def fleet_username(number: int) -> str:
    """The fleet's `number`th user (from 1): user1, user2, ..."""
    return f"user{number}"


def fleet_address(number: int) -> str:
    return f"{fleet_username(number)}@{FLEET_DOMAIN}"


def fleet_seed(seed: int, number: int) -> int:
    """Each mailbox its own seed, so that no two hold the same mail."""
    return seed + number


def fleet_refresh_token(email: str) -> str:
    """The refresh token the emulator accepts for a fleet mailbox (a demo convenience)."""
    return FLEET_REFRESH_TOKEN_PREFIX + email.lower()
