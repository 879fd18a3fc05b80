"""Deleting a restored Aurora cluster and the instance we added, and only those: for each, the ledger entry,
the `bv-` name and our tag must all agree; the instance must also belong to the cluster it is named after.

RDS refuses DeleteDBCluster while the cluster has instances that are not deleting, so the instance goes
first; the cluster's deletion is retried (bounded) until RDS accepts it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from worker.errors import NotOurs
from worker.kinds.aurora_metadata import instance_identifier
from worker.kinds.rds_ownership import made_by_our_restore, ownership_problem
from worker.model import NAME_PREFIX, OWNER_TAG, as_utc
from worker.ports import ClusterPort, DbCluster, OwnershipLedger, RdsPort, Restores

# How long cleanup keeps asking RDS to delete the cluster while its instance is not yet "deleting".
CLUSTER_DELETE_BOUND = 120.0


async def cluster_problem(cluster: DbCluster, ledger: OwnershipLedger, *, in_ledger: bool = False) -> str | None:
    """None when the cluster is provably ours, else why not."""
    if not cluster.identifier.startswith(NAME_PREFIX):
        return f"name {cluster.identifier} lacks the {NAME_PREFIX} prefix"
    if cluster.tags.get(OWNER_TAG) != "true":
        return f"{cluster.identifier} lacks the {OWNER_TAG} tag"
    if not in_ledger and await ledger.resource(cluster.identifier) is None:
        return f"{cluster.identifier} is not in the ledger"
    return None


async def delete_cluster_and_instance(
    clusters: ClusterPort, rds: RdsPort, ledger: OwnershipLedger, cluster: DbCluster, *, in_ledger: bool = False
) -> str:
    """DELETED or NOT_FOUND; raises NotOurs rather than touch anything not ours (the cluster, or a member of
    it that is not the instance we add)."""
    problem = await cluster_problem(cluster, ledger, in_ledger=in_ledger)
    if problem is not None:
        raise NotOurs(problem)
    ours = instance_identifier(cluster.identifier)
    strangers = [member for member in cluster.members if member != ours]
    if strangers:
        raise NotOurs(f"cluster {cluster.identifier} has instances we did not add: {', '.join(strangers)}")
    instance = await rds.describe(ours)
    if instance is not None:
        problem = await ownership_problem(instance, ledger)
        if problem is not None:
            raise NotOurs(problem)
        await rds.delete(ours)
    return await _delete_cluster(clusters, cluster.identifier)


async def _delete_cluster(clusters: ClusterPort, identifier: str) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CLUSTER_DELETE_BOUND
    delay = 0.5
    while True:
        outcome = await clusters.delete_cluster(identifier)
        if outcome != "BUSY":
            return outcome
        now = await clusters.describe_cluster(identifier)
        if now is None:
            return "NOT_FOUND"
        if now.status == "deleting":
            return "DELETED"
        if loop.time() + delay > deadline:
            raise TimeoutError(f"RDS did not accept deleting cluster {identifier} within {CLUSTER_DELETE_BOUND}s")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 10.0)


class ClusterSweeper:
    """Deletes restored clusters (and the instance we added) that outlived their TTL: ours only."""

    def __init__(
        self, clusters: ClusterPort, rds: RdsPort, ledger: OwnershipLedger, restores: Restores, log: Any
    ) -> None:
        self._clusters = clusters
        self._rds = rds
        self._ledger = ledger
        self._restores = restores
        self._log = log

    async def sweep(self, ttl: timedelta) -> list[str]:
        now = datetime.now(UTC)
        deleted: list[str] = []
        for cluster in await self._clusters.list_clusters():
            if not cluster.identifier.startswith(NAME_PREFIX) or cluster.status == "deleting":
                continue
            try:
                if await self._sweep_one(cluster, now, ttl):
                    deleted.append(cluster.identifier)
            except NotOurs as exc:
                self._log.info("sweeper.spared", identifier=cluster.identifier, why=str(exc))
        return deleted

    async def _sweep_one(self, cluster: DbCluster, now: datetime, ttl: timedelta) -> bool:
        resource = await self._ledger.resource(cluster.identifier)
        if resource is None:
            self._log.info("sweeper.spared", identifier=cluster.identifier, why="not in the ledger")
            return False
        created = as_utc(cluster.created_at) if cluster.created_at else datetime.fromtimestamp(resource.created_at, UTC)
        if now - created < ttl:
            return False
        if cluster.tags.get(OWNER_TAG) != "true" and await made_by_our_restore(
            self._ledger, self._restores, resource, cluster.arn
        ):
            # A restore that finished after its validation gave up was never tagged: the ledger's job proves it.
            await self._rds.tag(cluster.arn, {OWNER_TAG: "true"})
            cluster = await self._clusters.describe_cluster(cluster.identifier) or cluster
        outcome = await delete_cluster_and_instance(self._clusters, self._rds, self._ledger, cluster)
        self._log.warning("sweeper.deleted", identifier=cluster.identifier, outcome=outcome)
        return outcome == "DELETED"
