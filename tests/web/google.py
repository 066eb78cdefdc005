"""Signing in with Google as a browser does, against the emulator's OAuth endpoints."""

import re
import urllib.error
import urllib.request
from html import unescape
from urllib.parse import urlencode, urljoin, urlsplit

ACCOUNT_LINK = re.compile(r'<a class="account" href="([^"]+)">([^<]+)</a>')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get(url: str) -> tuple[int, str, str]:
    """(status, Location, body) of a GET, redirects not followed."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url) as response:
            return response.status, "", response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location", ""), error.read().decode()


def google_dance(client, *, login_hint: str | None = None, choose: str | None = None):
    """Start (the app may name the account), pick `choose` on Google's account chooser
    (else the first account it lists; another address is typed in), follow Google's
    redirect back, and complete. Returns (the authorize URL, the app's answer)."""
    begin = client.post(
        "/oauth/login/google-oauth2/", {"login_hint": login_hint} if login_hint else {}
    )
    assert begin.status_code == 302, begin
    authorize = begin["Location"]
    status, location, page = _get(authorize)
    if status == 200:
        listed = {address: unescape(href) for href, address in ACCOUNT_LINK.findall(page)}
        if choose is None:
            chosen = next(iter(listed.values()))
        else:
            typed = authorize + "&" + urlencode({"login_hint": choose})
            chosen = listed.get(choose, typed)
        status, location, _ = _get(urljoin(authorize, chosen))
    assert status == 302, "Google's authorize endpoint did not redirect back"
    back = urlsplit(location)
    return authorize, client.get(f"{back.path}?{back.query}")
