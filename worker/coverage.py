"""The incremental reconciler: coverage from the recovery points created since the last pass.

A pass lists, per vault, only recovery points created since the previous pass began (`ByCreatedAfter`, less an
overlap for AWS's listing delay and clock skew), so its calls grow with new recovery points and vaults, not
with the retained history; the first pass of a runner (after a start or a hand-over) lists everything once.
What it re-checks every pass is the ledger's last PASSED validation of each selected source it knows.

A selected source is either covered (PASSED within the SLO), uncovered (the coverage alarm), or, when its newest
recovery point is itself older than the SLO, a source whose backups stopped: not a validation gap, reported once
(`coverage.backups_stopped`) and again only if it stops again after backing up anew. The SLO is the matching
selection's `coverage_slo`, else the deployment's (BV_COVERAGE_SLO_HOURS). Each pass also counts, per selection
of the event-driven mode, its sources and how many are uncovered or stopped (the EMF coverage metrics).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from worker.model import account_of
from worker.policy import Policy, Selection
from worker.ports import CoverageLedger

LISTING_OVERLAP = timedelta(minutes=10)


@dataclass(frozen=True)
class SourceBackup:
    arn: str
    resource_type: str
    newest: datetime  # creation time of its newest recovery point seen


class BackupListing(Protocol):
    async def sources_backed_up_since(self, after: datetime | None) -> list[SourceBackup]: ...


@dataclass
class SelectionCoverage:
    """One selection's sources in one pass: how many it selects, and of those how many are uncovered or stopped."""

    selected: int = 0
    uncovered: int = 0
    stopped: int = 0


@dataclass
class CoveragePass:
    uncovered: list[str]
    stopped: list[str]  # every selected source whose backups stopped
    newly_stopped: list[str]  # of those, the ones not reported before
    # Every selection of the event-driven mode, in policy order, even one that selects no source yet (its metric
    # then reads 0 rather than going missing). Restore testing selections are not here: the plan picks sources.
    by_selection: dict[str, SelectionCoverage] = field(default_factory=dict)


@dataclass
class IncrementalReconciler:
    policy: Policy
    listing: BackupListing
    ledger: CoverageLedger
    slo_seconds: float
    overlap: timedelta = LISTING_OVERLAP
    sources: dict[str, SourceBackup] = field(default_factory=dict)
    listed_until: datetime | None = None
    reported_stopped: set[str] = field(default_factory=set)

    async def run(self, now: float | None = None) -> CoveragePass:
        now = time.time() if now is None else now
        started = datetime.fromtimestamp(now, UTC)
        after = None if self.listed_until is None else self.listed_until - self.overlap
        for backup in await self.listing.sources_backed_up_since(after):
            known = self.sources.get(backup.arn)
            if known is None or backup.newest > known.newest:
                self.sources[backup.arn] = backup
        self.listed_until = started
        uncovered: list[str] = []
        stopped: list[str] = []
        counts = {s.name: SelectionCoverage() for s in self.policy.selections if s.restore_testing_plan is None}
        for source, selection in self._selected():
            slo = self._slo_seconds(selection)
            count = counts[selection.name]
            count.selected += 1
            if now - source.newest.timestamp() > slo:
                stopped.append(source.arn)
                count.stopped += 1
                continue
            last_passed = await self.ledger.last_passed_at(source.arn)
            if last_passed is None or now - last_passed > slo:
                uncovered.append(source.arn)
                count.uncovered += 1
        newly = [arn for arn in stopped if arn not in self.reported_stopped]
        self.reported_stopped = set(stopped)  # a source that backs up again is forgotten, and can stop again
        return CoveragePass(uncovered, stopped, newly, counts)

    def _slo_seconds(self, selection: Selection) -> float:
        return self.slo_seconds if selection.coverage_slo is None else selection.coverage_slo.total_seconds()

    def _selected(self) -> list[tuple[SourceBackup, Selection]]:
        pairs = []
        for source in self.sources.values():
            selection = self.policy.match(source.resource_type, source.arn, account_of(source.arn))
            if selection is not None:
                pairs.append((source, selection))
        return pairs
