"""One validation, from restore start to cleanup: restore -> wait -> prepare -> checks -> cleanup.

Progress is checkpointed in the ledger after every step that costs money or time, so a redelivered message
resumes where the last worker stopped and never starts a second restore.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from datetime import UTC, datetime
from typing import Any

import worker.stages.checks as check_stage
from worker.adapters.backup import RecoveryPoint
from worker.adapters.rds import OWNER_TAG, DbInstance
from worker.errors import DeadlineExceeded, PreflightFailed, RestoreFailed
from worker.policy import Selection
from worker.runtime import Runtime
from worker.stages.cleanup import delete_ours
from worker.stages.prepare import Connection, take_over
from worker.stages.report import ERROR, RESTORE_FAILED, Validation, build_record, overall_status
from worker.stages.restore import build_metadata, idempotency_token, restored_identifier
from worker.stages.wait import JobStatus


class ValidationRun:
    def __init__(self, rt: Runtime, rp: RecoveryPoint, plan: Selection, item: dict[str, Any]) -> None:
        self.rt = rt
        self.rp = rp
        self.plan = plan
        self.item = item
        self.identifier = restored_identifier(rp.arn)
        started = item.get("restore_started_at") or item.get("claimed_at") or int(time.time())
        self.deadline = asyncio.get_running_loop().time() + (
            plan.restore_timeout.total_seconds() - max(0, time.time() - int(started))
        )
        self.from_restore_testing = False
        self.instance: DbInstance | None = None  # as described once the password reset applied

    async def execute(self, validation: Validation) -> None:
        """Fill `validation`; always leaves nothing restored unless cancelled for a handover."""
        restored = False
        try:
            job = await self._restore(validation)
            validation.engine = validation.engine or self.item.get("engine")
            if job.status != "COMPLETED":
                # A failed RDS restore can still leave an instance behind: fall through to cleanup.
                validation.status = RESTORE_FAILED
                validation.reason = f"restore job {job.status}: {job.message}"[:500]
            else:
                restored = True
                await self._prepare_and_check(validation, job)
        except asyncio.CancelledError:
            raise  # shutdown: the next worker resumes from the ledger, so nothing is deleted here
        except RestoreFailed as exc:
            validation.status, validation.reason = RESTORE_FAILED, str(exc)
        except (DeadlineExceeded, PreflightFailed) as exc:
            validation.status, validation.reason = ERROR, str(exc)
        except Exception as exc:
            if self.rt.is_retryable(exc):
                raise
            validation.status, validation.reason = ERROR, f"{type(exc).__name__}: {exc}"[:500]
        # Once a restore job exists, something may exist (or appear later) to delete.
        restored = restored or bool(self.item.get("restore_job_id"))
        await self.checkpoint_record(validation)
        if restored:
            validation.cleanup_status = await asyncio.shield(self.cleanup())

    async def _prepare_and_check(self, validation: Validation, job: JobStatus) -> None:
        self.rt.log.debug("stage.restored", identifier=self.identifier)
        await self._tag(job)
        connection, self.instance = await take_over(self.rt.rds, self.identifier, self.deadline, self.plan.database)
        validation.engine = connection.engine
        self.rt.log.debug("stage.checks", identifier=self.identifier)
        await self._run_checks(validation, connection)

    async def checkpoint_record(self, validation: Validation) -> None:
        """The record draft goes to the ledger before cleanup: a crash after it needs no second restore."""
        self.item["record"] = build_record(validation, datetime.now(UTC))
        await self.rt.ledger.update(self.rp.arn, state="CHECKED", record=json.dumps(self.item["record"]))

    async def cleanup(self) -> str:
        self.rt.log.debug("stage.cleanup", identifier=self.identifier)
        try:
            if self.instance is not None and self.instance.tags.get(OWNER_TAG) == "true":
                # Described, with our tag, after the password reset; the ledger entry we hold names it.
                outcome = await delete_ours(self.rt.rds, self.rt.ledger, self.identifier, self.instance, in_ledger=True)
                return "NOT_FOUND" if outcome == "ALREADY_GONE" else outcome
            instance = await self._ensure_tagged()
            if instance is None:
                # Nothing there (yet): a restore that finishes after its deadline is the sweeper's to delete.
                return "NOT_FOUND"
            outcome = await delete_ours(self.rt.rds, self.rt.ledger, self.identifier, known=instance)
        except Exception as exc:  # noqa: BLE001 - recorded as FAILED; the sweeper retries later
            self.rt.log.error("cleanup.failed", identifier=self.identifier, error=type(exc).__name__)
            return "FAILED"
        return "NOT_FOUND" if outcome == "ALREADY_GONE" else outcome

    async def _restore(self, validation: Validation) -> JobStatus:
        job_id = self.item.get("restore_job_id")
        if not job_id:
            job_id = await self._start_restore()
        validation.restore_job_id = str(job_id)
        remaining = self.deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise DeadlineExceeded("restore deadline passed before the job finished")
        try:
            status = await self.rt.watcher.wait(str(job_id), None, remaining)
        except TimeoutError:
            raise DeadlineExceeded(f"restore job did not finish within {self.plan.restore_timeout}") from None
        self.rt.log.info("restore.finished", restore_job_id=job_id, status=status.status)
        if status.status == "COMPLETED" and status.created_at and status.completed_at:
            # The event or the sweep that told us already says when it ran: no DescribeRestoreJob.
            validation.restore_start_time, validation.restore_end_time = status.created_at, status.completed_at
            return status
        job = await self.rt.backup.describe_restore_job(str(job_id))
        validation.restore_start_time = job.created_at
        validation.restore_end_time = job.completed_at
        self.from_restore_testing = job.from_restore_testing
        return JobStatus(job.job_id, job.status, job.created_resource_arn, job.status_message or status.message)

    async def _start_restore(self) -> str:
        await self._preflight()
        await self.rt.ledger.record_resource(self.identifier, self.rp.arn)
        recorded = await self.rt.backup.restore_metadata(self.rp.vault_name, self.rp.arn)
        metadata = build_metadata(recorded, self.identifier, self.plan.restore)
        job_id = await self.rt.backup.start_restore(
            self.rp.arn,
            metadata,
            idempotency_token(
                self.rp.arn + f"#{self.item['generation']}" if self.item.get("generation") else self.rp.arn
            ),
            self.rt.settings.restore_role_arn,
            self.rp.resource_type or "RDS",
        )
        await self.rt.ledger.update(
            self.rp.arn,
            state="RESTORING",
            restore_job_id=job_id,
            restore_started_at=int(time.time()),
            resource_id=self.identifier,
            engine=recorded.get("Engine", ""),
        )
        self.item["restore_job_id"] = job_id
        self.item["engine"] = recorded.get("Engine") or None
        self.rt.log.info("restore.started", restore_job_id=job_id, identifier=self.identifier)
        return job_id

    async def _preflight(self) -> None:
        subnet_group = self.plan.restore.db_subnet_group
        if subnet_group and not await self.rt.rds.subnet_group_exists(subnet_group):
            raise PreflightFailed(f"DB subnet group {subnet_group} does not exist")
        missing = await self.rt.rds.missing_security_groups(self.plan.restore.vpc_security_group_ids)
        if missing:
            raise PreflightFailed(f"security groups not found: {', '.join(missing)}")

    async def _tag(self, job: JobStatus) -> None:
        """Tag what our restore job created. Safe: the identifier is derived from a recovery point this worker
        holds in the ledger, and the job we started names the instance, so no describe is needed first."""
        arn = job.created_resource_arn
        if arn and arn.rsplit(":", 1)[-1] == self.identifier:
            await self.rt.rds.tag(arn, self._owner_tags())
        else:
            await self._ensure_tagged()

    async def _ensure_tagged(self) -> DbInstance | None:
        """The instance as described now (with our tags), None when it does not exist."""
        instance = await self.rt.rds.describe(self.identifier)
        if instance is not None and instance.tags.get(OWNER_TAG) != "true":
            tags = self._owner_tags()
            await self.rt.rds.tag(instance.arn, tags)
            instance = dataclasses.replace(instance, tags={**instance.tags, **tags})
        return instance

    def _owner_tags(self) -> dict[str, str]:
        return {OWNER_TAG: "true", "backup-validator:recovery-point": self.rp.arn[-250:]}

    async def _run_checks(self, validation: Validation, connection: Connection) -> None:
        history = (
            await self.rt.ledger.source_history(self.rp.source_resource_arn)
            if check_stage.compares_with_previous(self.plan.checks)
            else {}
        )
        now = datetime.now(UTC)
        ctx = check_stage.CheckContext(
            recovery_point_created_at=self.rp.created_at, now=now, previous_row_counts=history
        )
        results = await self.rt.run_checks(connection, self.plan, ctx, self.deadline)
        validation.checks = [result.to_record() for result in results]
        validation.status = overall_status([result.status for result in results])
        validation.age_latest_db_tx, validation.data_gap_minutes = check_stage.freshness_figures(
            results, self.rp.created_at, now
        )
        counts = check_stage.row_counts(results)
        await self.rt.ledger.save_source_history(
            self.rp.source_resource_arn, {**history, **counts}, validation.status == "PASSED"
        )
