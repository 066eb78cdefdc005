"""Settings read from the environment fail loudly on a bad value."""

import json
import os
import subprocess
import sys

import pytest

from mailsync.env import EnvError, envbool, envint, envlist


def test_envbool_reads_exactly_true_and_false(monkeypatch):
    monkeypatch.setenv("FLAG", "True")
    assert envbool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "False")
    assert envbool("FLAG", True) is False


@pytest.mark.parametrize("value", ["true", "1", "yes", ""])
def test_envbool_refuses_anything_else(monkeypatch, value):
    monkeypatch.setenv("FLAG", value)
    with pytest.raises(EnvError, match="FLAG must be True or False"):
        envbool("FLAG", False)


def test_envint_refuses_words_and_values_below_the_minimum(monkeypatch):
    monkeypatch.setenv("NUMBER", "fifteen")
    with pytest.raises(EnvError, match="NUMBER must be a whole number"):
        envint("NUMBER", 15)
    monkeypatch.setenv("NUMBER", "0")
    with pytest.raises(EnvError, match="NUMBER must be at least 1"):
        envint("NUMBER", 15, minimum=1)


def test_defaults_apply_when_unset(monkeypatch):
    monkeypatch.delenv("NUMBER", raising=False)
    monkeypatch.delenv("HOSTS", raising=False)
    assert envint("NUMBER", 15) == 15
    assert envlist("HOSTS", ["localhost"]) == ["localhost"]


def test_the_app_refuses_to_start_on_a_bad_setting():
    env = {**os.environ, "SYNC_HEARTBEAT_SECONDS": "often"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "SYNC_HEARTBEAT_SECONDS must be a whole number, not 'often'" in result.stderr


def database_settings(**environ):
    code = (
        "import json; from mailsync import settings as s; d = s.DATABASES['default']; "
        "print(json.dumps([d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'], "
        "d['DISABLE_SERVER_SIDE_CURSORS']]))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CONN_MAX_AGE", "DATABASE_URL")}
    env.update(DEBUG="True", **environ)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, [0, True, False]),
        ({"DATABASE_URL": "postgres://u@db:5432/mail"}, [60, True, False]),
        (
            {
                "DATABASE_URL": "postgres://u@db:5432/mail",
                "CONN_MAX_AGE": "0",
                "DISABLE_SERVER_SIDE_CURSORS": "True",
            },
            [0, True, True],
        ),
    ],
)
def test_persistent_connections_by_database(environ, expected):
    assert database_settings(**environ) == expected


def raw_batch_size(**environ) -> str:
    code = "from mailsync import settings as s; print(s.GMAIL_RAW_BATCH_SIZE)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GMAIL_")}
    env.update(DEBUG="True", **environ)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return result.stdout.strip() or result.stderr


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "20"),
        ({"GMAIL_BATCH_SIZE": "10"}, "10"),
        ({"GMAIL_RAW_BATCH_SIZE": "5"}, "5"),
        (
            {"GMAIL_BATCH_SIZE": "10", "GMAIL_RAW_BATCH_SIZE": "20"},
            "GMAIL_RAW_BATCH_SIZE must be at most GMAIL_BATCH_SIZE",
        ),
    ],
)
def test_raw_batches_default_to_20_messages_and_never_exceed_a_batch(environ, expected):
    assert expected in raw_batch_size(**environ)
