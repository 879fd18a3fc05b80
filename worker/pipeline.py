"""One SQS message, start to finish: parse -> select -> claim -> validate -> report -> outcome.

The pipeline never touches SQS itself: it returns an Outcome and the consumer acts on it, so what happens to
a message is decided in exactly one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from worker.adapters.backup import RecoveryPoint
from worker.adapters.sqs import Message
from worker.errors import LeaseHeld, MalformedMessage, NotFound
from worker.policy import Selection
from worker.runtime import Runtime
from worker.stages.parse import (
    Irrelevant,
    RecoveryPointReady,
    RestoreStatus,
    account_of,
    parse_body,
    region_of,
)
from worker.stages.report import SKIPPED, Validation, build_record, record_key
from worker.stages.restore import validation_id
from worker.stages.wait import JobStatus
from worker.validation import ValidationRun


@dataclass(frozen=True)
class Outcome:
    action: str  # "ack" | "retry" | "dead_letter" (left on the queue until its receive count sends it to the DLQ)
    reason: str
    delay_seconds: int = 0


class Pipeline:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def handle(self, message: Message) -> Outcome:
        try:
            event = parse_body(message.body)
        except MalformedMessage as exc:
            self.rt.log.warning("message.malformed", message_id=message.message_id, problem=str(exc))
            return Outcome("dead_letter", "malformed")
        if isinstance(event, Irrelevant):
            self.rt.log.info("message.ignored", reason=event.reason)
            return Outcome("ack", "ignored")
        if isinstance(event, RestoreStatus):
            status = JobStatus(
                event.restore_job_id,
                event.status,
                event.created_resource_arn,
                created_at=event.created_at,
                completed_at=event.completed_at,
            )
            self.rt.watcher.resolve(status, "event")
            return Outcome("ack", "restore_event")
        return await self._recovery_point(event, message)

    async def _recovery_point(self, event: RecoveryPointReady, message: Message) -> Outcome:
        structlog.contextvars.bind_contextvars(recovery_point_arn=event.recovery_point_arn)
        try:
            vault = event.vault_name or await self.rt.backup.find_vault(event.recovery_point_arn)
            rp = await self.rt.backup.describe_recovery_point(vault, event.recovery_point_arn)
            tags = await self.rt.backup.recovery_point_tags(rp.arn) if self.rt.policy.uses_tags else None
        except NotFound as exc:
            self.rt.log.warning("recovery_point.not_found", problem=str(exc))
            return Outcome("ack", "not_found")
        if rp.status and rp.status not in {"COMPLETED", "AVAILABLE"}:
            return Outcome("ack", "not_completed")
        account = account_of(rp.source_resource_arn) or account_of(rp.arn)
        plan = self.rt.policy.match(rp.resource_type, rp.source_resource_arn, account, tags)
        if plan is None:
            self.rt.log.info("recovery_point.unselected", source=rp.source_resource_arn)
            return Outcome("ack", "unselected")
        structlog.contextvars.bind_contextvars(selection=plan.name, source=rp.source_resource_arn)
        if rp.arn in self.rt.busy:
            # Another message for the same recovery point is being handled by this very process.
            return Outcome("ack", "duplicate")
        self.rt.busy.add(rp.arn)
        try:
            return await self._claim_and_validate(rp, plan, message, account, force=event.force)
        finally:
            self.rt.busy.discard(rp.arn)

    async def _claim_and_validate(
        self, rp: RecoveryPoint, plan: Selection, message: Message, account: str | None, *, force: bool = False
    ) -> Outcome:
        vid = validation_id(rp.arn)
        claim = await self.rt.ledger.claim(rp.arn, message.message_id, vid, force=force)
        if claim.outcome == "done":
            return Outcome("ack", "duplicate")
        if claim.outcome == "held":
            if claim.item.get("message_id") == message.message_id:
                # Our own message back while a (probably dead) previous holder's lease runs out.
                raise LeaseHeld("lease held by a previous worker", delay_seconds=claim.lease_remaining + 1)
            return Outcome("ack", "duplicate")
        self.rt.held.add(rp.arn)
        try:
            return await self._claimed(rp, plan, claim.item, vid, account)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.rt.ledger.release(rp.arn))
            raise
        finally:
            self.rt.held.discard(rp.arn)

    async def _claimed(
        self, rp: RecoveryPoint, plan: Selection, item: dict[str, Any], vid: str, account: str | None
    ) -> Outcome:
        fresh = item.get("state") == "CLAIMED" and not item.get("restore_job_id")
        # A zero interval admits everything: no sampling write (and no race between two recovery points of one
        # source claimed in the same second).
        sampled = plan.min_interval.total_seconds() > 0 and not item.get("generation")  # --force: no sampling
        if (
            fresh
            and sampled
            and not await self.rt.ledger.admit_sample(
                rp.source_resource_arn, rp.arn, int(plan.min_interval.total_seconds())
            )
        ):
            await self.rt.ledger.update(rp.arn, state="DONE", status=SKIPPED)
            self.rt.log.info("recovery_point.sampled_out", min_interval=str(plan.min_interval))
            return Outcome("ack", "sampled_out")
        validation = Validation(
            validation_id=vid,
            recovery_point_arn=rp.arn,
            selection=plan.name,
            source_resource_arn=rp.source_resource_arn,
            resource_type=rp.resource_type,
            account_id=account,
            region=region_of(rp.arn),
            backup_vault_name=rp.vault_name,
            recovery_point_created_at=rp.created_at,
            restored_instance_id=None,
            rpo_target=plan.rpo_target,
            rto_target=plan.rto_target,
        )
        record, from_testing = await self._validate(rp, plan, item, validation, account)
        claimed_at = datetime.fromtimestamp(int(item.get("claimed_at", 0)) or 0, UTC)
        self.rt.log.debug("stage.report", validation_id=vid)
        await self.rt.reporter.publish(
            record_key(self.rt.settings.results_prefix, record, claimed_at), record, from_testing
        )
        await self.rt.ledger.update(rp.arn, state="DONE", status=record["status"])
        self._log_finished(record)
        return Outcome("ack", "validated")

    async def _validate(
        self,
        rp: RecoveryPoint,
        plan: Selection,
        item: dict[str, Any],
        validation: Validation,
        account: str | None,
    ) -> tuple[dict[str, Any], bool]:
        run = ValidationRun(self.rt, rp, plan, item)
        validation.restored_instance_id = run.identifier
        if isinstance(item.get("record"), str):
            # A previous worker finished the checks; only cleanup and the report remain.
            record: dict[str, Any] = json.loads(item["record"])
            record["cleanup_status"] = await run.cleanup()
            return record, False
        account_region = f"{account}/{validation.region}"
        gauge = self.rt.metrics.restores_in_flight.labels(account or "unknown")
        async with self.rt.restore_slots, self.rt.account_slot(account_region):
            gauge.inc()
            try:
                await run.execute(validation)
            finally:
                gauge.dec()
        return build_record(validation, datetime.now(UTC)), run.from_restore_testing

    def _log_finished(self, record: dict[str, Any]) -> None:
        self.rt.log.info(
            "validation.finished",
            status=record["status"],
            validation_id=record["validation_id"],
            restore_duration=record["restore_duration"],
            age_latest_db_tx=record["age_latest_db_tx"],
            data_gap_minutes=record["data_gap_minutes"],
            cleanup_status=record["cleanup_status"],
            checks_failed=[c["name"] for c in record["checks"] if c["status"] != "PASSED"],
            reason=record.get("reason"),
        )
