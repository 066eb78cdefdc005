"""What the progress poll costs: queries per poll, and throughput next to a trivial view.

`poll_queries`: one signed-in GET of the progress partial (HX-Request) through
Django's test client in this process, on the harness database, with the
queries captured; the first poll is a warm-up, the figure is the most any of the
next three took.

`poll_vs_trivial_ratio`: gunicorn (2 sync workers, `bench.settings`, whose
URLconf adds /bench/trivial/: login_required, a two-byte answer) serving a
PostgreSQL database that holds a signed-in user's RUNNING run. Threads of this
process, each with its own keep-alive `http.client` connection and the cookies a
browser would send (session and CSRF, as the run's page set them), request the
partial (or the trivial view) as fast as they are answered; requests/s of the
partial over requests/s of the trivial view. The two alternate A B B A A B B A,
after a short unmeasured warm-up of each. The load comes from this machine too: it
costs both views the same per request, so it flattens the ratio a little.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.environment import PostgresDatabase, child_env, postgres_reachable
from bench.figures import Figure
from bench.fixtures import mailbox_create, mailbox_delete, web_client
from bench.urls import TRIVIAL_PATH
from syncapp.figures import RunFigures
from syncapp.models import SyncRun
from syncapp.runs import sync_run_claim, sync_run_progress, sync_run_start
from tests.support.processes import Spawned
from tests.support.waiting import wait_for

WARM_UP_SECONDS = 1.0
ROUNDS = 2
SERVER_READY_TIMEOUT_SECONDS = 60
FIXTURE_TIMEOUT_SECONDS = 300


def progress_path(run_id: int) -> str:
    return f"/runs/{run_id}/progress/"


# --- queries per poll ------------------------------------------------------------


def poll_queries() -> list[Figure]:
    mailbox = mailbox_create("bench-poll-queries")
    try:
        run, _ = sync_run_start(
            mailbox=mailbox, kind=SyncRun.Kind.FULL, trigger=SyncRun.Trigger.WEB, enqueue=False
        )
        sync_run_claim(run_id=run.pk, worker="bench")
        sync_run_progress(
            run_id=run.pk,
            worker="bench",
            figures=RunFigures(processed=10, total=100, new=10),
            checkpoint={},
        )
        client = web_client()
        client.force_login(mailbox.owner)
        counts = []
        for _ in range(4):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(progress_path(run.pk), headers={"HX-Request": "true"})
            if response.status_code != 200:
                raise RuntimeError(f"the progress poll answered {response.status_code}")
            counts.append((len(queries), [q["sql"] for q in queries.captured_queries]))
    finally:
        mailbox_delete(mailbox)
    steady = counts[1:]
    most, sql = max(steady, key=lambda item: item[0])
    tables = ", ".join(_table_of(statement) for statement in sql)
    note = f"first poll {counts[0][0]}, then {'/'.join(str(n) for n, _ in steady)}: {tables}"
    return [Figure("poll_queries", most, note)]


def _table_of(sql: str) -> str:
    """'SELECT table' for a statement: the table after its outermost FROM."""
    depth = 0
    words = []
    for token in sql.replace('"', "").replace("(", " ( ").replace(")", " ) ").split():
        depth += (token == "(") - (token == ")")
        if depth == 0:
            words.append(token)
    for keyword in ("FROM", "INTO", "UPDATE"):
        if keyword in words[1:]:
            index = words.index(keyword, 1)
            if index + 1 < len(words):
                return f"{words[0]} {words[index + 1]}"
    return words[0] if words else "?"


# --- throughput on gunicorn ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Load:
    ok: int
    failed: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.ok / self.seconds


def hammer(*, port: int, path: str, cookie: str, clients: int, seconds: float) -> Load:
    """`clients` threads requesting `path` back to back for `seconds`."""
    barrier = threading.Barrier(clients + 1)
    lock = threading.Lock()
    totals = {"ok": 0, "failed": 0}
    deadline = 0.0
    headers = {"Cookie": cookie, "HX-Request": "true"}

    def client() -> None:
        ok = failed = 0
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        barrier.wait()
        try:
            while time.monotonic() < deadline:
                try:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    conn.close()  # reopened by the next request
                    failed += 1
                    continue
                if response.status == 200:
                    ok += 1
                else:
                    failed += 1
        finally:
            conn.close()
            with lock:
                totals["ok"] += ok
                totals["failed"] += failed

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    deadline = started + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    return Load(ok=totals["ok"], failed=totals["failed"], seconds=time.monotonic() - started)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str, cookie: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Cookie": cookie, "HX-Request": "true"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _wait_until_serving(server: Spawned, port: int, cookie: str) -> None:
    def serving() -> bool:
        if not server.running():
            raise RuntimeError(f"gunicorn ended: {server.output()}")
        try:
            status, _ = _get(port, TRIVIAL_PATH, cookie)
        except OSError:
            return False  # not listening yet
        if status != 200:
            raise RuntimeError(f"{TRIVIAL_PATH} answered {status}: {server.output()}")
        return True

    wait_for(serving, timeout=SERVER_READY_TIMEOUT_SECONDS, what="gunicorn to answer")


def _prepare_database(url: str, *, migrate: bool, log_dir: Path) -> dict:
    command = [sys.executable, "-m", "bench.pollfixture"] + (["--migrate"] if migrate else [])
    env = child_env(DATABASE_URL=url)
    with Spawned(command, name="poll-fixture", log_dir=log_dir, env=env, stdio=True) as fixture:
        try:
            return json.loads(fixture.readline(timeout=FIXTURE_TIMEOUT_SECONDS))
        except (RuntimeError, TimeoutError, ValueError) as exc:
            raise RuntimeError(f"preparing the poll database failed: {fixture.output()}") from exc


def poll_throughput(
    *,
    seconds: float,
    clients: int,
    database_url: str,
    postgres_admin_url: str,
    log_dir: Path,
    workers: int = 2,
) -> list[Figure]:
    """`database_url` is the harness's: used when it is PostgreSQL, else a new one is made."""
    own_database = None
    if connection.vendor == "postgresql":
        url, migrate = database_url, False
    else:
        unreachable = postgres_reachable(postgres_admin_url)
        if unreachable:
            reason = f"n/a: needs PostgreSQL at {postgres_admin_url} ({unreachable})"
            return [Figure("poll_vs_trivial_ratio", None, reason)]
        own_database = PostgresDatabase(postgres_admin_url, f"mailsync_bench_{os.getpid()}_web")
        url, migrate = own_database.create().url, True
    try:
        return _poll_throughput(
            url=url,
            migrate=migrate,
            seconds=seconds,
            clients=clients,
            workers=workers,
            log_dir=log_dir,
        )
    finally:
        if own_database is not None:
            own_database.drop()


def _poll_throughput(
    *, url: str, migrate: bool, seconds: float, clients: int, workers: int, log_dir: Path
) -> list[Figure]:
    fixture = _prepare_database(url, migrate=migrate, log_dir=log_dir)
    cookie = fixture["cookie"]
    progress = progress_path(fixture["run_id"])
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        f"--workers={workers}",
        f"--bind=127.0.0.1:{port}",
        "--log-level=warning",
        "mailsync.wsgi:application",
    ]
    env = child_env(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        # The fixture's run beats once, at its creation: never call it silent, so
        # that every poll renders the same partial however long the benchmark.
        SYNC_STALE_SECONDS=str(24 * 3600),
    )
    try:
        with Spawned(command, name="gunicorn", log_dir=log_dir, env=env) as server:
            _wait_until_serving(server, port, cookie)
            status, body = _get(port, progress, cookie)
            if status != 200 or f'id="run-{fixture["run_id"]}"'.encode() not in body:
                raise RuntimeError(f"{progress} answered {status}, not the running run's partial")

            def load(path: str, duration: float) -> Load:
                return hammer(
                    port=port, path=path, cookie=cookie, clients=clients, seconds=duration
                )

            load(progress, WARM_UP_SECONDS)
            load(TRIVIAL_PATH, WARM_UP_SECONDS)
            # A B B A, twice: drift in the machine's load falls on both views alike.
            segment = seconds / (2 * ROUNDS)
            poll: list[Load] = []
            trivial: list[Load] = []
            for _ in range(ROUNDS):
                poll.append(load(progress, segment))
                trivial.append(load(TRIVIAL_PATH, segment))
                trivial.append(load(TRIVIAL_PATH, segment))
                poll.append(load(progress, segment))
    finally:
        if not migrate:
            _delete_poll_user()
    poll_rate = sum(x.ok for x in poll) / sum(x.seconds for x in poll)
    trivial_rate = sum(x.ok for x in trivial) / sum(x.seconds for x in trivial)
    failed = sum(x.failed for x in poll + trivial)
    note = (
        f"{clients} clients, {workers} gunicorn workers, {seconds:g} s each: "
        f"progress {poll_rate:.0f} req/s, trivial {trivial_rate:.0f} req/s"
    )
    if failed:
        note = f"{failed} requests failed; {note}"
    return [
        Figure("poll_vs_trivial_ratio", round(poll_rate / trivial_rate, 3), note, valid=not failed)
    ]


def _delete_poll_user() -> None:
    from bench.pollfixture import USERNAME
    from syncapp.models import Mailbox

    for mailbox in Mailbox.objects.filter(owner__username=USERNAME):
        mailbox_delete(mailbox)
