"""The fleet benchmark's figures, from what was observed. Pure functions: no I/O, no clock."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

LISTING_PAGE = 1000  # ListRecoveryPointsByBackupVault's largest page (MaxResults), which the paginator asks for


def seed_calls(
    count: int, sources: int, start: datetime, end: datetime, largest: int
) -> list[tuple[int, datetime, datetime]]:
    """How to seed `count` points of `sources` sources round robin, evenly from `start` to `end`, in calls of at
    most `largest` (rounded down to whole rounds of sources, at least one round): (size, first's time, last's
    time) per call. Each call numbers its sources from 0, so whole rounds keep the round robin; each gets its
    share of the span, so that together they place every point where one call would."""
    if count <= 0:
        return []
    chunk = sources * max(1, largest // sources)
    step = (end - start) / max(1, count - 1)
    calls = []
    for first in range(0, count, chunk):
        size = min(chunk, count - first)
        calls.append((size, start + step * first, start + step * (first + size - 1)))
    return calls


def listing_calls(points_per_vault: Sequence[int], page: int = LISTING_PAGE) -> int:
    """ListRecoveryPointsByBackupVault calls to list vaults holding these many matching points: one page per
    `page` points, and one (empty) page for a vault with none."""
    return sum(max(1, math.ceil(count / page)) for count in points_per_vault)


def cap_figures(samples: Sequence[int], peak: int, cap: int) -> dict[str, Any]:
    """`peak`: the emulator's exact high-water mark of restore jobs in flight; `samples`: in flight every few
    hundred ms over the run, for how fully the cap was used (the tail, when fewer are left than the cap, counts)."""
    mean = sum(samples) / len(samples) if samples else 0.0
    return {
        "cap": cap,
        "peak_in_flight": peak,
        "cap_exceeded": peak > cap,
        "samples": len(samples),
        "sampled_max": max(samples, default=0),
        "mean_in_flight": round(mean, 2),
        "cap_use": round(mean / cap, 3) if cap else None,
    }


def throughput_figures(validations: int, wall_s: float) -> dict[str, Any]:
    return {
        "validations": validations,
        "wall_s": round(wall_s, 1),
        "per_minute": round(60 * validations / wall_s, 1) if wall_s > 0 else None,
    }


def fleet_ratio(one: Mapping[str, Any], three: Mapping[str, Any]) -> float | None:
    """Throughput of three workers over one, at the same cap (above 1: three did more per minute)."""
    a, b = one.get("per_minute"), three.get("per_minute")
    return round(b / a, 2) if a and b else None
