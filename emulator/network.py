"""Each account's network and quotas, as RDS checks them when it creates (or AWS Backup restores) an instance.

A recovery point copied from another account records that account's subnet group, security groups, option and
parameter groups; restoring it unchanged in the central account fails as in AWS, because those names do not
exist there. An account without a default VPC (knob ``default_vpc`` off, as a hardened central account) has no
`default` DB subnet group, so an instance needs one named explicitly.
"""

from __future__ import annotations

from typing import Any

from emulator.core import Emulator
from emulator.state import Network, SubnetGroup
from emulator.wire import ApiError

DEFAULT_GROUP = "default"
DEFAULT_SUBNETS = ["subnet-0default0000000001", "subnet-0default0000000002"]
# The default VPC's own security group, which RDS uses when a request names none.
DEFAULT_SECURITY_GROUP = "sg-0default000000001"


def _network(emu: Emulator, account: str) -> Network:
    return emu.store.network(account)


def subnet_group(emu: Emulator, account: str, name: str | None) -> SubnetGroup:
    """The group an instance goes into; None means the default VPC's `default` group."""
    wanted = (name or DEFAULT_GROUP).lower()
    found = _network(emu, account).subnet_groups.get(wanted)
    if found is not None:
        return found
    if wanted == DEFAULT_GROUP and emu.knobs.default_vpc:
        return SubnetGroup(DEFAULT_GROUP, emu.rds_arn(account, "subgrp", DEFAULT_GROUP), DEFAULT_GROUP, DEFAULT_SUBNETS)
    if name is None:
        raise ApiError(
            "InvalidVPCNetworkStateFault",
            "There is no default VPC in this account and Region: specify a DBSubnetGroupName.",
        )
    raise ApiError("DBSubnetGroupNotFoundFault", f"DBSubnetGroup '{name}' not found.", 404)


def add_subnet_group(emu: Emulator, account: str, name: str, description: str, subnet_ids: list[str]) -> SubnetGroup:
    group = SubnetGroup(name, emu.rds_arn(account, "subgrp", name), description, subnet_ids)
    _network(emu, account).subnet_groups[name] = group
    return group


def subnet_groups(emu: Emulator, account: str) -> list[SubnetGroup]:
    groups = dict(_network(emu, account).subnet_groups)
    if emu.knobs.default_vpc and DEFAULT_GROUP not in groups:
        groups = {DEFAULT_GROUP: subnet_group(emu, account, None), **groups}
    return list(groups.values())


def check_security_groups(emu: Emulator, account: str, group_ids: list[str]) -> None:
    known = _network(emu, account).security_groups
    for group_id in group_ids:
        if group_id not in known and not (group_id == DEFAULT_SECURITY_GROUP and emu.knobs.default_vpc):
            raise ApiError("InvalidParameterValue", f"Invalid security group , groupId= {group_id}, groupName=.")


def check_option_group(emu: Emulator, account: str, name: str | None) -> None:
    if name and not name.startswith("default:") and name not in _network(emu, account).option_groups:
        raise ApiError("OptionGroupNotFoundFault", f"Specified OptionGroupName: {name} not found.", 404)


def check_parameter_group(emu: Emulator, account: str, name: str | None) -> None:
    if name and not name.startswith("default.") and name not in _network(emu, account).parameter_groups:
        raise ApiError("DBParameterGroupNotFound", f"DBParameterGroup not found: {name}", 404)


def check_quota(emu: Emulator, account: str) -> None:
    if emu.store.instances_of(account) >= emu.knobs.max_db_instances:
        raise ApiError("InstanceQuotaExceeded", "The request would exceed the DB instance quota of this account.")


def check_cluster_quota(emu: Emulator, account: str) -> None:
    if emu.store.clusters_of(account) >= emu.knobs.max_db_clusters:
        raise ApiError("DBClusterQuotaExceededFault", "The request would exceed the DB cluster quota of this account.")


def account_quotas(emu: Emulator, account: str) -> list[dict[str, Any]]:
    """What DescribeAccountAttributes reports."""
    used_clusters = emu.store.clusters_of(account)
    return [
        {"AccountQuotaName": "DBInstances", "Used": emu.store.instances_of(account), "Max": emu.knobs.max_db_instances},
        {"AccountQuotaName": "DBClusters", "Used": used_clusters, "Max": emu.knobs.max_db_clusters},
    ]


def define(emu: Emulator, account: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Control endpoint: add subnet groups ({name: [subnet ids]}), security groups, option and parameter groups."""
    network = _network(emu, account)
    groups = spec.get("subnet_groups") or {}
    if not isinstance(groups, dict) or not all(isinstance(v, list) and v for v in groups.values()):
        raise ValueError("subnet_groups must map each name to a non-empty list of subnet ids")
    for name, subnets in groups.items():
        add_subnet_group(emu, account, str(name).lower(), str(name), [str(s) for s in subnets])
    for key, target in (
        ("security_groups", network.security_groups),
        ("option_groups", network.option_groups),
        ("parameter_groups", network.parameter_groups),
    ):
        values = spec.get(key) or []
        if not isinstance(values, list):
            raise ValueError(f"{key} must be a list of names")
        target.update(str(v) for v in values)
    return describe(emu, account)


def describe(emu: Emulator, account: str) -> dict[str, Any]:
    network = _network(emu, account)
    return {
        "account": account,
        "default_vpc": emu.knobs.default_vpc,
        "subnet_groups": {g.name: g.subnet_ids for g in subnet_groups(emu, account)},
        "security_groups": sorted(network.security_groups),
        "option_groups": sorted(network.option_groups),
        "parameter_groups": sorted(network.parameter_groups),
    }
