"""The incremental reconciler's rules (pure): what each pass asks for, uncovered vs backups stopped, reported once."""

from __future__ import annotations

import copy
import json
import zlib
from datetime import UTC, datetime

import pytest

from worker import coverage_state, emf
from worker.coverage import IncrementalReconciler, SourceBackup
from worker.coverage_state import Listing, SavedState, decode_sources, encode_sources
from worker.policy import PolicyError, parse_policy

POLICY = parse_policy(
    """
[[selection]]
name = "orders"
resource_type = "RDS"
source_arn = "arn:aws:rds:*:*:db:orders-*"
[[selection.check]]
kind = "row_count"
table = "events"
min = 1
"""
)
NOW = 1_800_000_000.0
HOUR = 3600
DB = "arn:aws:rds:us-east-1:111111111111:db:"


def at(seconds_ago: float) -> datetime:
    return datetime.fromtimestamp(NOW - seconds_ago, UTC)


class Vaults:
    """Vaults of backups, listed as the Backup adapter does: a known vault since `after`, any other whole."""

    def __init__(self, backups: list[SourceBackup], **more_vaults: list[SourceBackup]) -> None:
        self.backups, self.asked = backups, []
        self.vaults = {"main": self.backups, **more_vaults}

    async def sources_backed_up_since(self, after, known_vaults):
        self.asked.append(after)
        found = [
            b
            for name, backups in self.vaults.items()
            for b in backups
            if after is None or name not in known_vaults or b.newest > after
        ]
        return Listing(found, frozenset(self.vaults))


class History:
    def __init__(self, passed):
        self.passed, self.asked = passed, []

    async def last_passed_many(self, source_arns):
        self.asked.append(list(source_arns))
        return {arn: self.passed[arn] for arn in source_arns if arn in self.passed}


class Store:
    """The ledger table's copy of the state, as CoverageStore keeps it: versioned, refused when stale."""

    def __init__(self):
        self.stored, self.saves = None, []

    async def load(self, known_version):
        version = 0 if self.stored is None else self.stored.version
        if version == known_version:
            return None
        return copy.deepcopy(self.stored) if self.stored is not None else SavedState()

    async def save(self, state, sources_changed):
        if (0 if self.stored is None else self.stored.version) != state.version:
            return None
        self.saves.append(sources_changed)
        if sources_changed or self.stored is None:
            self.stored = copy.deepcopy(state)
        else:  # the watermark alone, as CoverageStore writes it
            self.stored.listed_until = state.listed_until
        self.stored.version = state.version + 1
        return self.stored.version


async def test_sources_are_covered_uncovered_or_stopped():
    listing = Vaults(
        [
            SourceBackup(DB + "orders-fresh", "RDS", at(HOUR)),
            SourceBackup(DB + "orders-unvalidated", "RDS", at(HOUR)),
            SourceBackup(DB + "orders-stale-pass", "RDS", at(HOUR)),
            SourceBackup(DB + "orders-stopped", "RDS", at(40 * HOUR)),
            SourceBackup(DB + "billing-1", "RDS", at(HOUR)),
        ]
    )
    history = History({DB + "orders-fresh": NOW - HOUR, DB + "orders-stale-pass": NOW - 30 * HOUR})
    reconciler = IncrementalReconciler(POLICY, listing, history, slo_seconds=26 * HOUR)
    result = await reconciler.run(NOW)
    assert sorted(result.uncovered) == [DB + "orders-stale-pass", DB + "orders-unvalidated"]
    assert result.stopped == result.newly_stopped == [DB + "orders-stopped"]
    # One read for every selected source still backing up; not one per source, not the stopped or unselected.
    assert [sorted(asked) for asked in history.asked] == [
        sorted(DB + name for name in ("orders-fresh", "orders-unvalidated", "orders-stale-pass"))
    ]


async def test_later_passes_ask_only_for_what_is_new_and_report_a_stop_once():
    listing = Vaults([SourceBackup(DB + "orders-1", "RDS", at(40 * HOUR))])
    reconciler = IncrementalReconciler(POLICY, listing, History({}), slo_seconds=26 * HOUR)
    first = await reconciler.run(NOW)
    second = await reconciler.run(NOW + 900)
    assert listing.asked == [None, at(0) - reconciler.overlap]
    assert first.newly_stopped == [DB + "orders-1"] and second.newly_stopped == []
    assert second.stopped == [DB + "orders-1"] and second.uncovered == []
    # It backs up again: uncovered until validated; if it stops again, reported again.
    listing.backups.append(SourceBackup(DB + "orders-1", "RDS", at(-1000)))
    third = await reconciler.run(NOW + 1800)
    assert third.stopped == [] and third.uncovered == [DB + "orders-1"]
    fourth = await reconciler.run(NOW + 1000 + 27 * HOUR)
    assert fourth.newly_stopped == [DB + "orders-1"]


async def test_a_selection_coverage_slo_overrides_the_deployments_and_each_selection_is_counted():
    policy = parse_policy(
        """
[[selection]]
name = "orders"
resource_type = "RDS"
source_arn = "arn:aws:rds:*:*:db:orders-*"
coverage_slo = "2h"

[[selection]]
name = "billing"
resource_type = "RDS"
source_arn = "arn:aws:rds:*:*:db:billing-*"

[[selection]]
name = "idle"
source_arn = "arn:aws:rds:*:*:db:idle-*"

[[selection]]
name = "tests"
resource_type = "RDS"
restore_testing_plan = "nightly_*"
"""
    )
    listing = Vaults(
        [
            SourceBackup(DB + "orders-1", "RDS", at(HOUR)),  # passed 3 h ago: over its selection's 2 h
            SourceBackup(DB + "orders-2", "RDS", at(3 * HOUR)),  # newest backup over 2 h old: stopped
            SourceBackup(DB + "billing-1", "RDS", at(3 * HOUR)),  # within the deployment's 26 h
        ]
    )
    history = History({DB + "orders-1": NOW - 3 * HOUR, DB + "billing-1": NOW - 3 * HOUR})
    result = await IncrementalReconciler(policy, listing, history, slo_seconds=26 * HOUR).run(NOW)
    assert result.uncovered == [DB + "orders-1"]
    assert result.stopped == [DB + "orders-2"]
    counts = {name: (c.selected, c.uncovered, c.stopped) for name, c in result.by_selection.items()}
    # Every event-driven selection, even one without sources; never a restore testing selection.
    assert counts == {"orders": (2, 1, 1), "billing": (1, 0, 0), "idle": (0, 0, 0)}


def test_coverage_slo_is_refused_on_a_restore_testing_selection():
    text = """
[[selection]]
name = "tests"
resource_type = "RDS"
restore_testing_plan = "nightly_*"
coverage_slo = "2h"
"""
    with pytest.raises(PolicyError) as refused:
        parse_policy(text)
    assert "<policy>:6:" in str(refused.value) and "event-driven selections only" in str(refused.value)


def test_coverage_lines_carry_the_emf_directive_for_the_total_and_per_selection():
    counts = {"UncoveredSources": 2, "SelectedSources": 5, "BackupsStoppedSources": 1}
    total = emf.coverage_document(counts, None, 1_800_000_000_000)
    one = emf.coverage_document(counts, "orders", 1_800_000_000_000)
    assert total["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[]] and "Selection" not in total
    assert one["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Selection"]] and one["Selection"] == "orders"
    for line in (total, one):
        assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == emf.NAMESPACE
        assert {line[name] for name in emf.COVERAGE_METRICS} == {2, 5, 1}


async def test_a_new_runner_continues_from_the_stored_state():
    listing = Vaults(
        [SourceBackup(DB + "orders-1", "RDS", at(HOUR)), SourceBackup(DB + "orders-old", "RDS", at(40 * HOUR))]
    )
    store = Store()
    first = IncrementalReconciler(POLICY, listing, History({}), slo_seconds=26 * HOUR, store=store)
    one = await first.run(NOW)
    assert one.state == "saved" and not one.resumed and one.newly_stopped == [DB + "orders-old"]
    # The runner dies; another starts with nothing in memory and the same store.
    second = IncrementalReconciler(POLICY, listing, History({}), slo_seconds=26 * HOUR, store=store)
    two = await second.run(NOW + 900)
    assert listing.asked == [None, at(0) - second.overlap], "the new runner lists only since the last pass"
    assert two.resumed and sorted(two.stopped) == [DB + "orders-old"] and two.newly_stopped == []
    assert two.uncovered == [DB + "orders-1"], "a source not listed again is still judged"
    assert store.saves == [True, False], "nothing new: only the watermark moves"


async def test_a_runner_replaced_during_its_pass_writes_nothing_and_reads_the_state_again():
    listing = Vaults([SourceBackup(DB + "orders-1", "RDS", at(HOUR))])
    store = Store()
    old = IncrementalReconciler(POLICY, listing, History({}), slo_seconds=26 * HOUR, store=store)
    new = IncrementalReconciler(POLICY, Vaults(listing.backups), History({}), slo_seconds=26 * HOUR, store=store)
    await old.run(NOW)
    listing.backups.append(SourceBackup(DB + "orders-2", "RDS", at(-1000)))
    real_listing = listing.sources_backed_up_since

    async def meanwhile_another_runner_passes(after, known_vaults):
        found = await real_listing(after, known_vaults)
        await new.run(NOW + 900)  # took over while the old one was paused in its pass
        return found

    listing.sources_backed_up_since = meanwhile_another_runner_passes
    paused = await old.run(NOW + 1000)
    assert paused.state == "conflict"
    assert store.stored.listed_until == at(-900) and store.stored.version == 2, "the newer runner's state stands"
    listing.sources_backed_up_since = real_listing
    again = await old.run(NOW + 1800)
    assert again.state == "saved" and again.resumed
    assert listing.asked[-1] == at(-900) - old.overlap, "it continued from the other runner's watermark"


def test_the_stored_sources_round_trip_and_are_bounded(monkeypatch):
    sources = {DB + f"orders-{n}": SourceBackup(DB + f"orders-{n}", "RDS", at(n * 60.5)) for n in range(2_000)}
    parts = encode_sources(sources, {DB + "orders-7"}, {"main", "central"})
    assert parts is not None and len(parts) == 1
    assert decode_sources(parts) == (sources, {DB + "orders-7"}, {"main", "central"})
    size = len(parts[0]) // 3 + 1
    monkeypatch.setattr(coverage_state, "PART_BYTES", size)
    parts = encode_sources(sources, set(), set())
    assert parts is not None and len(parts) > 2 and all(len(part) <= size for part in parts)
    assert decode_sources(parts)[0] == sources
    monkeypatch.setattr(coverage_state, "MAX_PARTS", len(parts) - 1)
    assert encode_sources(sources, set(), set()) is None, "too many to store in one transaction: nothing is stored"


async def test_changes_of_a_failed_pass_are_stored_by_the_next_one():
    listing = Vaults([SourceBackup(DB + "orders-1", "RDS", at(HOUR))])
    store = Store()
    history = History({})
    reconciler = IncrementalReconciler(POLICY, listing, history, slo_seconds=26 * HOUR, store=store)
    await reconciler.run(NOW)
    listing.backups.append(SourceBackup(DB + "orders-2", "RDS", at(-100)))
    real = history.last_passed_many

    async def unreachable(source_arns):
        raise TimeoutError("the ledger did not answer")

    history.last_passed_many = unreachable
    with pytest.raises(TimeoutError):
        await reconciler.run(NOW + 900)  # listed orders-2, then failed: nothing stored
    history.last_passed_many = real
    await reconciler.run(NOW + 1800)  # nothing new to list, but orders-2 is not stored yet
    assert store.saves == [True, True] and DB + "orders-2" in store.stored.sources
    successor = IncrementalReconciler(POLICY, Vaults([]), History({}), slo_seconds=26 * HOUR, store=store)
    assert sorted((await successor.run(NOW + 2700)).uncovered) == [DB + "orders-1", DB + "orders-2"]


async def test_a_vault_the_last_pass_did_not_list_is_listed_whole():
    """A recovery point older than the watermark in a vault created (or shared) since the last pass is seen."""
    listing = Vaults([SourceBackup(DB + "orders-1", "RDS", at(HOUR))])
    store = Store()
    reconciler = IncrementalReconciler(POLICY, listing, History({}), slo_seconds=26 * HOUR, store=store)
    await reconciler.run(NOW)
    listing.vaults["late"] = [SourceBackup(DB + "orders-late", "RDS", at(2 * HOUR))]
    second = await reconciler.run(NOW + 900)
    assert sorted(second.uncovered) == [DB + "orders-1", DB + "orders-late"]
    assert store.saves == [True, True], "the new vault is stored with the sources"
    assert store.stored.vaults == {"main", "late"}
    successor = IncrementalReconciler(POLICY, listing, History({}), slo_seconds=26 * HOUR, store=store)
    listing.vaults["later"] = [SourceBackup(DB + "orders-later", "RDS", at(3 * HOUR))]
    third = await successor.run(NOW + 1800)
    assert DB + "orders-later" in third.uncovered, "a new runner lists whole the vaults the stored state lacks"
    assert store.stored.vaults == {"main", "late", "later"}


def test_a_state_stored_before_vaults_were_kept_reads_as_knowing_no_vault():
    rows = [[DB + "orders-1", "RDS", NOW - HOUR, 0]]
    legacy = [zlib.compress(json.dumps(rows).encode())]
    sources, stopped, vaults = decode_sources(legacy)
    assert list(sources) == [DB + "orders-1"] and stopped == set() and vaults == set()
