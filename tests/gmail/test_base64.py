"""Originals arrive as base64url: decoded fast when clean, leniently when not."""

import base64
import os

import pytest

from syncapp.gmail import text
from syncapp.gmail.text import b64decode, b64decode_lines

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


@pytest.mark.parametrize("ending", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_a_parts_base64_lines_decode_as_the_email_package_decodes_them(ending):
    lines = base64.encodebytes(PAYLOAD).decode().replace("\n", ending)

    assert b64decode_lines(lines) == PAYLOAD


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param("QUJD\nQU-_\n", id="the base64url alphabet"),
        pytest.param("QUJD\nQU é\n", id="non-ASCII"),
        pytest.param("QUJD\nQ\n", id="a lone trailing character"),
        pytest.param("QQ==\nQUJD\n", id="padding inside"),
    ],
)
def test_a_part_with_anything_else_in_its_lines_is_left_to_the_email_package(lines):
    assert b64decode_lines(lines) is None
