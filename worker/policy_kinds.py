"""Policy options that do not fit a selection's kind of resource, explained (`check-config` shows them).

An Aurora recovery point restores as a DB cluster (ARN `arn:aws:rds:...:cluster:...`), an RDS one as a DB
instance (`...:db:...`); some restore options exist for one of them only.
"""

from __future__ import annotations

from typing import Any

# RestoreDBInstanceFromDBSnapshot options with no RestoreDBClusterFromSnapshot counterpart.
INSTANCE_ONLY_PARAMETERS = (
    "DBInstanceIdentifier",
    "DBInstanceClass",
    "AllocatedStorage",
    "MultiAZ",
    "StorageType",
    "Iops",
    "StorageThroughput",
    "AvailabilityZone",
    "LicenseModel",
)
_INSTANCE_ONLY = {key.lower(): key for key in INSTANCE_ONLY_PARAMETERS}

Problem = tuple[tuple[str | int, ...], str]


def kind_mismatches(selection: Any) -> list[Problem]:
    """Problems as (location inside the selection, why) for a parsed `[[selection]]`."""
    kind = selection.resource_type
    restore = selection.restore
    problems: list[Problem] = []
    if kind == "Aurora" and ":db:" in selection.source_arn:
        problems.append(
            (("source_arn",), "an Aurora selection matches DB cluster ARNs (arn:aws:rds:*:*:cluster:*), not :db:")
        )
    if kind == "RDS" and ":cluster:" in selection.source_arn:
        why = 'DB cluster ARNs (:cluster:) are Aurora recovery points: use resource_type = "Aurora"'
        problems.append((("source_arn",), why))
    if restore.serverless_v2 is not None and kind != "Aurora":
        why = 'serverless_v2 applies to Aurora clusters only: set resource_type = "Aurora"'
        problems.append((("restore", "serverless_v2"), why))
    if restore.serverless_v2 is not None and restore.db_instance_class not in (None, "db.serverless"):
        why = "a Serverless v2 cluster's instance is db.serverless: drop db_instance_class or serverless_v2"
        problems.append((("restore", "db_instance_class"), why))
    if kind == "Aurora":
        for key in restore.parameters:
            if key.lower() in _INSTANCE_ONLY:
                why = (
                    f"{_INSTANCE_ONLY[key.lower()]} is a DB instance option; an Aurora restore creates a cluster"
                    " (the instance we add takes restore.db_instance_class)"
                )
                problems.append((("restore", "parameters", key), why))
    return problems
