"""RDS operations (Query protocol, XML answers)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from emulator import cluster_api, clusters, instances, network
from emulator.core import Emulator
from emulator.pagination import page
from emulator.state import Instance, SubnetGroup
from emulator.wire import ApiError

Handler = Callable[[Emulator, dict[str, Any]], dict[str, Any] | None]
VPC_ID = "vpc-0e0000000000000e0"
T = TypeVar("T")


def rds_page(items: list[T], p: dict[str, Any]) -> tuple[list[T], str | None]:
    marker = "Marker"
    return page(items, p, limit=100, size_name="MaxRecords", token_name=marker, error_code="InvalidParameterValue")


def instance_not_found(identifier: str) -> ApiError:
    return ApiError("DBInstanceNotFound", f"DBInstance {identifier} not found.", 404)


def subnet_group_not_found(name: str) -> ApiError:
    return ApiError("DBSubnetGroupNotFoundFault", f"DBSubnetGroup {name} not found.", 404)


def find_instance(emu: Emulator, identifier: str) -> Instance:
    key = identifier or ""
    inst = emu.store.instance_by_arn.get(key) if key.startswith("arn:") else emu.store.instances.get(key.lower())
    if inst is None or inst.account != emu.account:  # another account's instance is not the caller's to see
        raise instance_not_found(identifier)
    return inst


def _tags(pairs: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in pairs or []}


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def subnet_group_view(group: SubnetGroup) -> dict[str, Any]:
    return {
        "DBSubnetGroupName": group.name,
        "DBSubnetGroupDescription": group.description,
        "VpcId": VPC_ID,
        "SubnetGroupStatus": "Complete",
        "Subnets": [
            {"SubnetIdentifier": s, "SubnetAvailabilityZone": {"Name": ""}, "SubnetStatus": "Active"}
            for s in group.subnet_ids
        ],
        "DBSubnetGroupArn": group.arn,
        "SupportedNetworkTypes": ["IPV4"],
    }


def instance_view(emu: Emulator, inst: Instance) -> dict[str, Any]:
    parameter_group = inst.parameter_group or f"default.{inst.engine}{inst.engine_version.split('.')[0]}"
    pending: dict[str, Any] = {"MasterUserPassword": "****"} if inst.pending_password else {}
    if inst.pending_class:
        pending["DBInstanceClass"] = inst.pending_class
    view: dict[str, Any] = {
        "DBInstanceIdentifier": inst.identifier,
        "DBInstanceClass": inst.instance_class,
        "Engine": inst.engine,
        "DBInstanceStatus": inst.status,
        "MasterUsername": inst.physical.login,
        "DBName": inst.physical.database,
        "AllocatedStorage": inst.allocated_storage,
        "InstanceCreateTime": inst.created,
        "PreferredBackupWindow": "03:00-03:30",
        "BackupRetentionPeriod": 1,
        "DBSecurityGroups": [],
        "VpcSecurityGroups": [{"VpcSecurityGroupId": g, "Status": "active"} for g in inst.security_groups],
        "DBParameterGroups": [{"DBParameterGroupName": parameter_group, "ParameterApplyStatus": "in-sync"}],
        "AvailabilityZone": inst.availability_zone,
        "DBSubnetGroup": subnet_group_view(_placed_in(emu, inst)),
        "PreferredMaintenanceWindow": "sun:05:00-sun:05:30",
        "PendingModifiedValues": pending,
        "MultiAZ": inst.multi_az,
        "EngineVersion": inst.engine_version,
        "AutoMinorVersionUpgrade": True,
        "LicenseModel": "postgresql-license" if inst.engine == "postgres" else "general-public-license",
        "PubliclyAccessible": inst.publicly_accessible,
        "StorageType": inst.storage_type,
        "DbInstancePort": 0,
        "StorageEncrypted": False,
        "DbiResourceId": "db-" + hashlib.sha1(inst.arn.encode()).hexdigest()[:26].upper(),  # noqa: S324
        "CopyTagsToSnapshot": False,
        "DBInstanceArn": inst.arn,
        "IAMDatabaseAuthenticationEnabled": False,
        "DeletionProtection": inst.deletion_protection,
        "TagList": _tag_list(inst.tags),
        "NetworkType": "IPV4",
        "BackupTarget": "region",
        "DedicatedLogVolume": False,
    }
    if inst.cluster:
        view["DBClusterIdentifier"] = inst.cluster
    if inst.status != "creating":
        # RDS reports no endpoint until the instance has been created.
        view["Endpoint"] = {"Address": inst.address, "Port": inst.port, "HostedZoneId": "Z2R2ITUGPM61AM"}
    return view


def _placed_in(emu: Emulator, inst: Instance) -> SubnetGroup:
    group = emu.store.network(inst.account).subnet_groups.get(inst.subnet_group)
    if group is None:  # the default VPC's group, reported even after the knob was switched off
        return SubnetGroup(inst.subnet_group, emu.rds_arn(inst.account, "subgrp", inst.subnet_group), "", [])
    return group


def create_db_instance(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    if p.get("DBClusterIdentifier"):
        member = clusters.add_instance(emu, clusters.find_cluster(emu, p["DBClusterIdentifier"]), p)
        return {"DBInstance": instance_view(emu, member)}
    if (p.get("Engine") or "").lower() in clusters.AURORA_ENGINES:
        raise ApiError("InvalidParameterValue", "DBClusterIdentifier is required for an Aurora DB instance.")
    if not p.get("MasterUsername"):
        raise ApiError("InvalidParameterValue", "The parameter MasterUsername must be provided and must not be blank.")
    inst = instances.new_instance(
        emu,
        p.get("DBInstanceIdentifier", ""),
        emu.account,
        p.get("Engine", ""),
        instance_class=p.get("DBInstanceClass") or "db.t3.micro",
        password=instances.check_password(p.get("MasterUserPassword")),
        subnet_group=p.get("DBSubnetGroupName"),
        security_groups=list(p.get("VpcSecurityGroupIds") or []),
        option_group=p.get("OptionGroupName"),
        parameter_group=p.get("DBParameterGroupName"),
        availability_zone=p.get("AvailabilityZone"),
        multi_az=bool(p.get("MultiAZ")),
        publicly_accessible=bool(p.get("PubliclyAccessible")),
        deletion_protection=bool(p.get("DeletionProtection")),
        allocated_storage=int(p.get("AllocatedStorage") or 20),
        storage_type=p.get("StorageType") or "gp2",
        tags=_tags(p.get("Tags")),
        requested_db_name=p.get("DBName"),
    )
    instances.create_source(emu, inst)
    return {"DBInstance": instance_view(emu, inst)}


def _filter_values(p: dict[str, Any], name: str) -> list[str] | None:
    for f in p.get("Filters") or []:
        if f.get("Name") == name:
            return list(f.get("Values") or [])
    return None


def describe_db_instances(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    if p.get("DBInstanceIdentifier"):
        found = [find_instance(emu, p["DBInstanceIdentifier"])]
    else:
        found = [i for i in emu.store.instances.values() if i.account == emu.account]
    ids = _filter_values(p, "db-instance-id")
    if ids is not None:
        wanted = {v.lower() if not v.startswith("arn:") else v for v in ids}
        found = [i for i in found if i.identifier in wanted or i.arn in wanted]
    engines = _filter_values(p, "engine")
    if engines is not None:
        found = [i for i in found if i.engine in engines]
    items, marker = rds_page(found, p)
    return {"DBInstances": [instance_view(emu, i) for i in items], "Marker": marker}


def modify_db_instance(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    inst = find_instance(emu, p.get("DBInstanceIdentifier", ""))
    instances.modify(emu, inst, p)
    return {"DBInstance": instance_view(emu, inst)}


def delete_db_instance(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    inst = find_instance(emu, p.get("DBInstanceIdentifier", ""))
    instances.delete(emu, inst, p)
    return {"DBInstance": instance_view(emu, inst)}


def _taggable(emu: Emulator, arn: str) -> dict[str, str]:
    parts = (arn or "").split(":")
    if len(parts) < 7 or parts[2] != "rds":
        raise ApiError("InvalidParameterValue", f"Invalid resource name: {arn}")
    if parts[5] == "db":
        inst = emu.store.instance_by_arn.get(arn)
        if inst is None:
            raise instance_not_found(parts[6])
        return inst.tags
    if parts[5] == "cluster":
        cluster = emu.store.cluster_by_arn.get(arn)
        if cluster is None:
            raise clusters.cluster_not_found(parts[6])
        return cluster.tags
    if parts[5] == "subgrp":
        group = emu.store.network(emu.account).subnet_groups.get(parts[6])
        if group is None or group.arn != arn:
            raise subnet_group_not_found(parts[6])
        return group.tags
    raise ApiError("InvalidParameterValue", f"Tagging {parts[5]} resources is not supported by the emulator.")


def add_tags_to_resource(emu: Emulator, p: dict[str, Any]) -> None:
    _taggable(emu, p.get("ResourceName", "")).update(_tags(p.get("Tags")))


def list_tags_for_resource(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    return {"TagList": _tag_list(_taggable(emu, p.get("ResourceName", "")))}


def remove_tags_from_resource(emu: Emulator, p: dict[str, Any]) -> None:
    tags = _taggable(emu, p.get("ResourceName", ""))
    for key in p.get("TagKeys") or []:
        tags.pop(key, None)


def create_db_subnet_group(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    name = (p.get("DBSubnetGroupName") or "").lower()
    if name == network.DEFAULT_GROUP:
        raise ApiError("InvalidParameterValue", "DBSubnetGroupName must not be default.")
    if name in emu.store.network(emu.account).subnet_groups:
        raise ApiError("DBSubnetGroupAlreadyExists", f"The DB subnet group '{name}' already exists.")
    if not p.get("SubnetIds"):
        raise ApiError("InvalidParameterValue", "SubnetIds must contain at least one subnet.")
    group = network.add_subnet_group(
        emu, emu.account, name, p.get("DBSubnetGroupDescription", ""), list(p["SubnetIds"])
    )
    group.tags.update(_tags(p.get("Tags")))
    return {"DBSubnetGroup": subnet_group_view(group)}


def describe_db_subnet_groups(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    name = p.get("DBSubnetGroupName")
    groups = [network.subnet_group(emu, emu.account, name)] if name else network.subnet_groups(emu, emu.account)
    items, marker = rds_page(groups, p)
    return {"DBSubnetGroups": [subnet_group_view(g) for g in items], "Marker": marker}


def describe_account_attributes(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    return {"AccountQuotas": network.account_quotas(emu, emu.account)}


HANDLERS: dict[str, Handler] = {
    "DescribeAccountAttributes": describe_account_attributes,
    "CreateDBInstance": create_db_instance,
    "DescribeDBInstances": describe_db_instances,
    "ModifyDBInstance": modify_db_instance,
    "DeleteDBInstance": delete_db_instance,
    "AddTagsToResource": add_tags_to_resource,
    "ListTagsForResource": list_tags_for_resource,
    "RemoveTagsFromResource": remove_tags_from_resource,
    "CreateDBSubnetGroup": create_db_subnet_group,
    "DescribeDBSubnetGroups": describe_db_subnet_groups,
    **cluster_api.HANDLERS,
}
