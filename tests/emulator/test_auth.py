"""Tokens and sign-in: refresh, revoke, expiry, the authorization code flow, userinfo."""

import json
import re
import urllib.error
import urllib.request
from html import unescape
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import google.auth.exceptions
import google_auth_httplib2
import httplib2
import pytest
from googleapiclient.errors import HttpError

from gmail_emulator import GmailEmulator
from tests.plugins.emulator import gmail_credentials, gmail_service

GMAIL_READONLY = "https://www.googleapis.com/auth/gmail.readonly"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http(method: str, url: str, data: dict | None = None, headers: dict | None = None):
    """(status, headers, body) of a plain HTTP call, redirects not followed."""
    body = urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def sign_in(emulator: GmailEmulator, **params) -> dict:
    query = {
        "client_id": "client",
        "redirect_uri": "http://app.example/complete/google-oauth2/",
        "response_type": "code",
        "scope": f"openid email profile {GMAIL_READONLY}",
        "state": "xyz",
        "access_type": "offline",
        "prompt": "consent",
        # The account chosen on the chooser (see the chooser's own tests).
        "login_hint": emulator.mailbox().email,
        **params,
    }
    status, headers, _ = http("GET", emulator.url + "o/oauth2/auth?" + urlencode(query))
    assert status == 302
    location = urlsplit(headers["Location"])
    assert location.geturl().startswith(query["redirect_uri"])
    return {name: values[0] for name, values in parse_qs(location.query).items()}


def exchange(emulator: GmailEmulator, code: str) -> tuple[int, dict]:
    status, _, body = http(
        "POST",
        emulator.url + "token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": "client",
            "client_secret": "secret",
            "redirect_uri": "http://app.example/complete/google-oauth2/",
        },
    )
    return status, json.loads(body)


def test_credentials_refresh_at_the_token_endpoint(gmail_emulator: GmailEmulator):
    credentials = gmail_credentials(gmail_emulator)
    old_token = credentials.token

    credentials.refresh(google_auth_httplib2.Request(httplib2.Http()))

    assert credentials.token != old_token
    assert credentials.expiry is not None
    profile = gmail_service(gmail_emulator, credentials).users().getProfile(userId="me").execute()
    assert profile["emailAddress"] == gmail_emulator.mailbox().email


def test_a_revoked_mailbox_answers_401_and_invalid_grant(gmail_emulator: GmailEmulator):
    credentials = gmail_credentials(gmail_emulator)
    service = gmail_service(gmail_emulator, credentials)
    gmail_emulator.revoke(gmail_emulator.mailbox().email)

    with pytest.raises(google.auth.exceptions.RefreshError) as raised:
        service.users().getProfile(userId="me").execute()

    assert "invalid_grant" in str(raised.value)
    assert [(e.method, e.status) for e in gmail_emulator.request_log] == [
        ("users.getProfile", 401),
        ("token", 400),
    ]


def test_expired_access_tokens_make_the_client_refresh_once(gmail_emulator: GmailEmulator):
    credentials = gmail_credentials(gmail_emulator)
    service = gmail_service(gmail_emulator, credentials)
    gmail_emulator.expire_access_tokens(gmail_emulator.mailbox().email)

    service.users().getProfile(userId="me").execute()
    service.users().labels().list(userId="me").execute()

    assert [(e.method, e.status) for e in gmail_emulator.request_log] == [
        ("users.getProfile", 401),
        ("token", 200),
        ("users.getProfile", 200),
        ("labels.list", 200),
    ]


def test_a_missing_authorization_header_is_401(gmail_emulator: GmailEmulator):
    status, headers, body = http("GET", gmail_emulator.url + "gmail/v1/users/me/profile")

    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert json.loads(body)["error"]["status"] == "UNAUTHENTICATED"


def test_unknown_tokens_are_accepted_for_the_default_mailbox(gmail_emulator: GmailEmulator):
    status, _, body = http(
        "GET",
        gmail_emulator.url + "gmail/v1/users/me/profile",
        headers={"Authorization": "Bearer anything"},
    )

    assert status == 200
    assert json.loads(body)["emailAddress"] == gmail_emulator.mailbox().email


def test_another_users_address_is_delegation_denied(gmail_emulator: GmailEmulator):
    gmail_emulator.add_mailbox("other@example.com", messages=5)
    service = gmail_service(gmail_emulator)

    with pytest.raises(HttpError) as raised:
        service.users().getProfile(userId="other@example.com").execute()

    assert raised.value.status_code == 403


def test_each_mailbox_is_reached_with_its_own_tokens(gmail_emulator: GmailEmulator):
    other = gmail_emulator.add_mailbox("other@example.com", messages=5, seed=9)
    credentials = gmail_credentials(gmail_emulator, "other@example.com")

    profile = (
        gmail_service(gmail_emulator, credentials)
        .users()
        .getProfile(userId="other@example.com")
        .execute()
    )

    assert profile["messagesTotal"] == 5
    assert profile["historyId"] == str(other.history_id)


def test_the_authorization_code_flow_signs_in_and_serves_userinfo(gmail_emulator: GmailEmulator):
    answer = sign_in(gmail_emulator, login_hint="new.person@example.com")
    status, tokens = exchange(gmail_emulator, answer["code"])
    userinfo_status, _, userinfo = http(
        "GET",
        gmail_emulator.url + "oauth2/v3/userinfo",
        headers={"Authorization": "Bearer " + tokens["access_token"]},
    )

    assert answer["state"] == "xyz"
    assert status == 200
    assert {"access_token", "refresh_token", "expires_in", "scope", "token_type"} <= set(tokens)
    assert userinfo_status == 200
    info = json.loads(userinfo)
    assert info["email"] == "new.person@example.com"
    assert info["email_verified"] is True
    assert info["given_name"] == "New"
    assert {"sub", "name", "family_name", "picture"} <= set(info)
    assert gmail_emulator.mailbox("new.person@example.com").message_ids()


def test_without_a_login_hint_it_shows_the_accounts_it_serves_to_choose_from(
    make_gmail_emulator,
):
    emulator = make_gmail_emulator(mailboxes=2)
    query = {
        "client_id": "app",
        "redirect_uri": "http://app.example/complete/google-oauth2/",
        "response_type": "code",
        "scope": GMAIL_READONLY,
        "state": "xyz",
    }

    status, headers, page = http("GET", emulator.url + "o/oauth2/auth?" + urlencode(query))

    html = page.decode()
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    links = re.findall(r'<a class="account" href="([^"]+)">([^<]+)</a>', html)
    assert [address for _, address in links] == [
        emulator.mailbox().email,
        "user1@example.com",
        "user2@example.com",
    ]
    chosen = urljoin(emulator.url + "o/oauth2/auth", unescape(links[2][0]))
    status, headers, _ = http("GET", chosen)
    assert status == 302
    answer = parse_qs(urlsplit(headers["Location"]).query)
    assert answer["state"] == ["xyz"]
    _, tokens = exchange(emulator, answer["code"][0])
    _, _, profile = http(
        "GET",
        emulator.url + "gmail/v1/users/me/profile",
        headers={"Authorization": "Bearer " + tokens["access_token"]},
    )
    assert json.loads(profile)["emailAddress"] == "user2@example.com"


def test_cancelling_the_chooser_goes_back_to_the_app_with_access_denied(gmail_emulator):
    query = {"client_id": "app", "redirect_uri": "http://app.example/back/", "state": "s1"}

    _, _, page = http("GET", gmail_emulator.url + "o/oauth2/auth?" + urlencode(query))

    cancel = re.search(r'<a href="([^"]+)">Cancel</a>', page.decode())
    assert cancel is not None
    assert unescape(cancel.group(1)) == "http://app.example/back/?error=access_denied&state=s1"


def test_a_refresh_token_comes_only_with_offline_access(gmail_emulator: GmailEmulator):
    answer = sign_in(gmail_emulator, access_type="online")

    _, tokens = exchange(gmail_emulator, answer["code"])

    assert "refresh_token" not in tokens


def test_a_code_works_once(gmail_emulator: GmailEmulator):
    code = sign_in(gmail_emulator)["code"]
    exchange(gmail_emulator, code)

    status, body = exchange(gmail_emulator, code)

    assert status == 400
    assert body["error"] == "invalid_grant"


def test_a_token_without_the_gmail_scope_is_forbidden(gmail_emulator: GmailEmulator):
    answer = sign_in(gmail_emulator, scope="openid email profile")
    _, tokens = exchange(gmail_emulator, answer["code"])

    status, _, body = http(
        "GET",
        gmail_emulator.url + "gmail/v1/users/me/profile",
        headers={"Authorization": "Bearer " + tokens["access_token"]},
    )

    assert status == 403
    assert json.loads(body)["error"]["errors"][0]["reason"] == "insufficientPermissions"


def test_signing_in_again_after_a_revoke_grants_access_anew(gmail_emulator: GmailEmulator):
    email = gmail_emulator.mailbox().email
    old = gmail_credentials(gmail_emulator)
    gmail_emulator.revoke(email)

    _, tokens = exchange(gmail_emulator, sign_in(gmail_emulator)["code"])
    status, _, _ = http(
        "GET",
        gmail_emulator.url + "gmail/v1/users/me/profile",
        headers={"Authorization": "Bearer " + tokens["access_token"]},
    )

    assert status == 200
    with pytest.raises(google.auth.exceptions.RefreshError):
        old.refresh(google_auth_httplib2.Request(httplib2.Http()))
