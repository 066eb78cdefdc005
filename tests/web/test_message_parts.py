"""A message's attachments download safely, and its HTML body is shown sanitized, in a frame
that runs nothing (the browser half of that is in test_browser_html.py)."""

import base64
from email.message import EmailMessage
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mail"
# The 1x1 image hostile.eml carries inline.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


def with_attachments() -> bytes:
    mail = EmailMessage()
    mail["From"] = "Dora Explorer <dora@maps.example>"
    mail["To"] = "alice@example.com"
    mail["Subject"] = "Maps and more"
    mail["Date"] = "Mon, 01 Dec 2025 10:00:00 +0000"
    mail.set_content("The maps are attached.")
    mail.add_attachment(
        b"%PDF-1.4 map" * 5000, maintype="application", subtype="pdf", filename="map.pdf"
    )
    mail.add_attachment(
        "<script>alert(1)</script>", subtype="html", filename="../../etc/évil\u202egnp.html"
    )
    mail.add_attachment(PNG, maintype="image", subtype="svg+xml", filename="logo.svg")
    return mail.as_bytes()


def test_it_lists_attachments_with_name_size_and_type(
    alice_client, alice_mailbox, make_original_message
):
    message = make_original_message(alice_mailbox, with_attachments())

    html = alice_client.get(f"/messages/{message.pk}/").content.decode()

    assert f'href="/messages/{message.pk}/attachments/0/"' in html
    assert "map.pdf" in html and "58.6\xa0KB, application/pdf" in html
    assert "évilgnp.html" in html and "text/html" in html
    assert f'href="/messages/{message.pk}/attachments/2/"' in html


def test_it_downloads_an_attachment_byte_for_byte_as_an_attachment(
    alice_client, alice_mailbox, make_original_message
):
    message = make_original_message(alice_mailbox, with_attachments())

    response = alice_client.get(f"/messages/{message.pk}/attachments/0/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 map" * 5000
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        "attachment; filename=\"map.pdf\"; filename*=UTF-8''map.pdf"
    )
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("index", "disposition"),
    [
        (1, "attachment; filename=\"_vilgnp.html\"; filename*=UTF-8''%C3%A9vilgnp.html"),
        (2, "attachment; filename=\"logo.svg\"; filename*=UTF-8''logo.svg"),
    ],
)
def test_it_serves_what_a_browser_could_run_as_an_opaque_download_under_a_safe_name(
    alice_client, alice_mailbox, make_original_message, index, disposition
):
    message = make_original_message(alice_mailbox, with_attachments())

    response = alice_client.get(f"/messages/{message.pk}/attachments/{index}/")

    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == disposition
    assert response["X-Content-Type-Options"] == "nosniff"


def test_it_finds_no_attachment_past_the_last_or_of_someone_else(
    alice_client, bob_client, alice_mailbox, make_original_message
):
    message = make_original_message(alice_mailbox, with_attachments())

    assert alice_client.get(f"/messages/{message.pk}/attachments/3/").status_code == 404
    assert bob_client.get(f"/messages/{message.pk}/attachments/0/").status_code == 404
    assert bob_client.get(f"/messages/{message.pk}/body.html").status_code == 404


def test_it_frames_the_html_body_in_a_sandbox_with_the_text_one_click_away(
    alice_client, alice_mailbox, make_original_message
):
    message = make_original_message(alice_mailbox, (FIXTURES / "hostile.eml").read_bytes())

    html = alice_client.get(f"/messages/{message.pk}/").content.decode()
    text = alice_client.get(f"/messages/{message.pk}/?view=text").content.decode()

    assert f'src="/messages/{message.pk}/body.html"' in html
    assert 'sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox"' in html
    assert 'href="?view=text"' in html and "Show images" in html
    assert "<iframe" not in text and "Hello Alice" in text


def test_it_serves_the_body_sanitized_under_its_own_policy(
    alice_client, alice_mailbox, make_original_message
):
    message = make_original_message(alice_mailbox, (FIXTURES / "hostile.eml").read_bytes())

    response = alice_client.get(f"/messages/{message.pk}/body.html")

    body = response.content.decode()
    policy = response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in policy and "default-src 'none'" in policy
    assert f"img-src http://testserver/messages/{message.pk}/cid/;" in policy
    assert "script" not in policy and "https:" not in policy
    assert "<h1>Hello Alice</h1>" in body
    assert f'src="http://testserver/messages/{message.pk}/cid/logo%40mailsync.test/"' in body
    for hostile in (
        "<script", "onerror", "onclick", "javascript:", "<svg", "<form", "<input", "<iframe",
        "<object", "http-equiv", "<style", "<base", "position", "url(", "refreshed", "tracker.png",
        "evil.example/form", "evil.example/frame", "evil.example/object", "_top",
    ):  # fmt: skip
        assert hostile not in body, hostile
    # An ordinary link stays, and opens outside the frame.
    assert 'href="https://evil.example/top" target="_blank" rel="noopener noreferrer"' in body


def test_it_shows_remote_images_only_when_asked(
    alice_client, alice_mailbox, make_original_message
):
    message = make_original_message(alice_mailbox, (FIXTURES / "hostile.eml").read_bytes())

    response = alice_client.get(f"/messages/{message.pk}/body.html?images=1")

    assert 'src="https://images.evil.example/tracker.png"' in response.content.decode()
    assert "https: http:" in response["Content-Security-Policy"]


def test_it_serves_an_inline_image_by_its_content_id(
    alice_client, alice_mailbox, make_original_message
):
    message = make_original_message(alice_mailbox, (FIXTURES / "hostile.eml").read_bytes())

    response = alice_client.get(f"/messages/{message.pk}/cid/logo%40mailsync.test/")

    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    assert alice_client.get(f"/messages/{message.pk}/cid/nothing/").status_code == 404
