"""`python -m gmail_emulator` (and `manage.py gmail_emulator`) serve until terminated."""

import argparse
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

from gmail_emulator import cli

ROOT = Path(__file__).resolve().parent.parent.parent
COMMANDS = {
    "module": [sys.executable, "-m", "gmail_emulator"],
    "manage.py": [sys.executable, "manage.py", "gmail_emulator"],
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_it_prints_its_url_serves_gmail_and_stops_on_a_signal(command, stop):
    port = free_port()
    process = subprocess.Popen(
        [
            *command,
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
        process.send_signal(stop)
        process.wait(timeout=10)

    assert url == f"http://127.0.0.1:{port}/"
    assert profile["emailAddress"] == "cli@example.com"
    assert profile["messagesTotal"] == 30
    assert process.returncode == 0
    assert process.stdout.read() == ""


def emulator_for(*argv: str):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return cli.emulator_from(vars(parser.parse_args(argv)))


def test_the_mailbox_is_realistic_unless_asked_for_tiny():
    default = emulator_for("--messages", "200")
    tiny = emulator_for("--messages", "200", "--profile", "tiny")

    assert default.profile == "realistic"
    assert tiny.profile == "tiny"
    assert default.mailbox().snapshot() != tiny.mailbox().snapshot()


def test_the_concurrency_limit_is_on_unless_turned_off():
    default = emulator_for()
    unlimited = emulator_for("--max-concurrent-per-user", "0")

    assert default.max_concurrent_per_user == 10
    assert unlimited.max_concurrent_per_user == 0


IMPORT_EVERY_MODULE = """
import importlib, pkgutil, sys
import gmail_emulator
for module in pkgutil.iter_modules(gmail_emulator.__path__):
    if module.name != "__main__":  # that one serves
        importlib.import_module("gmail_emulator." + module.name)
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_the_package_needs_neither_django_nor_syncapp():
    loaded = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_MODULE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    top_level = set(loaded.stdout.split())
    assert "gmail_emulator" in top_level
    assert not top_level & {"django", "syncapp", "mailsync", "googleapiclient"}
