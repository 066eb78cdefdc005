"""A short chaos run: workers killed, Gmail failing, mailboxes changing; nothing lost or twice."""

import contextlib
import io
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from syncapp.models import SyncRun, WorkerProcess

pytestmark = pytest.mark.django_db(transaction=True)


def figures(output: str) -> dict[str, int]:
    """The command's "name: number" lines, by name."""
    return {name: int(value) for name, value in re.findall(r"^([a-z ]+): (\d+)\b", output, re.M)}


def running(pid: int) -> bool:
    """Whether the process runs; a killed one not yet reaped (a zombie) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_chaos_loses_and_duplicates_no_message(tmp_path):
    out = io.StringIO()

    # Its exit status also covers labels; this test is about messages and runs ending.
    with contextlib.suppress(CommandError):
        call_command(
            "chaos",
            *("--minutes", "0.3", "--mailboxes", "3", "--messages", "100"),
            *("--clusters", "2", "--seed", "11", "--log-dir", str(tmp_path)),
            stdout=out,
        )

    report = figures(out.getvalue())
    assert report["messages lost"] == 0, out.getvalue()
    assert report["messages duplicated"] == 0, out.getvalue()
    assert report["runs still active after settling"] == 0, out.getvalue()
    assert report["final syncs failed"] == 0, out.getvalue()
    assert report["runs started"] >= 5, out.getvalue()
    assert not SyncRun.objects.active().exists()
    workers = list(WorkerProcess.objects.values_list("pid", flat=True))
    assert workers, "no worker ever reported itself"
    assert [pid for pid in workers if running(pid)] == [], "a worker outlived the command"
