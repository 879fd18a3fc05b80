"""RDS instance restore metadata: what the recovery point recorded, made small, private, single-AZ, deletable,
and placed in the restoring account's network. Pure functions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

# Restore-metadata keys we always force, whatever the recovery point recorded: a restored copy of production
# must be small, private, single-AZ and deletable.
_FORCED = {
    "MultiAZ": "false",
    "PubliclyAccessible": "false",
    "DeletionProtection": "false",
    "CopyTagsToSnapshot": "false",
}
# Names recorded in the source account: they do not exist in the restoring account (or are production's own),
# so they are replaced by ours or dropped, never passed through.
SOURCE_ACCOUNT_NAMES = (
    "DBSubnetGroupName",
    "VpcSecurityGroupIds",
    "OptionGroupName",
    "DBParameterGroupName",
    "AvailabilityZone",
)
# Keys that would tie the copy to production resources or break a single-AZ restore.
_DROPPED = (*SOURCE_ACCOUNT_NAMES, "DBClusterIdentifier", "Iops", "StorageThroughput")
# AWS Backup reads metadata keys case-insensitively, so a recorded key is dropped whatever its case.
_NOT_PASSED_THROUGH = frozenset(key.lower() for key in (*_DROPPED, *_FORCED, "DBInstanceIdentifier"))


class RestoreOverrides(Protocol):
    @property
    def db_instance_class(self) -> str | None: ...
    @property
    def db_subnet_group(self) -> str | None: ...
    @property
    def vpc_security_group_ids(self) -> tuple[str, ...]: ...
    @property
    def parameters(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class Network:
    """Where restores go in the restoring account: a selection's own, else the deployment's defaults."""

    subnet_group: str | None = None
    security_group_ids: tuple[str, ...] = ()


def network_for(overrides: RestoreOverrides, defaults: Network) -> Network:
    return Network(
        overrides.db_subnet_group or defaults.subnet_group,
        tuple(overrides.vpc_security_group_ids) or defaults.security_group_ids,
    )


def build_metadata(
    recorded: Mapping[str, str], identifier: str, overrides: RestoreOverrides, defaults: Network | None = None
) -> dict[str, str]:
    """StartRestoreJob's metadata: the recorded settings minus the source account's network and what we set,
    then the policy's parameters, what we force, our identifier and the restoring account's network (the
    selection's, else `defaults`, else RDS's own defaults)."""
    ours = _NOT_PASSED_THROUGH | ({"dbinstanceclass"} if overrides.db_instance_class else set())
    metadata = {key: value for key, value in recorded.items() if key.lower() not in ours}
    # The policy's free parameters go first so they can never undo what is forced below.
    metadata.update({str(k): str(v) for k, v in overrides.parameters.items()})
    metadata.update(_FORCED)
    metadata["DBInstanceIdentifier"] = identifier
    if overrides.db_instance_class:
        metadata["DBInstanceClass"] = overrides.db_instance_class
    place_in_network(metadata, network_for(overrides, defaults or Network()))
    return metadata


def place_in_network(metadata: dict[str, str], network: Network) -> None:
    """The restoring account's subnet group and security groups, where known (else RDS's defaults apply)."""
    if network.subnet_group:
        metadata["DBSubnetGroupName"] = network.subnet_group
    if network.security_group_ids:
        metadata["VpcSecurityGroupIds"] = json.dumps(list(network.security_group_ids))
