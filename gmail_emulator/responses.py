"""The HTTP answer the server writes: status, headers, body."""

import json
from dataclasses import dataclass

JSON_TYPE = "application/json; charset=UTF-8"


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


def dump_json(obj: object) -> bytes:
    # Gmail sends raw UTF-8; the parts tree never holds lone surrogates, so this encodes.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(status: int, obj: object, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, dump_json(obj), (("Content-Type", JSON_TYPE), *headers))
