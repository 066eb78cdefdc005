"""The harness's own Django set-up: settings from the environment and a throwaway database.

`configure()` must run before anything imports Django models. It fixes the
variables that make a run self-contained (its own database, its own queue name,
the ORM broker unless Redis is asked for, DEBUG off) and leaves the app's tunables
(GMAIL_BATCH_SIZE, SYNC_*) as the caller's environment sets them, so that the
harness measures the app as configured. Children get the same environment through `child_env()`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
# What a sync is allowed when a benchmark does not set a quota of its own: far
# above anything the emulator or the machine can serve, so nothing is paced.
UNLIMITED_UNITS_PER_MINUTE = 600_000_000


def configure(*, database_url: str, mail_dir: Path, redis_url: str = "") -> None:
    """Point this process (and its children, through os.environ) at the bench database
    and at `mail_dir` for the originals of the mail it syncs (a throwaway folder).

    The broker is the ORM's, or Redis at `redis_url`.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="mailsync.settings",
        DEBUG="False",
        SECRET_KEY=os.environ.get("BENCH_SECRET_KEY") or "bench-" + secrets.token_hex(16),
        # A throwaway database's tokens need a key of their own only.
        TOKEN_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        DATABASE_URL=database_url,
        TEST_DATABASE_NAME="",
        MAIL_STORAGE_DIR=str(mail_dir),
        # A queue nobody else serves.
        REDIS_URL=redis_url,
        SYNC_QUEUE=f"mailsync-bench-{os.getpid()}",
        # One queue, served by the benchmarks' own qclusters.
        SYNC_LANES="False",
        GMAIL_QUOTA_UNITS_PER_MINUTE=str(UNLIMITED_UNITS_PER_MINUTE),
        # No collectstatic for a throwaway run: static files under their plain names.
        STATIC_MANIFEST="False",
        # The start-latency benchmark starts more runs a minute than a person may.
        SYNC_API_STARTS_PER_MINUTE="100000",
        # Sync logs would bury the table.
        LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
    )
    os.environ.setdefault("GOOGLE_CLIENT_ID", "mailsync-bench")
    os.environ.setdefault("GOOGLE_CLIENT_SECRET", "mailsync-bench-secret")
    import django

    django.setup()
    # django-q logs every task it queues at INFO, which would bury the table too.
    logging.getLogger("django-q").setLevel(logging.WARNING)


def child_env(**overrides: str) -> dict[str, str]:
    """The environment for a child process: this one's, plus `overrides`."""
    env = {**os.environ, **overrides}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in ("postgres", "postgresql", "pgsql")


@dataclass
class PostgresDatabase:
    """A database created for this run on a PostgreSQL server, dropped at the end."""

    admin_url: str
    name: str

    @property
    def url(self) -> str:
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path="/" + self.name))

    def create(self) -> PostgresDatabase:
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
            admin.execute(f'CREATE DATABASE "{self.name}"')
        return self

    def drop(self) -> None:
        with self._admin() as admin:
            # Children that were killed may leave sessions behind for a moment.
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _admin(self):
        import psycopg

        return psycopg.connect(_libpq_url(self.admin_url), autocommit=True, connect_timeout=5)


def postgres_reachable(admin_url: str) -> str | None:
    """None when the server answers; otherwise why not."""
    import psycopg

    try:
        with psycopg.connect(_libpq_url(admin_url), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    return None


def _libpq_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql"))


def close_connections() -> None:
    from django.db import connections

    with contextlib.suppress(Exception):
        connections.close_all()


def interrupt_on_signals() -> None:
    """SIGTERM and SIGHUP end a run as Ctrl-C does, so every child it started is stopped."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
