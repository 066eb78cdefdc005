"""The figures the harness reports, and the targets from the issue ("Benchmarks")."""

from __future__ import annotations

import operator
from dataclasses import dataclass

# key -> (comparison, threshold); the order is the table's.
TARGETS: dict[str, tuple[str, float]] = {
    "quota_efficiency": (">=", 0.95),
    "quota_efficiency_overestimated": (">=", 0.75),
    # Ours, for issue "A truer Gmail": "few" concurrency 429s, at most one call in fifty.
    "concurrency_429s_per_1000_messages": ("<=", 20),
    "storage_overhead_ratio": (">=", 0.80),
    "slice_overhead_ratio": (">=", 0.90),
    "incremental_noop_api_calls": ("<=", 3),
    "incremental_noop_time_ratio": ("<=", 0.02),
    "poll_vs_trivial_ratio": (">=", 0.5),
    "poll_queries": ("<=", 3),
    "memory_growth_ratio": ("<=", 1.2),
    # Issue 12: twenty 25 MB messages among 2,000 copied by one process.
    "large_message_peak_rss_mib": ("<=", 600),
    "progress_writes_per_second": ("<=", 1.0),
    "start_latency_median_s": ("<=", 0.5),
    "fleet_quota_efficiency": (">=", 0.85),
    "click_start_latency_under_load_s": ("<=", 1.0),
    # Issue "New mail in seconds".
    "push_latency_p50_s": ("<=", 2.0),
    "push_latency_p95_s": ("<=", 5.0),
    "push_runs_per_notification": ("<=", 0.5),
    "reaper_pass_queries": ("<=", 6),
    "health_queries": ("<=", 6),
    "schedule_tick_queries": ("<=", 10),
}
_COMPARE = {">=": operator.ge, "<=": operator.le}


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure; value None when it could not be measured (note says why).

    A void measurement (valid=False: a sync that had to succeed failed, say)
    keeps no value, so that no one copies a number that means nothing; the
    note keeps what was measured.
    """

    key: str
    value: float | int | None
    note: str = ""
    # False when the measurement itself is void (e.g. a sync that had to succeed failed).
    valid: bool = True

    def __post_init__(self) -> None:
        if self.key not in TARGETS:
            raise KeyError(f"not a benchmark key: {self.key}")
        if not self.valid and self.value is not None:
            object.__setattr__(self, "note", f"void (measured {self.value}): {self.note}")
            object.__setattr__(self, "value", None)

    @property
    def target(self) -> str:
        comparison, threshold = TARGETS[self.key]
        return f"{comparison} {threshold:g}"

    @property
    def verdict(self) -> str:
        """'pass', 'FAIL', or 'n/a' when there is no figure for a reason not the app's."""
        if self.value is None:
            return "n/a" if self.valid else "FAIL"
        comparison, threshold = TARGETS[self.key]
        return "pass" if _COMPARE[comparison](self.value, threshold) else "FAIL"


def unmeasured(keys: list[str], reason: str, *, valid: bool = True) -> list[Figure]:
    return [Figure(key, None, reason, valid=valid) for key in keys]
