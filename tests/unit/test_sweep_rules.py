"""The one sweep loop every kind shares (worker/kinds/sweep.py), over in-memory ports: a leftover is deleted only
when the restore job the ledger recorded for its recovery point created it, it is older than the TTL and no live
worker holds its recovery point. The same loop runs end to end in tests/reliability/test_ownership.py (RDS),
tests/integration/test_worker_aurora.py (Aurora) and tests/integration/test_dynamodb_flow.py (DynamoDB)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from worker.errors import NotOurs
from worker.kinds.sweep import Leftover, Sweeper
from worker.leases import CLOCK_SKEW_SECONDS
from worker.ledger_item import DONE, RESTORING, LedgerItem, ResourceEntry
from worker.model import RestoreJob

ARN = "arn:aws:rds:us-east-1:123456789012:cluster:bv-abc"
RP = "arn:aws:backup:us-east-1:123456789012:recovery-point:rp-1"
OLD = datetime(2026, 1, 1, tzinfo=UTC)


class Log:
    def __init__(self) -> None:
        self.spared: dict[str, str] = {}

    def info(self, event: str, identifier: str, why: str) -> None:
        self.spared[identifier] = why

    def warning(self, event: str, identifier: str, **fields: str) -> None:
        pass


class World:
    """The ledger, AWS Backup and one kind's leftovers at once."""

    def __init__(self, *, created=ARN, state=DONE, lease_seconds=-10, in_ledger=True, refuse=False) -> None:
        self.jobs = {"job-1": RestoreJob("job-1", "COMPLETED", created)}
        self.entries = {"bv-abc": ResourceEntry("bv-abc", RP, 0)} if in_ledger else {}
        expires = int(time.time()) + lease_seconds
        self.items = {RP: LedgerItem(RP, state=state, lease_expires_at=expires, restore_job_id="job-1")}
        self.refuse = refuse
        self.deleted: list[str] = []

    async def resource(self, identifier):
        return self.entries.get(identifier)

    async def item(self, arn):
        return self.items.get(arn)

    async def describe_restore_job(self, job_id):
        return self.jobs[job_id]

    async def leftovers(self):
        return [Leftover("bv-abc", ARN, OLD, None)]

    async def delete_proven(self, leftover):
        if self.refuse:
            raise NotOurs("cluster bv-abc has instances we did not add: prod-reader")
        self.deleted.append(leftover.identifier)
        return "DELETED"


async def sweep(world: World, ttl: timedelta = timedelta(0)) -> tuple[list[str], Log]:
    log = Log()
    swept = await Sweeper(world, world, world, log).sweep(ttl)
    return swept, log


async def test_a_leftover_our_job_created_is_deleted():
    world = World()
    swept, log = await sweep(world)
    assert swept == ["bv-abc"] == world.deleted and log.spared == {}


@pytest.mark.parametrize(
    ("options", "why"),
    [
        (dict(in_ledger=False), "not in the ledger"),
        (dict(created=ARN.replace("bv-abc", "bv-other")), f"created {ARN.replace('bv-abc', 'bv-other')}, not"),
        (dict(created=None), "created nothing"),
        (dict(state=RESTORING, lease_seconds=600), "lease is live"),
        (dict(refuse=True), "did not add"),
    ],
)
async def test_anything_else_is_spared_with_the_reason(options, why):
    world = World(**options)  # built when the test runs: a lease is counted from now, not from collection
    swept, log = await sweep(world)
    assert swept == [] and world.deleted == []
    assert why in log.spared["bv-abc"]


async def test_a_lapsed_lease_of_an_unfinished_item_no_longer_protects():
    world = World(state=RESTORING, lease_seconds=-(CLOCK_SKEW_SECONDS + 5))
    swept, _ = await sweep(world)
    assert swept == ["bv-abc"]


async def test_a_lease_lapsed_within_the_clock_margin_still_protects():
    world = World(state=RESTORING, lease_seconds=-(CLOCK_SKEW_SECONDS - 5))  # the holder's clock may be behind
    swept, log = await sweep(world)
    assert swept == [] and "lease is live" in log.spared["bv-abc"]


async def test_younger_than_the_ttl_is_not_even_considered():
    world = World()
    swept, log = await sweep(world, ttl=timedelta(days=36500))
    assert swept == [] and world.deleted == [] and log.spared == {}


async def test_a_leftover_that_cannot_be_deleted_now_does_not_spare_the_others():
    class Busy(World):
        async def leftovers(self):
            return [Leftover("bv-busy", ARN, OLD, None), Leftover("bv-abc", ARN, OLD, None)]

        async def resource(self, identifier):
            return ResourceEntry(identifier, RP, 0)

        async def delete_proven(self, leftover):
            if leftover.identifier == "bv-busy":
                raise RuntimeError("ResourceInUseException: table bv-busy is being updated")
            return await super().delete_proven(leftover)

    world = Busy()
    swept, _ = await sweep(world)
    assert swept == ["bv-abc"] == world.deleted
