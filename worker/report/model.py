"""What the report says, built from the engine's answers and the inventory. Pure: no I/O."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

from worker.report import queries

COVERED = "COVERED"
OVERDUE = "OVERDUE"  # passed once, but not within the SLO
NEVER_PASSED = "NEVER_PASSED"
NEVER_TESTED = "NEVER_TESTED"  # protected (AWS Backup holds recovery points of it), no record at all
COVERAGE_ORDER = (NEVER_TESTED, NEVER_PASSED, OVERDUE, COVERED)


class QueryEngine(Protocol):
    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime
    slo_hours: float  # the deployment's coverage SLO (BV_COVERAGE_SLO_HOURS)
    # The policy's selections with a `coverage_slo` of their own, in hours; a resource whose selection is not
    # here (none, or one the policy no longer names) is judged by `slo_hours`.
    selection_slo_hours: Mapping[str, float] = field(default_factory=dict)

    @property
    def parameters(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until}

    def slo_for(self, selection: str | None) -> float:
        return self.selection_slo_hours.get(selection or "", self.slo_hours)

    def describe_slo(self) -> str:
        """`26h`, or `26h; per selection: orders 2h, billing 48h`."""
        own = ", ".join(f"{name} {hours:g}h" for name, hours in sorted(self.selection_slo_hours.items()))
        return f"{self.slo_hours:g}h" + (f"; per selection: {own}" if own else "")

    @property
    def longest_slo_hours(self) -> float:
        return max([self.slo_hours, *self.selection_slo_hours.values()])


@dataclass(frozen=True)
class Filters:
    resources: tuple[str, ...] = ()  # globs (or substrings) of the source ARN
    statuses: tuple[str, ...] = ()  # last verdict or coverage, e.g. FAILED, NEVER_TESTED, OVERDUE
    selections: tuple[str, ...] = ()

    def keeps(self, arn: str, selection: str | None) -> bool:
        if self.resources and not any(_arn_matches(arn, pattern) for pattern in self.resources):
            return False
        return not self.selections or selection in self.selections


def _arn_matches(arn: str, pattern: str) -> bool:
    if any(char in pattern for char in "*?["):
        return fnmatch.fnmatchcase(arn, pattern)
    return pattern in arn


@dataclass(frozen=True)
class InventoryEntry:
    """A protected source AWS Backup knows of; `selected`: the policy would validate it (always, without a policy)."""

    arn: str
    resource_type: str
    selection: str | None
    selected: bool = True


@dataclass
class ResourceSummary:
    resource: str
    resource_type: str | None
    engine: str | None
    account_id: str | None
    region: str | None
    selection: str | None
    coverage: str
    slo_hours: float  # what `coverage` was judged against: the selection's coverage_slo, else the deployment's
    last_status: str | None
    last_at: datetime | None
    last_reason: str | None
    last_passed_at: datetime | None
    hours_since_pass: float | None
    runs: int
    passed: int
    rto_p50: float | None
    rto_p95: float | None
    gap_p50: float | None
    gap_p95: float | None
    rto_target_minutes: float | None
    rpo_target_minutes: float | None
    rto_misses: int
    rpo_misses: int


@dataclass
class Report:
    window: Window
    source: str  # where the records came from: "s3://bucket/prefix" or "athena:workgroup"
    inventory_used: bool
    resources: list[ResourceSummary]
    groups: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    daily: list[dict[str, Any]]
    rto_points: list[dict[str, Any]]
    unreadable: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.window.since,
            "until": self.window.until,
            "coverage_slo_hours": self.window.slo_hours,
            "selection_coverage_slo_hours": dict(self.window.selection_slo_hours),
            "source": self.source,
            "inventory_used": self.inventory_used,
            "resources": [asdict(r) for r in self.resources],
            "groups": self.groups,
            "failures": self.failures,
            "daily": self.daily,
            "unreadable_objects": self.unreadable,
        }


def coverage_of(
    last_passed_at: datetime | None, runs_ever: bool, window: Window, slo_hours: float
) -> tuple[str, float | None]:
    if not runs_ever:
        return NEVER_TESTED, None
    if last_passed_at is None:
        return NEVER_PASSED, None
    hours = round((window.until - last_passed_at).total_seconds() / 3600.0, 2)
    return (COVERED if hours <= slo_hours else OVERDUE), hours


def summarise(row: dict[str, Any], window: Window) -> ResourceSummary:
    slo_hours = window.slo_for(row["selection"])
    coverage, hours = coverage_of(row["last_passed_at"], True, window, slo_hours)
    return ResourceSummary(
        resource=row["source_resource_arn"],
        resource_type=row["resource_type"],
        engine=row["engine"],
        account_id=row["account_id"],
        region=row["region"],
        selection=row["selection"],
        coverage=coverage,
        slo_hours=slo_hours,
        last_status=row["last_status"],
        last_at=row["last_at"],
        last_reason=row["last_reason"],
        last_passed_at=row["last_passed_at"],
        hours_since_pass=hours,
        **{name: row[name] for name in ("runs", "passed", "rto_p50", "rto_p95", "gap_p50", "gap_p95")},
        rto_target_minutes=row["rto_target_minutes"],
        rpo_target_minutes=row["rpo_target_minutes"],
        rto_misses=row["rto_misses"],
        rpo_misses=row["rpo_misses"],
    )


def never_tested(entry: InventoryEntry, window: Window) -> ResourceSummary:
    parts = entry.arn.split(":")
    return ResourceSummary(
        resource=entry.arn,
        resource_type=entry.resource_type or None,
        engine=None,
        account_id=parts[4] if len(parts) > 5 else None,
        region=parts[3] if len(parts) > 5 else None,
        selection=entry.selection,
        coverage=NEVER_TESTED,
        slo_hours=window.slo_for(entry.selection),
        **dict.fromkeys(("last_status", "last_at", "last_reason", "last_passed_at", "hours_since_pass")),
        runs=0,
        passed=0,
        **dict.fromkeys(("rto_p50", "rto_p95", "gap_p50", "gap_p95", "rto_target_minutes", "rpo_target_minutes")),
        rto_misses=0,
        rpo_misses=0,
    )


def resource_summaries(
    rows: Iterable[dict[str, Any]], inventory: Sequence[InventoryEntry] | None, window: Window, filters: Filters
) -> list[ResourceSummary]:
    """One line per resource seen in the records, plus the selected protected sources never validated."""
    found = {row["source_resource_arn"]: summarise(row, window) for row in rows if row["source_resource_arn"]}
    for entry in inventory or ():
        if entry.selected and entry.arn not in found and filters.keeps(entry.arn, entry.selection):
            found[entry.arn] = never_tested(entry, window)
    kept = [s for s in found.values() if _status_kept(s, filters.statuses)]
    return sorted(kept, key=lambda s: (COVERAGE_ORDER.index(s.coverage), s.resource))


def _status_kept(summary: ResourceSummary, statuses: Sequence[str]) -> bool:
    return not statuses or summary.last_status in statuses or summary.coverage in statuses


def group_summaries(rows: Iterable[dict[str, Any]], resources: Sequence[ResourceSummary]) -> list[dict[str, Any]]:
    """Per selection, account and engine: the window's figures plus how many of its resources are covered.
    A slice with resources but no validation in the window (e.g. only never-tested sources) is listed too."""
    rows = list(rows)
    seen = {(row["dimension"], row["value"]) for row in rows}
    for dimension in ("selection", "account", "engine"):
        for value in sorted(
            {_dimension_value(r, dimension) for r in resources} - {v for d, v in seen if d == dimension}
        ):
            rows.append({"dimension": dimension, "value": value, "runs": 0, "passed": 0,
                         **dict.fromkeys(("rto_p50", "rto_p95", "gap_p50", "gap_p95"))})  # fmt: skip
    groups = []
    for row in rows:
        members = [r for r in resources if _dimension_value(r, row["dimension"]) == row["value"]]
        groups.append(
            {
                **row,
                "resources": len(members),
                "covered": sum(1 for r in members if r.coverage == COVERED),
                "pass_rate": round(row["passed"] / row["runs"], 4) if row["runs"] else None,
            }
        )
    return sorted(groups, key=lambda g: (g["dimension"], g["value"]))


def _dimension_value(summary: ResourceSummary, dimension: str) -> str:
    value = {"selection": summary.selection, "account": summary.account_id, "engine": summary.engine}[dimension]
    return value or "(none)"


def build_report(
    engine: QueryEngine,
    window: Window,
    inventory: Sequence[InventoryEntry] | None,
    filters: Filters,
    source: str,
) -> Report:
    params = window.parameters
    resources = resource_summaries(engine.query(queries.PER_RESOURCE, params), inventory, window, filters)
    shown = {r.resource for r in resources}
    return Report(
        window=window,
        source=source,
        inventory_used=inventory is not None,
        resources=resources,
        groups=group_summaries(engine.query(queries.PER_GROUP, params), resources),
        failures=[f for f in engine.query(queries.FAILURES, params) if f["source_resource_arn"] in shown],
        daily=engine.query(queries.DAILY, params),
        rto_points=[p for p in engine.query(queries.RTO_POINTS, params) if p["source_resource_arn"] in shown],
    )
