"""Backup and copy jobs: state changes over time, each one announced as AWS Backup's EventBridge event."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from emulator import clusters, dynamodb_restores
from emulator.core import Emulator
from emulator.state import BackupJob, Cluster, CopyJob, Instance, RecoveryPoint, Snapshot, Vault, now, resource_type_of
from emulator.wire import ApiError, iso8601

log = logging.getLogger("emulator.jobs")


def snapshot_kind(resource_arn: str) -> str:
    """The recovery point ARN's resource part: AWS Backup snapshots a cluster as a cluster snapshot."""
    return "cluster-snapshot" if resource_type_of(resource_arn) == "Aurora" else "snapshot"


def restore_metadata(inst: Instance) -> dict[str, Any]:
    """The instance settings AWS Backup records with an RDS recovery point (GetRecoveryPointRestoreMetadata)."""
    return {
        "DBInstanceIdentifier": inst.identifier,
        "DBInstanceClass": inst.instance_class,
        "Engine": inst.engine,
        "EngineVersion": inst.engine_version,
        "Port": str(inst.port),
        "DBName": inst.physical.database,
        "DBSubnetGroupName": inst.subnet_group,
        "OptionGroupName": inst.option_group or f"default:{inst.engine}-{inst.engine_version.split('.')[0]}",
        "DBParameterGroupName": inst.parameter_group or f"default.{inst.engine}{inst.engine_version.split('.')[0]}",
        "VpcSecurityGroupIds": "[" + ",".join(f'"{g}"' for g in inst.security_groups) + "]",
        "AvailabilityZone": inst.availability_zone,
        "MultiAZ": str(inst.multi_az).lower(),
        "PubliclyAccessible": str(inst.publicly_accessible).lower(),
        "DeletionProtection": str(inst.deletion_protection).lower(),
        "StorageType": inst.storage_type,
        "AllocatedStorage": str(inst.allocated_storage),
        "CopyTagsToSnapshot": "true",
        "EnableIAMDatabaseAuthentication": "false",
        "AutoMinorVersionUpgrade": "true",
        "StorageEncrypted": "false",
        "LicenseModel": "postgresql-license" if inst.engine == "postgres" else "general-public-license",
    }


# ---------------------------------------------------------------------------------------------- backup


def _backup_detail(emu: Emulator, job: BackupJob) -> dict[str, Any]:
    if job.state == "CREATED":
        return {"backupJobId": job.job_id, "state": job.state, "creationDate": iso8601(job.created)}
    assert job.vault is not None
    detail: dict[str, Any] = {
        "backupJobId": job.job_id,
        "backupSizeInBytes": str(job.size_bytes),
        "backupVaultArn": job.vault.arn,
        "backupVaultName": job.vault.name,
        "bytesTransferred": str(job.size_bytes if job.state == "COMPLETED" else 0),
        "creationDate": iso8601(job.created),
        "iamRoleArn": job.iam_role_arn,
        "resourceArn": job.resource_arn,
        "resourceType": resource_type_of(job.resource_arn),
        "state": job.state,
        "percentDone": int(job.percent_done),
    }
    if job.status_message:
        detail["statusMessage"] = job.status_message
    if job.completed:
        detail["completionDate"] = iso8601(job.completed)
    return detail


def _announce_backup(emu: Emulator, job: BackupJob) -> None:
    resources = [job.recovery_point_arn] if job.state == "COMPLETED" else []
    emu.events.emit("Backup Job State Change", job.account, resources, _backup_detail(emu, job))


async def start_backup(
    emu: Emulator, vault: Vault, resource_arn: str, iam_role_arn: str, tags: dict[str, str] | None = None
) -> BackupJob:
    """Snapshot now (the recovery point holds the data as of this call), then finish over time."""
    table = dynamodb_restores.is_table_arn(resource_arn)
    cluster = resource_arn.startswith("arn:aws:rds:") and ":cluster:" in resource_arn
    if not table and not cluster and (not resource_arn.startswith("arn:aws:rds:") or ":db:" not in resource_arn):
        raise ApiError("InvalidParameterValueException", f"Unsupported resource ARN for this emulator: {resource_arn}")
    job_id = emu.faults.uuid().upper()
    if table:
        # DynamoDB recovery points of AWS Backup's advanced features are Backup's own ARNs.
        rp_arn = f"arn:aws:backup:{emu.region}:{vault.account}:recovery-point:{emu.faults.uuid().upper()}"
    else:
        rp_arn = emu.rds_arn(vault.account, snapshot_kind(resource_arn), f"awsbackup:job-{emu.faults.uuid()}")
    job = BackupJob(job_id, vault.account, now(), iam_role_arn, "CREATED", vault=vault, resource_arn=resource_arn)
    job.recovery_point_arn = rp_arn
    emu.store.backup_jobs[job_id] = job
    _announce_backup(emu, job)
    job.state = "RUNNING"
    _announce_backup(emu, job)
    if table:
        await _snapshot_into(emu, job, _new_point(job, vault, resource_arn, "DynamoDB", tags))
        return job
    inst: Instance | Cluster | None = emu.store.instance_by_arn.get(resource_arn)
    if cluster:
        inst = emu.store.cluster_by_arn.get(resource_arn)
    if inst is None or inst.status not in ("available", "resetting-master-credentials"):
        state = "missing" if inst is None else inst.status
        emu.spawn(_finish_backup(emu, job, None, f"Resource {resource_arn} is not available for backup ({state})."))
        return job
    await _snapshot_into(emu, job, _new_point(job, vault, inst.identifier, resource_type_of(resource_arn), tags), inst)
    return job


def _new_point(
    job: BackupJob, vault: Vault, name: str, resource_type: str, tags: dict[str, str] | None
) -> RecoveryPoint:
    name = name.rsplit("/", 1)[-1]
    arn, role = job.recovery_point_arn, job.iam_role_arn
    return RecoveryPoint(
        arn, vault, job.resource_arn, name, role, now(), None, resource_type=resource_type, tags=dict(tags or {})
    )


async def _snapshot_into(
    emu: Emulator, job: BackupJob, rp: RecoveryPoint, inst: Instance | Cluster | None = None
) -> None:
    emu.store.add_recovery_point(rp)
    try:
        if inst is None:
            rp.snapshot = await dynamodb_restores.snapshot_table(emu, rp.resource_arn)
        else:
            rp.snapshot = await _take_snapshot(emu, inst)
    except Exception as exc:
        log.exception("snapshot of %s failed", rp.resource_name)
        emu.store.remove_recovery_point(rp)
        emu.spawn(_finish_backup(emu, job, None, f"Snapshot failed: {exc}"))
        return
    job.size_bytes = rp.snapshot.size_bytes
    emu.spawn(_finish_backup(emu, job, rp, None))


async def _take_snapshot(emu: Emulator, inst: Instance | Cluster) -> Snapshot:
    engine = emu.databases.of(inst.physical)
    phys = emu.databases.naming.snapshot(engine.kind)
    taken_at = now()
    async with emu.databases.work:
        size = await engine.snapshot(inst.physical, phys.database)
    metadata = clusters.restore_metadata(inst) if isinstance(inst, Cluster) else restore_metadata(inst)
    return Snapshot(phys, inst.password, size, taken_at, metadata, dict(inst.tags))


async def _finish_backup(emu: Emulator, job: BackupJob, rp: RecoveryPoint | None, failure: str | None) -> None:
    await asyncio.sleep(emu.faults.seconds(emu.knobs.backup_seconds))
    job.completed = now()
    if rp is None:
        job.state, job.status_message = "FAILED", failure
    else:
        job.state, job.percent_done = "COMPLETED", 100.0
        rp.status, rp.completed = "COMPLETED", job.completed
    _announce_backup(emu, job)


# ---------------------------------------------------------------------------------------------- copy


def _copy_detail(job: CopyJob) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "copyJobId": job.job_id,
        "creationDate": iso8601(job.created),
        "state": job.state,
        "sourceBackupVaultArn": job.source_vault_arn,
        "destinationBackupVaultArn": job.destination_vault_arn,
    }
    if job.state == "CREATED":
        return detail
    detail.update(
        {
            "backupSizeInBytes": job.size_bytes,
            "iamRoleArn": job.iam_role_arn,
            "resourceArn": job.resource_arn,
            "resourceType": resource_type_of(job.resource_arn),
            # AWS sends an empty object until the destination recovery point exists.
            "destinationRecoveryPointArn": job.destination_recovery_point_arn or {},
        }
    )
    if job.status_message:
        detail["statusMessage"] = job.status_message
    if job.completed:
        detail["completionDate"] = iso8601(job.completed)
    return detail


def _announce_copy(emu: Emulator, job: CopyJob) -> None:
    emu.events.emit("Copy Job State Change", job.account, [job.source_recovery_point_arn], _copy_detail(job))


def start_copy(emu: Emulator, rp: RecoveryPoint, destination_vault_arn: str, iam_role_arn: str) -> CopyJob:
    if rp.status != "COMPLETED" or rp.snapshot is None:
        raise ApiError("InvalidRequestException", f"Recovery point {rp.arn} is not in a state that can be copied.")
    dest_account, dest_name = emu.vault_by_arn(destination_vault_arn)
    job = CopyJob(
        emu.faults.uuid().upper(),
        rp.vault.account,
        now(),
        iam_role_arn,
        "CREATED",
        source_vault_arn=rp.vault.arn,
        source_recovery_point_arn=rp.arn,
        destination_vault_arn=destination_vault_arn,
        resource_arn=rp.resource_arn,
        size_bytes=rp.snapshot.size_bytes,
    )
    emu.store.copy_jobs[job.job_id] = job
    _announce_copy(emu, job)
    emu.spawn(_run_copy_guarded(emu, job, rp, dest_account, dest_name))
    return job


async def _run_copy_guarded(emu: Emulator, job: CopyJob, rp: RecoveryPoint, dest_account: str, dest_name: str) -> None:
    """An internal error ends the copy FAILED with a message, never RUNNING for ever."""
    try:
        await _run_copy(emu, job, rp, dest_account, dest_name)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("copy job %s failed inside the emulator", job.job_id)
        if job.state in ("CREATED", "RUNNING"):
            job.completed = now()
            job.state, job.status_message = "FAILED", f"An internal error occurred while copying: {type(exc).__name__}."
            _announce_copy(emu, job)


async def _run_copy(emu: Emulator, job: CopyJob, rp: RecoveryPoint, dest_account: str, dest_name: str) -> None:
    job.state = "RUNNING"
    _announce_copy(emu, job)
    await asyncio.sleep(emu.faults.seconds(emu.knobs.copy_seconds))
    job.completed = now()
    dest = emu.store.vaults.get((dest_account, dest_name))
    if dest is None and dest_account != emu.account:
        # A vault in another account is outside what this emulator was told about: register it on first use.
        dest = emu.add_vault(dest_name, dest_account)
    if dest is None:
        job.state, job.status_message = "FAILED", f"Backup vault {dest_name} does not exist."
    elif emu.faults.chance(emu.knobs.copy_fail_rate):
        job.state, job.status_message = "FAILED", "Copy job failed (emulated failure)."
    else:
        copy = RecoveryPoint(
            _copy_arn(emu, rp, dest_account),
            dest,
            rp.resource_arn,
            rp.resource_name,
            job.iam_role_arn,
            job.completed,
            snapshot=rp.snapshot,
            status="COMPLETED",
            completed=job.completed,
            source_vault_arn=rp.vault.arn,
            tags=dict(rp.tags),
            resource_type=rp.resource_type,
        )
        emu.store.add_recovery_point(copy)
        job.state, job.destination_recovery_point_arn = "COMPLETED", copy.arn
        job.percent_done = 100.0
    _announce_copy(emu, job)


def _copy_arn(emu: Emulator, rp: RecoveryPoint, account: str) -> str:
    if rp.resource_type == dynamodb_restores.RESOURCE_TYPE:
        return f"arn:aws:backup:{emu.region}:{account}:recovery-point:{emu.faults.uuid().upper()}"
    return emu.rds_arn(account, snapshot_kind(rp.resource_arn), f"awsbackup:copyjob-{emu.faults.uuid()}")
