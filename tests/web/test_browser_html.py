"""Hostile HTML mail in a real Chromium: shown, and nothing in it runs, navigates, writes a
cookie or reaches a remote host until the person asks for remote images."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connections
from playwright.sync_api import Page, Route, expect, sync_playwright

from gmail_emulator.hostile import hostile_messages
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mail"


class Outside:
    """Every request the page made to a host other than the live server (all refused)."""

    def __init__(self, live_host: str) -> None:
        self.live_host = live_host
        self.urls: list[str] = []

    def route(self, route: Route) -> None:
        if urlsplit(route.request.url).netloc == self.live_host:
            route.continue_()
        else:
            self.urls.append(route.request.url)
            route.abort()


@pytest.fixture
def browser_page(live_server, monkeypatch) -> Iterator[tuple[Page, Outside, list[str]]]:
    """A Chromium page on the live server; the browser is closed whatever happens."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    outside = Outside(urlsplit(live_server.url).netloc)
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=live_server.url)
            context.set_default_timeout(20_000)
            context.route("**/*", outside.route)
            page = context.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            yield page, outside, dialogs
        finally:
            connections.close_all()
            browser.close()


def test_hostile_html_runs_nothing_and_loads_nothing_remote_until_asked(
    browser_page, alice, alice_mailbox, make_original_message
):
    page, outside, dialogs = browser_page
    message = make_original_message(alice_mailbox, (FIXTURES / "hostile.eml").read_bytes())
    sign_in(page, "alice", "alice-password")

    page.goto(f"/messages/{message.pk}/")
    body = page.frame_locator("iframe.message__html")
    expect(body.get_by_role("heading", name="Hello Alice")).to_be_visible()
    # The inline image came from the original; the styled paragraph kept its colour only.
    logo = body.get_by_role("img", name="logo")
    expect(logo).to_have_js_property("naturalWidth", 1)
    expect(body.get_by_text("Styled")).to_have_css("color", "rgb(1, 2, 3)")
    expect(body.get_by_text("Styled")).to_have_css("position", "static")
    body.get_by_text("Click me").click()
    body.get_by_text("Click", exact=True).click()

    assert page.url.endswith(f"/messages/{message.pk}/")
    assert page.title() == "Hostile HTML · Mailsync"
    assert not [c for c in page.context.cookies() if "pwned" in c["name"]]
    assert dialogs == []
    assert outside.urls == []

    with page.context.expect_event("request", lambda request: "tracker" in request.url):
        page.get_by_role("link", name="Show images").click()
    shown = page.frame_locator("iframe.message__html")
    expect(shown.get_by_role("img", name="logo")).to_have_js_property("naturalWidth", 1)
    assert "https://images.evil.example/tracker.png" in outside.urls
    assert [url for url in outside.urls if "tracker" not in url] == []
    assert page.title() == "Hostile HTML · Mailsync"


def test_the_emulators_hostile_html_runs_nothing_and_its_text_is_one_click_away(
    browser_page, alice, alice_mailbox, make_original_message
):
    page, outside, dialogs = browser_page
    raw = hostile_messages(alice_mailbox.email, 1)["html_script"]
    message = make_original_message(alice_mailbox, raw)
    sign_in(page, "alice", "alice-password")

    page.goto(f"/messages/{message.pk}/")
    expect(page.frame_locator("iframe.message__html").get_by_text("Hello")).to_be_visible()
    # Its javascript: link lost its href: clicking it does nothing.
    page.frame_locator("iframe.message__html").get_by_text("x", exact=True).click()
    page.get_by_role("link", name="Plain text").click()

    expect(page.locator(".message__body")).to_contain_text("Plain text with <script>alert(1)")
    assert dialogs == []
    assert outside.urls == []
