"""The incremental reconciler: coverage from the recovery points created since the last pass.

A pass lists, per vault, only recovery points created since the previous pass began (`ByCreatedAfter`, less an
overlap for AWS's listing delay and clock skew), so its calls grow with new recovery points and vaults, not with the
retained history; a vault the previous pass did not list (new, or newly shared) is listed whole. Its state (the
watermark, the sources seen, the stops reported) is stored in the ledger table after every pass and read back by the
next runner (a restart, a hand-over), which continues where the last pass ended; only a runner that finds no stored
state lists everything once. What it re-checks every pass is the ledger's last PASSED validation of each selected
source it knows, 100 sources a read.

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

from worker.coverage_state import Listing, SavedState, SourceBackup
from worker.model import account_of
from worker.policy import Policy, Selection
from worker.ports import CoverageLedger

__all__ = ["BackupListing", "CoveragePass", "IncrementalReconciler", "Listing", "SourceBackup", "StateStore"]

LISTING_OVERLAP = timedelta(minutes=10)


class BackupListing(Protocol):
    async def sources_backed_up_since(self, after: datetime | None, known_vaults: frozenset[str]) -> Listing: ...


class StateStore(Protocol):
    async def load(self, known_version: int) -> SavedState | None: ...

    async def save(self, state: SavedState, sources_changed: bool) -> int | None: ...


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
    # How the state was kept: "memory" (no store), "saved", or "conflict" (another runner saved since this one
    # read it: nothing written, and the next pass reads the stored state again).
    state: str = "memory"
    resumed: bool = False  # this pass continued from a state another pass stored (a new runner, a hand-over)
    listed: int = 0  # sources the listing returned (with a recovery point created since the watermark)


@dataclass
class IncrementalReconciler:
    policy: Policy
    listing: BackupListing
    ledger: CoverageLedger
    slo_seconds: float
    overlap: timedelta = LISTING_OVERLAP
    store: StateStore | None = None  # None: the state lives in memory only
    saved: SavedState = field(default_factory=SavedState)
    # Changes to the sources not yet stored: a pass that failed after its listing (a ledger read, the save itself)
    # keeps them in memory only, and the next pass must store them even if it finds nothing new.
    unsaved: bool = False

    @property
    def sources(self) -> dict[str, SourceBackup]:
        return self.saved.sources

    async def run(self, now: float | None = None) -> CoveragePass:
        now = time.time() if now is None else now
        started = datetime.fromtimestamp(now, UTC)
        stored = None if self.store is None else await self.store.load(self.saved.version)
        if stored is not None:
            self.saved, self.unsaved = stored, False
        state = self.saved
        after = None if state.listed_until is None else state.listed_until - self.overlap
        listing = await self.listing.sources_backed_up_since(after, frozenset(state.vaults))
        found = listing.sources
        if listing.vaults != state.vaults:
            state.vaults = set(listing.vaults)
            self.unsaved = True
        for backup in found:
            known = state.sources.get(backup.arn)
            if known is None or backup.newest > known.newest:
                state.sources[backup.arn] = backup
                self.unsaved = True
        state.listed_until = started
        result = await self._judge(now)
        newly = [arn for arn in result.stopped if arn not in state.reported_stopped]
        result.newly_stopped = newly
        if set(result.stopped) != state.reported_stopped:
            self.unsaved = True
            state.reported_stopped = set(result.stopped)  # a source that backs up again can stop again
        result.resumed = stored is not None and stored.listed_until is not None
        result.listed = len(found)
        if self.store is not None:
            version = await self.store.save(state, self.unsaved)
            result.state = "conflict" if version is None else "saved"
            state.version = -1 if version is None else version  # -1: read the stored state next pass
            self.unsaved = self.unsaved and version is None
        return result

    async def _judge(self, now: float) -> CoveragePass:
        uncovered: list[str] = []
        stopped: list[str] = []
        counts = {s.name: SelectionCoverage() for s in self.policy.selections if s.restore_testing_plan is None}
        live: list[tuple[SourceBackup, float, SelectionCoverage]] = []
        for source, selection in self._selected():
            slo = self._slo_seconds(selection)
            count = counts[selection.name]
            count.selected += 1
            if now - source.newest.timestamp() > slo:
                stopped.append(source.arn)
                count.stopped += 1
            else:
                live.append((source, slo, count))
        passed = await self.ledger.last_passed_many([source.arn for source, _, _ in live]) if live else {}
        for source, slo, count in live:
            last_passed = passed.get(source.arn)
            if last_passed is None or now - last_passed > slo:
                uncovered.append(source.arn)
                count.uncovered += 1
        return CoveragePass(uncovered, stopped, [], counts)

    def _slo_seconds(self, selection: Selection) -> float:
        return self.slo_seconds if selection.coverage_slo is None else selection.coverage_slo.total_seconds()

    def _selected(self) -> list[tuple[SourceBackup, Selection]]:
        pairs = []
        for source in self.saved.sources.values():
            selection = self.policy.match(source.resource_type, source.arn, account_of(source.arn))
            if selection is not None:
                pairs.append((source, selection))
        return pairs
