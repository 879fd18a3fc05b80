"""Deleting what we restored, and only that: AWS must say our restore job created it (worker/kinds/ownership.py).

Used by a validation's own cleanup and by the sweeper, which deletes leftovers older than the TTL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from worker.errors import NotOurs
from worker.kinds.ownership import job_problem
from worker.ledger_item import LedgerItem, ResourceEntry
from worker.model import NAME_PREFIX, OWNER_TAG, as_utc
from worker.ports import DbInstance, OwnershipLedger, RdsPort, Restores


async def delete_proven(rds: RdsPort, instance: DbInstance) -> str:
    """DELETED, or NOT_FOUND when it is already gone. The caller has proved the instance ours (the restore job
    created it); the name prefix is checked again so a wrong proof can never reach a database outside ours."""
    if not instance.identifier.startswith(NAME_PREFIX):
        raise NotOurs(f"name {instance.identifier} lacks the {NAME_PREFIX} prefix")
    if instance.tags.get(OWNER_TAG) != "true":
        # A restore that finished after its validation gave up was never tagged: proven ours, it gets the tag.
        await rds.tag(instance.arn, {OWNER_TAG: "true"})
    return "DELETED" if await rds.delete(instance.identifier) else "NOT_FOUND"


async def ownership_problem(instance: DbInstance, ledger: OwnershipLedger) -> str | None:
    """The weaker proof for an instance no restore job created (the one the Aurora kind adds to a restored
    cluster, created by our own CreateDBInstance): the ledger entry we wrote before creating it, the `bv-` name
    and our tag must all agree. None when they do, else why not."""
    if not instance.identifier.startswith(NAME_PREFIX):
        return f"name {instance.identifier} lacks the {NAME_PREFIX} prefix"
    if instance.tags.get(OWNER_TAG) != "true":
        return f"{instance.identifier} lacks the {OWNER_TAG} tag"
    if await ledger.resource(instance.identifier) is None:
        return f"{instance.identifier} is not in the ledger"
    return None


async def made_by_our_restore(ledger: OwnershipLedger, restores: Restores, resource: ResourceEntry, arn: str) -> bool:
    """Whether the restore job the ledger recorded for this resource's recovery point created `arn`."""
    item = await ledger.item(resource.recovery_point_arn)
    if item is None or not item.restore_job_id:
        return False
    job = await restores.describe_restore_job(item.restore_job_id)
    return job.created_resource_arn == arn


class InstanceSweeper:
    """Deletes restored instances that outlived their TTL: ours only (our restore job created them), and never
    one whose recovery point a live worker still holds."""

    def __init__(self, rds: RdsPort, ledger: OwnershipLedger, restores: Restores, log: Any) -> None:
        self._rds = rds
        self._ledger = ledger
        self._restores = restores
        self._log = log

    async def sweep(self, ttl: timedelta) -> list[str]:
        """One pass; returns the identifiers it deleted."""
        now = datetime.now(UTC)
        deleted: list[str] = []
        for instance in await self._rds.list_instances():
            if not instance.identifier.startswith(NAME_PREFIX) or instance.status == "deleting":
                continue
            if await self._sweep_one(instance, now, ttl):
                deleted.append(instance.identifier)
        return deleted

    async def _sweep_one(self, instance: DbInstance, now: datetime, ttl: timedelta) -> bool:
        resource = await self._ledger.resource(instance.identifier)
        if resource is None:
            self._spared(instance, "not in the ledger")
            return False
        if now - _created(instance, resource) < ttl:
            return False
        item = await self._ledger.item(resource.recovery_point_arn)
        if item is not None and _lease_live(item, now):
            self._spared(instance, "its recovery point's lease is live")
            return False
        job_id = item.restore_job_id if item is not None else None
        problem = await job_problem(self._restores, None, job_id, instance.arn)
        if problem is not None:
            self._spared(instance, problem)
            return False
        if await delete_proven(self._rds, instance) != "DELETED":
            return False
        self._log.warning("sweeper.deleted", identifier=instance.identifier)
        return True

    def _spared(self, instance: DbInstance, why: str) -> None:
        self._log.info("sweeper.spared", identifier=instance.identifier, why=why)


def _lease_live(item: LedgerItem, now: datetime) -> bool:
    """A worker holds the recovery point: its validation deletes the copy itself (or a successor resumes it)."""
    return item.lease_live(now.timestamp())


def _created(instance: DbInstance, resource: ResourceEntry) -> datetime:
    """RDS reports no create time while an instance is still creating: then the ledger's time counts."""
    if instance.created_at is None:
        return datetime.fromtimestamp(resource.created_at, UTC)
    return as_utc(instance.created_at)
