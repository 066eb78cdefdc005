"""Run the benchmarks of issue 5 and print their figures against the targets.

    python bench/run.py [--quick] [--json FILE] [--only NAME,...]
                        [--database-url postgres://USER@HOST:PORT/DB] [--postgres-url URL]

Creates and migrates a throwaway database (an SQLite file in a temporary
directory, or with --database-url a new database mailsync_bench_<pid> on that
PostgreSQL server), runs each benchmark against Gmail emulators in processes of
their own, prints the machine and a table (key, value, target, pass/FAIL) with
the details of each figure, and drops the database. Every process it starts is
stopped at the end, on an error or on Ctrl-C as well.

Exit status: 0 when every target is met, 1 when one is missed, 2 when a
benchmark could not be measured (its error is printed; a sync that had to
succeed and failed voids its figure, shown as n/a FAIL).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this directory comes first on the path; its modules are
# meant to be imported as bench.*, never as top-level names.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench import environment  # noqa: E402
from bench.figures import TARGETS, Figure, unmeasured  # noqa: E402
from tests.support.processes import stop_all  # noqa: E402


@dataclass(frozen=True, slots=True)
class Sizes:
    quota_messages: int
    quota_seconds: float  # how long the quota sync takes at the ceiling
    limits_messages: int
    storage_messages: int
    storage_rounds: int
    slice_messages: int
    incremental_messages: int
    poll_seconds: float  # per view
    poll_clients: int
    memory_small: int
    memory_large: int
    large_messages: int  # ordinary ones, beside `large_files` messages of 25 MB
    large_files: int
    progress_messages: int
    progress_latency_ms: float
    start_runs: int
    fleet_mailboxes: int
    fleet_messages: int  # per mailbox: more than the window lets a mailbox sync
    fleet_seconds: float  # the measured window
    push_spread_seconds: float  # the window the push benchmark's additions are spread over


FULL = Sizes(
    # Gmail's real per-user quota (6,000 units/min): the emulator's concurrency
    # limit and call times are real too, so a faster scale would measure them.
    quota_messages=600,
    quota_seconds=30,
    limits_messages=2000,
    storage_messages=5000,
    storage_rounds=3,
    slice_messages=10_000,
    incremental_messages=20_000,
    poll_seconds=20,
    poll_clients=32,
    memory_small=20_000,
    memory_large=200_000,
    large_messages=2000,
    large_files=20,
    progress_messages=6000,
    progress_latency_ms=200,
    start_runs=20,
    fleet_mailboxes=20,
    fleet_messages=4000,
    fleet_seconds=90,
    push_spread_seconds=60,
)
# The progress benchmark does not shrink: a rate of writes needs 10 s of sync.
QUICK = Sizes(
    quota_messages=300,
    quota_seconds=15,
    limits_messages=1000,
    storage_messages=2000,
    storage_rounds=3,
    slice_messages=5000,
    incremental_messages=5000,
    poll_seconds=8,
    poll_clients=32,
    memory_small=500,
    memory_large=5000,
    large_messages=2000,
    large_files=20,
    progress_messages=6000,
    progress_latency_ms=200,
    start_runs=10,
    fleet_mailboxes=10,
    fleet_messages=2500,
    fleet_seconds=40,
    push_spread_seconds=20,
)


@dataclass(frozen=True, slots=True)
class Benchmark:
    name: str
    keys: list[str]
    measure: Callable[[], list[Figure]]


def benchmarks(sizes: Sizes, *, database_url: str, postgres_url: str, log_dir: Path):
    # Imported once Django is set up: these modules use the models.
    from bench import (
        fleet,
        incremental,
        large,
        latency,
        limits,
        memory,
        poll,
        progress,
        push,
        quota,
        slices,
        storage,
        upkeep,
    )

    return [
        Benchmark(
            "quota",
            ["quota_efficiency", "quota_efficiency_overestimated"],
            lambda: quota.quota_efficiency(
                messages=sizes.quota_messages, seconds=sizes.quota_seconds, log_dir=log_dir
            ),
        ),
        Benchmark(
            "limits",
            ["concurrency_429s_per_1000_messages"],
            lambda: limits.concurrency_refusals(messages=sizes.limits_messages, log_dir=log_dir),
        ),
        Benchmark(
            "storage",
            ["storage_overhead_ratio"],
            lambda: storage.storage_overhead(
                messages=sizes.storage_messages, rounds=sizes.storage_rounds, log_dir=log_dir
            ),
        ),
        Benchmark(
            "slices",
            ["slice_overhead_ratio"],
            lambda: slices.slice_overhead(
                messages=sizes.slice_messages, rounds=3, log_dir=log_dir
            ),
        ),
        Benchmark(
            "incremental",
            ["incremental_noop_api_calls", "incremental_noop_time_ratio"],
            lambda: incremental.incremental_noop(
                messages=sizes.incremental_messages, log_dir=log_dir
            ),
        ),
        Benchmark(
            "poll",
            ["poll_vs_trivial_ratio"],
            lambda: poll.poll_throughput(
                seconds=sizes.poll_seconds,
                clients=sizes.poll_clients,
                database_url=database_url,
                postgres_admin_url=postgres_url,
                log_dir=log_dir,
            ),
        ),
        Benchmark("poll_queries", ["poll_queries"], poll.poll_queries),
        Benchmark(
            "memory",
            ["memory_growth_ratio"],
            lambda: memory.memory_growth(
                small=sizes.memory_small, large=sizes.memory_large, log_dir=log_dir
            ),
        ),
        Benchmark(
            "large",
            ["large_message_peak_rss_mib"],
            lambda: large.large_message_peak_rss(
                messages=sizes.large_messages, large=sizes.large_files, log_dir=log_dir
            ),
        ),
        Benchmark(
            "progress",
            ["progress_writes_per_second"],
            lambda: progress.progress_writes(
                messages=sizes.progress_messages,
                latency_ms=sizes.progress_latency_ms,
                log_dir=log_dir,
            ),
        ),
        Benchmark(
            "latency",
            ["start_latency_median_s"],
            lambda: latency.start_latency(runs=sizes.start_runs, log_dir=log_dir),
        ),
        Benchmark(
            "fleet",
            ["fleet_quota_efficiency", "click_start_latency_under_load_s"],
            lambda: fleet.fleet(
                mailboxes=sizes.fleet_mailboxes,
                messages=sizes.fleet_messages,
                seconds=sizes.fleet_seconds,
                log_dir=log_dir,
            ),
        ),
        Benchmark(
            "push",
            ["push_latency_p50_s", "push_latency_p95_s", "push_runs_per_notification"],
            lambda: push.push_latency(spread_seconds=sizes.push_spread_seconds, log_dir=log_dir),
        ),
        Benchmark(
            "upkeep_queries", ["reaper_pass_queries", "health_queries"], upkeep.upkeep_queries
        ),
        Benchmark(
            "schedule_tick_queries", ["schedule_tick_queries"], upkeep.schedule_tick_queries
        ),
    ]


NAMES = [
    "quota",
    "limits",
    "storage",
    "slices",
    "incremental",
    "poll",
    "poll_queries",
    "memory",
    "large",
    "progress",
    "latency",
    "fleet",
    "push",
    "upkeep_queries",
    "schedule_tick_queries",
]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller benchmarks (~5 minutes)")
    parser.add_argument("--json", metavar="FILE", help="write the figures, by key, to FILE")
    parser.add_argument(
        "--only",
        metavar="NAMES",
        help=f"run only these benchmarks, comma-separated: {', '.join(NAMES)}",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="a PostgreSQL server (its admin database) to create the bench database on; "
        "default: an SQLite file in a temporary directory",
    )
    parser.add_argument(
        "--postgres-url",
        metavar="URL",
        default=environment.DEFAULT_POSTGRES_URL,
        help="the PostgreSQL server for the gunicorn poll benchmark when the bench database "
        "is SQLite (default: %(default)s); the benchmark is n/a when it cannot be reached",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead of the benchmarks, profile one unthrottled full sync next to the bare "
        "fetch loop (of the storage benchmark's size) and print where the time goes",
    )
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the temporary directory with child logs"
    )
    options = parser.parse_args(argv)
    options.only = [name.strip() for name in options.only.split(",")] if options.only else NAMES
    unknown = sorted(set(options.only) - set(NAMES))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    if options.database_url and not environment.is_postgres(options.database_url):
        parser.error("--database-url must be a postgres:// URL (SQLite is the default)")
    return options


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    environment.interrupt_on_signals()
    began = time.monotonic()
    work_dir = Path(tempfile.mkdtemp(prefix="mailsync-bench-"))
    postgres = None
    figures: dict[str, Figure] = {}
    crashed = False
    try:
        if options.database_url:
            postgres = environment.PostgresDatabase(
                options.database_url, f"mailsync_bench_{os.getpid()}"
            ).create()
            database_url = postgres.url
        else:
            database_url = f"sqlite:///{work_dir / 'bench.sqlite3'}"
        environment.configure(database_url=database_url, mail_dir=work_dir / "mail")
        environment.migrate()
        from bench.machine import machine

        print_machine(machine(), quick=options.quick)
        sizes = QUICK if options.quick else FULL
        if options.profile:
            from bench.profiling import profile_full_sync

            print(profile_full_sync(messages=sizes.storage_messages, log_dir=work_dir))
            return 0
        for benchmark in benchmarks(
            sizes,
            database_url=database_url,
            postgres_url=options.postgres_url,
            log_dir=work_dir,
        ):
            if benchmark.name not in options.only:
                figures.update((f.key, f) for f in unmeasured(benchmark.keys, "not run (--only)"))
                continue
            results = run_one(benchmark, began=began)
            crashed = crashed or any(f.value is None and not f.valid for f in results)
            figures.update((f.key, f) for f in results)
    finally:
        stop_all()
        environment.close_connections()
        if postgres is not None:
            postgres.drop()
        keep = options.keep_logs or crashed
        if keep:
            print(f"\nlogs of the processes started: {work_dir}", file=sys.stderr)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    wall = time.monotonic() - began
    ordered = [figures[key] for key in TARGETS if key in figures]
    print_table(ordered, wall=wall)
    if options.json:
        Path(options.json).write_text(
            json.dumps({figure.key: figure.value for figure in ordered}, indent=2) + "\n"
        )
    if crashed:
        return 2
    return 1 if any(f.verdict == "FAIL" for f in ordered) else 0


def run_one(benchmark: Benchmark, *, began: float) -> list[Figure]:
    print(f"[{time.monotonic() - began:6.0f} s] {benchmark.name}...", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        results = benchmark.measure()
    except Exception as exc:
        traceback.print_exc()
        return unmeasured(benchmark.keys, f"error: {exc.__class__.__name__}: {exc}", valid=False)
    seconds = time.monotonic() - started
    print(f"         {benchmark.name} took {seconds:.0f} s", file=sys.stderr, flush=True)
    return results


def print_machine(facts: dict[str, str], *, quick: bool) -> None:
    print(f"mailsync benchmarks ({'quick' if quick else 'full'} run)")
    width = max(len(name) for name in facts)
    for name, value in facts.items():
        print(f"  {name:<{width}}  {value}")
    print(flush=True)


def _format(value: float | int | None) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return str(value)
    return f"{value:.3f}" if abs(value) < 1000 else f"{value:.0f}"


def print_table(figures: list[Figure], *, wall: float) -> None:
    rows = [("key", "value", "target", "result")] + [
        (f.key, _format(f.value), f.target, f.verdict) for f in figures
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    print()
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))
    print("\ndetails:")
    for figure in figures:
        print(f"  {figure.key}: {figure.note}")
    missed = [f.key for f in figures if f.verdict == "FAIL"]
    print(f"\nmissed: {', '.join(missed) if missed else 'none'}")
    print(f"wall time: {wall:.0f} s")


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("\ninterrupted: every process started was stopped", file=sys.stderr)
        sys.exit(130)
