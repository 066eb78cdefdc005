"""Gmail's front door: each API call admitted under its user's concurrency limit, then answered.

A batch's inner calls all arrive together, so each of them takes a place among its
user's calls in flight at once; those past the limit are refused with Google's 429.
"""

from typing import NamedTuple

from . import errors
from .api import GmailApi
from .oauth import TokenStore
from .quota import ConcurrencyLimit
from .responses import Response


class Call(NamedTuple):
    method: str  # the HTTP method
    target: str  # path and query
    authorization: str | None


class Frontend:
    def __init__(
        self, *, api: GmailApi, tokens: TokenStore, concurrency: ConcurrencyLimit
    ) -> None:
        self._api = api
        self._tokens = tokens
        self._concurrency = concurrency

    def answer(self, calls: list[Call], *, in_batch: bool) -> list[Response]:
        """Answer calls that arrived together (one request, or the inner calls of a batch)."""
        users = [self._tokens.user_of(call.authorization) for call in calls]
        admitted = [self._concurrency.enter(user) for user in users]
        try:
            return [
                self._api.call(
                    call.method,
                    call.target,
                    call.authorization,
                    in_batch=in_batch,
                    refused=None if entered else errors.too_many_concurrent(),
                )
                for call, entered in zip(calls, admitted, strict=True)
            ]
        finally:
            for user, entered in zip(users, admitted, strict=True):
                if entered:
                    self._concurrency.leave(user)
