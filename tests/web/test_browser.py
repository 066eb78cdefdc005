"""The whole thing in a real Chromium: a live server, a real qcluster and the emulator.

Nothing here sleeps: the page records every value the bar takes, Playwright
waits for what a person would wait for, and the page's clock is moved forward
to show that polling has stopped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections
from playwright.sync_api import (
    ConsoleMessage,
    Dialog,
    Page,
    Request,
    expect,
    sync_playwright,
)

from syncapp.models import Mailbox, Message, SyncRun, WorkerProcess
from tests.helpers import run_sync
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium, kept off the network: this machine has none, and a test
# must not depend on it.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Runs in every page before its own scripts: keeps each value the progress bar
# shows, in order, however briefly it showed it.
RECORD_BAR_VALUES = """
window.barValues = [];
new MutationObserver(() => {
  for (const bar of document.querySelectorAll('[role="progressbar"]')) {
    const value = Number(bar.getAttribute("aria-valuenow"));
    if (window.barValues[window.barValues.length - 1] !== value) window.barValues.push(value);
  }
}).observe(document, {subtree: true, childList: true, attributes: true});
"""

# Every breach of the Content-Security-Policy, as the page reports it.
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@dataclass
class Watched:
    """What the page did that a test checks afterwards."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    progress_polls: list[str] = field(default_factory=list)

    def on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def on_request(self, request: Request) -> None:
        if "/progress/" in request.url:
            self.progress_polls.append(request.url)


@pytest.fixture
def watched() -> Watched:
    return Watched()


@pytest.fixture
def page(live_server, watched: Watched, monkeypatch) -> Iterator[Page]:
    """A Chromium page on the live server; the browser is closed whatever happens."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    # Playwright's sync API keeps an event loop running in this thread, and Django
    # refuses ORM calls made while one runs; the test's own calls are plain,
    # sequential ones, so they are safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                base_url=live_server.url, viewport={"width": 1100, "height": 720}
            )
            context.set_default_timeout(20_000)
            page = context.new_page()
            page.on("dialog", watched.on_dialog)
            page.on("console", watched.on_console)
            page.on("pageerror", lambda error: watched.errors.append(str(error)))
            page.on("request", watched.on_request)
            yield page
        finally:
            # The ORM calls made under Playwright ran in its context, with a
            # connection of their own: close it, or PostgreSQL cannot drop the
            # test database at the end.
            connections.close_all()
            browser.close()


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Mailboxes")).to_be_visible()


def test_demo_clicks_sync_and_watches_the_bar_move_to_the_end_and_stop_polling(
    page, watched, emulate, start_cluster, settings
):
    # Slow enough that the run visibly moves (about 20 batches of 150 ms), short
    # enough for the suite; the quota is not what this test is about.
    emulate(messages=400, latency_ms=150)
    settings.GMAIL_QUOTA_UNITS_PER_MINUTE = 1_000_000
    # One batch of 20 in flight at a time, so that the bar has steps to show.
    start_cluster(GMAIL_BATCH_SIZE="20", GMAIL_CONCURRENT_BATCHES="1")
    call_command("demo_setup")
    page.clock.install()
    page.add_init_script(RECORD_BAR_VALUES)
    page.add_init_script(RECORD_CSP_VIOLATIONS)

    with page.expect_response("**/accounts/login/*") as login_page:
        sign_in(page, "demo", "demo")
    assert "script-src 'self'" in login_page.value.headers["content-security-policy"]
    # Nothing to resync before the first sync.
    expect(page.get_by_role("button", name="Full resync")).to_have_count(0)
    page.get_by_role("button", name="Sync", exact=True).click()

    bar = page.get_by_role("progressbar", name="Sync progress")
    expect(page.locator(".run--running")).to_be_visible()
    # The Sync button is busy while the sync runs, and the head says so.
    expect(page.get_by_role("button", name="Syncing…")).to_have_attribute("aria-busy", "true")
    expect(page.locator(".mailbox__facts")).to_contain_text("Syncing now")
    page.wait_for_function("() => window.barValues.some(v => v > 0 && v < 100)")
    page.mouse.move(0, 0)
    page.screenshot(path=ARTIFACTS / "sync-running.png", animations="disabled")
    expect(page.locator(".run--succeeded")).to_be_visible(timeout=30_000)
    expect(bar).to_have_attribute("aria-valuenow", "100")

    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.SUCCEEDED
    summary = page.locator(".run__summary")
    expect(summary).to_contain_text(f"{run.new_count} new, 0 updated, 0 deleted")
    # The mailbox's own figures follow once the run has ended.
    expect(page.locator(".mailbox__count")).to_have_text(str(Message.objects.count()))
    expect(page.locator(".mailbox__facts")).to_contain_text("Last synced")
    expect(page.get_by_role("button", name="Sync", exact=True)).to_be_enabled()
    expect(page.get_by_role("button", name="Full resync")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "sync-finished.png", animations="disabled")
    values = page.evaluate("window.barValues")
    assert len(set(values)) >= 3, values
    assert values == sorted(values), f"the bar went backwards: {values}"
    assert values[-1] == 100

    polls = len(watched.progress_polls)
    page.clock.run_for(10_000)
    # Requests are reported in order: once this one is seen, a poll fired by the
    # ten seconds above would have been seen too.
    with page.expect_request("**/static/mailsync.css?after-the-end"):
        page.evaluate("fetch('/static/mailsync.css?after-the-end')")
    assert len(watched.progress_polls) == polls
    assert polls >= 3
    assert watched.errors == []
    # The poll ran under the Content-Security-Policy, and nothing breached it.
    assert page.evaluate("window.cspViolations") == []


def test_signing_in_with_google_creates_a_mailbox_that_then_syncs(
    page, watched, emulate_google, start_cluster, settings
):
    emulator = emulate_google(email="dora.explorer@example.com", messages=30)
    settings.GMAIL_QUOTA_UNITS_PER_MINUTE = 1_000_000
    start_cluster()

    page.goto("/")
    page.get_by_role("button", name="Sign in with Google").click()
    page.get_by_role("link", name="dora.explorer@example.com").click()

    expect(page.get_by_role("heading", name="dora.explorer@example.com")).to_be_visible()
    mailbox = Mailbox.objects.get()
    assert mailbox.owner.email == "dora.explorer@example.com"
    page.get_by_role("button", name="Sync", exact=True).click()
    expect(page.locator(".run--succeeded")).to_be_visible(timeout=30_000)
    stored = Message.objects.filter(mailbox=mailbox).count()
    assert stored == len(emulator.mailbox().message_ids())
    page.reload()
    expect(page.locator(".mailbox__count")).to_have_text(str(stored))
    assert watched.errors == []


def test_a_signed_in_person_picks_an_account_on_googles_chooser_and_sees_it_connected(
    page, watched, emulate_google, alice
):
    emulate_google(mailboxes=3)
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    sign_in(page, "alice", "alice-password")

    page.get_by_role("button", name="Connect a Gmail account").click()
    expect(page.get_by_role("heading", name="Choose an account")).to_be_visible()
    for address in ("user1@example.com", "user2@example.com", "user3@example.com"):
        expect(page.get_by_role("link", name=address)).to_be_visible()
    page.get_by_role("link", name="user2@example.com").click()

    expect(page.get_by_role("status")).to_have_text("Connected user2@example.com")
    expect(page.get_by_role("heading", name="user2@example.com")).to_be_visible()
    expect(page.get_by_role("button", name="Sync", exact=True)).to_be_visible()
    assert list(alice.mailboxes.values_list("email", flat=True)) == ["user2@example.com"]
    assert watched.errors == []
    assert page.evaluate("window.cspViolations") == []


def test_hostile_messages_show_as_text_and_run_nothing(page, watched, emulate, alice):
    emulator = emulate(email="alice@example.com", messages=40)
    mailbox = Mailbox.objects.create(owner=alice, email="alice@example.com", refresh_token="x")
    run_sync(mailbox)
    hostile = Message.objects.filter(
        mailbox=mailbox, gmail_id__in=emulator.mailbox().hostile_ids.values()
    )
    assert hostile.count() == len(emulator.mailbox().hostile_ids)

    sign_in(page, "alice", "alice-password")
    page.goto(f"/mailboxes/{mailbox.pk}/messages/?q=mallory")
    expect(page.locator(".messages__item")).to_have_count(hostile.count())
    for message in hostile:
        page.goto(f"/messages/{message.pk}/")
        # Its text, or its HTML in a sandboxed frame (tests/web/test_browser_html.py).
        expect(page.locator(".message__body, .message__html")).to_be_attached()
    scripted = hostile.get(subject__contains="<script>")
    page.goto(f"/messages/{scripted.pk}/?view=text")

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "<script>alert(1)</script> <img src=x onerror=alert(1)>"
    )
    expect(page.locator(".message__body")).to_contain_text("<script>alert(1)</script>")
    assert page.locator("main script, main img").count() == 0
    assert watched.dialogs == []
    assert watched.errors == []


def test_a_person_cancels_a_running_sync_and_its_worker_stops_keeping_what_it_stored(
    page, watched, emulate, start_cluster, settings
):
    # Slow enough that the run is still going when the button is clicked.
    emulate(messages=400, latency_ms=300)
    settings.GMAIL_QUOTA_UNITS_PER_MINUTE = 1_000_000
    start_cluster(GMAIL_BATCH_SIZE="20", GMAIL_CONCURRENT_BATCHES="1")
    call_command("demo_setup")
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    sign_in(page, "demo", "demo")

    page.get_by_role("button", name="Sync", exact=True).click()
    expect(page.locator(".run--running .figures")).to_be_visible()
    # Once a first batch is stored: it is what the cancelled run keeps.
    wait_for(Message.objects.exists, timeout=20, what="a first batch to be stored")
    page.get_by_role("button", name="Cancel").click()

    expect(page.locator(".run--failed")).to_contain_text("Cancelled by demo", timeout=5_000)
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    run = SyncRun.objects.get()
    assert (run.status, run.failure) == (SyncRun.Status.FAILED, SyncRun.Failure.CANCELLED)
    wait_for(
        lambda: not WorkerProcess.objects.filter(run=run).exists(),
        timeout=20,
        what="the worker to let go of the cancelled run",
    )
    stored = Message.objects.count()
    assert 0 < stored < 400
    assert SyncRun.objects.count() == 1, "a cancelled run is not retried"
    assert watched.errors == []
    assert page.evaluate("window.cspViolations") == []


def test_a_person_deletes_a_mailbox_after_confirming_it(page, watched, alice, alice_mailbox):
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    sign_in(page, "alice", "alice-password")

    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", name="Delete alice@example.com?")).to_be_visible()
    page.get_by_role("button", name="Delete alice@example.com").click()

    expect(page.get_by_role("status")).to_have_text(
        "Deleted alice@example.com and its 0 messages."
    )
    expect(page.get_by_role("heading", name="No mailbox yet")).to_be_visible()
    assert not Mailbox.objects.exists()
    assert watched.errors == []
    assert page.evaluate("window.cspViolations") == []
