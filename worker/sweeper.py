"""Deletes restored instances that outlived their TTL: ours only (ledger + `bv-` name + tag)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from worker.adapters.backup import RestoreJob
from worker.adapters.rds import OWNER_TAG, DbInstance, Rds
from worker.metrics import Metrics
from worker.stages.cleanup import LedgerPort, ownership_problem
from worker.stages.restore import NAME_PREFIX


class RestoreJobPort(Protocol):
    async def describe_restore_job(self, job_id: str) -> RestoreJob: ...


async def sweep(
    rds: Rds, ledger: LedgerPort, backup: RestoreJobPort, metrics: Metrics, ttl: timedelta, log: Any
) -> list[str]:
    """One pass; returns the identifiers it deleted."""
    now = datetime.now(UTC)
    deleted: list[str] = []
    for instance in await rds.list_instances():
        if not instance.identifier.startswith(NAME_PREFIX) or instance.status == "deleting":
            continue
        resource = await ledger.get(f"res#{instance.identifier}")
        if resource is None:
            log.info("sweeper.spared", identifier=instance.identifier, why="not in the ledger")
            continue
        if now - _created(instance, resource) < ttl:
            continue
        if instance.tags.get(OWNER_TAG) != "true" and await _made_by_our_restore(instance, resource, ledger, backup):
            # A restore that finished after its validation gave up was never tagged; the ledger's restore job
            # proves the instance is ours, so it gets the tag the rule below asks for.
            await rds.tag(instance.arn, {OWNER_TAG: "true"})
            instance = await rds.describe(instance.identifier) or instance
        problem = await ownership_problem(instance, ledger)
        if problem is not None:
            log.info("sweeper.spared", identifier=instance.identifier, why=problem)
            continue
        if await rds.delete(instance.identifier):
            metrics.swept.labels("RDS").inc()
            deleted.append(instance.identifier)
            log.warning("sweeper.deleted", identifier=instance.identifier)
    return deleted


def _created(instance: DbInstance, resource: dict[str, Any]) -> datetime:
    """RDS reports no create time while an instance is still creating: then the ledger's time counts."""
    created = instance.created_at
    if created is None:
        return datetime.fromtimestamp(int(resource.get("created_at", 0)), UTC)
    return created if created.tzinfo is not None else created.replace(tzinfo=UTC)


async def _made_by_our_restore(
    instance: DbInstance, resource: dict[str, Any], ledger: LedgerPort, backup: RestoreJobPort
) -> bool:
    item = await ledger.get(f"rp#{resource.get('recovery_point_arn', '')}") or {}
    job_id = item.get("restore_job_id")
    if not job_id:
        return False
    job = await backup.describe_restore_job(str(job_id))
    return job.created_resource_arn == instance.arn
