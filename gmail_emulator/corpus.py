"""Deterministic raw material for generated mail: people, subjects, and MIME bodies.

Bodies are real MIME entities built with the stdlib `email` package; `pool` keeps
`BODY_VARIANTS` of each kind per mailbox.
"""

import email.charset
import html
import random
import struct
import zlib
from email.generator import BytesGenerator
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from io import BytesIO

from .policy import POLICY

BODY_VARIANTS = 48
KINDS = ("plain", "alternative", "attachment", "image", "latin1", "international")
KIND_WEIGHTS = (30, 34, 12, 6, 8, 10)

_MIXED = (
    ("Alice Martin", "alice.martin@example.org"),
    ("Bob Chen", "bob@chen.example.net"),
    ("José Müller", "jose.mueller@example.de"),
    ("Zoë O'Brien", "zoe@obrien.example.ie"),
    ("山田太郎", "taro.yamada@example.jp"),
    ("Priya Natarajan", "priya@example.in"),
    ("GitHub", "notifications@github.example.com"),
    ("The Travel Desk", "bookings@travel.example.com"),
    ("Renée Lefèvre", "renee.lefevre@example.fr"),
    ("Olu Adebayo", "olu@adebayo.example.ng"),
    ("Newsletter Team", "news@letters.example.com"),
    ("Søren Kierkegaard", "soren@example.dk"),
    ("Maria García", "maria.garcia@example.es"),
    ("Bank Alerts", "alerts@bank.example.com"),
    ("Chloé Dubois", "chloe@dubois.example.fr"),
    ("Dmitri Ivanov", "dmitri@example.ru"),
    ("Forum Digest", "digest@forum.example.org"),
    ("Kofi Mensah", "kofi@example.gh"),
    ("Lena Schmidt", "lena.schmidt@example.de"),
    ("Ana Souza 🌻", "ana.souza@example.br"),
)
# Senders of automated mail, by the stream (Gmail category) of the mail they send.
_SENDERS = {
    "promotions": (
        ("Northwind Outfitters", "news@northwind.example.com"),
        ("Fjällräven Deals", "deals@fjallraven.example.se"),
        ("Contoso Books", "offers@contoso-books.example.com"),
        ("Café Lumière", "bonjour@cafe-lumiere.example.fr"),
        ("GreenLeaf Grocer", "hello@greenleaf.example.com"),
        ("Tailspin Travel", "promo@tailspin.example.com"),
        ("Newsletter Team", "news@letters.example.com"),
    ),
    "updates": (
        ("Bank Alerts", "alerts@bank.example.com"),
        ("Parcel Tracking", "noreply@parcels.example.com"),
        ("The Travel Desk", "bookings@travel.example.com"),
        ("Acme Cloud Billing", "billing@acme-cloud.example.com"),
        ("GitHub", "notifications@github.example.com"),
        ("City Utilities", "no-reply@utilities.example.org"),
    ),
    "social": (
        ("Friendface", "notification@friendface.example.com"),
        ("LinkedIn-ish", "messages-noreply@linked.example.com"),
        ("Photogram", "no-reply@photogram.example.com"),
    ),
    "forums": (
        ("python-dev", "python-dev@lists.example.org"),
        ("Gardening Club", "gardening@groups.example.com"),
        ("Forum Digest", "digest@forum.example.org"),
    ),
}
# The tiny profile draws from the first MIXED_CORRESPONDENTS: people and a few services.
CORRESPONDENTS = _MIXED + tuple(
    dict.fromkeys(
        sender for senders in _SENDERS.values() for sender in senders if sender not in _MIXED
    )
)
MIXED_CORRESPONDENTS = len(_MIXED)
SENDERS = {
    stream: tuple(CORRESPONDENTS.index(sender) for sender in senders)
    for stream, senders in _SENDERS.items()
}
PEOPLE = tuple(
    index
    for index in range(MIXED_CORRESPONDENTS)
    if not any(index in senders for senders in SENDERS.values())
)
TIMEZONES = (-480, -420, -300, -240, 0, 60, 120, 330, 540, 600)

_TOPICS = (
    "quarterly report",
    "team offsite",
    "invoice #{n}",
    "flight to Lisbon",
    "project Atlas",
    "dinner on {day}",
    "your order #{n}",
    "pull request #{n}",
    "weekly digest",
    "budget review",
    "garden party",
    "apartment viewing",
    "conference talk",
    "password reset",
    "new comment on issue #{n}",
)
_OPENERS = ("", "", "", "Update: ", "Reminder: ", "Fwd: ", "Question about ", "Notes from ")
_ACCENTED_TOPICS = (
    "Café meeting at {n}h",
    "Résumé and cover letter",
    "Grüße aus Köln",
    "Ünïcödé test №{n}",
    "日本語のテスト {n}",
    "Party tonight 🎉",
    "Déjà vu: the {day} plan",
    "Привет из Москвы",
    "Crème brûlée recipe 🍮",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_TEXT = (
    "the meeting agenda is attached and we should review it before Thursday "
    "please let me know if the numbers look right it's been a busy week "
    "I don't think we need another call but happy to chat we're almost done "
    "thanks for sending this over the draft looks good to me overall "
    "can you double check the dates and the budget before we confirm "
    "the client asked for a revised estimate and a short summary of risks"
)
_ACCENTED_TEXT = (
    "café naïve résumé façade Grüße Straße crème brûlée déjà vu jalapeño smörgåsbord "
    "coöperate élan fiancée piñata Zürich"
)
WORDS = tuple(_TEXT.split())
ACCENTED_WORDS = tuple(_ACCENTED_TEXT.split())
_INTERNATIONAL = (
    "日本語のテキストです。",
    "こんにちは、世界。",
    "Emoji time 🎉🚀✨",
    "Ελληνικά γράμματα",
    "Привет, как дела?",
    "مرحبا بالعالم",
    "Ça marche très bien.",
)


def subject(rng: random.Random) -> str:
    """A subject line; about one in six has non-ASCII characters."""
    n = rng.randrange(100, 99999)
    day = rng.choice(_DAYS)
    if rng.random() < 0.16:
        return rng.choice(_ACCENTED_TOPICS).format(n=n, day=day)
    topic = rng.choice(_TOPICS).format(n=n, day=day)
    text = rng.choice(_OPENERS) + topic
    if rng.random() < 0.1:
        # Long enough that the header has to be folded.
        text += " - " + " ".join(rng.choices(WORDS, k=14))
    return text[0].upper() + text[1:]


def serialize(message: Message) -> bytes:
    """Serialize a message the way generated mail is written (CRLF line endings)."""
    buffer = BytesIO()
    BytesGenerator(buffer, mangle_from_=False, policy=POLICY).flatten(message)
    return buffer.getvalue()


def boundary(rng: random.Random) -> str:
    return f"0000000000{rng.getrandbits(72):018x}"


def pdf_bytes(rng: random.Random, title: str) -> bytes:
    """A small, valid one-page PDF whose content stream varies with the RNG."""
    text = f"{title} {rng.getrandbits(64):016x}".encode("latin-1", "replace")
    stream = b"BT /F1 18 Tf 72 720 Td (" + text + b") Tj ET\n" + rng.randbytes(256).hex().encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def png_bytes(rng: random.Random, size: int = 16) -> bytes:
    """A small, valid RGB PNG of random pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + rng.randbytes(size * 3) for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def sentences(rng: random.Random, words: tuple[str, ...] | list[str], count: int) -> list[str]:
    result = []
    for _ in range(count):
        sentence = " ".join(rng.choices(words, k=rng.randrange(12, 40)))
        result.append(sentence[0].upper() + sentence[1:] + ".")
    return result


def _html(paragraphs: list[str]) -> str:
    inner = "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs)
    return f'<div dir="ltr">{inner}<p>&mdash;<br>Sent from the emulator</p></div>'


def charset_of(name: str, body_encoding: int) -> email.charset.Charset:
    """A charset whose bodies are written in `body_encoding` (`email.charset.QP` or `BASE64`)."""
    charset = email.charset.Charset(name)
    charset.body_encoding = body_encoding
    return charset


def text_part(text: str, subtype: str, charset: email.charset.Charset) -> MIMEText:
    """A text part in `charset`, its body written in the charset's body encoding."""
    # MIMEText takes a Charset as well as a charset name (typeshed says str only).
    return MIMEText(text, subtype, charset)  # type: ignore[arg-type]


def _plain(rng: random.Random) -> Message:
    paragraphs = sentences(rng, WORDS, rng.randrange(1, 5))
    text = "Hi,\n\n" + "\n\n".join(paragraphs) + "\n\nCheers\n"
    style = rng.randrange(3)
    if style == 0:
        return MIMEText(text, "plain", "us-ascii")
    encoding = email.charset.QP if style == 1 else email.charset.BASE64
    return text_part(text, "plain", charset_of("utf-8", encoding))


def _alternative_of(rng: random.Random, paragraphs: list[str], charset: str) -> Message:
    encoding = email.charset.QP if rng.random() < 0.7 else email.charset.BASE64
    alternative = MIMEMultipart("alternative", boundary=boundary(rng))
    alternative.attach(
        text_part("\n\n".join(paragraphs) + "\n", "plain", charset_of(charset, encoding))
    )
    alternative.attach(text_part(_html(paragraphs), "html", charset_of(charset, encoding)))
    return alternative


def _alternative(rng: random.Random) -> Message:
    return _alternative_of(rng, sentences(rng, WORDS, rng.randrange(1, 6)), "utf-8")


def _attachment(rng: random.Random) -> Message:
    mixed = MIMEMultipart("mixed", boundary=boundary(rng))
    mixed.attach(_alternative(rng))
    for _ in range(rng.choice((1, 1, 1, 2))):
        number = rng.randrange(1000, 9999)
        filename = rng.choice((f"invoice-{number}.pdf", f"Résumé {number}.pdf", "報告書.pdf"))
        document = MIMEApplication(pdf_bytes(rng, f"Document {number}"), "pdf")
        if filename.isascii():
            document.add_header("Content-Disposition", "attachment", filename=filename)
        else:
            # RFC 2231 encoding, as most mail clients write non-ASCII file names.
            document.add_header(
                "Content-Disposition", "attachment", filename=("utf-8", "", filename)
            )
        mixed.attach(document)
    return mixed


def _image(rng: random.Random) -> Message:
    mixed = MIMEMultipart("mixed", boundary=boundary(rng))
    mixed.attach(_plain(rng))
    image = MIMEImage(png_bytes(rng), "png")
    image.add_header(
        "Content-Disposition", "attachment", filename=f"photo_{rng.randrange(100, 999)}.png"
    )
    mixed.attach(image)
    return mixed


def _latin1(rng: random.Random) -> Message:
    paragraphs = sentences(rng, WORDS + ACCENTED_WORDS, rng.randrange(1, 4))
    if rng.random() < 0.5:
        return MIMEText("\n\n".join(paragraphs) + "\n", "plain", "iso-8859-1")
    return _alternative_of(rng, paragraphs, "iso-8859-1")


def _international(rng: random.Random) -> Message:
    paragraphs = [
        " ".join(rng.choices(_INTERNATIONAL, k=rng.randrange(2, 6))) + " " + sentence
        for sentence in sentences(rng, WORDS, rng.randrange(1, 4))
    ]
    alternative = MIMEMultipart("alternative", boundary=boundary(rng))
    utf8 = charset_of("utf-8", email.charset.BASE64)
    alternative.attach(text_part("\n\n".join(paragraphs) + "\n", "plain", utf8))
    alternative.attach(text_part(_html(paragraphs), "html", utf8))
    return alternative


BUILDERS = {
    "plain": _plain,
    "alternative": _alternative,
    "attachment": _attachment,
    "image": _image,
    "latin1": _latin1,
    "international": _international,
}
