"""The batch endpoint: a multipart/mixed body of application/http requests, answered alike.

The response framing is what googleapiclient can parse: each part has
`Content-ID: <response-ORIGINAL>` and a CRLF CRLF between the inner status and
headers and the JSON body (with a bare LF the client raises IndexError).
"""

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus

from . import errors
from .frontend import Call
from .responses import Response, json_response

MAX_INNER_REQUESTS = 50
_BLANK_LINE = re.compile(r"\r?\n\r?\n")


@dataclass(frozen=True)
class InnerRequest:
    content_id: str
    method: str
    target: str  # path and query
    headers: dict[str, str]  # lower-case names


# Answers the inner calls of one batch, in order.
AnswerCalls = Callable[[list[Call]], list[Response]]


def handle(
    answer: AnswerCalls, content_type: str | None, body: bytes, authorization: str | None
) -> Response:
    """Answer a batch: its inner calls through `answer`, framed as one multipart answer."""
    try:
        requests = parse(content_type, body)
    except ValueError as error:
        return _error_response(errors.bad_request(str(error), "badRequest"))
    if len(requests) > MAX_INNER_REQUESTS:
        return _error_response(
            errors.bad_request(
                f"Inner request count exceeds the limit. Received: {len(requests)}, "
                f"Limit: {MAX_INNER_REQUESTS}",
                "badRequest",
            )
        )
    # An inner request without its own Authorization uses the outer one.
    calls = [
        Call(inner.method, inner.target, inner.headers.get("authorization", authorization))
        for inner in requests
    ]
    content_ids = [inner.content_id for inner in requests]
    return frame(list(zip(content_ids, answer(calls), strict=True)))


def parse(content_type: str | None, body: bytes) -> list[InnerRequest]:
    envelope = Message()
    envelope["Content-Type"] = content_type or ""
    boundary = envelope.get_boundary()
    if envelope.get_content_maintype() != "multipart" or not boundary:
        raise ValueError("Batch requests must be multipart/mixed with a boundary.")
    parts = _split(body.decode("utf-8", "surrogateescape"), boundary)
    if not parts:
        raise ValueError("Batch request has no parts.")
    return [_inner(part) for part in parts]


def frame(answers: list[tuple[str, Response]]) -> Response:
    boundary = "batch_" + secrets.token_hex(16)
    chunks = []
    for content_id, answer in answers:
        head = [
            f"--{boundary}",
            "Content-Type: application/http",
            f"Content-ID: {_response_id(content_id)}",
            "",
            f"HTTP/1.1 {answer.status} {_reason(answer.status)}",
            *(f"{name}: {value}" for name, value in answer.headers),
            "Vary: Origin",
            "Vary: X-Origin",
            "Vary: Referer",
            "",
            "",
        ]
        chunks.append("\r\n".join(head).encode("utf-8") + answer.body + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return Response(
        200, b"".join(chunks), (("Content-Type", f"multipart/mixed; boundary={boundary}"),)
    )


def _split(text: str, boundary: str) -> list[str]:
    """The parts between delimiter lines; the line break before a delimiter is its own."""
    delimiter = "--" + boundary
    parts: list[str] = []
    current: list[str] | None = None
    for line in text.split("\n"):
        stripped = line.rstrip("\r \t")
        if stripped in (delimiter, delimiter + "--"):
            if current is not None:
                parts.append("\n".join(current).removesuffix("\r"))
            if stripped != delimiter:
                break
            current = []
        elif current is not None:
            current.append(line)
    return parts


def _inner(part: str) -> InnerRequest:
    part_head, _, request = _split_head(part)
    content_id = _headers(part_head).get("content-id", "")
    # Only reads are emulated, so an inner request's body is never needed.
    request_head, _, _ = _split_head(request.lstrip("\r\n"))
    request_line, _, header_lines = request_head.partition("\n")
    fields = request_line.strip().split()
    if len(fields) < 2:
        raise ValueError(f"Invalid inner request line: {request_line.strip()!r}")
    return InnerRequest(content_id, fields[0].upper(), fields[1], _headers(header_lines))


def _split_head(text: str) -> tuple[str, str, str]:
    match = _BLANK_LINE.search(text)
    if match is None:
        return text, "", ""
    return text[: match.start()], match.group(), text[match.end() :]


def _headers(lines: str) -> dict[str, str]:
    headers = {}
    for line in lines.split("\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers


def _response_id(content_id: str) -> str:
    inner = content_id.strip()
    if inner.startswith("<") and inner.endswith(">"):
        inner = inner[1:-1]
    return f"<response-{inner}>"


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _error_response(error: errors.ApiError) -> Response:
    return json_response(error.code, error.body(), error.headers)
