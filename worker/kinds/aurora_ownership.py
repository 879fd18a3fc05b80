"""Deleting a restored Aurora cluster and the instance we added, and only those.

The cluster is ours when AWS says our restore job created it (`worker/kinds/ownership.py`: the job id our
`StartRestoreJob` returned, as the ledger recorded it, reports the cluster's ARN as `CreatedResourceArn`). The
instance is ours when the cluster is and it is the one we add (`<cluster>-1`) and a member of that cluster: no
restore job creates it, our own `CreateDBInstance` does. A cluster holding any other instance is never deleted.

RDS refuses DeleteDBCluster while the cluster has instances that are not deleting, so the instance goes
first; the cluster's deletion is retried (bounded) until RDS accepts it.
"""

from __future__ import annotations

import asyncio

from worker.errors import NotOurs
from worker.kinds.aurora_metadata import instance_identifier
from worker.kinds.rds_ownership import delete_proven
from worker.kinds.sweep import Leftover
from worker.model import NAME_PREFIX, OWNER_TAG
from worker.ports import ClusterPort, DbCluster, RdsPort

# How long cleanup keeps asking RDS to delete the cluster while its instance is not yet "deleting".
CLUSTER_DELETE_BOUND = 120.0


async def delete_cluster_and_instance(clusters: ClusterPort, rds: RdsPort, cluster: DbCluster) -> str:
    """DELETED or NOT_FOUND. The caller has proved the cluster ours (our restore job created it); the name prefix
    is checked again, and NotOurs is raised rather than delete a cluster holding an instance we did not add."""
    if not cluster.identifier.startswith(NAME_PREFIX):
        raise NotOurs(f"name {cluster.identifier} lacks the {NAME_PREFIX} prefix")
    ours = instance_identifier(cluster.identifier)
    strangers = [member for member in cluster.members if member != ours]
    if strangers:
        raise NotOurs(f"cluster {cluster.identifier} has instances we did not add: {', '.join(strangers)}")
    if cluster.tags.get(OWNER_TAG) != "true":
        # A restore that finished after its validation gave up was never tagged: proven ours, it gets the tag
        # (the worker's IAM policy lets it delete only clusters with our tag).
        await rds.tag(cluster.arn, {OWNER_TAG: "true"})
    if ours in cluster.members:
        instance = await rds.describe(ours)
        if instance is not None:
            await delete_proven(rds, instance)
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


class RestoredClusters:
    """The Aurora kind's leftovers, for the shared sweeper: a cluster proven ours goes with the instance we added."""

    def __init__(self, clusters: ClusterPort, rds: RdsPort) -> None:
        self._clusters = clusters
        self._rds = rds

    async def leftovers(self) -> list[Leftover[DbCluster]]:
        return [
            Leftover(cluster.identifier, cluster.arn, cluster.created_at, cluster)
            for cluster in await self._clusters.list_clusters()
            if cluster.identifier.startswith(NAME_PREFIX) and cluster.status != "deleting"
        ]

    async def delete_proven(self, leftover: Leftover[DbCluster]) -> str:
        return await delete_cluster_and_instance(self._clusters, self._rds, leftover.found)
