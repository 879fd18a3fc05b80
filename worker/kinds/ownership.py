"""The restore-ownership proof every kind uses before it modifies or deletes anything.

A resource is ours only when AWS says so: the restore job whose id our `StartRestoreJob` returned (and the ledger
recorded under the recovery point) names it as its `CreatedResourceArn`. Our name prefix, our tag and the ledger's
`res#` entry are written by us (or by anyone who can guess them), so alone they prove nothing: an instance that
already had the name our restore chose makes the job fail with no created resource, and it stays untouched.
"""

from __future__ import annotations

from worker.model import RestoreJob
from worker.ports import OwnershipLedger, Restores


def created_problem(job: RestoreJob, resource_arn: str) -> str | None:
    """None when `job` created `resource_arn`, else why it did not."""
    if not job.created_resource_arn:
        return f"restore job {job.job_id} ({job.status}) created nothing"
    if job.created_resource_arn != resource_arn:
        return f"restore job {job.job_id} created {job.created_resource_arn}, not {resource_arn}"
    return None


async def job_problem(restores: Restores, job: RestoreJob | None, job_id: str | None, resource_arn: str) -> str | None:
    """The proof from a job already at hand when it names a created resource (an event, a sweep), else from
    DescribeRestoreJob of `job_id`; None when AWS says the job created `resource_arn`."""
    if job is not None and job.created_resource_arn:
        return created_problem(job, resource_arn)
    job_id = job.job_id if job is not None else job_id
    if not job_id:
        return "no restore job of ours is recorded for it"
    return created_problem(await restores.describe_restore_job(job_id), resource_arn)


async def created_resource(restores: Restores, job: RestoreJob) -> str | None:
    """The ARN AWS says `job` created (the job as the event or sweep reported it, else DescribeRestoreJob)."""
    if job.created_resource_arn:
        return job.created_resource_arn
    return (await restores.describe_restore_job(job.job_id)).created_resource_arn


def names_problem(job_id: str, created_arn: str | None, resource: str) -> str | None:
    """None when the created ARN ends in `resource` (e.g. `:db:bv-...`): a take-over can then tag and reset it
    by that ARN without describing it first."""
    if not created_arn:
        return f"restore job {job_id} created nothing"
    if not created_arn.endswith(resource):
        return f"restore job {job_id} created {created_arn}, not {resource.lstrip(':')}"
    return None


async def cleanup_problem(
    ledger: OwnershipLedger, restores: Restores, recovery_point_arn: str, resource_arn: str, taken_arn: str | None
) -> str | None:
    """The proof at cleanup: none needed again for the resource the take-over proved ours (`taken_arn`, the same
    ARN), else the ledger's restore job must have created `resource_arn`."""
    if taken_arn == resource_arn:
        return None
    return await ledger_problem(ledger, restores, recovery_point_arn, resource_arn)


async def ledger_problem(
    ledger: OwnershipLedger, restores: Restores, recovery_point_arn: str, resource_arn: str
) -> str | None:
    """The proof for a caller that holds only the recovery point: its ledger item names our restore job."""
    item = await ledger.item(recovery_point_arn)
    return await job_problem(restores, None, item.restore_job_id if item else None, resource_arn)
