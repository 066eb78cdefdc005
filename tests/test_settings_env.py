"""Settings read from the environment fail loudly on a bad value."""

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
