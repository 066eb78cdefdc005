"""The emulator: an HTTP server speaking Gmail API v1 and Google OAuth, and its controls."""

import contextlib
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from . import batch, errors
from .api import GmailApi
from .faults import Faults
from .fleet import fleet_address, fleet_refresh_token, fleet_seed
from .frontend import Call, Frontend
from .large import LARGE_FILE_BYTES
from .mailbox import DEFAULT_HISTORY_WINDOW, Clock, EmulatedMailbox
from .mailboxes import Mailboxes
from .oauth import OAuthEndpoints, TokenStore
from .profiles import DEFAULT_PROFILE
from .push import Publisher, PushDelivery, PushOptions
from .quota import DEFAULT_MAX_CONCURRENT_PER_USER, ConcurrencyLimit, Quota
from .requestlog import LoggedRequest, RequestLog
from .responses import Response, json_response
from .signing import certificates, rsa_key
from .timing import (
    DEFAULT_BATCH_PARALLELISM,
    DEFAULT_SERVICE_JITTER,
    DEFAULT_SERVICE_MS,
    ServiceTime,
)

logger = logging.getLogger(__name__)

BATCH_PATHS = ("/batch", "/batch/gmail/v1")
TOKEN_PATHS = ("/token", "/o/oauth2/token")
AUTHORIZE_PATHS = ("/o/oauth2/auth", "/o/oauth2/v2/auth")
USERINFO_PATH = "/oauth2/v3/userinfo"
CERTS_PATH = "/oauth2/v1/certs"
# POST /_emulator/<address>/messages?count=N: new mail in a running emulator.
_ADD_MESSAGES = re.compile(r"^/_emulator/([^/]+)/messages$")
MAX_ADDED = 1000


class GmailEmulator:
    """A Gmail API server on localhost that the unmodified google-api-python-client can use.

    Point the client at it with `client_options={"api_endpoint": emulator.url}` and
    batches with `BatchHttpRequest(batch_uri=emulator.url + "batch")`.
    """

    def __init__(
        self,
        messages: int = 2000,
        seed: int = 1,
        profile: str = DEFAULT_PROFILE,
        email: str = "demo@example.com",
        quota_units_per_minute: float | None = None,
        project_quota_units_per_minute: float | None = None,
        mailboxes: int = 0,
        latency_ms: float = 0,
        history_window_seconds: float = DEFAULT_HISTORY_WINDOW,
        max_concurrent_per_user: int = DEFAULT_MAX_CONCURRENT_PER_USER,
        service_ms: float = DEFAULT_SERVICE_MS,
        service_jitter: float = DEFAULT_SERVICE_JITTER,
        batch_parallelism: int = DEFAULT_BATCH_PARALLELISM,
        large_messages: int = 0,
        large_message_bytes: int = LARGE_FILE_BYTES,
        push: PushOptions | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.seed = seed
        self.profile = profile
        self.latency_ms = latency_ms
        self.faults = Faults(seed)
        self._host = host
        self._port = port
        self._clock = clock
        self._sleep = sleep
        self._history_window = history_window_seconds
        self._publisher = Publisher(push or PushOptions(), seed=seed, clock=clock)
        # Only the default mailbox is given large messages: the fleet's stay as generated.
        default = self._new_mailbox(
            email,
            messages=messages,
            seed=seed,
            large_messages=large_messages,
            large_message_bytes=large_message_bytes,
        )
        self._mailboxes = Mailboxes(default, self._new_mailbox)
        self._tokens = TokenStore(email)
        self._add_fleet(mailboxes, messages=messages, seed=seed)
        self._quota = Quota(quota_units_per_minute, project_quota_units_per_minute)
        self._concurrency = ConcurrencyLimit(max_concurrent_per_user)
        self._log = RequestLog()
        self._api = GmailApi(
            mailboxes=self._mailboxes,
            tokens=self._tokens,
            quota=self._quota,
            faults=self.faults,
            log=self._log,
            clock=clock,
            publisher=self._publisher,
        )
        self._service_time = ServiceTime(service_ms=service_ms, jitter=service_jitter, seed=seed)
        self._frontend = Frontend(
            api=self._api,
            tokens=self._tokens,
            concurrency=self._concurrency,
            service_time=self._service_time,
            batch_parallelism=batch_parallelism,
            sleep=sleep,
        )
        self._oauth = OAuthEndpoints(self._tokens, self._mailboxes, self._log, clock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        server = _Server((self._host, self._port), self._serve)
        self._server = server
        self._url = f"http://{self._host}:{server.server_address[1]}/"
        # A short poll interval so that stop() returns promptly.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"gmail-emulator-{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join()
        self._publisher.close()

    def __enter__(self) -> "GmailEmulator":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL, with a trailing slash: http://127.0.0.1:PORT/."""
        if self._url is None:
            raise RuntimeError("the emulator has not been started")
        return self._url

    # -- mailboxes -----------------------------------------------------------------

    def mailbox(self, email: str | None = None) -> EmulatedMailbox:
        """A mailbox by address; the default one when `email` is None."""
        return self._mailboxes.get(email)

    def add_mailbox(
        self, email: str, messages: int = 60, seed: int | None = None
    ) -> EmulatedMailbox:
        return self._mailboxes.add(
            email, messages=messages, seed=self.seed if seed is None else seed
        )

    def addresses(self) -> list[str]:
        """Every address served: the default mailbox's first."""
        return self._mailboxes.addresses()

    def _add_fleet(self, count: int, *, messages: int, seed: int) -> None:
        """user1@example.com ... userK@example.com, each generated when first asked for."""
        for number in range(1, count + 1):
            address = fleet_address(number)
            self._mailboxes.add_later(address, messages=messages, seed=fleet_seed(seed, number))
            self._tokens.accept_refresh_token(fleet_refresh_token(address), address)

    # -- limits, log, auth ---------------------------------------------------------

    @property
    def quota_units_per_minute(self) -> float | None:
        return self._quota.units_per_minute

    @quota_units_per_minute.setter
    def quota_units_per_minute(self, value: float | None) -> None:
        self._quota.units_per_minute = value

    @property
    def project_quota_units_per_minute(self) -> float | None:
        """The project's quota, every user's calls together; None: unlimited."""
        return self._quota.project_units_per_minute

    @project_quota_units_per_minute.setter
    def project_quota_units_per_minute(self, value: float | None) -> None:
        self._quota.project_units_per_minute = value

    @property
    def max_concurrent_per_user(self) -> int:
        """Calls in flight per user (inner batch calls count one each); 0: no limit."""
        return self._concurrency.limit

    @max_concurrent_per_user.setter
    def max_concurrent_per_user(self, value: int) -> None:
        self._concurrency.limit = value

    @property
    def service_ms(self) -> float:
        """How long a messages.get takes to serve; other calls in proportion to their cost."""
        return self._service_time.service_ms

    @service_ms.setter
    def service_ms(self, value: float) -> None:
        self._service_time.service_ms = value

    @property
    def request_log(self) -> list[LoggedRequest]:
        return self._log.entries()

    def clear_request_log(self) -> None:
        self._log.clear()

    def issue_tokens(self, email: str) -> tuple[str, str]:
        """A new (access token, refresh token) pair for the mailbox."""
        return self._tokens.issue(self.mailbox(email).email)

    def revoke(self, email: str) -> None:
        """Every API call for the mailbox answers 401 and every refresh `invalid_grant`."""
        self._tokens.revoke(self.mailbox(email).email)

    def expire_access_tokens(self, email: str) -> None:
        """Access tokens issued so far (and unknown ones) answer 401 until a refresh."""
        self._tokens.expire_access_tokens(self.mailbox(email).email)

    # -- push notifications ----------------------------------------------------------

    @property
    def push(self) -> PushOptions:
        """Where deliveries go and how they fail: change its fields while it runs."""
        return self._publisher.options

    @property
    def push_log(self) -> list[PushDelivery]:
        """Every attempt to deliver a push message, in the order they were made."""
        return self._publisher.log

    def watched(self, email: str) -> bool:
        """Whether the mailbox has a watch that has not lapsed."""
        return self._publisher.watched(self.mailbox(email).email) is not None

    # -- serving -------------------------------------------------------------------

    def _new_mailbox(
        self,
        email: str,
        *,
        messages: int,
        seed: int,
        large_messages: int = 0,
        large_message_bytes: int = LARGE_FILE_BYTES,
    ) -> EmulatedMailbox:
        return EmulatedMailbox(
            email,
            messages=messages,
            seed=seed,
            profile=self.profile,
            clock=self._clock,
            history_window_seconds=self._history_window,
            listener=self._publisher.changed,
            large_messages=large_messages,
            large_message_bytes=large_message_bytes,
        )

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        if self.faults.drop():
            handler.close_connection = True
            return
        # The network's share, paid once per HTTP request whatever it holds.
        delay = self.latency_ms / 1000 + self.faults.delay()
        if delay:
            self._sleep(delay)
        try:
            response = self._dispatch(handler, body)
        except Exception:
            # The emulator must answer even when it has a bug; the traceback is logged.
            logger.exception("gmail emulator failed on %s %s", handler.command, handler.path)
            response = json_response(500, errors.backend_error().body())
        handler.send_response(response.status)
        for name, value in response.headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(response.body)))
        handler.end_headers()
        handler.wfile.write(response.body)

    def _dispatch(self, handler: BaseHTTPRequestHandler, body: bytes) -> Response:
        method = handler.command
        path = urlsplit(handler.path).path
        authorization = handler.headers.get("Authorization")
        if path.startswith("/gmail/"):
            [response] = self._frontend.answer(
                [Call(method, handler.path, authorization, body)], in_batch=False
            )
            return response
        if path in BATCH_PATHS and method == "POST":
            return batch.handle(
                partial(self._frontend.answer, in_batch=True),
                handler.headers.get("Content-Type"),
                body,
                authorization,
            )
        if path in TOKEN_PATHS and method == "POST":
            return self._oauth.token(parse_qs(body.decode("utf-8", "replace")))
        if path in AUTHORIZE_PATHS and method == "GET":
            return self._oauth.authorize(parse_qs(urlsplit(handler.path).query))
        if path == USERINFO_PATH:
            return self._oauth.userinfo(authorization)
        if path == CERTS_PATH and method == "GET":
            return json_response(
                200, certificates(rsa_key(self.seed)), (("Cache-Control", "max-age=3600"),)
            )
        added = _ADD_MESSAGES.match(path)
        if added and method == "POST":
            return self._add_messages(
                unquote(added.group(1)), parse_qs(urlsplit(handler.path).query)
            )
        return json_response(404, errors.not_found().body())

    def _add_messages(self, email: str, query: dict[str, list[str]]) -> Response:
        count = query.get("count", ["1"])[0]
        if not count.isdigit() or not 1 <= int(count) <= MAX_ADDED:
            return json_response(400, errors.bad_request(f"count must be 1 to {MAX_ADDED}").body())
        try:
            mailbox = self.mailbox(email)
        except KeyError:
            return json_response(404, errors.not_found().body())
        ids = mailbox.add_messages(int(count))
        messages = [{"id": i, "threadId": mailbox.record(i).thread_id} for i in ids]
        return json_response(200, {"messages": messages})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: httplib2 reuses connections
    timeout = 120  # an idle keep-alive connection gives its thread back eventually
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK
    # would hold the body back ~40 ms on every kept-alive request.
    disable_nagle_algorithm = True
    server: "_Server"

    def do_GET(self) -> None:
        self.server.serve(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request stderr line; the request log records calls."""


# A socketserver request: a TCP server's is its connection, the only kind that comes
# here; a UDP server's would be a (data, socket) pair.
_SocketRequest = socket.socket | tuple[bytes, socket.socket]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], serve: Callable[[BaseHTTPRequestHandler], None]
    ) -> None:
        self.serve = serve
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: _SocketRequest, client_address: tuple[str, int]) -> None:
        if isinstance(request, socket.socket):
            with self._connections_lock:
                self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: _SocketRequest) -> None:
        if isinstance(request, socket.socket):
            with self._connections_lock:
                self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End kept-alive connections, so a stopped emulator answers nothing more."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
