"""AWS Backup operations (REST-JSON). Each handler takes the decoded input and returns the output dict."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from emulator import jobs, restores
from emulator.core import Emulator
from emulator.pagination import page
from emulator.state import BackupJob, CopyJob, RecoveryPoint, RestoreJob, Vault, now
from emulator.wire import ApiError

Handler = Callable[[Emulator, dict[str, Any]], dict[str, Any] | Awaitable[dict[str, Any] | None] | None]
VAULT_NAME = re.compile(r"^[a-zA-Z0-9\-\_]{2,50}$")
VALIDATION_FINAL = {"SUCCESSFUL", "FAILED", "TIMED_OUT"}


def not_found(what: str) -> ApiError:
    return ApiError("ResourceNotFoundException", f"{what} does not exist.")


# ---------------------------------------------------------------------------------------------- vaults


def create_backup_vault(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    name = p["BackupVaultName"]
    if not VAULT_NAME.match(name):
        raise ApiError("InvalidParameterValueException", f"Invalid backup vault name: {name}")
    if (emu.account, name) in emu.store.vaults:
        raise ApiError("AlreadyExistsException", f"Backup vault with the same name {name} already exists")
    vault = emu.add_vault(
        name,
        emu.account,
        creator_request_id=p.get("CreatorRequestId"),
        encryption_key_arn=p.get("EncryptionKeyArn"),
        tags=dict(p.get("BackupVaultTags") or {}),
    )
    return {"BackupVaultName": vault.name, "BackupVaultArn": vault.arn, "CreationDate": vault.created}


def _vault_info(vault: Vault) -> dict[str, Any]:
    return {
        "BackupVaultName": vault.name,
        "BackupVaultArn": vault.arn,
        "VaultType": "BACKUP_VAULT",
        "VaultState": "AVAILABLE",
        "CreationDate": vault.created,
        "EncryptionKeyArn": vault.encryption_key_arn,
        "CreatorRequestId": vault.creator_request_id,
        "NumberOfRecoveryPoints": len(vault.recovery_points),
        "Locked": False,
    }


def describe_backup_vault(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    return _vault_info(emu.vault(p["BackupVaultName"], p.get("BackupVaultAccountId")))


def list_backup_vaults(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    vaults = [v for (account, _), v in emu.store.vaults.items() if account == emu.account]
    items, token = page(vaults, p, limit=1000)
    return {"BackupVaultList": [_vault_info(v) for v in items], "NextToken": token}


# ---------------------------------------------------------------------------------------------- backup jobs


async def start_backup_job(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    token = p.get("IdempotencyToken")
    job = emu.store.backup_jobs.get(emu.store.backup_tokens.get(token, "")) if token else None
    if job is None:
        job = await jobs.start_backup(emu, emu.vault(p["BackupVaultName"]), p["ResourceArn"], p["IamRoleArn"])
        if token:
            emu.store.backup_tokens[token] = job.job_id
    return {
        "BackupJobId": job.job_id,
        "RecoveryPointArn": job.recovery_point_arn,
        "CreationDate": job.created,
        "IsParent": False,
    }


def describe_backup_job(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    job = emu.store.backup_jobs.get(p["BackupJobId"])
    if job is None:
        raise not_found(f"Backup job {p['BackupJobId']}")
    return _backup_job(job)


def _backup_job(job: BackupJob) -> dict[str, Any]:
    assert job.vault is not None
    return {
        "AccountId": job.account,
        "BackupJobId": job.job_id,
        "BackupVaultName": job.vault.name,
        "BackupVaultArn": job.vault.arn,
        "RecoveryPointArn": job.recovery_point_arn,
        "ResourceArn": job.resource_arn,
        "CreationDate": job.created,
        "CompletionDate": job.completed,
        "State": job.state,
        "StatusMessage": job.status_message,
        "PercentDone": f"{job.percent_done:.1f}",
        "BackupSizeInBytes": job.size_bytes,
        "IamRoleArn": job.iam_role_arn,
        "ResourceType": jobs.resource_type(job.resource_arn),
        "BytesTransferred": job.size_bytes if job.state == "COMPLETED" else 0,
        "BackupType": "",
        "IsParent": False,
        "ResourceName": job.resource_arn.rsplit(":", 1)[-1],
        "InitiationDate": job.created,
    }


# ---------------------------------------------------------------------------------------------- copy jobs


def _recovery_point(emu: Emulator, arn: str, vault_name: str | None = None) -> RecoveryPoint:
    rp = emu.store.recovery_points.get(arn)
    if rp is None or (vault_name is not None and rp.vault.name != vault_name):
        raise not_found(f"Recovery point {arn}")
    return rp


def _point_in_vault(emu: Emulator, p: dict[str, Any]) -> RecoveryPoint:
    # Without BackupVaultAccountId the vault is the recovery point's own account (the caller owns it).
    arn = p["RecoveryPointArn"]
    parts = arn.split(":")
    account = p.get("BackupVaultAccountId") or (parts[4] if len(parts) > 4 else emu.account)
    vault = emu.vault(p["BackupVaultName"], account)
    if arn not in vault.recovery_points:
        raise not_found(f"Recovery point {arn}")
    return emu.store.recovery_points[arn]


def start_copy_job(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    rp = _recovery_point(emu, p["RecoveryPointArn"], p["SourceBackupVaultName"])
    job = jobs.start_copy(emu, rp, p["DestinationBackupVaultArn"], p["IamRoleArn"])
    return {"CopyJobId": job.job_id, "CreationDate": job.created, "IsParent": False}


def describe_copy_job(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    job = emu.store.copy_jobs.get(p["CopyJobId"])
    if job is None:
        raise not_found(f"Copy job {p['CopyJobId']}")
    return {"CopyJob": _copy_job(job)}


def _copy_job(job: CopyJob) -> dict[str, Any]:
    return {
        "AccountId": job.account,
        "CopyJobId": job.job_id,
        "SourceBackupVaultArn": job.source_vault_arn,
        "SourceRecoveryPointArn": job.source_recovery_point_arn,
        "DestinationBackupVaultArn": job.destination_vault_arn,
        "DestinationRecoveryPointArn": job.destination_recovery_point_arn,
        "ResourceArn": job.resource_arn,
        "CreationDate": job.created,
        "CompletionDate": job.completed,
        "State": job.state,
        "StatusMessage": job.status_message,
        "BackupSizeInBytes": job.size_bytes,
        "IamRoleArn": job.iam_role_arn,
        "ResourceType": jobs.resource_type(job.resource_arn),
        "IsParent": False,
        "ResourceName": job.resource_arn.rsplit(":", 1)[-1],
    }


# ---------------------------------------------------------------------------------------------- recovery points


def _point_common(rp: RecoveryPoint) -> dict[str, Any]:
    return {
        "RecoveryPointArn": rp.arn,
        "BackupVaultName": rp.vault.name,
        "CreationDate": rp.created,
        "Status": rp.status,
        "IsParent": False,
        "ResourceName": rp.resource_name,
        "VaultType": "BACKUP_VAULT",
    }


def _point_full(rp: RecoveryPoint) -> dict[str, Any]:
    data = _point_common(rp)
    data.update(
        {
            "BackupVaultArn": rp.vault.arn,
            "SourceBackupVaultArn": rp.source_vault_arn,
            "ResourceArn": rp.resource_arn,
            "ResourceType": rp.resource_type,
            "IamRoleArn": rp.iam_role_arn,
            "CompletionDate": rp.completed,
            "InitiationDate": rp.created,
            "BackupSizeInBytes": rp.snapshot.size_bytes if rp.snapshot else 0,
            "IsEncrypted": False,
            "LastRestoreTime": rp.last_restore,
        }
    )
    return data


def _created_between(rp: RecoveryPoint, p: dict[str, Any]) -> bool:
    after, before = p.get("ByCreatedAfter"), p.get("ByCreatedBefore")
    return (after is None or rp.created >= after) and (before is None or rp.created <= before)


def list_recovery_points_by_backup_vault(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    vault = emu.vault(p["BackupVaultName"], p.get("BackupVaultAccountId"))
    points = [emu.store.recovery_points[a] for a in vault.recovery_points]
    points = [
        rp
        for rp in points
        if p.get("ByResourceArn") in (None, rp.resource_arn)
        and p.get("ByResourceType") in (None, rp.resource_type)
        and _created_between(rp, p)
    ]
    items, token = page(points, p, limit=1000)
    return {"RecoveryPoints": [_point_full(rp) for rp in items], "NextToken": token}


def list_recovery_points_by_resource(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    arns = emu.store.points_by_resource.get(p["ResourceArn"], {})
    points = [emu.store.recovery_points[a] for a in arns]
    items, token = page(points, p, limit=1000)
    out = []
    for rp in items:
        data = _point_common(rp)
        data["BackupSizeBytes"] = rp.snapshot.size_bytes if rp.snapshot else 0
        out.append(data)
    return {"RecoveryPoints": out, "NextToken": token}


def describe_recovery_point(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    return _point_full(_point_in_vault(emu, p))


def get_recovery_point_restore_metadata(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    rp = _point_in_vault(emu, p)
    return {
        "BackupVaultArn": rp.vault.arn,
        "RecoveryPointArn": rp.arn,
        "RestoreMetadata": dict(rp.snapshot.source) if rp.snapshot else {},
        "ResourceType": rp.resource_type,
    }


# ---------------------------------------------------------------------------------------------- restore jobs


def start_restore_job(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    rp = _recovery_point(emu, p["RecoveryPointArn"])
    if p.get("ResourceType") not in (None, rp.resource_type):
        raise ApiError(
            "InvalidParameterValueException", f"Resource type {p['ResourceType']} does not match {rp.resource_type}."
        )
    job = restores.start_restore(
        emu,
        rp,
        dict(p.get("Metadata") or {}),
        p.get("IamRoleArn") or f"arn:aws:iam::{rp.vault.account}:role/service-role/AWSBackupDefaultServiceRole",
        p.get("IdempotencyToken"),
        copy_tags=bool(p.get("CopySourceTagsToRestoredResource")),
    )
    return {"RestoreJobId": job.job_id}


def restore_job_view(job: RestoreJob) -> dict[str, Any]:
    rp = job.recovery_point
    assert rp is not None
    return {
        "AccountId": job.account,
        "RestoreJobId": job.job_id,
        "RecoveryPointArn": rp.arn,
        "SourceResourceArn": rp.resource_arn,
        "BackupVaultArn": rp.vault.arn,
        "CreationDate": job.created,
        "CompletionDate": job.completed,
        "Status": job.state,
        "StatusMessage": job.status_message,
        "PercentDone": f"{_percent(job):.2f}%",
        "BackupSizeInBytes": rp.snapshot.size_bytes if rp.snapshot else 0,
        "IamRoleArn": job.iam_role_arn,
        "ExpectedCompletionTimeMinutes": job.expected_minutes,
        "CreatedResourceArn": job.created_resource_arn,
        "ResourceType": rp.resource_type,
        "RecoveryPointCreationDate": rp.created,
        "CreatedBy": {"RestoreTestingPlanArn": job.restore_testing_plan_arn} if job.restore_testing_plan_arn else None,
        "ValidationStatus": job.validation_status,
        "ValidationStatusMessage": job.validation_message,
        "DeletionStatus": job.deletion_status,
        "IsParent": False,
    }


def _percent(job: RestoreJob) -> float:
    if job.state in ("COMPLETED", "FAILED", "ABORTED") or job.state == "PENDING":
        return job.percent_done
    elapsed = (now() - job.created).total_seconds()
    return min(99.0, 100.0 * elapsed / job.duration) if job.duration > 0 else 0.0


def describe_restore_job(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    job = emu.store.restore_jobs.get(p["RestoreJobId"])
    if job is None:
        raise not_found(f"Restore job {p['RestoreJobId']}")
    return restore_job_view(job)


def _matches(job: RestoreJob, p: dict[str, Any]) -> bool:
    def within(value: datetime | None, after: str, before: str) -> bool:
        lo, hi = p.get(after), p.get(before)
        if lo is None and hi is None:
            return True
        return value is not None and (lo is None or value >= lo) and (hi is None or value <= hi)

    return (
        p.get("ByAccountId") in (None, job.account)
        and p.get("ByResourceType") in (None, job.recovery_point.resource_type if job.recovery_point else "RDS")
        and p.get("ByRestoreTestingPlanArn") in (None, job.restore_testing_plan_arn)
        and within(job.created, "ByCreatedAfter", "ByCreatedBefore")
        and within(job.completed, "ByCompleteAfter", "ByCompleteBefore")
    )


def list_restore_jobs(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    status = p.get("ByStatus")
    if status is not None and status not in ("PENDING", "RUNNING", "COMPLETED", "ABORTED", "FAILED"):
        raise ApiError("InvalidParameterValueException", f"Invalid restore job status: {status}")
    candidates = [j for j in emu.store.restore_jobs_in(status) if _matches(j, p)]
    items, token = page(candidates, p, limit=1000, key=lambda j: j.seq)
    return {"RestoreJobs": [restore_job_view(j) for j in items], "NextToken": token}


def put_restore_validation_result(emu: Emulator, p: dict[str, Any]) -> None:
    job = emu.store.restore_jobs.get(p["RestoreJobId"])
    if job is None:
        raise not_found(f"Restore job {p['RestoreJobId']}")
    if job.state != "COMPLETED":
        raise ApiError("InvalidRequestException", f"Restore job {job.job_id} is not COMPLETED ({job.state}).")
    if job.validation_status in VALIDATION_FINAL:
        raise ApiError(
            "InvalidRequestException",
            f"Validation status for restore job {job.job_id} is already {job.validation_status} and cannot change.",
        )
    job.validation_status = p["ValidationStatus"]
    job.validation_message = p.get("ValidationStatusMessage")


HANDLERS: dict[str, Handler] = {
    "CreateBackupVault": create_backup_vault,
    "DescribeBackupVault": describe_backup_vault,
    "ListBackupVaults": list_backup_vaults,
    "StartBackupJob": start_backup_job,
    "DescribeBackupJob": describe_backup_job,
    "StartCopyJob": start_copy_job,
    "DescribeCopyJob": describe_copy_job,
    "ListRecoveryPointsByBackupVault": list_recovery_points_by_backup_vault,
    "ListRecoveryPointsByResource": list_recovery_points_by_resource,
    "DescribeRecoveryPoint": describe_recovery_point,
    "GetRecoveryPointRestoreMetadata": get_recovery_point_restore_metadata,
    "StartRestoreJob": start_restore_job,
    "DescribeRestoreJob": describe_restore_job,
    "ListRestoreJobs": list_restore_jobs,
    "PutRestoreValidationResult": put_restore_validation_result,
}
