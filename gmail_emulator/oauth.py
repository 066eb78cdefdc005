"""OAuth: the token store, and Google's authorize, token and userinfo endpoints.

Any unknown bearer or refresh token is accepted for the default mailbox (a demo
convenience) unless that mailbox was revoked or its tokens were expired; a fleet
mailbox's refresh token is known from the start (`accept_refresh_token`).
"""

import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from . import consent, errors
from .mailboxes import Mailboxes
from .requestlog import LoggedRequest, RequestLog
from .responses import Response, json_response

GMAIL_READONLY = "https://www.googleapis.com/auth/gmail.readonly"
_GMAIL_SCOPES = frozenset(
    {GMAIL_READONLY, "https://www.googleapis.com/auth/gmail.modify", "https://mail.google.com/"}
)
ACCESS_TOKEN_SECONDS = 3599
SIGN_IN_MAILBOX_MESSAGES = 25


class OAuthError(Exception):
    """An error answer of Google's OAuth endpoints: {"error", "error_description"}."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def response(self) -> Response:
        return json_response(
            self.status, {"error": self.error, "error_description": self.description}
        )


@dataclass
class Grant:
    """What the user consented to: one per sign-in or `issue_tokens` call."""

    email: str
    scope: str
    revoked: bool = False

    @property
    def allows_gmail(self) -> bool:
        return not _GMAIL_SCOPES.isdisjoint(self.scope.split())


@dataclass
class _Account:
    generation: int = 0  # access tokens of an older generation are expired
    revoked: bool = False
    accepts_unknown_tokens: bool = True


@dataclass(frozen=True)
class _Code:
    email: str
    scope: str
    offline: bool
    redirect_uri: str


class TokenStore:
    def __init__(self, default_email: str) -> None:
        self.default_email = default_email
        self._lock = threading.Lock()
        self._access: dict[str, tuple[Grant, int]] = {}
        self._refresh: dict[str, Grant] = {}
        self._codes: dict[str, _Code] = {}
        self._grants: list[Grant] = []
        self._accounts: dict[str, _Account] = {}

    def issue(self, email: str, scope: str = GMAIL_READONLY) -> tuple[str, str]:
        """A new (access token, refresh token) pair for the mailbox."""
        with self._lock:
            grant = self._new_grant(email, scope)
            refresh_token = "1//" + secrets.token_urlsafe(48)
            self._refresh[refresh_token] = grant
            return self._new_access_token(grant), refresh_token

    def accept_refresh_token(self, refresh_token: str, email: str) -> None:
        """Make `refresh_token` a known one for the mailbox, as if it had been issued."""
        with self._lock:
            self._refresh[refresh_token] = self._new_grant(email, GMAIL_READONLY)

    def authenticate(self, authorization: str | None) -> Grant:
        """The grant behind an `Authorization: Bearer` header, or Google's 401."""
        token = _bearer(authorization)
        if not token:
            raise errors.login_required()
        with self._lock:
            known = self._access.get(token)
            if known is not None:
                grant, generation = known
                if grant.revoked or generation < self._account(grant.email).generation:
                    raise errors.invalid_credentials()
                return grant
            account = self._account(self.default_email)
            if account.revoked or not account.accepts_unknown_tokens:
                raise errors.invalid_credentials()
            return Grant(self.default_email, GMAIL_READONLY)

    def user_of(self, authorization: str | None) -> str | None:
        """The mailbox a bearer token is for, without judging whether it is valid."""
        token = _bearer(authorization)
        if not token:
            return None
        with self._lock:
            known = self._access.get(token)
            return known[0].email if known else self.default_email

    def refresh(self, refresh_token: str) -> tuple[str, Grant]:
        with self._lock:
            grant = self._refresh.get(refresh_token)
            email = grant.email if grant else self.default_email
            account = self._account(email)
            if account.revoked or (grant is not None and grant.revoked):
                raise OAuthError("invalid_grant", "Token has been expired or revoked.")
            if grant is None:
                grant = self._new_grant(email, GMAIL_READONLY)
                self._refresh[refresh_token] = grant
            account.accepts_unknown_tokens = True
            return self._new_access_token(grant), grant

    def revoke(self, email: str) -> None:
        with self._lock:
            self._account(email).revoked = True
            for grant in self._grants:
                if grant.email == email:
                    grant.revoked = True

    def expire_access_tokens(self, email: str) -> None:
        with self._lock:
            account = self._account(email)
            account.generation += 1
            account.accepts_unknown_tokens = False

    def new_code(self, email: str, scope: str, offline: bool, redirect_uri: str) -> str:
        with self._lock:
            code = "4/" + secrets.token_urlsafe(32)
            self._codes[code] = _Code(email, scope, offline, redirect_uri)
            return code

    def redeem_code(self, code: str, redirect_uri: str) -> tuple[str, str | None, Grant]:
        """(access token, refresh token or None, grant) for an authorization code."""
        with self._lock:
            issued = self._codes.pop(code, None)
            if issued is None:
                raise OAuthError("invalid_grant", "Bad Request")
            if issued.redirect_uri != redirect_uri:
                raise OAuthError("redirect_uri_mismatch", "Bad Request")
            # Signing in again after a revoke grants access anew.
            self._account(issued.email).revoked = False
            grant = self._new_grant(issued.email, issued.scope)
            refresh_token = None
            # Google only sends a refresh token when offline access was asked for.
            if issued.offline:
                refresh_token = "1//" + secrets.token_urlsafe(48)
                self._refresh[refresh_token] = grant
            return self._new_access_token(grant), refresh_token, grant

    def _account(self, email: str) -> _Account:
        return self._accounts.setdefault(email, _Account())

    def _new_grant(self, email: str, scope: str) -> Grant:
        grant = Grant(email, scope)
        self._grants.append(grant)
        return grant

    def _new_access_token(self, grant: Grant) -> str:
        token = "ya29." + secrets.token_urlsafe(64)
        self._access[token] = (grant, self._account(grant.email).generation)
        return token


class OAuthEndpoints:
    """Google's sign-in endpoints: the account chooser, then consent at once."""

    def __init__(
        self,
        tokens: TokenStore,
        mailboxes: Mailboxes,
        log: RequestLog,
        clock: Callable[[], float],
    ) -> None:
        self._tokens = tokens
        self._mailboxes = mailboxes
        self._log = log
        self._clock = clock

    def authorize(self, query: dict[str, list[str]]) -> Response:
        """Show the account chooser; with a `login_hint` (the account chosen, or the
        app's own hint), approve it at once and redirect to redirect_uri with a code
        and the state."""
        param = _first(query)
        redirect_uri = param("redirect_uri")
        if not redirect_uri or not param("client_id"):
            response = OAuthError(
                "invalid_request", "Missing required parameter: client_id or redirect_uri"
            ).response()
            self._record("authorize", None, response.status)
            return response
        if not param("login_hint"):
            self._record("authorize", None, 200)
            params = {name: values[0] for name, values in query.items()}
            return consent.chooser_page(params, self._mailboxes.addresses())
        email = param("login_hint")
        self._mailboxes.ensure(email, messages=SIGN_IN_MAILBOX_MESSAGES)
        answer: dict[str, str] = {}
        if param("state"):
            answer["state"] = param("state")
        if param("response_type") != "code":
            answer["error"] = "unsupported_response_type"
        else:
            answer["code"] = self._tokens.new_code(
                email, param("scope"), param("access_type") == "offline", redirect_uri
            )
            answer.update(scope=param("scope"), authuser="0", prompt="consent")
        separator = "&" if "?" in redirect_uri else "?"
        self._record("authorize", email, 302)
        return Response(302, headers=(("Location", redirect_uri + separator + urlencode(answer)),))

    def token(self, form: dict[str, list[str]]) -> Response:
        param = _first(form)
        grant_type = param("grant_type")
        email = None
        try:
            if grant_type == "refresh_token":
                if not param("refresh_token"):
                    raise OAuthError(
                        "invalid_request", "Missing required parameter: refresh_token"
                    )
                access_token, grant = self._tokens.refresh(param("refresh_token"))
                email = grant.email
                body = _token_body(access_token, grant.scope)
            elif grant_type == "authorization_code":
                access_token, refresh_token, grant = self._tokens.redeem_code(
                    param("code"), param("redirect_uri")
                )
                email = grant.email
                body = _token_body(access_token, grant.scope, refresh_token)
            else:
                raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        except OAuthError as error:
            response = error.response()
        else:
            response = json_response(200, body, (("Cache-Control", "no-store"),))
        self._record("token", email, response.status)
        return response

    def userinfo(self, authorization: str | None) -> Response:
        try:
            grant = self._tokens.authenticate(authorization)
        except errors.ApiError:
            response = OAuthError("invalid_request", "Invalid Credentials", 401).response()
            self._record("userinfo", None, response.status)
            return response
        self._record("userinfo", grant.email, 200)
        return json_response(200, _userinfo(grant.email))

    def _record(self, method: str, email: str | None, status: int) -> None:
        self._log.append(LoggedRequest(self._clock(), email, method, None, status, False, 0))


def _token_body(access_token: str, scope: str, refresh_token: str | None = None) -> dict:
    body = {"access_token": access_token, "expires_in": ACCESS_TOKEN_SECONDS}
    if refresh_token:
        body["refresh_token"] = refresh_token
    body.update(scope=scope, token_type="Bearer")
    return body


def _userinfo(email: str) -> dict:
    local = email.split("@", 1)[0]
    words = [w for w in local.replace("_", ".").replace("-", ".").split(".") if w] or [local]
    given = words[0].title()
    family = words[1].title() if len(words) > 1 else "User"
    # Google's `sub` is a stable 21-digit number per account.
    sub = str(int(hashlib.sha256(email.lower().encode()).hexdigest(), 16))[:21]
    return {
        "sub": sub,
        "name": f"{given} {family}",
        "given_name": given,
        "family_name": family,
        "picture": "https://lh3.googleusercontent.com/a/default-user=s96-c",
        "email": email,
        "email_verified": True,
    }


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _first(params: dict[str, list[str]]) -> Callable[[str], str]:
    return lambda name: params.get(name, [""])[0]
