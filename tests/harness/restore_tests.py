"""Helpers for the restore testing tests: a plan with one selection in the emulator, a wait on a restore job's
field, and the RDS calls the emulator has answered."""

from __future__ import annotations

import asyncio
from typing import Any

from harness.aws import ROLE_ARN


def create_plan(
    backup: Any, name: str, vault_arn: str, sources: list[str], window_hours: int = 1, resource_type: str = "RDS"
) -> str:
    """A restore testing plan over `vault_arn` with one selection of `sources` (of `resource_type`); its ARN."""
    arn = backup.create_restore_testing_plan(
        RestoreTestingPlan={
            "RestoreTestingPlanName": name,
            "ScheduleExpression": "cron(0 3 ? * * *)",
            "RecoveryPointSelection": {"Algorithm": "LATEST_WITHIN_WINDOW", "IncludeVaults": [vault_arn]},
        }
    )["RestoreTestingPlanArn"]
    backup.create_restore_testing_selection(
        RestoreTestingPlanName=name,
        RestoreTestingSelection={
            "RestoreTestingSelectionName": resource_type.lower(),
            "IamRoleArn": ROLE_ARN,
            "ProtectedResourceType": resource_type,
            "ProtectedResourceArns": sources,
            "ValidationWindowHours": window_hours,
        },
    )
    return str(arn)


def rds_calls(emulator: Any, *names: str) -> dict[str, int]:
    """RDS API calls the emulator has answered so far (AWS Backup's own deletion is not one of them)."""
    operations = emulator.stats()["operations"]
    names = names or ("ModifyDBInstance", "DeleteDBInstance", "AddTagsToResource")
    return {name: int(operations.get(f"rds:{name}", 0)) for name in names}


async def wait_job(backup: Any, job_id: str, field: str, values: set[str], timeout: float = 90) -> dict[str, Any]:
    for _ in range(int(timeout / 0.5)):
        job = await asyncio.to_thread(backup.describe_restore_job, RestoreJobId=job_id)
        if job.get(field) in values:
            return dict(job)
        await asyncio.sleep(0.5)
    raise AssertionError(f"restore job {job_id}: {field} never in {values}")
