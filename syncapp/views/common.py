"""What every view shares: the request type it receives."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.http import HttpRequest, QueryDict
from django_htmx.middleware import HtmxDetails

from syncapp.mailfilters import Folder

QUERY_MAX = 200


class HtmxHttpRequest(HttpRequest):
    """A request that went through HtmxMiddleware, by a signed-in user.

    Every view taking it is behind login_required (or, in the API, its own check).
    """

    htmx: HtmxDetails
    user: User


@dataclass(frozen=True, slots=True)
class MailChoice:
    """Which mail a list or an export is about, read from a query string."""

    # None: every message (a label was chosen instead of a folder).
    folder: Folder | None
    label: str
    query: str

    @classmethod
    def from_query(cls, params: QueryDict) -> MailChoice:
        """A label replaces the folder; with neither, a search looks through All Mail
        and a list shows the Inbox, as in Gmail. ValueError on an unknown folder."""
        # PostgreSQL refuses NUL in text and jsonb: typed or pasted, it only drops out.
        label = params.get("label", "").replace("\x00", "")
        query = params.get("q", "").replace("\x00", "").strip()[:QUERY_MAX]
        folder: Folder | None = None
        if params.get("folder"):
            folder = Folder(str(params["folder"]))
        elif not label:
            folder = Folder.ALL if query else Folder.INBOX
        return cls(folder=None if label else folder, label=label, query=query)

    def filters(self) -> dict[str, str]:
        """The query string that asks for this choice again."""
        found = {"folder": self.folder.value if self.folder else "", "label": self.label}
        return {key: value for key, value in (found | {"q": self.query}).items() if value}
