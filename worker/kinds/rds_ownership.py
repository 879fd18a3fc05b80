"""Deleting what we restored, and only that: AWS must say our restore job created it (worker/kinds/ownership.py).

Used by a validation's own cleanup and by the sweeper (`worker/kinds/sweep.py`), which deletes leftovers older
than the TTL."""

from __future__ import annotations

from worker.errors import NotOurs
from worker.kinds.sweep import Leftover
from worker.model import NAME_PREFIX, OWNER_TAG
from worker.ports import DbInstance, RdsPort


async def delete_proven(rds: RdsPort, instance: DbInstance) -> str:
    """DELETED, or NOT_FOUND when it is already gone. The caller has proved the instance ours (the restore job
    created it, or it is the instance we added to a cluster our restore job created); the name prefix is checked
    again so a wrong proof can never reach a database outside ours."""
    if not instance.identifier.startswith(NAME_PREFIX):
        raise NotOurs(f"name {instance.identifier} lacks the {NAME_PREFIX} prefix")
    if instance.tags.get(OWNER_TAG) != "true":
        # A restore that finished after its validation gave up was never tagged: proven ours, it gets the tag.
        await rds.tag(instance.arn, {OWNER_TAG: "true"})
    return "DELETED" if await rds.delete(instance.identifier) else "NOT_FOUND"


class RestoredInstances:
    """The RDS instance kind's leftovers, for the shared sweeper."""

    def __init__(self, rds: RdsPort) -> None:
        self._rds = rds

    async def leftovers(self) -> list[Leftover[DbInstance]]:
        return [
            Leftover(instance.identifier, instance.arn, instance.created_at, instance)
            for instance in await self._rds.list_instances()
            if instance.identifier.startswith(NAME_PREFIX) and instance.status != "deleting"
        ]

    async def delete_proven(self, leftover: Leftover[DbInstance]) -> str:
        return await delete_proven(self._rds, leftover.found)
