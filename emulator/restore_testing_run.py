"""One run of a restore testing plan: pick recovery points, restore them, hold the validation window, then
mark the job TIMED_OUT if no validator answered and delete what the restore created, as AWS Backup does.

AWS sources: developer guide "Restore testing" (recovery point selection: the plan's vaults, lookback window
and algorithm; one recovery point per protected resource per run; the restored resource is tagged
`awsbackup-restore-test`; once a validation result is final or the validation window closes, AWS Backup
deletes it and reports `DeletionStatus`; a job whose validation status is not set by then is TIMED_OUT).
"""

from __future__ import annotations

import asyncio
import fnmatch
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from emulator import clusters, dynamodb_restores, instances, restores
from emulator.core import Emulator
from emulator.restore_testing import TEST_TAG, Plan, Selection, plan_named
from emulator.state import RecoveryPoint, RestoreJob, now
from emulator.wire import ApiError

FINAL_VALIDATION = frozenset({"SUCCESSFUL", "FAILED", "TIMED_OUT"})


@dataclass(frozen=True)
class TestRestorer:
    """What differs per resource type: the restore metadata AWS infers, and AWS's deletion after the window
    (None when deleted, else why not)."""

    metadata: Callable[[Emulator], dict[str, str]]
    delete: Callable[[Emulator, RestoreJob], Awaitable[str | None]]


def _rds_metadata(emu: Emulator) -> dict[str, str]:
    return {"DBInstanceIdentifier": f"awsbackup-restore-test-{emu.faults.token(12)}"}


async def _delete_rds_instance(emu: Emulator, job: RestoreJob) -> str | None:
    inst = emu.store.instance_by_arn.get(job.created_resource_arn or "")
    if inst is None:
        return f"Resource {job.created_resource_arn} was not found for deletion."
    return await _delete_until_gone(
        lambda: instances.delete(emu, inst, {"SkipFinalSnapshot": True}), lambda: inst.identifier in emu.store.instances
    )


async def _delete_until_gone(delete: Callable[[], Any], present: Callable[[], bool]) -> str | None:
    """None once the resource is gone (RDS's drop task removes it), else RDS's refusal as AWS Backup reports it."""
    try:
        delete()
    except ApiError as err:
        return f"{err.code}: {err.message}"
    while present():  # noqa: ASYNC110 - the drop task removes it when done
        await asyncio.sleep(0.1)
    return None


def _aurora_metadata(emu: Emulator) -> dict[str, str]:
    return {"DBClusterIdentifier": f"awsbackup-restore-test-{emu.faults.token(12)}"}


async def _delete_aurora_cluster(emu: Emulator, job: RestoreJob) -> str | None:
    """AWS Backup deletes the cluster it restored; RDS refuses while the cluster still has an instance that is
    not being deleted (InvalidDBClusterStateFault), so an instance a validator added and left there makes the
    deletion fail: DeletionStatus FAILED with RDS's message, the cluster (and its cost) stays."""
    cluster = emu.store.cluster_by_arn.get(job.created_resource_arn or "")
    if cluster is None:
        return f"Resource {job.created_resource_arn} was not found for deletion."
    return await _delete_until_gone(
        lambda: clusters.delete(emu, cluster, {"SkipFinalSnapshot": True}),
        lambda: cluster.identifier in emu.store.clusters,
    )


def _dynamodb_metadata(emu: Emulator) -> dict[str, str]:
    return {"targetTableName": f"awsbackup-restore-test-{emu.faults.token(12)}", "encryptionType": "Default"}


async def _delete_table(emu: Emulator, job: RestoreJob) -> str | None:
    return await dynamodb_restores.delete_table(emu, job.created_resource_arn or "")


RESTORERS: dict[str, TestRestorer] = {
    "RDS": TestRestorer(_rds_metadata, _delete_rds_instance),
    "Aurora": TestRestorer(_aurora_metadata, _delete_aurora_cluster),
    "DynamoDB": TestRestorer(_dynamodb_metadata, _delete_table),
}


def run_plan(emu: Emulator, plan_name: str) -> list[str]:
    """Start this run's restore jobs now; their ids."""
    plan = plan_named(emu, plan_name)
    plan.last_run = now()
    job_ids: list[str] = []
    for selection in plan.selections.values():
        for rp in _chosen_points(emu, plan, selection):
            job_ids.append(_start(emu, plan, selection, rp).job_id)
    return job_ids


def _chosen_points(emu: Emulator, plan: Plan, selection: Selection) -> list[RecoveryPoint]:
    if selection.spec["ProtectedResourceType"] not in RESTORERS:
        raise ApiError(
            "InvalidRequestException", f"The emulator cannot restore {selection.spec['ProtectedResourceType']} yet."
        )
    by_resource: dict[str, list[RecoveryPoint]] = {}
    for rp in emu.store.recovery_points.values():
        if _eligible(rp, plan, selection):
            by_resource.setdefault(rp.resource_arn, []).append(rp)
    algorithm = plan.spec["RecoveryPointSelection"].get("Algorithm", "LATEST_WITHIN_WINDOW")
    chosen = []
    for points in by_resource.values():
        if algorithm == "RANDOM_WITHIN_WINDOW":
            chosen.append(random.choice(points))
        else:
            chosen.append(max(points, key=lambda rp: rp.created))
    return chosen


def _eligible(rp: RecoveryPoint, plan: Plan, selection: Selection) -> bool:
    points = plan.spec["RecoveryPointSelection"]
    days = points.get("SelectionWindowDays") or 30
    if rp.status != "COMPLETED" or rp.snapshot is None or rp.created < now() - timedelta(days=days):
        return False
    if rp.resource_type != selection.spec["ProtectedResourceType"]:
        return False
    included = points.get("IncludeVaults") or ["*"]
    if not any(fnmatch.fnmatchcase(rp.vault.arn, glob) for glob in included):
        return False
    if any(fnmatch.fnmatchcase(rp.vault.arn, glob) for glob in points.get("ExcludeVaults") or []):
        return False
    arns = selection.spec.get("ProtectedResourceArns")
    conditions = selection.spec.get("ProtectedResourceConditions")
    if arns and "*" not in arns:
        return rp.resource_arn in arns
    if conditions:
        tags = rp.snapshot.tags
        equal = all(tags.get(c["Key"]) == c["Value"] for c in conditions.get("StringEquals") or [])
        different = all(tags.get(c["Key"]) != c["Value"] for c in conditions.get("StringNotEquals") or [])
        return equal and different
    return bool(arns)  # ["*"] alone: every protected resource of the type


def _start(emu: Emulator, plan: Plan, selection: Selection, rp: RecoveryPoint) -> RestoreJob:
    metadata = RESTORERS[rp.resource_type].metadata(emu)
    metadata.update(selection.spec.get("RestoreMetadataOverrides") or {})
    job = restores.start_restore(
        emu,
        rp,
        metadata,
        selection.spec["IamRoleArn"],
        None,
        testing_plan_arn=plan.arn,
        extra_tags={TEST_TAG: plan.arn},
    )
    emu.spawn(_hold_window(emu, job, int(selection.spec["ValidationWindowHours"])))
    return job


async def _hold_window(emu: Emulator, job: RestoreJob, hours: int) -> None:
    """Wait for the restore, then for a final validation result or the end of the window (TIMED_OUT), then
    delete what the restore created: "Once the optional validation completes or the validation window closes,
    AWS Backup deletes the resources" (developer guide, "Restore testing")."""
    # Job state and validation status are plain in-memory data other tasks and handlers update; polling them
    # keeps restores.py and PutRestoreValidationResult untouched.
    while job.state in ("PENDING", "RUNNING"):  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    if job.state != "COMPLETED":
        return
    loop = asyncio.get_running_loop()
    closes = loop.time() + hours * emu.knobs.restore_testing_hour_seconds
    while job.validation_status not in FINAL_VALIDATION and loop.time() < closes:  # noqa: ASYNC110
        await asyncio.sleep(min(0.2, max(0.0, closes - loop.time())))
    if job.validation_status not in FINAL_VALIDATION:
        job.validation_status = "TIMED_OUT"
        job.validation_message = "No validation result was received within the validation window."
    job.deletion_status = "DELETING"
    assert job.recovery_point is not None
    problem = await RESTORERS[job.recovery_point.resource_type].delete(emu, job)
    job.deletion_status, job.deletion_message = ("FAILED", problem) if problem else ("SUCCESSFUL", None)
