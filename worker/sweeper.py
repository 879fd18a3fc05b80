"""Deletes restored instances that outlived their TTL: ours only (ledger + `bv-` name + tag)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from worker.adapters.rds import Rds
from worker.metrics import Metrics
from worker.stages.cleanup import LedgerPort, ownership_problem
from worker.stages.restore import NAME_PREFIX


async def sweep(rds: Rds, ledger: LedgerPort, metrics: Metrics, ttl: timedelta, log: Any) -> list[str]:
    """One pass; returns the identifiers it deleted."""
    now = datetime.now(UTC)
    deleted: list[str] = []
    for instance in await rds.list_instances():
        if not instance.identifier.startswith(NAME_PREFIX) or instance.status == "deleting":
            continue
        created = instance.created_at
        if created is not None and created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        if created is None or now - created < ttl:
            continue
        problem = await ownership_problem(instance, ledger)
        if problem is not None:
            log.info("sweeper.spared", identifier=instance.identifier, why=problem)
            continue
        if await rds.delete(instance.identifier):
            metrics.swept.labels("RDS").inc()
            deleted.append(instance.identifier)
            log.warning("sweeper.deleted", identifier=instance.identifier, created_at=str(created))
    return deleted
