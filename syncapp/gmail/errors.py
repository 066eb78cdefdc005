"""What can go wrong when talking to Gmail, in words a user can act on."""

# Said wherever a mailbox cannot sync until its owner connects it again.
RECONNECT_SENTENCE = (
    "Reconnect your Google account: Gmail no longer accepts this mailbox's access."
)


class GmailError(Exception):
    """Gmail could not do what the sync needed; the message is shown to the user."""


class ReconnectRequired(GmailError):
    """The user revoked access (or it expired): only reconnecting the account helps."""

    def __init__(self, detail: str = "") -> None:
        message = RECONNECT_SENTENCE
        super().__init__(f"{message} ({detail})" if detail else message)


class HistoryExpired(GmailError):
    """The stored history id is too old; only a full sync can catch up."""


class GmailUnavailable(GmailError):
    """Gmail kept failing (rate limits, server errors, timeouts) past the retry budget."""
