"""What to restore and how: identifiers, idempotency token and restore metadata. Pure functions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
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
_DROPPED = ("AvailabilityZone", "DBClusterIdentifier", "Iops", "StorageThroughput")


class RestoreOverrides(Protocol):
    @property
    def db_instance_class(self) -> str | None: ...
    @property
    def db_subnet_group(self) -> str | None: ...
    @property
    def vpc_security_group_ids(self) -> tuple[str, ...]: ...
    @property
    def parameters(self) -> Mapping[str, str]: ...


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


def build_metadata(recorded: Mapping[str, str], identifier: str, overrides: RestoreOverrides) -> dict[str, str]:
    metadata = {key: value for key, value in recorded.items() if key not in _DROPPED}
    # The policy's free parameters go first so they can never undo what is forced below.
    metadata.update({str(k): str(v) for k, v in overrides.parameters.items()})
    metadata.update(_FORCED)
    metadata["DBInstanceIdentifier"] = identifier
    if overrides.db_instance_class:
        metadata["DBInstanceClass"] = overrides.db_instance_class
    if overrides.db_subnet_group:
        metadata["DBSubnetGroupName"] = overrides.db_subnet_group
    if overrides.vpc_security_group_ids:
        metadata["VpcSecurityGroupIds"] = json.dumps(list(overrides.vpc_security_group_ids))
    return metadata
