"""The benchmark's figures, computed from what was observed. Pure functions: no I/O, no clock.

Per validation the worker reports (its log and its S3 record): when its restore job was created and finished
(the emulator's clock, which is this machine's), when the worker learnt that it finished, how long its checks
took and when the validation was finished. The concurrency limit makes restores wait for a slot; that wait is not
overhead. A slot is taken to free when a validation finishes, so the k-th restore to start (k >= concurrency)
got the slot of the (k - concurrency)-th validation to finish; the first `concurrency` got theirs at t0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

STATUS_OPERATIONS = ("backup:DescribeRestoreJob", "backup:ListRestoreJobs")


@dataclass(frozen=True)
class Timing:
    """One validation, in seconds since the epoch (durations in seconds)."""

    restore_started: float
    restore_ended: float
    finished: float
    check_s: float
    detected: float | None = None


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def slot_times(timings: Sequence[Timing], t0: float, concurrency: int) -> list[float]:
    """When each validation got its restore slot (see the module's docstring)."""
    finishes = sorted(t.finished for t in timings)
    order = sorted(range(len(timings)), key=lambda i: timings[i].restore_started)
    slots = [t0] * len(timings)
    for rank, index in enumerate(order):
        if rank >= concurrency:
            slots[index] = max(t0, finishes[rank - concurrency])
    return slots


def overheads(timings: Sequence[Timing], t0: float, concurrency: int) -> list[float]:
    """End to end (slot to finished) minus the emulator's restore time and the check time."""
    slots = slot_times(timings, t0, concurrency)
    return [
        (t.finished - slot) - (t.restore_ended - t.restore_started) - t.check_s
        for t, slot in zip(timings, slots, strict=True)
    ]


def ideal_seconds(restore_seconds: Sequence[float], concurrency: int) -> float:
    """Lower bound on the wall time: all restore time spread over the slots, and no less than the longest."""
    if not restore_seconds:
        return 0.0
    return max(sum(restore_seconds) / concurrency, max(restore_seconds))


def per_validation(calls: Mapping[str, float], count: int) -> dict[str, dict[str, float]]:
    """{"sqs:ReceiveMessage": 120} -> {"sqs": {"ReceiveMessage": 0.12}} for 1,000 validations."""
    nested: dict[str, dict[str, float]] = {}
    for key, value in sorted(calls.items()):
        service, _, operation = key.partition(":")
        nested.setdefault(service, {})[operation] = round(value / max(1, count), 3)
    return nested


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def scenario_figures(
    timings: Sequence[Timing],
    *,
    t0: float,
    concurrency: int,
    cpu_s: float,
    peak_rss_bytes: int,
    calls: Mapping[str, int],
    baseline_cpu_ms: float | None = None,
    machine_cpu_s: float | None = None,
    cores: int = 1,
    nominal_restore_s: float | None = None,
) -> dict[str, Any]:
    """The figures of a scenario whose validations all finished. `machine_cpu_s`: what the worker, the stand-ins
    and PostgreSQL used meanwhile; spread over `cores`, it is the wall time their CPU alone needed."""
    count = len(timings)
    restores = [t.restore_ended - t.restore_started for t in timings]
    wall = max((t.finished for t in timings), default=t0) - t0
    ideal = ideal_seconds(restores, concurrency)
    over = overheads(timings, t0, concurrency)
    detect = [t.detected - t.restore_ended for t in timings if t.detected is not None]
    cpu_ms = cpu_s * 1000 / max(1, count)
    return {
        "validations": count,
        "concurrency": concurrency,
        "wall_s": _round(wall),
        "ideal_s": _round(ideal),
        "wall_vs_ideal": _round(wall / ideal if ideal else None),
        "cpu_bound_s": _round(machine_cpu_s / cores if machine_cpu_s is not None else None),
        # what the restores would have taken at the knob's mean duration, and what they took on average
        "ideal_nominal_s": _round(
            ideal_seconds([nominal_restore_s] * count, concurrency) if nominal_restore_s else None
        ),
        "restore_mean_s": _round(sum(restores) / count if count else None),
        "overhead_p50_s": _round(percentile(over, 50)),
        "overhead_p95_s": _round(percentile(over, 95)),
        "overhead_p99_s": _round(percentile(over, 99)),
        "cpu_ms_per_validation": _round(cpu_ms, 2),
        "peak_rss_mb": _round(peak_rss_bytes / 2**20, 1),
        "rss_kb_per_inflight": None,
        "api_calls_per_validation": per_validation(calls, count),
        "status_calls_per_validation": _round(sum(calls.get(op, 0) for op in STATUS_OPERATIONS) / max(1, count)),
        "detect_p50_s": _round(percentile(detect, 50)),
        "detect_p95_s": _round(percentile(detect, 95)),
        "cpu_vs_baseline": _round(baseline_cpu_ms / cpu_ms if baseline_cpu_ms and cpu_ms else None, 1),
    }


def waiting_figures(
    *,
    in_flight: int,
    fill_s: float,
    fill_cpu_s: float,
    wait_s: float,
    wait_cpu_s: float,
    idle_rss_bytes: int,
    peak_rss_bytes: int,
    fill_calls: Mapping[str, int],
    wait_calls: Mapping[str, int],
) -> dict[str, Any]:
    """The figures of the waiting scenario: restores started, then measured while none of them finishes."""
    minutes = max(wait_s, 1e-9) / 60
    per_minute = {key: value / minutes for key, value in wait_calls.items()}
    return {
        "validations": in_flight,
        "concurrency": in_flight,
        "wall_s": _round(fill_s + wait_s),
        "fill_s": _round(fill_s),
        "wait_s": _round(wait_s),
        "cpu_ms_per_validation": _round(fill_cpu_s * 1000 / max(1, in_flight), 2),
        "wait_cpu_percent": _round(100 * wait_cpu_s / max(wait_s, 1e-9), 2),
        "peak_rss_mb": _round(peak_rss_bytes / 2**20, 1),
        "rss_kb_per_inflight": _round((peak_rss_bytes - idle_rss_bytes) / 1024 / max(1, in_flight), 1),
        "api_calls_per_validation": per_validation(fill_calls, in_flight),
        "wait_api_calls_per_inflight_hour": {
            service: {op: round(v * 60, 2) for op, v in ops.items()}
            for service, ops in per_validation(per_minute, in_flight).items()
        },
        "wait_status_calls_per_minute": _round(sum(per_minute.get(op, 0.0) for op in STATUS_OPERATIONS), 2),
    }


TABLE_COLUMNS = (
    ("wall_s", "wall_s"),
    ("ideal_s", "ideal_s"),
    ("wall_vs_ideal", "w/ideal"),
    ("cpu_bound_s", "cpu_bnd_s"),
    ("overhead_p50_s", "ovh_p50"),
    ("overhead_p95_s", "ovh_p95"),
    ("overhead_p99_s", "ovh_p99"),
    ("cpu_ms_per_validation", "cpu_ms/v"),
    ("peak_rss_mb", "rss_mb"),
    ("rss_kb_per_inflight", "kb/wait"),
    ("status_calls_per_validation", "status/v"),
    ("detect_p95_s", "det_p95"),
    ("cpu_vs_baseline", "vs_base"),
)


def table(results: Mapping[str, Mapping[str, Any]]) -> str:
    """A fixed-width table, one row per scenario."""
    head = f"{'scenario':<22}{'n':>6}" + "".join(f"{label:>10}" for _, label in TABLE_COLUMNS)
    lines = [head, "-" * len(head)]
    for name, figures in results.items():
        cells = "".join(f"{_cell(figures.get(key)):>10}" for key, _ in TABLE_COLUMNS)
        lines.append(f"{name:<22}{figures.get('validations', ''):>6}{cells}")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)
