"""Automated mail of the realistic profile: newsletters, notifications, social, forums.

Newsletters and notifications are mostly HTML: tables, inline styles, links and
tracking pixels, with a plain-text alternative a fraction of the size, as bulk senders
write them. Their sizes vary between pooled variants (a log-normal size per variant).
"""

import email.charset
import random
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

from .corpus import WORDS, boundary, charset_of, sentences, text_part

# Median HTML size and spread of each kind's log-normal size, and its bounds in bytes.
_HTML_SIZES = {
    "newsletter": (26_000, 0.6, 6_000, 160_000),
    "notification": (12_000, 0.5, 3_000, 60_000),
    "social": (20_000, 0.4, 6_000, 60_000),
}
_COLOURS = ("#1a73e8", "#202124", "#d93025", "#188038", "#f9ab00", "#5f6368")

_SUBJECTS = {
    "promotions": (
        "{pct}% off everything this weekend",
        "New arrivals: the {season} collection",
        "Last chance: free shipping ends tonight",
        "Your exclusive member offer inside",
        "Only {n} left in stock",
        "🎁 A little something for you",
        "Les nouveautés de la semaine",
    ),
    "updates": (
        "Your order #{n} has shipped",
        "Receipt for your payment of €{pct}.{n2}",
        "Your statement is ready",
        "Security alert: new sign-in on Windows",
        "Booking confirmation {code}",
        "Invoice INV-{n} from Acme Cloud",
        "[atlas] Pull request #{n} merged",
    ),
    "social": (
        "{name} commented on your post",
        "You have {n2} new notifications",
        "{name} wants to connect",
        "{name} tagged you in a photo",
    ),
    "forums": (
        "[python-dev] PEP {n}: a proposal",
        "[gardening] Tomatoes in a cold spring",
        "[python-dev] Release schedule for 3.{n2}",
        "[gardening] Compost questions",
        "Digest, Vol {n2}, Issue {pct}",
    ),
}
_SEASONS = ("spring", "summer", "autumn", "winter")
_NAMES = ("Alice", "Bob", "Priya", "José", "Chloé", "山田", "Kofi")


def subject(rng: random.Random, stream: str) -> str:
    return rng.choice(_SUBJECTS[stream]).format(
        pct=rng.randrange(10, 80),
        n=rng.randrange(1000, 99999),
        n2=rng.randrange(2, 40),
        season=rng.choice(_SEASONS),
        code="".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=6)),
        name=rng.choice(_NAMES),
    )


def _target_size(rng: random.Random, kind: str) -> int:
    median, spread, low, high = _HTML_SIZES[kind]
    return int(min(high, max(low, rng.lognormvariate(0, spread) * median)))


def _html_document(rng: random.Random, size: int) -> tuple[str, list[str]]:
    """An HTML mail of about `size` characters, and the sentences it shows."""
    shown: list[str] = []
    rows: list[str] = []
    length = 0
    while length < size:
        text = sentences(rng, WORDS, 1)[0]
        shown.append(text)
        colour = rng.choice(_COLOURS)
        link = f"https://click.example.com/t/{rng.getrandbits(64):016x}"
        row = (
            f'<tr><td style="padding:12px 24px;font-family:Arial,Helvetica,sans-serif;'
            f'font-size:15px;line-height:22px;color:{colour}">'
            f'<a href="{link}" style="color:{colour};text-decoration:none">{text}</a>'
            f"</td></tr>\n"
        )
        rows.append(row)
        length += len(row)
    pixel = f'<img src="https://open.example.com/o/{rng.getrandbits(48):012x}.gif" width="1">'
    html = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>td{font-size:15px}</style>'
        '</head><body style="margin:0"><table role="presentation" width="100%">\n'
        + "".join(rows)
        + f"</table>{pixel}</body></html>\n"
    )
    return html, shown


def _html_mail(rng: random.Random, kind: str) -> Message:
    html, shown = _html_document(rng, _target_size(rng, kind))
    # Bulk senders write the text alternative as an afterthought: a few lines of it.
    text = "\n\n".join(shown[:3]) + "\n\nView this email in your browser.\n"
    utf8 = charset_of("utf-8", email.charset.BASE64)
    alternative = MIMEMultipart("alternative", boundary=boundary(rng))
    alternative.attach(text_part(text, "plain", utf8))
    alternative.attach(text_part(html, "html", utf8))
    return alternative


def _newsletter(rng: random.Random) -> Message:
    return _html_mail(rng, "newsletter")


def _notification(rng: random.Random) -> Message:
    return _html_mail(rng, "notification")


def _social(rng: random.Random) -> Message:
    return _html_mail(rng, "social")


def _forum(rng: random.Random) -> Message:
    body = sentences(rng, WORDS, rng.randrange(2, 8))
    quoted = "\n".join("> " + line for line in sentences(rng, WORDS, rng.randrange(0, 4)))
    footer = (
        "_______________________________________________\nList info: https://lists.example.org/"
    )
    text = "\n\n".join(body) + ("\n\n" + quoted if quoted else "") + "\n\n" + footer + "\n"
    return MIMEText(text, "plain", "utf-8")


BUILDERS = {
    "newsletter": _newsletter,
    "notification": _notification,
    "social": _social,
    "forum": _forum,
}
