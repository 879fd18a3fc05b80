"""Restore jobs: PENDING -> RUNNING -> COMPLETED | FAILED, materialising a recovery point as a new instance."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from emulator import clusters, instances
from emulator.core import Emulator
from emulator.databases import StaleSpec
from emulator.state import Cluster, Instance, RecoveryPoint, RestoreJob, now
from emulator.wire import ApiError, iso8601

log = logging.getLogger("emulator.restores")


class RestoreFailure(Exception):
    """The job fails, as AWS reports a failed restore: in DescribeRestoreJob's StatusMessage."""


def meta(job: RestoreJob, key: str) -> str | None:
    """Restore metadata keys are case-insensitive in AWS Backup."""
    wanted = key.lower()
    for name, value in job.metadata.items():
        if name.lower() == wanted:
            return value
    return None


def _flag(job: RestoreJob, key: str, default: bool) -> bool:
    value = meta(job, key)
    return default if value is None else value.strip().lower() == "true"


def _security_groups(raw: str | None) -> list[str]:
    if not raw:
        return []
    text = raw.strip()
    if not text.startswith("["):
        return [v.strip() for v in text.split(",") if v.strip()]
    try:
        values = json.loads(text)
    except ValueError:
        values = None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise RestoreFailure(f"InvalidParameterValue: VpcSecurityGroupIds is not a list of group ids: {raw[:200]}")
    return values


def start_restore(
    emu: Emulator,
    rp: RecoveryPoint,
    metadata: dict[str, str],
    iam_role_arn: str,
    token: str | None,
    copy_tags: bool = False,
    testing_plan_arn: str | None = None,
    extra_tags: dict[str, str] | None = None,
) -> RestoreJob:
    if token and token in emu.store.restore_tokens:
        return emu.store.restore_jobs[emu.store.restore_tokens[token]]
    if rp.status != "COMPLETED" or rp.snapshot is None:
        raise ApiError(
            "InvalidRequestException", f"Recovery point {rp.arn} is not in a restorable state ({rp.status})."
        )
    job = RestoreJob(
        emu.faults.uuid().upper(),
        rp.vault.account,
        now(),
        iam_role_arn,
        "PENDING",
        recovery_point=rp,
        metadata=dict(metadata),
        restore_testing_plan_arn=testing_plan_arn,
        copy_tags=copy_tags,
        extra_tags=dict(extra_tags or {}),
    )
    run = _runner(rp)
    if rp.resource_type == "DynamoDB":
        from emulator.dynamodb_restores import check_metadata

        check_metadata(job.metadata)
    else:
        required = "DBClusterIdentifier" if rp.resource_type == "Aurora" else "DBInstanceIdentifier"
        if meta(job, required) is None:
            raise ApiError("InvalidParameterValueException", f"{required} is required in the restore metadata.")
    duration = emu.faults.seconds(emu.knobs.restore_seconds)
    job.expected_minutes = max(1, round(duration / 60))
    job.duration = duration
    emu.store.add_restore_job(job, token)
    if emu.knobs.restore_created_events:
        announce_created(emu, job)
    announce(emu, job)
    emu.spawn(_run_guarded(emu, job, duration, run))
    return job


def announce_created(emu: Emulator, job: RestoreJob) -> None:
    """AWS's CREATED sample carries `state` (its later ones `status`) and only the job id and creation date."""
    assert job.recovery_point is not None
    detail = {"restoreJobId": job.job_id, "creationDate": iso8601(job.created), "state": "CREATED"}
    emu.events.emit("Restore Job State Change", job.account, [job.recovery_point.arn], detail)


def announce(emu: Emulator, job: RestoreJob) -> None:
    assert job.recovery_point is not None
    rp = job.recovery_point
    detail: dict[str, Any] = {
        "restoreJobId": job.job_id,
        "backupVaultArn": rp.vault.arn,
        "recoveryPointArn": rp.arn,
        "sourceResourceArn": rp.resource_arn,
        "backupSizeInBytes": str(rp.snapshot.size_bytes if rp.snapshot else 0),
        "creationDate": iso8601(job.created),
        "iamRoleArn": job.iam_role_arn,
        "percentDone": int(job.percent_done),
        "resourceType": rp.resource_type,
        "status": job.state,
    }
    if job.restore_testing_plan_arn:
        detail["restoreTestingPlanArn"] = job.restore_testing_plan_arn
    if job.created_resource_arn and job.state == "COMPLETED":
        detail["createdResourceArn"] = job.created_resource_arn
    if job.status_message:
        detail["statusMessage"] = job.status_message
    if job.completed:
        detail["completionDate"] = iso8601(job.completed)
    emu.events.emit("Restore Job State Change", job.account, [rp.arn], detail)


Runner = Callable[[Emulator, RestoreJob, float], Awaitable[None]]


def _runner(rp: RecoveryPoint) -> Runner:
    """How a recovery point of this resource type is restored (a table: into moto's DynamoDB)."""
    if rp.resource_type == "DynamoDB":
        # Imported here: the table restore builds on this module's job states and events.
        from emulator.dynamodb_restores import run_restore

        return run_restore
    return _run


async def _run_guarded(emu: Emulator, job: RestoreJob, duration: float, run: Runner) -> None:
    """Whatever goes wrong inside the emulator, the job ends FAILED with a message: never RUNNING for ever."""
    try:
        await run(emu, job, duration)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("restore job %s failed inside the emulator", job.job_id)
        if job.state in ("PENDING", "RUNNING"):
            finish(emu, job, "FAILED", f"An internal error occurred while restoring: {type(exc).__name__}.")


async def _run(emu: Emulator, job: RestoreJob, duration: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + duration
    await asyncio.sleep(min(duration * 0.1, 1.0))
    emu.store.set_restore_state(job, "RUNNING")
    announce(emu, job)
    # Lazy: build the database when the restore time is up, so that thousands of long restores do not hold
    # thousands of databases meanwhile. The instance is registered ('creating') either way.
    lazy = emu.knobs.lazy_restore
    try:
        inst = _reserve(emu, job)
        if not lazy:
            await _materialise(emu, job, inst)
        await _sleep_until(deadline)
        if lazy:
            if inst.status != "creating":
                raise RestoreFailure(f"DB instance {inst.identifier} was deleted during the restore.")
            await _materialise(emu, job, inst)
    except RestoreFailure as failure:
        await _sleep_until(deadline)
        finish(emu, job, "FAILED", str(failure))
        return
    job.created_resource_arn = inst.arn
    _break_on_purpose(emu, inst)
    assert job.recovery_point is not None
    job.recovery_point.last_restore = now()
    finish(emu, job, "COMPLETED", None)
    if emu.faults.chance(emu.knobs.stuck_rate):
        return  # stays "creating" for ever: for the caller's deadlines
    await asyncio.sleep(emu.knobs.instance_available_seconds)
    if inst.status == "creating":
        inst.status = "available"


def _break_on_purpose(emu: Emulator, inst: Instance | Cluster) -> None:
    if emu.faults.chance(emu.knobs.unreachable_rate):
        inst.port = _closed_port()
    inst.ignores_password_changes = emu.faults.chance(emu.knobs.ignore_password_rate)


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _sleep_until(deadline: float) -> None:
    delay = deadline - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)


def finish(emu: Emulator, job: RestoreJob, state: str, message: str | None) -> None:
    job.completed = now()
    job.status_message = message
    job.percent_done = 100.0 if state == "COMPLETED" else job.percent_done
    emu.store.set_restore_state(job, state)
    announce(emu, job)


def _reserve(emu: Emulator, job: RestoreJob) -> Instance | Cluster:
    if emu.faults.chance(emu.knobs.restore_fail_rate):
        raise RestoreFailure("An internal error occurred while restoring the DB instance (emulated failure).")
    assert job.recovery_point is not None
    return _register_cluster(emu, job) if job.recovery_point.resource_type == "Aurora" else _register(emu, job)


async def _materialise(emu: Emulator, job: RestoreJob, inst: Instance | Cluster) -> None:
    rp = job.recovery_point
    assert rp is not None and rp.snapshot is not None
    stale = emu.store.stale.get(rp.resource_arn)
    spec = StaleSpec(stale["table"], stale["column"], float(stale["minutes"])) if stale else None
    engine = emu.databases.of(inst.physical)
    task = instances.track_build(emu, inst, _build(emu, inst, engine, rp, spec))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("restore job %s failed", job.job_id)
        emu.store.remove(inst)
        with contextlib.suppress(Exception):
            await instances.drop_physical(emu, inst.physical)
        raise RestoreFailure(f"Restore failed: {exc}") from exc


async def _build(
    emu: Emulator, inst: Instance | Cluster, engine: Any, rp: RecoveryPoint, spec: StaleSpec | None
) -> None:
    assert rp.snapshot is not None
    async with emu.databases.work:
        await engine.restore(rp.snapshot.physical, inst.physical, rp.snapshot.password, spec)


def _register(emu: Emulator, job: RestoreJob) -> Instance:
    """Create the new instance record ('creating'); RDS errors become the job's failure message."""
    rp = job.recovery_point
    assert rp is not None and rp.snapshot is not None
    source = rp.snapshot.source
    try:
        inst = instances.new_instance(
            emu,
            meta(job, "DBInstanceIdentifier") or "",
            rp.vault.account,
            source["Engine"],
            instance_class=meta(job, "DBInstanceClass") or source["DBInstanceClass"],
            password=rp.snapshot.password,
            # What the metadata names, in the restoring account; what it leaves out takes RDS's defaults.
            subnet_group=meta(job, "DBSubnetGroupName"),
            security_groups=_security_groups(meta(job, "VpcSecurityGroupIds")),
            option_group=meta(job, "OptionGroupName"),
            parameter_group=meta(job, "DBParameterGroupName"),
            availability_zone=meta(job, "AvailabilityZone"),
            multi_az=_flag(job, "MultiAZ", False),
            publicly_accessible=_flag(job, "PubliclyAccessible", False),
            deletion_protection=_flag(job, "DeletionProtection", False),
            storage_type=meta(job, "StorageType") or source["StorageType"],
            tags={**(rp.snapshot.tags if job.copy_tags else {}), **job.extra_tags},
        )
    except ApiError as err:
        raise RestoreFailure(f"{err.code}: {err.message}") from err
    return inst


def _register_cluster(emu: Emulator, job: RestoreJob) -> Cluster:
    """An Aurora restore creates the cluster only: AWS Backup adds no DB instance to it."""
    rp = job.recovery_point
    assert rp is not None and rp.snapshot is not None
    try:
        return clusters.new_cluster(
            emu,
            meta(job, "DBClusterIdentifier") or "",
            rp.vault.account,
            rp.snapshot.source["Engine"],
            password=rp.snapshot.password,
            subnet_group=meta(job, "DBSubnetGroupName"),
            security_groups=_security_groups(meta(job, "VpcSecurityGroupIds")),
            deletion_protection=_flag(job, "DeletionProtection", False),
            serverless_v2=_scaling(meta(job, "ServerlessV2ScalingConfiguration")),
            tags={**(rp.snapshot.tags if job.copy_tags else {}), **job.extra_tags},
        )
    except ApiError as err:
        raise RestoreFailure(f"{err.code}: {err.message}") from err


def _scaling(raw: str | None) -> dict[str, float] | None:
    if not raw:
        return None
    try:
        values = json.loads(raw)
    except ValueError:
        values = None
    if not isinstance(values, dict):
        raise RestoreFailure(
            f"InvalidParameterValue: ServerlessV2ScalingConfiguration is not a JSON object: {raw[:200]}"
        )
    return clusters.scaling(values)
