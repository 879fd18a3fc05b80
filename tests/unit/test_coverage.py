"""The incremental reconciler's rules (pure): what each pass asks for, uncovered vs backups stopped, reported once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from worker import emf
from worker.coverage import IncrementalReconciler, SourceBackup
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


class Listing:
    def __init__(self, backups: list[SourceBackup]) -> None:
        self.backups, self.asked = backups, []

    async def sources_backed_up_since(self, after):
        self.asked.append(after)
        return [b for b in self.backups if after is None or b.newest > after]


class History:
    def __init__(self, passed):
        self.passed = passed

    async def last_passed_at(self, source_arn):
        return self.passed.get(source_arn)


async def test_sources_are_covered_uncovered_or_stopped():
    listing = Listing(
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


async def test_later_passes_ask_only_for_what_is_new_and_report_a_stop_once():
    listing = Listing([SourceBackup(DB + "orders-1", "RDS", at(40 * HOUR))])
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
    listing = Listing(
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
