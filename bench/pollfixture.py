"""Prepare a database for the poll benchmark: `python -m bench.pollfixture [--migrate]`.

Run in a child process with DATABASE_URL naming the database that gunicorn will
serve (it may not be the harness's own). Creates a user with a mailbox and a
RUNNING run that has made some progress, signs the user in, and prints one line
of JSON: {"run_id": ..., "cookie": ...}, the cookies a browser would send with
each poll (session and CSRF).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USERNAME = "bench-poll"
WORKER = "bench-poll-worker"


def prepare(*, migrate: bool) -> dict:
    from django.core.management import call_command

    from bench.fixtures import mailbox_create, web_client
    from syncapp.figures import RunFigures
    from syncapp.models import SyncRun
    from syncapp.runs import sync_run_claim, sync_run_progress, sync_run_start

    if migrate:
        call_command("migrate", verbosity=0, interactive=False)
    mailbox = mailbox_create(USERNAME)
    run, _ = sync_run_start(
        mailbox=mailbox, kind=SyncRun.Kind.FULL, trigger=SyncRun.Trigger.WEB, enqueue=False
    )
    sync_run_claim(run_id=run.pk, worker=WORKER)
    sync_run_progress(
        run_id=run.pk,
        worker=WORKER,
        figures=RunFigures(processed=4321, total=20000, new=4321),
        checkpoint={"phase": "full"},
    )
    client = web_client()
    client.force_login(mailbox.owner)
    # The page sets the CSRF cookie that a browser then sends with every poll.
    page = client.get(f"/runs/{run.pk}/progress/")
    if page.status_code != 200:
        raise RuntimeError(f"the progress page answered {page.status_code}")
    cookies = {name: client.cookies[name].value for name in ("sessionid", "csrftoken")}
    return {"run_id": run.pk, "cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailsync.settings")
    import django

    django.setup()
    print(json.dumps(prepare(migrate="--migrate" in sys.argv[1:])), flush=True)
