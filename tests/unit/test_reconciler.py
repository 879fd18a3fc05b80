from worker.model import ProtectedSource
from worker.policy import parse_policy
from worker.reconciler import uncovered_sources

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
NOW = 1_800_000_000


class Inventory:
    async def protected_sources(self):
        return [
            ProtectedSource("arn:aws:rds:us-east-1:111111111111:db:orders-fresh", "RDS"),
            ProtectedSource("arn:aws:rds:us-east-1:111111111111:db:orders-stale", "RDS"),
            ProtectedSource("arn:aws:rds:us-east-1:111111111111:db:orders-never", "RDS"),
            ProtectedSource("arn:aws:rds:us-east-1:111111111111:db:billing-1", "RDS"),
        ]


class History:
    last_passed = {
        "arn:aws:rds:us-east-1:111111111111:db:orders-fresh": NOW - 3600,
        "arn:aws:rds:us-east-1:111111111111:db:orders-stale": NOW - 30 * 3600,
    }

    async def last_passed_at(self, source_arn):
        return self.last_passed.get(source_arn)


async def test_only_selected_sources_without_a_recent_pass_are_uncovered():
    missing = await uncovered_sources(POLICY, Inventory(), History(), slo_seconds=26 * 3600, now=NOW)
    assert sorted(missing) == [
        "arn:aws:rds:us-east-1:111111111111:db:orders-never",
        "arn:aws:rds:us-east-1:111111111111:db:orders-stale",
    ]
