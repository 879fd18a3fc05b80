"""Aurora sources for the traffic generator: a cluster with one writer instance, as production runs it."""

from __future__ import annotations

import asyncio
from typing import Any

WRITER_CLASS = "db.r6g.large"


def is_aurora(engine: str) -> bool:
    return engine.lower().startswith("aurora")


async def create_cluster(rds: Any, identifier: str, engine: str, password: str) -> dict[str, Any]:
    """CreateDBCluster + its writer instance; returns the cluster, described once both are available."""
    try:
        await asyncio.to_thread(
            rds.create_db_cluster,
            DBClusterIdentifier=identifier,
            Engine=engine,
            MasterUsername="app",
            MasterUserPassword=password,
            DatabaseName="orders",
        )
    except rds.exceptions.DBClusterAlreadyExistsFault:
        raise SystemExit(f"source cluster {identifier} already exists on this emulator") from None
    await _wait(rds, "describe_db_clusters", "DBClusterIdentifier", identifier, "DBClusters", "Status")
    await asyncio.to_thread(
        rds.create_db_instance,
        DBInstanceIdentifier=f"{identifier}-writer",
        DBClusterIdentifier=identifier,
        Engine=engine,
        DBInstanceClass=WRITER_CLASS,
    )
    await _wait(
        rds, "describe_db_instances", "DBInstanceIdentifier", f"{identifier}-writer", "DBInstances", "DBInstanceStatus"
    )
    return await _wait(rds, "describe_db_clusters", "DBClusterIdentifier", identifier, "DBClusters", "Status")


async def delete_cluster(rds: Any, identifier: str) -> None:
    """Its instances first: RDS refuses to delete a cluster that still has instances."""
    response = await asyncio.to_thread(rds.describe_db_clusters, DBClusterIdentifier=identifier)
    for member in response["DBClusters"][0].get("DBClusterMembers", []):
        await asyncio.to_thread(
            rds.delete_db_instance, DBInstanceIdentifier=member["DBInstanceIdentifier"], SkipFinalSnapshot=True
        )
    await asyncio.to_thread(rds.delete_db_cluster, DBClusterIdentifier=identifier, SkipFinalSnapshot=True)


async def _wait(rds: Any, operation: str, key: str, identifier: str, listed: str, status: str) -> dict[str, Any]:
    for _ in range(600):
        response = await asyncio.to_thread(getattr(rds, operation), **{key: identifier})
        raw: dict[str, Any] = response[listed][0]
        if raw[status] == "available":
            return raw
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{identifier} never became available")
