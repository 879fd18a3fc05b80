"""Aurora DB clusters: the data and the master password are the cluster's; instances are added to it.

AWS Backup restores an Aurora recovery point as a cluster *without* any DB instance (AWS Backup developer
guide, "Restore an Aurora cluster"); a client adds one with CreateDBInstance + DBClusterIdentifier. RDS
refuses DeleteDBCluster while the cluster has instances (InvalidDBClusterStateFault), and a member instance
takes no master user settings of its own (they are the cluster's: ModifyDBCluster).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from emulator import instances, network
from emulator.core import Emulator
from emulator.state import Cluster, Instance, now
from emulator.wire import ApiError

log = logging.getLogger("emulator.clusters")

AURORA_ENGINES = {"aurora-postgresql": "postgres", "aurora-mysql": "mysql"}
ENGINE_VERSIONS = {"aurora-postgresql": "16.4", "aurora-mysql": "8.0.mysql_aurora.3.07.1"}
SERVERLESS_CLASS = "db.serverless"
# ServerlessV2ScalingConfiguration bounds (RDS API reference, ServerlessV2ScalingConfiguration).
MIN_ACU, MAX_ACU = 0.0, 256.0


def cluster_not_found(identifier: str) -> ApiError:
    return ApiError("DBClusterNotFoundFault", f"DBCluster {identifier} not found.", 404)


def find_cluster(emu: Emulator, identifier: str) -> Cluster:
    key = identifier or ""
    found = emu.store.cluster_by_arn.get(key) if key.startswith("arn:") else emu.store.clusters.get(key.lower())
    if found is None or found.account != emu.account:  # another account's cluster is not the caller's to see
        raise cluster_not_found(identifier)
    return found


def check_engine(engine: str) -> str:
    if (engine or "").lower() not in AURORA_ENGINES:
        raise ApiError(
            "InvalidParameterValue",
            f"Invalid DB engine for a cluster: {engine}. The emulator supports aurora-postgresql and aurora-mysql.",
        )
    return engine.lower()


def scaling(raw: dict[str, Any] | None) -> dict[str, float] | None:
    """ServerlessV2ScalingConfiguration, validated as RDS does (0 <= min <= max <= 256, steps of 0.5)."""
    if not raw:
        return None
    low, high = float(raw.get("MinCapacity", 0.5)), float(raw.get("MaxCapacity", 1.0))
    if not (MIN_ACU <= low <= high <= MAX_ACU) or (low * 2) % 1 or (high * 2) % 1:
        raise ApiError(
            "InvalidParameterValue",
            "ServerlessV2ScalingConfiguration: MinCapacity and MaxCapacity must be multiples of 0.5 between 0 and"
            " 256, with MinCapacity <= MaxCapacity.",
        )
    return {"MinCapacity": low, "MaxCapacity": high}


def new_cluster(emu: Emulator, identifier: str, account: str, engine_name: str, **settings: Any) -> Cluster:
    """Validate and register a cluster in state 'creating' (its database is built separately)."""
    identifier = instances.check_identifier(identifier, "DBClusterIdentifier")
    engine_name = check_engine(engine_name)
    engine = emu.databases.engine_for(engine_name)
    if identifier in emu.store.clusters:
        raise ApiError("DBClusterAlreadyExistsFault", f"DB Cluster {identifier} already exists")
    network.check_cluster_quota(emu, account)
    subnet_group = network.subnet_group(emu, account, settings.pop("subnet_group", None)).name
    network.check_security_groups(emu, account, settings.get("security_groups") or [])
    address, port = emu.endpoint(engine.kind)
    cluster = Cluster(
        identifier=identifier,
        arn=emu.rds_arn(account, "cluster", identifier),
        account=account,
        engine=engine_name,
        engine_version=ENGINE_VERSIONS[engine_name],
        physical=emu.databases.naming.instance(engine.kind),
        status="creating",
        created=now(),
        address=address,
        port=port,
        subnet_group=subnet_group,
        **settings,
    )
    emu.store.add_cluster(cluster)
    return cluster


def create_source(emu: Emulator, cluster: Cluster) -> None:
    """CreateDBCluster: build an empty database and login, then become available."""

    async def build() -> None:
        try:
            async with emu.databases.work:
                await emu.databases.of(cluster.physical).create_instance(cluster.physical, cluster.password)
        except Exception:
            log.exception("creating cluster %s failed", cluster.identifier)
            cluster.status = "inaccessible-encryption-credentials-recoverable"
            return
        await asyncio.sleep(emu.knobs.instance_available_seconds)
        if cluster.status == "creating":
            cluster.status = "available"

    instances.track_build(emu, cluster, build())


def add_instance(emu: Emulator, cluster: Cluster, p: dict[str, Any]) -> Instance:
    """CreateDBInstance with DBClusterIdentifier: a member serving the cluster's data."""
    for key in ("MasterUsername", "MasterUserPassword", "DBName", "AllocatedStorage"):
        if p.get(key):
            raise ApiError(
                "InvalidParameterCombination",
                f"The requested DB Instance will be a member of a DB Cluster. Set {key} for the DB Cluster.",
            )
    if (p.get("Engine") or "").lower() != cluster.engine:
        raise ApiError("InvalidParameterCombination", f"The engine must be {cluster.engine}, the cluster's engine.")
    if cluster.status not in ("available", "resetting-master-credentials", "backing-up"):
        raise ApiError("InvalidDBClusterStateFault", f"DB cluster {cluster.identifier} is {cluster.status}.")
    instance_class = p.get("DBInstanceClass") or ""
    if instance_class == SERVERLESS_CLASS and cluster.serverless_v2 is None:
        raise ApiError(
            "InvalidParameterCombination",
            "Set the Serverless v2 scaling configuration on the parent DB cluster before creating a Serverless v2"
            " DB instance.",
        )
    inst = instances.new_instance(
        emu,
        p.get("DBInstanceIdentifier", ""),
        cluster.account,
        cluster.engine,
        instance_class=instance_class,
        password="",
        subnet_group=cluster.subnet_group,
        security_groups=list(cluster.security_groups),
        availability_zone=p.get("AvailabilityZone"),
        publicly_accessible=bool(p.get("PubliclyAccessible")),
        tags={t["Key"]: t.get("Value", "") for t in p.get("Tags") or []},
        storage_type="aurora",
        allocated_storage=1,
        cluster=cluster.identifier,
    )
    inst.physical, inst.address, inst.port = cluster.physical, cluster.address, cluster.port
    inst.engine_version = cluster.engine_version
    cluster.members.append(inst.identifier)
    emu.store.instances_added[cluster.identifier] += 1

    async def start() -> None:
        await asyncio.sleep(emu.knobs.instance_available_seconds)
        if inst.status == "creating":
            inst.status = "available"

    instances.track_build(emu, inst, start())
    return inst


def modify(emu: Emulator, cluster: Cluster, p: dict[str, Any]) -> None:
    if cluster.status != "available":
        raise ApiError("InvalidDBClusterStateFault", f"DB cluster {cluster.identifier} is {cluster.status}.")
    password = p.get("MasterUserPassword")
    if password is not None:
        instances.check_password(password)
    if "DeletionProtection" in p:
        cluster.deletion_protection = bool(p["DeletionProtection"])
    if p.get("ServerlessV2ScalingConfiguration"):
        cluster.serverless_v2 = scaling(p["ServerlessV2ScalingConfiguration"])
    if password is not None:
        instances.reset_password(emu, cluster, password)


def delete(emu: Emulator, cluster: Cluster, p: dict[str, Any]) -> None:
    if cluster.deletion_protection:
        raise ApiError(
            "InvalidParameterCombination",
            "Cannot delete protected Cluster, please disable deletion protection and try again.",
        )
    if not p.get("SkipFinalSnapshot") and not p.get("FinalDBSnapshotIdentifier"):
        raise ApiError(
            "InvalidParameterCombination",
            "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.",
        )
    if any(_member_status(emu, name) != "deleting" for name in cluster.members):
        raise ApiError(
            "InvalidDBClusterStateFault",
            "Cluster cannot be deleted, it still contains DB instances in non-deleting state.",
        )
    if cluster.status == "deleting":
        raise ApiError("InvalidDBClusterStateFault", f"Cluster {cluster.identifier} is already being deleted.")
    cluster.status = "deleting"
    emu.spawn(_drop(emu, cluster))


def _member_status(emu: Emulator, identifier: str) -> str:
    inst = emu.store.instances.get(identifier)
    return inst.status if inst is not None else "deleting"


async def _drop(emu: Emulator, cluster: Cluster) -> None:
    building = emu.building.get(cluster.arn)
    if building is not None:
        await asyncio.gather(asyncio.shield(building), return_exceptions=True)
    # Members still deleting (each removes itself when gone): the cluster goes after them, as in RDS.
    while cluster.members:  # noqa: ASYNC110 - the members' own deletion tasks own the list
        await asyncio.sleep(0.05)
    await asyncio.sleep(emu.knobs.instance_available_seconds)
    try:
        await instances.drop_physical(emu, cluster.physical)
    finally:
        emu.store.remove(cluster)


def restore_metadata(cluster: Cluster) -> dict[str, Any]:
    """The keys AWS Backup records with an Aurora recovery point (GetRecoveryPointRestoreMetadata)."""
    return {
        "DBClusterIdentifier": cluster.identifier,
        "Engine": cluster.engine,
        "EngineVersion": cluster.engine_version,
        "EngineMode": "provisioned",
        "Port": str(cluster.port),
        "DatabaseName": cluster.physical.database,
        "DBSubnetGroupName": cluster.subnet_group,
        "VpcSecurityGroupIds": "[" + ",".join(f'"{g}"' for g in cluster.security_groups) + "]",
        "DBClusterParameterGroupName": f"default.{cluster.engine}{cluster.engine_version.split('.')[0]}",
        "AvailabilityZones": f'["{emu_region_zone(cluster)}"]',
        "DeletionProtection": str(cluster.deletion_protection).lower(),
        "CopyTagsToSnapshot": "true",
        "EnableIAMDatabaseAuthentication": "false",
        "StorageEncrypted": "false",
        "BacktrackWindow": "0",
    }


def emu_region_zone(cluster: Cluster) -> str:
    return cluster.arn.split(":")[3] + "a"
