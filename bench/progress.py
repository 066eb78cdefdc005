"""How often a running sync writes its run row: progress, heartbeat, checkpoint.

Counted at the database, whoever writes (the sync thread or the heartbeat
thread, each on its own connection): a row trigger on syncapp_syncrun, installed
by the harness in its own throwaway database for the length of one sync, logs
every UPDATE with the status before and after. The progress writes are those
that leave a RUNNING run RUNNING; the claim (CREATED to RUNNING) and the end
(to SUCCEEDED) are counted apart, and the rate is over the run's own
started_at..finished_at.

The emulator answers with some latency so that the sync lasts 10 s or more,
but little enough that batches end several times a second: the figure is then
set by how the sync throttles its writes, not by how seldom a slow batch gives
it the chance to write (at 400 ms a batch, a 1 s throttle writes every 1.2 s).
"""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

from bench.emulator import EmulatorProcess
from bench.figures import Figure
from bench.fixtures import client_factory, mailbox_create, mailbox_delete, sync_once
from syncapp.models import SyncRun

LOG_TABLE = "bench_syncrun_update"

_SQLITE_INSTALL = [
    f"CREATE TABLE {LOG_TABLE} (id INTEGER PRIMARY KEY, run_id INTEGER, old TEXT, new TEXT)",
    f"""CREATE TRIGGER {LOG_TABLE} AFTER UPDATE ON syncapp_syncrun FOR EACH ROW
        BEGIN INSERT INTO {LOG_TABLE} (run_id, old, new) VALUES (OLD.id, OLD.status, NEW.status);
        END""",
]
_SQLITE_REMOVE = [f"DROP TRIGGER IF EXISTS {LOG_TABLE}", f"DROP TABLE IF EXISTS {LOG_TABLE}"]
_POSTGRES_INSTALL = [
    f"CREATE TABLE {LOG_TABLE} (id bigserial PRIMARY KEY, run_id bigint, old text, new text)",
    f"""CREATE FUNCTION {LOG_TABLE}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO {LOG_TABLE} (run_id, old, new) VALUES (OLD.id, OLD.status, NEW.status);
            RETURN NULL;
        END $$""",
    f"""CREATE TRIGGER {LOG_TABLE} AFTER UPDATE ON syncapp_syncrun
        FOR EACH ROW EXECUTE FUNCTION {LOG_TABLE}()""",
]
_POSTGRES_REMOVE = [
    f"DROP TRIGGER IF EXISTS {LOG_TABLE} ON syncapp_syncrun",
    f"DROP FUNCTION IF EXISTS {LOG_TABLE}()",
    f"DROP TABLE IF EXISTS {LOG_TABLE}",
]


@contextmanager
def run_updates_logged():
    """Log every UPDATE of a run row while the block runs; yields a reader of the log."""
    postgres = connection.vendor == "postgresql"
    install, remove = (
        (_POSTGRES_INSTALL, _POSTGRES_REMOVE) if postgres else (_SQLITE_INSTALL, _SQLITE_REMOVE)
    )
    _execute(remove)
    _execute(install)

    def read(run_id: int) -> Counter[tuple[str, str]]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT old, new FROM {LOG_TABLE} WHERE run_id = %s", [run_id])
            return Counter(cursor.fetchall())

    try:
        yield read
    finally:
        _execute(remove)


def _execute(statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def progress_writes(*, messages: int, latency_ms: float, log_dir: Path) -> list[Figure]:
    running = SyncRun.Status.RUNNING
    with EmulatorProcess(
        messages=messages, latency_ms=latency_ms, seed=15, log_dir=log_dir
    ) as emulator:
        mailbox = mailbox_create("bench-progress")
        try:
            with run_updates_logged() as read:
                timed = sync_once(
                    mailbox, kind=SyncRun.Kind.FULL, factory=client_factory(emulator.url)
                )
                updates = read(timed.run.pk)
        finally:
            mailbox_delete(mailbox)
    run = timed.run
    seconds = (run.finished_at - run.started_at).total_seconds()
    writes = updates[(running, running)]
    others = ", ".join(
        f"{old}->{new} {n}" for (old, new), n in sorted(updates.items()) if old != new
    )
    note = (
        f"{writes} UPDATEs while RUNNING in {seconds:.1f} s "
        f"({messages} msgs, emulator latency {latency_ms:.0f} ms); also {others or 'none'}"
    )
    valid = timed.succeeded and seconds >= 10
    if not timed.succeeded:
        note = f"{timed.describe()}; {note}"
    elif seconds < 10:
        note = f"the sync lasted under 10 s: raise the latency; {note}"
    return [Figure("progress_writes_per_second", round(writes / seconds, 3), note, valid=valid)]
