"""The trace headers Gmail adds to received mail: Received, ARC, SPF, DKIM and the like.

Real messages carry 3-6 KB of them, which `format=full` and `metadata` answers list
in full; the realistic profile writes them, already folded, from the message's id.
"""

import base64
import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime


def trace_lines(*, message_id: str, owner: str, sender: str, internal_ms: int) -> list[bytes]:
    """The header lines, oldest hop last as in real mail, each ending in CRLF."""
    domain = sender.rpartition("@")[2]
    at = datetime.fromtimestamp(internal_ms / 1000, UTC)
    date = format_datetime(at)
    stamp = int(internal_ms / 1000)
    ip = ".".join(str(b) for b in _noise(message_id, "ip")[:4])
    smtp_id = _b64(message_id, "smtp", 30)
    lines = [
        f"Received: by 2002:a05:7300:{_hex(message_id, 'rx', 4)}:b0:{_hex(message_id, 'b0', 3)}"
        f" with SMTP id {_b64(message_id, 'rid', 16)};\r\n        {date}",
        f"X-Google-Smtp-Source: {_b64(message_id, 'gss', 88)}",
        f"X-Received: by 2002:a17:90b:{_hex(message_id, 'xr', 4)} with SMTP id"
        f" {_b64(message_id, 'xid', 20)}.{stamp % 1000}.{stamp};\r\n        {date}",
        "ARC-Seal: i=1; a=rsa-sha256; t=" + str(stamp) + "; cv=none;\r\n"
        "        d=google.com; s=arc-20240605;\r\n" + _folded_b64(message_id, "seal", 256),
        "ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=google.com;"
        " s=arc-20240605;\r\n        h=to:subject:message-id:date:from:mime-version:"
        "dkim-signature;\r\n        bh="
        + _b64(message_id, "bh", 32)
        + ";\r\n"
        + _folded_b64(message_id, "ams", 256),
        "ARC-Authentication-Results: i=1; mx.google.com;\r\n"
        f"       dkim=pass header.i=@{domain} header.s=s1 header.b={_b64(message_id, 'hb', 6)};"
        f"\r\n       spf=pass (google.com: domain of {sender} designates {ip} as permitted"
        f" sender) smtp.mailfrom={sender};\r\n       dmarc=pass (p=NONE sp=NONE dis=NONE)"
        f" header.from={domain}",
        f"Return-Path: <{sender}>",
        f"Received: from mail.{domain} (mail.{domain}. [{ip}])\r\n"
        f"        by mx.google.com with SMTPS id {smtp_id}\r\n"
        f"        for <{owner}>\r\n        (Google Transport Security);\r\n        {date}",
        f"Received-SPF: pass (google.com: domain of {sender} designates {ip} as permitted"
        f" sender) client-ip={ip};",
        "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
        f"        d={domain}; s=s1; t={stamp}; x={stamp + 604_800};\r\n"
        "        h=to:subject:message-id:date:from:mime-version:from:to:cc:subject\r\n"
        "         :date:message-id:reply-to;\r\n"
        "        bh="
        + _b64(message_id, "dbh", 32)
        + ";\r\n"
        + _folded_b64(message_id, "dkim", 256),
    ]
    return [line.encode("utf-8") + b"\r\n" for line in lines]


def _noise(message_id: str, label: str) -> bytes:
    return hashlib.sha256(f"{message_id}:{label}".encode()).digest()


def _hex(message_id: str, label: str, size: int) -> str:
    return _noise(message_id, label)[:size].hex()


def _b64(message_id: str, label: str, size: int) -> str:
    noise = b"".join(_noise(message_id, f"{label}:{i}") for i in range(size // 32 + 1))
    return base64.b64encode(noise[:size]).decode("ascii")


def _folded_b64(message_id: str, label: str, size: int) -> str:
    """A signature's `b=` value folded over lines of 70 characters, as Google writes it."""
    value = "b=" + _b64(message_id, label, size)
    return "\r\n".join("        " + value[i : i + 70] for i in range(0, len(value), 70))
