"""RDS DB cluster operations (Query protocol): create, describe, modify, delete; shapes from botocore's model."""

from __future__ import annotations

import hashlib
from typing import Any

from emulator import clusters, instances
from emulator.core import Emulator
from emulator.pagination import page
from emulator.state import Cluster
from emulator.wire import ApiError


def _tags(pairs: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in pairs or []}


def cluster_view(emu: Emulator, cluster: Cluster) -> dict[str, Any]:
    pending: dict[str, Any] = {"MasterUserPassword": "****"} if cluster.pending_password else {}
    members = [
        {
            "DBInstanceIdentifier": name,
            "IsClusterWriter": index == 0,
            "DBClusterParameterGroupStatus": "in-sync",
            "PromotionTier": 1,
        }
        for index, name in enumerate(cluster.members)
    ]
    view: dict[str, Any] = {
        "DBClusterIdentifier": cluster.identifier,
        "DBClusterArn": cluster.arn,
        "Status": cluster.status,
        "Engine": cluster.engine,
        "EngineVersion": cluster.engine_version,
        "EngineMode": "provisioned",
        "MasterUsername": cluster.physical.login,
        "DatabaseName": cluster.physical.database,
        "Port": cluster.port,
        "DBSubnetGroup": cluster.subnet_group,
        "DBClusterParameterGroup": f"default.{cluster.engine}{cluster.engine_version.split('.')[0]}",
        "VpcSecurityGroups": [{"VpcSecurityGroupId": g, "Status": "active"} for g in cluster.security_groups],
        "DBClusterMembers": members,
        "ClusterCreateTime": cluster.created,
        "AllocatedStorage": 1,
        "MultiAZ": len(cluster.members) > 1,
        "StorageEncrypted": False,
        "DeletionProtection": cluster.deletion_protection,
        "DbClusterResourceId": "cluster-" + hashlib.sha1(cluster.arn.encode()).hexdigest()[:26].upper(),  # noqa: S324
        "HostedZoneId": "Z2R2ITUGPM61AM",
        "TagList": [{"Key": k, "Value": v} for k, v in cluster.tags.items()],
        "PendingModifiedValues": pending,
        "BacktrackWindow": 0,
        "CopyTagsToSnapshot": False,
        "IAMDatabaseAuthenticationEnabled": False,
        "NetworkType": "IPV4",
    }
    if cluster.status != "creating":
        # The emulator's engines all listen on one address: writer and reader endpoints are the same.
        view["Endpoint"] = view["ReaderEndpoint"] = cluster.address
    if cluster.serverless_v2 is not None:
        view["ServerlessV2ScalingConfiguration"] = dict(cluster.serverless_v2)
    return view


def create_db_cluster(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    if not p.get("MasterUsername"):
        raise ApiError("InvalidParameterValue", "The parameter MasterUsername must be provided and must not be blank.")
    cluster = clusters.new_cluster(
        emu,
        p.get("DBClusterIdentifier", ""),
        emu.account,
        p.get("Engine", ""),
        password=instances.check_password(p.get("MasterUserPassword")),
        subnet_group=p.get("DBSubnetGroupName"),
        security_groups=list(p.get("VpcSecurityGroupIds") or []),
        deletion_protection=bool(p.get("DeletionProtection")),
        tags=_tags(p.get("Tags")),
        serverless_v2=clusters.scaling(p.get("ServerlessV2ScalingConfiguration")),
    )
    clusters.create_source(emu, cluster)
    return {"DBCluster": cluster_view(emu, cluster)}


def describe_db_clusters(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    if p.get("DBClusterIdentifier"):
        found = [clusters.find_cluster(emu, p["DBClusterIdentifier"])]
    else:
        found = [c for c in emu.store.clusters.values() if c.account == emu.account]
    marker_name = "Marker"
    items, marker = page(
        found, p, limit=100, size_name="MaxRecords", token_name=marker_name, error_code="InvalidParameterValue"
    )
    return {"DBClusters": [cluster_view(emu, c) for c in items], "Marker": marker}


def modify_db_cluster(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    cluster = clusters.find_cluster(emu, p.get("DBClusterIdentifier", ""))
    clusters.modify(emu, cluster, p)
    return {"DBCluster": cluster_view(emu, cluster)}


def delete_db_cluster(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    cluster = clusters.find_cluster(emu, p.get("DBClusterIdentifier", ""))
    clusters.delete(emu, cluster, p)
    return {"DBCluster": cluster_view(emu, cluster)}


HANDLERS = {
    "CreateDBCluster": create_db_cluster,
    "DescribeDBClusters": describe_db_clusters,
    "ModifyDBCluster": modify_db_cluster,
    "DeleteDBCluster": delete_db_cluster,
}
