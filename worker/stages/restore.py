"""What to restore and how: identifiers, idempotency token and restore metadata. Pure functions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

NAME_PREFIX = "bv-"

# Restore-metadata keys we always force, whatever the recovery point recorded: a restored copy of production
# must be small, private, single-AZ and deletable.
_FORCED = {
    "MultiAZ": "false",
    "PubliclyAccessible": "false",
    "DeletionProtection": "false",
    "CopyTagsToSnapshot": "false",
}
# Keys from the source that would tie the copy to production resources or break a single-AZ restore.
_DROPPED = ("DBClusterIdentifier", "Iops", "StorageThroughput")
# Names the recorded metadata takes from the *source* account's network: a copy restored in another account
# (and any restore in a hardened account) fails on them, and even where they exist they are production's.
# Replaced by the restoring account's own (selection, else deployment defaults) or left to RDS's defaults.
_SOURCE_NETWORK = (
    "DBSubnetGroupName",
    "VpcSecurityGroupIds",
    "OptionGroupName",
    "DBParameterGroupName",
    "AvailabilityZone",
)
_NOT_PASSED_THROUGH = frozenset(key.lower() for key in (*_DROPPED, *_SOURCE_NETWORK, *_FORCED))


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
class RestoreNetwork:
    """Where in the restoring account a restore goes: a DB subnet group and VPC security groups (None/empty:
    RDS's defaults, which exist only in an account with a default VPC)."""

    subnet_group: str | None = None
    security_group_ids: tuple[str, ...] = ()


def restore_network(overrides: RestoreOverrides, defaults: RestoreNetwork) -> RestoreNetwork:
    """The selection's network where it names one, else the deployment's (BV_SUBNET_GROUP, BV_SECURITY_GROUP_IDS)."""
    return RestoreNetwork(
        overrides.db_subnet_group or defaults.subnet_group or None,
        tuple(overrides.vpc_security_group_ids) or tuple(defaults.security_group_ids),
    )


def ledger_key(recovery_point_arn: str) -> str:
    return hashlib.sha256(recovery_point_arn.encode()).hexdigest()


def restored_identifier(recovery_point_arn: str) -> str:
    """`bv-<hash>`: a valid RDS identifier, stable across retries, unique per recovery point."""
    return NAME_PREFIX + ledger_key(recovery_point_arn)[:20]


def idempotency_token(recovery_point_arn: str) -> str:
    return "bv-" + ledger_key(recovery_point_arn)[:40]


def validation_id(recovery_point_arn: str) -> str:
    """Stable per recovery point, so a redelivered message overwrites its record instead of adding one."""
    digest = ledger_key(recovery_point_arn)
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def build_metadata(
    recorded: Mapping[str, str],
    identifier: str,
    overrides: RestoreOverrides,
    defaults: RestoreNetwork = RestoreNetwork(),
) -> dict[str, str]:
    """The StartRestoreJob metadata: the recorded settings minus the source account's network and what we set,
    then the policy's parameters, what we force, our identifier and the restoring account's network (the
    selection's, else `defaults`). AWS Backup reads metadata keys case-insensitively, so a recorded key is
    dropped whatever its case."""
    ours = _NOT_PASSED_THROUGH | {"dbinstanceidentifier"}
    if overrides.db_instance_class:
        ours |= {"dbinstanceclass"}
    metadata = {key: value for key, value in recorded.items() if key.lower() not in ours}
    # The policy's free parameters go first so they can never undo what is forced below.
    metadata.update({str(k): str(v) for k, v in overrides.parameters.items()})
    metadata.update(_FORCED)
    metadata["DBInstanceIdentifier"] = identifier
    if overrides.db_instance_class:
        metadata["DBInstanceClass"] = overrides.db_instance_class
    network = restore_network(overrides, defaults)
    if network.subnet_group:
        metadata["DBSubnetGroupName"] = network.subnet_group
    if network.security_group_ids:
        metadata["VpcSecurityGroupIds"] = json.dumps(list(network.security_group_ids))
    return metadata
