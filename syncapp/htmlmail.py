"""HTML mail made safe to show: sanitized with nh3 to the markup of ordinary mail.

What is left is shown in a sandboxed frame under its own strict Content-Security-Policy
(syncapp.views.mail.message_body), so the sanitizer and the browser each stop what the
other might miss. Kept: text formatting, tables, links (http, https, mailto) and images;
an image's `cid:` source becomes the URL of the message's own part, and a remote source
is dropped unless the person asked to see remote images. Dropped: scripts, event
handlers, forms, frames, SVG, `<style>` and `<meta>` (refresh) with their content, and
every CSS property but those that only colour, space and align text.
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import Message as EmailMessage

import nh3

from syncapp.gmail.text import charset_of, decode_bytes

TAGS = frozenset(
    {
        "a", "abbr", "address", "b", "big", "blockquote", "br", "caption", "center", "cite",
        "code", "col", "colgroup", "dd", "del", "div", "dl", "dt", "em", "font", "h1", "h2",
        "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q",
        "s", "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td",
        "tfoot", "th", "thead", "tr", "tt", "u", "ul",
    }
)  # fmt: skip
# Removed with everything inside them (the rest of the unknown tags keep their text).
CONTENT_TAGS = frozenset({"script", "style", "title", "head", "svg", "math", "template"})
ATTRIBUTES = {
    "*": {"align", "dir", "lang", "style", "title", "valign"},
    "a": {"href"},
    "font": {"color", "face", "size"},
    "img": {"alt", "height", "src", "width"},
    "table": {"bgcolor", "border", "cellpadding", "cellspacing", "width"},
    "td": {"bgcolor", "colspan", "height", "rowspan", "width"},
    "th": {"bgcolor", "colspan", "height", "rowspan", "width"},
    "tr": {"bgcolor"},
    "col": {"span", "width"},
    "ol": {"start", "type"},
}
# No property that positions, hides, loads (url(), fonts) or changes what is clicked.
STYLE_PROPERTIES = frozenset(
    {
        "background-color", "border", "border-bottom", "border-collapse", "border-color",
        "border-left", "border-radius", "border-right", "border-spacing", "border-style",
        "border-top", "border-width", "color", "font-family", "font-size", "font-style",
        "font-weight", "height", "letter-spacing", "line-height", "list-style-type",
        "margin", "margin-bottom", "margin-left", "margin-right", "margin-top", "max-width",
        "min-width", "padding", "padding-bottom", "padding-left", "padding-right",
        "padding-top", "text-align", "text-decoration", "text-indent", "text-transform",
        "vertical-align", "white-space", "width", "word-break",
    }
)  # fmt: skip
URL_SCHEMES = frozenset({"http", "https", "mailto"})


def html_part(email: EmailMessage) -> EmailMessage | None:
    """The part a mail client would show as HTML, if the message has one."""
    try:
        part = email.get_body(preferencelist=("html",))  # type: ignore[attr-defined]
    except Exception:  # the header parser's bugs on hostile structures are many
        return None
    return part if isinstance(part, EmailMessage) else None


def html_text(part: EmailMessage) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    return decode_bytes(data, charset_of(str(part.get("content-type", ""))))


def inline_part(email: EmailMessage, content_id: str) -> EmailMessage | None:
    """The part whose Content-ID is `content_id` (angle brackets or not)."""
    wanted = content_id.strip().strip("<>")
    stack: list[EmailMessage] = [email]
    while stack:
        part = stack.pop()
        if str(part.get("content-id", "")).strip().strip("<>") == wanted:
            return part
        payload = part.get_payload()
        if part.is_multipart() and isinstance(payload, list):
            stack.extend(child for child in payload if isinstance(child, EmailMessage))
    return None


def html_sanitize(
    markup: str, *, cid_url: Callable[[str], str], remote_images: bool = False
) -> str:
    """Markup that runs nothing and loads no remote image unless `remote_images`.

    `cid_url` gives the absolute URL that serves the part of a `cid:` reference.
    """

    def rewrite(tag: str, attribute: str, value: str) -> str | None:
        cid = value[:4].lower() == "cid:"
        if tag != "img" or attribute != "src":
            return None if cid else value
        if cid:
            return cid_url(value[4:])
        return value if remote_images else None

    return nh3.clean(
        markup,
        tags=set(TAGS),
        clean_content_tags=set(CONTENT_TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        attribute_filter=rewrite,
        # cid: passes the scheme check only to be rewritten (or dropped) by `rewrite`.
        url_schemes={*URL_SCHEMES, "cid"},
        # The mail's own relative links would point into this site.
        url_relative="deny",
        filter_style_properties=set(STYLE_PROPERTIES),
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )
