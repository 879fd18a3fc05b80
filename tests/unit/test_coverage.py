"""The incremental reconciler's rules (pure): what each pass asks for, uncovered vs backups stopped, reported once."""

from __future__ import annotations

from datetime import UTC, datetime

from worker.coverage import IncrementalReconciler, SourceBackup
from worker.policy import parse_policy

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
