"""Deleting what we restored, and only that: the ledger, the `bv-` name and our tag must all agree.

Used by a validation's own cleanup and by the sweeper, which deletes leftovers older than the TTL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from worker.errors import NotOurs
from worker.ledger_item import ResourceEntry
from worker.model import NAME_PREFIX, OWNER_TAG, as_utc
from worker.ports import DbInstance, OwnershipLedger, RdsPort, Restores


async def ownership_problem(instance: DbInstance, ledger: OwnershipLedger, *, in_ledger: bool = False) -> str | None:
    """None when the instance is provably ours, else why not. `in_ledger`: the caller holds the ledger entry
    that names this instance (a validation cleaning up its own restore), so the ledger need not be read."""
    if not instance.identifier.startswith(NAME_PREFIX):
        return f"name {instance.identifier} lacks the {NAME_PREFIX} prefix"
    if instance.tags.get(OWNER_TAG) != "true":
        return f"{instance.identifier} lacks the {OWNER_TAG} tag"
    if not in_ledger and await ledger.resource(instance.identifier) is None:
        return f"{instance.identifier} is not in the ledger"
    return None


async def delete_ours(
    rds: RdsPort,
    ledger: OwnershipLedger,
    identifier: str,
    known: DbInstance | None = None,
    *,
    in_ledger: bool = False,
) -> str:
    """DELETED, or NOT_FOUND when it is already gone; raises NotOurs rather than touch anything else. `known`:
    the instance as the caller described it (saves a describe; ownership is checked on it all the same)."""
    instance = known if known is not None and known.identifier == identifier else await rds.describe(identifier)
    if instance is None:
        return "NOT_FOUND"
    problem = await ownership_problem(instance, ledger, in_ledger=in_ledger)
    if problem is not None:
        raise NotOurs(problem)
    return "DELETED" if await rds.delete(identifier) else "NOT_FOUND"


async def made_by_our_restore(ledger: OwnershipLedger, restores: Restores, resource: ResourceEntry, arn: str) -> bool:
    """Whether the restore job the ledger recorded for this resource's recovery point created `arn`."""
    item = await ledger.item(resource.recovery_point_arn)
    if item is None or not item.restore_job_id:
        return False
    job = await restores.describe_restore_job(item.restore_job_id)
    return job.created_resource_arn == arn


class InstanceSweeper:
    """Deletes restored instances that outlived their TTL: ours only (ledger + `bv-` name + tag)."""

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
        if instance.tags.get(OWNER_TAG) != "true" and await made_by_our_restore(
            self._ledger, self._restores, resource, instance.arn
        ):
            # A restore that finished after its validation gave up was never tagged; the ledger's restore job
            # proves the instance is ours, so it gets the tag the rule below asks for.
            await self._rds.tag(instance.arn, {OWNER_TAG: "true"})
            instance = await self._rds.describe(instance.identifier) or instance
        problem = await ownership_problem(instance, self._ledger)
        if problem is not None:
            self._spared(instance, problem)
            return False
        if not await self._rds.delete(instance.identifier):
            return False
        self._log.warning("sweeper.deleted", identifier=instance.identifier)
        return True

    def _spared(self, instance: DbInstance, why: str) -> None:
        self._log.info("sweeper.spared", identifier=instance.identifier, why=why)


def _created(instance: DbInstance, resource: ResourceEntry) -> datetime:
    """RDS reports no create time while an instance is still creating: then the ledger's time counts."""
    if instance.created_at is None:
        return datetime.fromtimestamp(resource.created_at, UTC)
    return as_utc(instance.created_at)
