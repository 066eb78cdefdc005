"""Hostile messages every mailbox of 10 or more messages contains, keyed by case name.

Each is what real senders (or attackers) put in mailboxes: NUL characters, an
unknown charset with bytes that are not UTF-8, a 20,000-character subject, script
in the subject and HTML, no Date, two messages sharing a Message-ID, raw 8-bit
header bytes, no Subject at all.
"""

import functools
from datetime import UTC, datetime
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime

from .corpus import serialize

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
DUPLICATE_MESSAGE_ID = "<duplicate-message-id@hostile.example.com>"
LONG_SUBJECT_LENGTH = 20_000


def hostile_messages(owner: str, seed: int) -> dict[str, bytes]:
    """Raw bytes of each hostile case, in a fixed order."""
    return dict(_built(owner, seed))


@functools.lru_cache(maxsize=64)
def _built(owner: str, seed: int) -> tuple[tuple[str, bytes], ...]:
    # Cached: folding the 20,000-character subject alone takes tens of milliseconds.
    return tuple((name, serialize(build(owner, seed))) for name, build in _CASES.items())


def _base(message: Message, owner: str, seed: int, name: str, *, date: bool = True) -> Message:
    message["From"] = f"Mallory <mallory+{name}@hostile.example.com>"
    message["To"] = owner
    if date:
        message["Date"] = format_datetime(datetime(2024, 2, 29, 12, 0, seed % 60, tzinfo=UTC))
    message["Message-ID"] = f"<{name}.{seed}@hostile.example.com>"
    return message


def _nul(owner: str, seed: int) -> Message:
    message = _base(
        MIMEText("Before\x00after: a NUL in the body.\n", "plain", "utf-8"), owner, seed, "nul"
    )
    message["Subject"] = "NUL\x00inside the subject"
    message["X-Nul-Header"] = "value\x00with NUL"
    return message


def _bad_charset(owner: str, seed: int) -> Message:
    message = MIMENonMultipart("text", "plain", charset="x-unknown")
    message["Content-Transfer-Encoding"] = "8bit"
    # Bytes that are not valid UTF-8, in a charset nobody knows.
    message.set_payload(
        b"Caf\xe9 \xff\xfe \xc3\x28 broken bytes\n".decode("ascii", "surrogateescape")
    )
    _base(message, owner, seed, "bad_charset")
    message["Subject"] = "=?x-unknown?q?Unknown_charset_=FF=FE?= subject"
    return message


def _long_subject(owner: str, seed: int) -> Message:
    message = _base(
        MIMEText("A very long subject.\n", "plain", "utf-8"), owner, seed, "long_subject"
    )
    words = "Long subject é "
    text = (words * (LONG_SUBJECT_LENGTH // len(words) + 1))[:LONG_SUBJECT_LENGTH]
    # Message takes a Header as a value (typeshed says str only).
    message["Subject"] = Header(text, "utf-8", header_name="Subject")  # type: ignore[assignment]
    return message


def _html_script(owner: str, seed: int) -> Message:
    message = MIMEMultipart("alternative", boundary="hostile-html-script-boundary")
    message.attach(MIMEText(f"Plain text with {SCRIPT} and {IMG}\n", "plain", "utf-8"))
    html_body = (
        f'<html><body><p>Hello</p>{SCRIPT}{IMG}<a href="javascript:alert(1)">x</a></body></html>'
    )
    message.attach(MIMEText(html_body, "html", "utf-8"))
    _base(message, owner, seed, "html_script")
    message["Subject"] = f"{SCRIPT} {IMG}"
    return message


def _missing_date(owner: str, seed: int) -> Message:
    message = _base(
        MIMEText("This message has no Date header.\n", "plain", "utf-8"),
        owner,
        seed,
        "missing_date",
        date=False,
    )
    message["Subject"] = "No date on this one"
    return message


def _duplicate(suffix: str):
    def build(owner: str, seed: int) -> Message:
        message = _base(
            MIMEText(f"Same Message-ID as its twin ({suffix}).\n", "plain", "utf-8"),
            owner,
            seed,
            f"duplicate_message_id_{suffix}",
        )
        message.replace_header("Message-ID", DUPLICATE_MESSAGE_ID)
        message["Subject"] = f"Duplicate Message-ID ({suffix})"
        return message

    return build


def _utf8_header(owner: str, seed: int) -> Message:
    message = _base(
        MIMEText("Raw UTF-8 in the Subject header.\n", "plain", "utf-8"),
        owner,
        seed,
        "utf8_header",
    )
    # 8-bit bytes straight in the header, no RFC 2047 encoding (common in spam).
    message["Subject"] = "Réunion 日本語 raw bytes".encode().decode("ascii", "surrogateescape")
    return message


def _no_subject(owner: str, seed: int) -> Message:
    return _base(
        MIMEText("There is no Subject header.\n", "plain", "utf-8"), owner, seed, "no_subject"
    )


_CASES = {
    "nul": _nul,
    "bad_charset": _bad_charset,
    "long_subject": _long_subject,
    "html_script": _html_script,
    "missing_date": _missing_date,
    "duplicate_message_id_a": _duplicate("a"),
    "duplicate_message_id_b": _duplicate("b"),
    "utf8_header": _utf8_header,
    "no_subject": _no_subject,
}
CASE_NAMES = tuple(_CASES)
