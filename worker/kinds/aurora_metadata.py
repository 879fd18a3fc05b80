"""Aurora cluster restore metadata: what the recovery point recorded, made deletable, out of any global
database or backtracking, and placed in the restoring account's network. Pure functions.

AWS Backup restores an Aurora recovery point as a cluster only (no DB instance); the keys are those of
RDS RestoreDBClusterFromSnapshot, read case-insensitively.
"""

from __future__ import annotations

from collections.abc import Mapping

from worker.kinds.rds_metadata import Network, RestoreOverrides, network_for, place_in_network

_FORCED = {"DeletionProtection": "false", "CopyTagsToSnapshot": "false"}
# Names of the source account (absent or production's own in the restoring account), and settings that would
# tie the copy to production: a global database, backtracking, replication, a fixed set of zones.
_DROPPED = (
    "DBSubnetGroupName",
    "VpcSecurityGroupIds",
    "DBClusterParameterGroupName",
    "OptionGroupName",
    "AvailabilityZones",
    "BacktrackWindow",
    "GlobalClusterIdentifier",
    "EnableGlobalWriteForwarding",
    "ReplicationSourceIdentifier",
    "DBInstanceIdentifier",
    "DBInstanceClass",
)
_NOT_PASSED_THROUGH = frozenset(key.lower() for key in (*_DROPPED, *_FORCED, "DBClusterIdentifier"))
# The policy's parameters may not undo these, whatever their case.
_FORCED_LOWER = frozenset(key.lower() for key in (*_FORCED, "DBClusterIdentifier"))


def build_cluster_metadata(
    recorded: Mapping[str, str], identifier: str, overrides: RestoreOverrides, defaults: Network | None = None
) -> dict[str, str]:
    """StartRestoreJob's metadata for an Aurora recovery point: recorded settings minus what is dropped, then
    the policy's parameters, what is forced, our cluster identifier and the restoring account's network."""
    metadata = {key: value for key, value in recorded.items() if key.lower() not in _NOT_PASSED_THROUGH}
    metadata.update({str(k): str(v) for k, v in overrides.parameters.items() if str(k).lower() not in _FORCED_LOWER})
    metadata.update(_FORCED)
    metadata["DBClusterIdentifier"] = identifier
    place_in_network(metadata, network_for(overrides, defaults or Network()))
    return metadata


def instance_identifier(cluster_identifier: str) -> str:
    """The one instance we add to a restored cluster: named after it, so a resumed validation finds it."""
    return f"{cluster_identifier}-1"
