"""Google-format API errors: `{"error": {"code", "message", "errors": [...], "status"}}`."""

from datetime import UTC, datetime

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}

# The emulated Google Cloud project's number, named in project-level quota errors.
PROJECT_NUMBER = "123456789012"


class ApiError(Exception):
    """An error answer of the Gmail API; `body()` is what Google sends."""

    def __init__(
        self,
        code: int,
        message: str,
        reason: str,
        *,
        domain: str = "global",
        detail: str | None = None,
        location: tuple[str, str] | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.domain = domain
        # The inner `errors[].message` is sometimes shorter than the top one (401).
        self.detail = detail or message
        self.location = location
        self.headers = headers

    def body(self) -> dict:
        error: dict = {"message": self.detail, "domain": self.domain, "reason": self.reason}
        if self.location:
            error["location"], error["locationType"] = self.location
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "errors": [error],
                "status": _STATUS.get(self.code, "UNKNOWN"),
            }
        }


def retry_time(at: float) -> str:
    """Format a retry time the way Google writes it in messages: 2024-11-12T11:16:42.247Z."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def not_found() -> ApiError:
    return ApiError(404, "Requested entity was not found.", "notFound")


def bad_request(message: str, reason: str = "invalidArgument") -> ApiError:
    return ApiError(400, message, reason)


def invalid_credentials() -> ApiError:
    return ApiError(
        401,
        "Request had invalid authentication credentials. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential. "
        "See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        "authError",
        detail="Invalid Credentials",
        location=("Authorization", "header"),
        headers=(("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/"'),),
    )


def login_required() -> ApiError:
    return ApiError(
        401,
        "Request is missing required authentication credential. Expected OAuth 2 access "
        "token, login cookie or other valid authentication credential. "
        "See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        "required",
        detail="Login Required.",
        location=("Authorization", "header"),
        headers=(("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/"'),),
    )


def insufficient_scopes() -> ApiError:
    return ApiError(
        403,
        "Request had insufficient authentication scopes.",
        "insufficientPermissions",
        detail="Insufficient Permission",
    )


def delegation_denied(user_id: str) -> ApiError:
    return ApiError(403, f"Delegation denied for {user_id}", "forbidden")


def user_rate_limited(retry_at: float, reason: str = "rateLimitExceeded") -> ApiError:
    return ApiError(429, f"User-rate limit exceeded.  Retry after {retry_time(retry_at)}", reason)


def project_rate_limited() -> ApiError:
    # The project's quota (all users together), as Google's quota system words it.
    return ApiError(
        429,
        "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service "
        "'gmail.googleapis.com' for consumer 'project_number:" + PROJECT_NUMBER + "'.",
        "rateLimitExceeded",
    )


def usage_limit_forbidden(reason: str) -> ApiError:
    # The older form of the rate-limit answer: 403 in the usageLimits domain.
    return ApiError(403, "User Rate Limit Exceeded", reason, domain="usageLimits")


def too_many_concurrent() -> ApiError:
    return ApiError(429, "Too many concurrent requests for user", "rateLimitExceeded")


def backend_error() -> ApiError:
    return ApiError(500, "Backend Error", "backendError")
