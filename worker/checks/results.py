"""What a check yields: its context, a plugin's outcome, and the result the record's `checks[]` holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from worker.model import as_utc, minutes
from worker.record import clip

Status = Literal["PASSED", "FAILED", "ERROR"]


@dataclass(frozen=True)
class CheckContext:
    recovery_point_created_at: datetime | None
    now: datetime
    # the previous validation's counts of this selection's row_count checks, by check name
    previous_row_counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckOutcome:
    """What a plugin check returns."""

    passed: bool
    observed: Any
    message: str = ""


@dataclass(frozen=True)
class CheckResult:
    name: str
    kind: str
    status: Status
    observed: str | int | float | bool | None
    expectation: str
    message: str
    duration_seconds: float
    newest_row_at: datetime | None = None  # freshness only
    row_count: int | None = None  # row_count only
    table: str | None = None  # row_count only
    # DynamoDB checks: the read capacity units they consumed (None: DynamoDB did not report it)
    read_units: float | None = None
    on_table: bool = False

    @property
    def passed(self) -> bool:
        return self.status == "PASSED"

    def to_record(self) -> dict[str, Any]:
        """The check's entry in the summary record's `checks[]`."""
        entry: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "passed": self.passed,
            "observed": clip(self.observed) if isinstance(self.observed, str) else self.observed,
            "expectation": clip(self.expectation),
            "message": clip(self.message),
            "duration_seconds": round(self.duration_seconds, 3),
        }
        if self.on_table:
            entry["read_units"] = None if self.read_units is None else round(self.read_units, 3)
        return entry


def row_counts(results: Sequence[CheckResult]) -> dict[str, int]:
    """The counts to remember for the next run's `previous_row_counts` (keyed by check name, since two
    checks may count the same table with different `where` clauses)."""
    return {result.name: result.row_count for result in results if result.row_count is not None}


def freshness_figures(
    results: Sequence[CheckResult], recovery_point_created_at: datetime | None, now: datetime
) -> tuple[float | None, float | None]:
    """(age_latest_db_tx, data_gap_minutes) from the first freshness check: minutes from its newest row to
    now, and from its newest row to the recovery point's creation (the backup's real RPO)."""
    first = next((result for result in results if result.kind == "freshness"), None)
    if first is None or first.newest_row_at is None:
        return None, None
    age = minutes(as_utc(now) - first.newest_row_at)
    if recovery_point_created_at is None:
        return age, None
    return age, minutes(as_utc(recovery_point_created_at) - first.newest_row_at)
