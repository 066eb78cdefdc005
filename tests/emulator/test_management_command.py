"""`manage.py gmail_emulator` serves until terminated."""

import os
import socket
import subprocess
import sys
from pathlib import Path

from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_command_prints_its_url_and_serves_gmail():
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "gmail_emulator",
            "--port",
            str(port),
            "--messages",
            "30",
            "--seed",
            "3",
            "--email",
            "cli@example.com",
        ],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "True"},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().strip()
        credentials = Credentials(
            token="any", token_uri=url + "token", client_id="x", client_secret="y"
        )
        service = build(
            "gmail",
            "v1",
            credentials=credentials,
            static_discovery=True,
            client_options={"api_endpoint": url},
        )

        profile = service.users().getProfile(userId="me").execute()
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert url == f"http://127.0.0.1:{port}/"
    assert profile["emailAddress"] == "cli@example.com"
    assert profile["messagesTotal"] == 30
    assert process.returncode == 0
