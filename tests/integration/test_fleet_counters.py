"""The fleet's coordination items on moto's DynamoDB and the RDS quotas on the emulator, through aiobotocore:
compare-and-set slots under a crowd of takers, lease expiry, the runner lease's hand-over and fencing token."""

from __future__ import annotations

import asyncio
import time
import uuid

import boto3
import pytest
from prometheus_client import CollectorRegistry

from emulator.bootstrap import create_resources
from worker.adapters.aws import open_clients
from worker.adapters.fleet import FleetCounters, RunnerLease
from worker.adapters.rds import Rds
from worker.fleet_limits import Counter, FleetLimits, with_quota_defaults
from worker.leases import CLOCK_SKEW_SECONDS
from worker.metrics import Metrics


@pytest.fixture
def ledger_table(moto_server) -> str:
    return create_resources(f"t{uuid.uuid4().hex[:8]}").ledger_table


async def test_a_crowd_of_takers_gets_exactly_the_limit(ledger_table):
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        counters = FleetCounters(clients.dynamodb, ledger_table, lease_seconds=60)
        limit = [Counter("fleet#total", 3), Counter("fleet#kind#RDS", 5)]

        async def take(holder: str) -> bool:
            while (taken := await counters.try_take(limit, holder)) is None:
                await asyncio.sleep(0.01)  # lost a race: read again, as FleetSlots does
            return taken

        results = await asyncio.gather(*(take(f"w{i}/rp") for i in range(12)))
        assert sum(results) == 3
        winners = {f"w{i}/rp" for i, won in enumerate(results) if won}
        assert set(await counters.holders("fleet#total")) == winners
        assert set(await counters.holders("fleet#kind#RDS")) == winners, "both counters or neither"
        first = sorted(winners)[0]
        await counters.release("fleet#total", first)
        await counters.release("fleet#kind#RDS", first)
        assert await counters.try_take(limit, "late/rp") is True
        assert await counters.renew("fleet#total", first) is False, "a released slot is not renewed"


async def test_an_expired_holder_is_not_counted_and_is_dropped(ledger_table):
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        now = int(time.time())
        stale = now - CLOCK_SKEW_SECONDS - 2  # expired, and beyond the skew margin
        slow = now - CLOCK_SKEW_SECONDS + 6  # expired by its own clock, within the margin: still counted
        boto3.client("dynamodb").put_item(
            TableName=ledger_table,
            Item={
                "pk": {"S": "fleet#total"},
                "holders": {"M": {"dead/rp": {"N": str(stale)}, "slow/rp": {"N": str(slow)}}},
                "version": {"N": "7"},
            },
        )
        counters = FleetCounters(clients.dynamodb, ledger_table, lease_seconds=60)
        limit = [Counter("fleet#total", 2)]
        assert await counters.try_take(limit, "new/rp") is True
        assert await counters.try_take(limit, "another/rp") is False
    assert set(await_holders(ledger_table)) == {"slow/rp", "new/rp"}


def await_holders(table: str) -> dict[str, str]:
    item = boto3.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": "fleet#total"}}, ConsistentRead=True)
    return dict(item["Item"]["holders"]["M"])


async def test_the_runner_lease_has_one_holder_and_a_fencing_token(ledger_table):
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        first = RunnerLease(clients.dynamodb, ledger_table, "periodic", "first", lease_seconds=30)
        second = RunnerLease(clients.dynamodb, ledger_table, "periodic", "second", lease_seconds=30)
        assert await first.hold() is True and first.held()
        assert await second.hold() is False and not second.held()
        assert await first.hold() is True, "renewed"
        token = first.token
        await first.release()
        assert not first.held()
        assert await second.hold() is True
        assert second.token == (token or 0) + 1, "a change of hands bumps the fencing token"
        # The old holder renewing with its stale token is refused by DynamoDB, not by its own bookkeeping.
        first.token, first._deadline = token, time.monotonic() + 30
        assert await first.hold() is False and not first.held()
        with pytest.raises(ValueError, match="clock-skew"):
            RunnerLease(clients.dynamodb, ledger_table, "periodic", "x", lease_seconds=2 * CLOCK_SKEW_SECONDS)


async def test_limits_derived_from_the_rds_quotas_keep_a_headroom(emulator):
    emulator.configure(max_db_instances=12, max_db_clusters=4)
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        quotas = await Rds(clients.rds, clients.ec2).account_quotas()
    assert quotas["DBInstances"] == 12 and quotas["DBClusters"] == 4
    derived = with_quota_defaults(FleetLimits(total=50, per_kind={"Aurora": 1}), quotas, headroom=2)
    assert derived.per_kind == {"RDS": 10, "Aurora": 1}, "a limit set by hand is kept"
    assert derived.total == 50
