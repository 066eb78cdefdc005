"""Gmail's front door: each API call admitted under its user's concurrency limit, then served.

A batch's inner calls all arrive together, so each of them takes a place among its
user's calls in flight at once; those past the limit are refused with Google's 429.
The admitted ones are served on a few lanes (`timing`), each keeping its place until
its own service time is over, and the answer leaves when the slowest is done.
"""

from collections.abc import Callable
from typing import NamedTuple

from . import errors
from .api import GmailApi
from .oauth import TokenStore
from .quota import ConcurrencyLimit
from .responses import Response
from .timing import ServiceTime, finish_times


class Call(NamedTuple):
    method: str  # the HTTP method
    target: str  # path and query
    authorization: str | None
    body: bytes = b""  # only users.watch reads one


class Frontend:
    def __init__(
        self,
        *,
        api: GmailApi,
        tokens: TokenStore,
        concurrency: ConcurrencyLimit,
        service_time: ServiceTime,
        batch_parallelism: int,
        sleep: Callable[[float], None],
    ) -> None:
        self._api = api
        self._tokens = tokens
        self._concurrency = concurrency
        self._service_time = service_time
        self.batch_parallelism = batch_parallelism
        self._sleep = sleep

    def answer(self, calls: list[Call], *, in_batch: bool) -> list[Response]:
        """Answer calls that arrived together (one request, or the inner calls of a batch)."""
        places = _Places(self._concurrency, [self._tokens.user_of(c.authorization) for c in calls])
        try:
            answers = [
                self._api.call(
                    call.method,
                    call.target,
                    call.authorization,
                    body=call.body,
                    in_batch=in_batch,
                    refused=None if i in places.held else errors.too_many_concurrent(),
                )
                for i, call in enumerate(calls)
            ]
            admitted = list(places.held)
            durations = [self._service_time.seconds(answers[i].units) for i in admitted]
            ends = finish_times(durations, self.batch_parallelism)
            elapsed = 0.0
            for end, i in sorted(zip(ends, admitted, strict=True)):
                if end > elapsed:
                    self._sleep(end - elapsed)
                    elapsed = end
                places.give_back(i)
        finally:
            places.give_back_all()
        return [answer.response for answer in answers]


class _Places:
    """The places a group of calls took among their users' calls in flight."""

    def __init__(self, concurrency: ConcurrencyLimit, users: list[str | None]) -> None:
        self._concurrency = concurrency
        # Call index -> its user, for the calls admitted and not yet done.
        self.held = {i: user for i, user in enumerate(users) if concurrency.enter(user)}

    def give_back(self, index: int) -> None:
        self._concurrency.leave(self.held.pop(index))

    def give_back_all(self) -> None:
        for index in list(self.held):
            self.give_back(index)
