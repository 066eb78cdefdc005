"""Originals arrive as base64url: decoded fast when clean, leniently when not."""

import base64
import os

import pytest

from syncapp.gmail import text
from syncapp.gmail.text import b64decode

PAYLOAD = os.urandom(1000) + bytes(range(256))


@pytest.fixture(params=[1 << 20, 8], ids=["one chunk", "many chunks"])
def chunk(request, monkeypatch):
    monkeypatch.setattr(text, "_B64_CHUNK", request.param)


def test_it_decodes_gmails_padded_base64url(chunk):
    assert b64decode(base64.urlsafe_b64encode(PAYLOAD).decode()) == PAYLOAD


@pytest.mark.parametrize("size", [1255, 1256, 1257])
def test_it_decodes_base64url_without_padding(chunk, size):
    encoded = base64.urlsafe_b64encode(PAYLOAD[:size]).decode().rstrip("=")

    assert b64decode(encoded) == PAYLOAD[:size]


def test_it_decodes_the_standard_alphabet_too(chunk):
    assert b64decode(base64.b64encode(PAYLOAD).decode()) == PAYLOAD


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda s: "\n".join(s[i : i + 76] for i in range(0, len(s), 76)), id="lines"),
        pytest.param(lambda s: s[:400] + "é ☃" + s[400:], id="non-ASCII"),
        pytest.param(lambda s: s[:400] + "==" + s[400:], id="padding inside"),
        pytest.param(lambda s: s + "!", id="junk at the end"),
    ],
)
def test_it_drops_what_is_not_base64(chunk, wrap):
    encoded = base64.urlsafe_b64encode(PAYLOAD).decode()

    assert b64decode(wrap(encoded)) == PAYLOAD


def test_a_lone_trailing_character_is_dropped(chunk):
    encoded = base64.urlsafe_b64encode(PAYLOAD[:1254]).decode()

    assert b64decode(encoded + "Q") == PAYLOAD[:1254]
