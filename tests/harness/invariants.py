"""The invariants every fault scenario ends with: nothing our restore jobs did not create was modified, every
claimed recovery point has exactly one record, one restore per recovery point, no copy left after the sweep."""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3

from harness.worker_stack import WorkerStack, run_cli


def _created_by_restores() -> set[str]:
    backup = boto3.client("backup")
    created: set[str] = set()
    for page in backup.get_paginator("list_restore_jobs").paginate():
        created |= {job["CreatedResourceArn"] for job in page["RestoreJobs"] if job.get("CreatedResourceArn")}
    return created


def foreign_instances() -> dict[str, dict[str, Any]]:
    """Every instance no restore job created (sources, look-alikes), as it is now: what must not change."""
    rds, created = boto3.client("rds"), _created_by_restores()
    state: dict[str, dict[str, Any]] = {}
    for instance in rds.describe_db_instances()["DBInstances"]:
        arn = instance["DBInstanceArn"]
        if arn in created or instance["DBInstanceStatus"] == "deleting":
            continue  # ours, or on its way out (an earlier test's sources)
        state[arn] = {
            "status": instance["DBInstanceStatus"],
            "pending": instance.get("PendingModifiedValues") or {},
            "tags": sorted((t["Key"], t["Value"]) for t in rds.list_tags_for_resource(ResourceName=arn)["TagList"]),
        }
    return state


def assert_invariants(
    stack: WorkerStack, emulator: Any, arns: list[str], foreign_before: dict[str, dict[str, Any]]
) -> None:
    by_arn = Counter(record["recovery_point_arn"] for record in stack.records())
    assert dict(by_arn) == {arn: 1 for arn in arns}, "every claimed recovery point has exactly one record"
    restores = emulator.stats()["restore_jobs_per_recovery_point"]
    assert {arn: int(restores.get(arn, 0)) for arn in arns} == {arn: 1 for arn in arns}, "one restore each"
    swept = run_cli(stack, "sweep", "--ttl-seconds", "0")
    assert swept.returncode == 0, swept.stderr
    assert stack.restored_instances() == [], "no copy left after the sweep"
    after = foreign_instances()
    changed = {arn: (state, after.get(arn)) for arn, state in foreign_before.items() if after.get(arn) != state}
    assert changed == {}, "something our restore jobs did not create was modified"
