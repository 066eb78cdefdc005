"""users.watch, users.stop and the Cloud Pub/Sub push deliveries that follow a change.

A watched mailbox that changes publishes `{"emailAddress", "historyId"}` (at most one
message per `min_interval` seconds per user, later changes folded into the next one,
as Gmail does), and each message is POSTed to the push endpoint with an OIDC token
signed by the emulator's key (`signing`), like a Pub/Sub push subscription with
authentication. Deliveries can be delayed, dropped, duplicated and reordered; a
delivery answered with anything but 2xx is tried again with backoff, as Pub/Sub does.
"""

import base64
import heapq
import itertools
import json
import logging
import random
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from . import errors
from .signing import jwt_encode, push_claims, rsa_key

logger = logging.getLogger(__name__)

DEFAULT_PUSH_EMAIL = "gmail-push@emulator.example.com"
SUBSCRIPTION = "projects/emulator/subscriptions/gmail-push"
WATCH_SECONDS = 7 * 24 * 3600  # a watch lapses after 7 days unless renewed
RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0)  # then the message is given up
DELIVERY_TIMEOUT = 10.0
TOKEN_LIFETIME = 3600
_TOPIC = re.compile(r"^projects/[^/]+/topics/[^/]+$")


class Watch(NamedTuple):
    topic: str
    label_ids: frozenset[str]
    include: bool  # labelFilterBehavior INCLUDE (or no labels) / EXCLUDE
    expiration: float  # seconds since the epoch


class PushDelivery(NamedTuple):
    """One attempt to deliver a message to the endpoint (the push log)."""

    at: float
    email: str
    history_id: int
    message_id: str
    status: int  # the endpoint's answer; 0 when it could not be reached


@dataclass
class _Message:
    email: str
    history_id: int
    message_id: str
    publish_time: float
    attempt: int = 0


@dataclass
class PushOptions:
    """Where and how deliveries go; every field may be changed while the emulator runs."""

    endpoint: str | None = None
    audience: str | None = None  # the endpoint URL when None, as Pub/Sub does by default
    email: str = DEFAULT_PUSH_EMAIL
    delay_seconds: float = 0.0
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0  # held back 0.5-1.5 s more, so later ones overtake it
    min_interval: float = 1.0
    rng: random.Random = field(default_factory=random.Random)


class Publisher:
    def __init__(self, options: PushOptions, *, seed: int, clock: Callable[[], float]) -> None:
        self.options = options
        self._seed = seed
        self._clock = clock
        self._lock = threading.Condition()
        self._watches: dict[str, Watch] = {}
        self._open: dict[str, tuple[float, _Message]] = {}  # user -> (publish time, message)
        self._last_publish: dict[str, float] = {}
        self._heap: list[tuple[float, int, _Message]] = []
        self._order = itertools.count()
        self._ids = itertools.count(1)
        self._log: list[PushDelivery] = []
        self._token: tuple[float, str, str] = (0.0, "", "")  # (expires, audience, token)
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    # -- users.watch and users.stop ----------------------------------------------

    def watch(self, email: str, body: bytes) -> dict:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            raise errors.bad_request("Invalid JSON payload received.") from None
        topic = request.get("topicName") if isinstance(request, dict) else None
        if not isinstance(topic, str) or not _TOPIC.match(topic):
            raise errors.bad_request(f"Invalid topicName does not match {_TOPIC.pattern}")
        behavior = request.get("labelFilterBehavior") or request.get("labelFilterAction")
        watch = Watch(
            topic,
            frozenset(request.get("labelIds") or ()),
            str(behavior or "include").lower() != "exclude",
            self._clock() + WATCH_SECONDS,
        )
        with self._lock:
            self._watches[email.lower()] = watch
        return {"expiration": str(int(watch.expiration * 1000))}

    def stop(self, email: str) -> None:
        with self._lock:
            self._watches.pop(email.lower(), None)

    def watched(self, email: str) -> Watch | None:
        """The mailbox's watch, if it has one that has not lapsed."""
        with self._lock:
            watch = self._watches.get(email.lower())
        return watch if watch is not None and watch.expiration > self._clock() else None

    # -- publishing ----------------------------------------------------------------

    def changed(self, email: str, history_id: int, label_ids: Iterable[str]) -> None:
        """A mailbox changed (called under its lock): publish if it is watched."""
        watch = self.watched(email)
        if watch is None or self.options.endpoint is None:
            return
        if watch.label_ids and bool(watch.label_ids & set(label_ids)) != watch.include:
            return
        now = time.time()
        with self._lock:
            opened = self._open.get(email)
            if opened is not None and opened[0] > now:
                opened[1].history_id = max(opened[1].history_id, history_id)
                return
            at = max(now, self._last_publish.get(email, 0.0) + self.options.min_interval)
            message = _Message(email, history_id, str(next(self._ids)), at)
            self._open[email] = (at, message)
            self._last_publish[email] = at
            self._schedule(message, self._delivery_delay(at - now))

    def _delivery_delay(self, wait: float) -> float:
        options = self.options
        delay = wait + options.delay_seconds
        if options.rng.random() < options.reorder_rate:
            delay += 0.5 + options.rng.random()
        return delay

    def _schedule(self, message: _Message, delay: float) -> None:
        """Queue a delivery (under the lock), unless the message is dropped."""
        if message.attempt == 0 and self.options.rng.random() < self.options.drop_rate:
            logger.info("push: message %s for %s dropped", message.message_id, message.email)
            return
        copies = (
            2
            if message.attempt == 0 and self.options.rng.random() < self.options.duplicate_rate
            else 1
        )
        for _ in range(copies):
            heapq.heappush(self._heap, (time.time() + delay, next(self._order), message))
        self._ensure_started()
        self._lock.notify()

    # -- delivering ----------------------------------------------------------------

    @property
    def log(self) -> list[PushDelivery]:
        with self._lock:
            return list(self._log)

    def close(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify()
        if self._thread is not None:
            self._thread.join()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _ensure_started(self) -> None:
        if self._thread is None and not self._stopping:
            # Made once now, not by the first deliveries all at once.
            rsa_key(self._seed)
            self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="gmail-push")
            self._thread = threading.Thread(target=self._run, name="gmail-push", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        with self._lock:
            while not self._stopping:
                if not self._heap:
                    self._lock.wait()
                    continue
                due, _, message = self._heap[0]
                wait = due - time.time()
                if wait > 0:
                    self._lock.wait(wait)
                    continue
                heapq.heappop(self._heap)
                if self._open.get(message.email, (0.0, None))[1] is message:
                    del self._open[message.email]
                if self._pool is not None:
                    self._pool.submit(self._deliver, message)

    def _deliver(self, message: _Message) -> None:
        options = self.options
        endpoint = options.endpoint
        if endpoint is None:
            return
        status = _post(endpoint, self._body(message), self._bearer(options.audience or endpoint))
        with self._lock:
            self._log.append(
                PushDelivery(
                    time.time(), message.email, message.history_id, message.message_id, status
                )
            )
            if (
                not 200 <= status < 300
                and message.attempt < len(RETRY_DELAYS)
                and not self._stopping
            ):
                message.attempt += 1
                self._schedule(message, RETRY_DELAYS[message.attempt - 1])

    def _body(self, message: _Message) -> bytes:
        data = json.dumps({"emailAddress": message.email, "historyId": message.history_id})
        published = datetime.fromtimestamp(message.publish_time, UTC).isoformat(
            timespec="milliseconds"
        )
        published = published.replace("+00:00", "Z")
        return json.dumps(
            {
                "message": {
                    "data": base64.b64encode(data.encode()).decode(),
                    "messageId": message.message_id,
                    "message_id": message.message_id,
                    "publishTime": published,
                    "publish_time": published,
                },
                "subscription": SUBSCRIPTION,
            }
        ).encode()

    def _bearer(self, audience: str) -> str:
        """A token for the audience, signed again when the last is half spent."""
        now = time.time()
        with self._lock:
            expires, for_audience, token = self._token
        if for_audience == audience and expires - now > TOKEN_LIFETIME / 2:
            return token
        claims = push_claims(
            audience=audience, email=self.options.email, now=now, lifetime=TOKEN_LIFETIME
        )
        token = jwt_encode(rsa_key(self._seed), claims)
        with self._lock:
            self._token = (claims["exp"], audience, token)
        return token


def _post(url: str, body: bytes, token: str) -> int:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0
