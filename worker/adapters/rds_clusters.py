"""RDS DB clusters (Aurora): the restored cluster's state, its master password, the instance we add, deletion."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from worker.adapters.aws import error_code, translate_errors
from worker.errors import InstanceNotReady
from worker.ports import DbCluster


def _cluster(raw: dict[str, Any]) -> DbCluster:
    return DbCluster(
        identifier=raw["DBClusterIdentifier"],
        arn=raw.get("DBClusterArn", ""),
        status=raw.get("Status", ""),
        engine=raw.get("Engine", ""),
        host=raw.get("Endpoint"),
        port=raw.get("Port"),
        database_name=raw.get("DatabaseName"),
        master_username=raw.get("MasterUsername", ""),
        password_pending="MasterUserPassword" in (raw.get("PendingModifiedValues") or {}),
        created_at=raw.get("ClusterCreateTime"),
        members=tuple(m["DBInstanceIdentifier"] for m in raw.get("DBClusterMembers") or []),
        tags={tag["Key"]: tag["Value"] for tag in raw.get("TagList", [])},
    )


@translate_errors
class RdsClusters:
    def __init__(self, client: Any) -> None:
        self._client = client

    async def describe_cluster(self, identifier: str) -> DbCluster | None:
        try:
            response = await self._client.describe_db_clusters(DBClusterIdentifier=identifier)
        except ClientError as exc:
            if error_code(exc) == "DBClusterNotFoundFault":
                return None
            raise
        found = response.get("DBClusters", [])
        return _cluster(found[0]) if found else None

    async def list_clusters(self) -> list[DbCluster]:
        paginator = self._client.get_paginator("describe_db_clusters")
        found: list[DbCluster] = []
        async for page in paginator.paginate():
            found.extend(_cluster(raw) for raw in page.get("DBClusters", []))
        return found

    async def set_scaling(self, identifier: str, min_capacity: float, max_capacity: float) -> None:
        await self._modify(
            identifier,
            ServerlessV2ScalingConfiguration={"MinCapacity": min_capacity, "MaxCapacity": max_capacity},
        )

    async def set_cluster_password(self, identifier: str, password: str) -> None:
        """InstanceNotReady while the cluster's state refuses modifications."""
        await self._modify(identifier, MasterUserPassword=password)

    async def _modify(self, identifier: str, **changes: Any) -> None:
        try:
            await self._client.modify_db_cluster(DBClusterIdentifier=identifier, ApplyImmediately=True, **changes)
        except ClientError as exc:
            if error_code(exc) == "InvalidDBClusterStateFault":
                raise InstanceNotReady(f"cluster {identifier} cannot be modified in its current state") from None
            raise

    async def add_instance(
        self, cluster_id: str, instance_id: str, engine: str, instance_class: str, tags: dict[str, str]
    ) -> None:
        """Idempotent: an instance of that name already in the cluster (a resumed validation) is fine."""
        try:
            await self._client.create_db_instance(
                DBInstanceIdentifier=instance_id,
                DBClusterIdentifier=cluster_id,
                Engine=engine,
                DBInstanceClass=instance_class,
                PubliclyAccessible=False,
                Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
            )
        except ClientError as exc:
            if error_code(exc) != "DBInstanceAlreadyExists":
                raise

    async def delete_cluster(self, identifier: str) -> str:
        try:
            await self._client.delete_db_cluster(DBClusterIdentifier=identifier, SkipFinalSnapshot=True)
        except ClientError as exc:
            code = error_code(exc)
            if code == "DBClusterNotFoundFault":
                return "NOT_FOUND"
            if code == "InvalidDBClusterStateFault":
                # Members not deleting yet, or the cluster already deleting: the caller looks again.
                return "BUSY"
            raise
        return "DELETED"
