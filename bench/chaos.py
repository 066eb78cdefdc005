"""Many syncs over several mailboxes while workers die and Gmail misbehaves; then the bill.

    python -m bench.chaos [--minutes M] [--mailboxes N] [--messages N] [--clusters N]
                          [--seed S] [--log-dir DIR] [--database-url URL] [--redis-url URL]

Runs `bench/chaos_harness.py` on a throwaway database, like `bench/run.py`: an SQLite
file in a temporary directory, or with --database-url a new database
mailsync_chaos_<pid> on that PostgreSQL server (dropped at the end). Its clusters use
the ORM broker, or Redis with --redis-url. It prints what it did and what the database
ends with, and keeps the workers' logs (and the SQLite file) when something is wrong.

Exit status: 0 when the result is OK; 1 when a message is lost or duplicated, the
database does not end equal to Gmail, or a run never ended; 130 when interrupted.
Every process it starts is stopped at the end, on an error, on Ctrl-C and on SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

from bench import environment
from tests.support.processes import stop_all


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chaos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--minutes", type=float, default=3.0, help="how long the chaos lasts")
    parser.add_argument("--mailboxes", type=int, default=4)
    parser.add_argument("--messages", type=int, default=300, help="per mailbox at start")
    parser.add_argument("--clusters", type=int, default=2)
    parser.add_argument("--seed", type=int, default=None, help="default: a random one")
    parser.add_argument("--log-dir", type=Path, default=None, help="keep the workers' logs here")
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="a PostgreSQL server (its admin database) to create the chaos database on; "
        "default: an SQLite file in a temporary directory",
    )
    parser.add_argument(
        "--redis-url", metavar="URL", default="", help="the broker; default: the ORM broker"
    )
    options = parser.parse_args(argv)
    if options.minutes <= 0 or min(options.mailboxes, options.clusters) < 1:
        parser.error("--minutes must be above 0, --mailboxes and --clusters at least 1")
    if options.database_url and not environment.is_postgres(options.database_url):
        parser.error("--database-url must be a postgres:// URL (SQLite is the default)")
    if options.seed is None:
        options.seed = random.randrange(10**6)
    return options


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    environment.interrupt_on_signals()
    work_dir = Path(tempfile.mkdtemp(prefix="mailsync-chaos-"))
    log_dir = options.log_dir or work_dir
    log_dir.mkdir(parents=True, exist_ok=True)
    postgres = None
    report = None
    try:
        if options.database_url:
            postgres = environment.PostgresDatabase(
                options.database_url, f"mailsync_chaos_{os.getpid()}"
            ).create()
            database_url = postgres.url
        else:
            database_url = f"sqlite:///{work_dir / 'chaos.sqlite3'}"
        environment.configure(
            database_url=database_url, mail_dir=work_dir / "mail", redis_url=options.redis_url
        )
        environment.migrate()
        # Imported once Django is set up: the harness uses the models.
        from bench.chaos_harness import chaos_run

        print(
            f"chaos: seed {options.seed}, {options.mailboxes} mailboxes of "
            f"{options.messages} messages, {options.clusters} clusters, "
            f"{options.minutes:g} min; worker logs in {log_dir}"
        )
        report = chaos_run(
            seed=options.seed,
            mailboxes=options.mailboxes,
            messages=options.messages,
            clusters=options.clusters,
            seconds=options.minutes * 60,
            log_dir=log_dir,
            write=print,
        )
        for line in report.lines():
            print(line)
    finally:
        stop_all()
        environment.close_connections()
        if postgres is not None:
            postgres.drop()
        if report is not None and report.ok:
            shutil.rmtree(work_dir, ignore_errors=True)
        else:
            elsewhere = f"; worker logs in {log_dir}" if log_dir != work_dir else ""
            print(f"kept for a post-mortem: {work_dir}{elsewhere}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("\ninterrupted: every process started was stopped", file=sys.stderr)
        sys.exit(130)
