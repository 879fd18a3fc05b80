"""One validation, step by step, in the order of the README:

    select -> claim -> restore -> wait -> prepare -> checks -> cleanup -> report

`Flow.validate` is the whole path of one recovery point, from the event that names it to the acknowledged
record; what differs per kind of resource is behind `worker.kinds.ResourceKind`. Progress is checkpointed in
the ledger after every step that costs money or time, so a redelivered message resumes where the last worker
stopped and never starts a second restore.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from worker.checks import CheckContext, compares_with_previous, row_counts
from worker.errors import (
    DeadlineExceeded,
    LeaseHeld,
    NotFound,
    NoTimeToUse,
    PreflightFailed,
    RestoreFailed,
    Retryable,
)
from worker.events import RecoveryPointReady
from worker.flow_support import cleanup_within, in_flight, log_finished, new_validation, note_results, restore_time_left
from worker.kinds import Kinds, ResourceKind, TakenOver, Target
from worker.ledger_item import LedgerItem
from worker.metrics import Metrics
from worker.model import (
    ERROR,
    PASSED,
    RESTORE_FAILED,
    SKIPPED,
    Outcome,
    RecoveryPoint,
    RestoreJob,
    idempotency_token,
    region_of,
    restored_identifier,
    validation_id,
)
from worker.policy import Policy, Selection
from worker.ports import ClaimLedger, RecordPublisher, RecoveryPoints, Restores, RestoreWaiter
from worker.record import build_record, record_key
from worker.slots import Holdings, RestoreSlots

USABLE_STATES = frozenset({"COMPLETED", "AVAILABLE"})
# SQS keeps a received message in flight for at most 12 hours (ChangeMessageVisibility cannot go further): a
# restore is started only while that leaves room for restore_timeout + check_budget, counted from our claim.
MESSAGE_IN_FLIGHT_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Flow:
    """Everything one validation uses, and nothing else."""

    policy: Policy
    recovery_points: RecoveryPoints
    restores: Restores
    watcher: RestoreWaiter
    ledger: ClaimLedger
    kinds: Kinds
    publisher: RecordPublisher
    slots: RestoreSlots
    holdings: Holdings
    metrics: Metrics
    log: Any
    results_prefix: str
    restore_role_arn: str | None
    # The region this deployment serves (one deployment per region, docs/fleet.md); None: not checked.
    region: str | None = None

    async def validate(self, event: RecoveryPointReady, message_id: str) -> Outcome:
        structlog.contextvars.bind_contextvars(recovery_point_arn=event.recovery_point_arn)
        elsewhere = region_of(event.recovery_point_arn)
        if self.region and elsewhere and elsewhere != self.region:
            # Restores are regional: that region's deployment validates it; here it would only fail to be found.
            self.log.warning("recovery_point.other_region", region=elsewhere, worker_region=self.region)
            return Outcome("ack", "other_region")
        # select: what AWS Backup holds, and the selection that wants it
        try:
            rp = await self._describe(event)
            tags = await self.recovery_points.recovery_point_tags(rp.arn) if self.policy.uses_tags else None
        except NotFound as exc:
            self.log.warning("recovery_point.not_found", problem=str(exc))
            return Outcome("ack", "not_found")
        if rp.status and rp.status not in USABLE_STATES:
            return Outcome("ack", "not_completed")
        plan = self.policy.match(rp.resource_type, rp.source_resource_arn, rp.account, tags)
        if plan is None:
            self.log.info("recovery_point.unselected", source=rp.source_resource_arn)
            return Outcome("ack", "unselected")
        structlog.contextvars.bind_contextvars(selection=plan.name, source=rp.source_resource_arn)
        if rp.arn in self.holdings.busy:
            # Another message for the same recovery point is being handled by this very process.
            return Outcome("ack", "duplicate")
        self.holdings.busy.add(rp.arn)
        try:
            origin = "on_demand" if event.origin == "on_demand" else "event"
            return await self._claim(rp, plan, message_id, origin, force=event.force)
        finally:
            self.holdings.busy.discard(rp.arn)

    async def _describe(self, event: RecoveryPointReady) -> RecoveryPoint:
        vault = event.vault_name or await self.recovery_points.find_vault(event.recovery_point_arn)
        return await self.recovery_points.describe_recovery_point(vault, event.recovery_point_arn)

    async def _claim(self, rp: RecoveryPoint, plan: Selection, message_id: str, origin: str, *, force: bool) -> Outcome:
        claim = await self.ledger.claim(rp.arn, message_id, validation_id(rp.arn), force=force)
        if claim.held_by_message(message_id):
            raise LeaseHeld("lease held by a previous worker", delay_seconds=claim.retry_after)
        if claim.outcome != "claimed":
            return Outcome("ack", "duplicate")
        if claim.after_crash:  # a fresh copy of the message resumes it, with receives to spare
            await self.ledger.hand_over(rp.arn)
            return Outcome("hand_over", "crash_hand_over")
        self.holdings.held.add(rp.arn)
        try:
            return await self._claimed(rp, plan, claim.item, origin)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.ledger.release(rp.arn))
            raise
        finally:
            self.holdings.held.discard(rp.arn)

    async def _claimed(self, rp: RecoveryPoint, plan: Selection, item: LedgerItem, origin: str) -> Outcome:
        if item.fresh and not item.forced and not await self._sampled_in(rp, plan):
            await self.ledger.finish(rp.arn, SKIPPED)
            self.log.info("recovery_point.sampled_out", min_interval=str(plan.min_interval))
            return Outcome("ack", "sampled_out")
        run = Run(self, rp, plan, item, self.kinds.for_type(rp.resource_type or "RDS"))
        run.validation.origin = origin
        if item.record is not None:
            # A previous worker finished the checks: only cleanup and the report remain.
            record, from_testing = dict(item.record), False
            record["cleanup_status"] = await run.cleanup()
        else:
            async with self.slots.hold(f"{rp.account}/{region_of(rp.arn)}", run.kind.name, rp.arn):
                with in_flight(self.metrics, rp.account):
                    await run.execute()
            record, from_testing = build_record(run.validation, datetime.now(UTC)), bool(run.from_restore_testing)
        # report: S3 first (the durable copy the ack waits for), then the ledger says DONE
        self.log.debug("stage.report", validation_id=record["validation_id"])
        claimed_at = datetime.fromtimestamp(item.claimed_at, UTC)
        await self.publisher.publish(record_key(self.results_prefix, record, claimed_at), record, from_testing)
        await self.ledger.finish(rp.arn, record["status"])
        log_finished(self.log, record)
        return Outcome("ack", "validated")

    async def _sampled_in(self, rp: RecoveryPoint, plan: Selection) -> bool:
        # A zero interval admits everything: no sampling write (and no race between two recovery points of one
        # source claimed in the same second).
        interval = int(plan.min_interval.total_seconds())
        return plan.min_interval.total_seconds() <= 0 or await self.ledger.admit_sample(
            rp.source_resource_arn, rp.arn, interval
        )


class Run:
    """restore -> wait -> prepare -> checks -> cleanup for one claimed recovery point. A restore testing job
    (`worker.restore_testing`) uses only prepare -> checks -> cleanup, with its own target and origin."""

    def __init__(
        self,
        flow: Flow,
        rp: RecoveryPoint,
        plan: Selection,
        item: LedgerItem,
        kind: ResourceKind,
        target: Target | None = None,  # given for a restore someone else started (restore testing)
    ) -> None:
        self.flow, self.rp, self.plan, self.item, self.kind = flow, rp, plan, item, kind
        loop = asyncio.get_running_loop()
        self.claimed = loop.time()  # this worker's claim (monotonic: a skewed wall clock cannot shorten it)
        identifier = restored_identifier(rp.arn, item.generation)
        self.target = target or Target(rp, identifier, plan, loop.time() + restore_time_left(plan, item))
        self.validation = new_validation(rp, plan, self.target.identifier, item.generation)
        self.taken: TakenOver | None = None
        self.from_restore_testing: bool | None = False

    async def execute(self) -> None:
        """Fill the validation; always leaves nothing restored unless cancelled for a handover."""
        validation = self.validation
        restored = False
        try:
            job = await self.restore_and_wait()
            validation.engine = validation.engine or self.item.engine
            if job.status != "COMPLETED":
                # A failed RDS restore can still leave an instance behind: fall through to cleanup.
                validation.fail(RESTORE_FAILED, f"restore job {job.status}: {job.message}")
            else:
                restored = True
                await self.prepare_and_check(job)
        except asyncio.CancelledError:
            raise  # shutdown: the next worker resumes from the ledger, so nothing is deleted here
        except Retryable:
            raise
        except RestoreFailed as exc:
            validation.status, validation.reason = RESTORE_FAILED, str(exc)
        except (DeadlineExceeded, PreflightFailed) as exc:
            validation.status, validation.reason = ERROR, str(exc)
        except Exception as exc:  # noqa: BLE001 - a permanent failure becomes an ERROR record
            validation.fail(ERROR, f"{type(exc).__name__}: {exc}")
        # Once a restore job exists, something may exist (or appear later) to delete.
        restored = restored or bool(self.item.restore_job_id)
        try:
            # The record draft goes to the ledger before cleanup: a crash after it needs no second restore.
            await self.flow.ledger.checkpoint_record(self.rp.arn, build_record(validation, datetime.now(UTC)))
        finally:
            # Whatever the checkpoint did, what we restored is deleted (a failed write is still raised after).
            if restored:
                validation.cleanup_status = await asyncio.shield(self.cleanup())

    async def restore_and_wait(self) -> RestoreJob:
        job_id = self.item.restore_job_id or await self._start_restore()
        self.validation.restore_job_id = job_id
        if self.item.restore_started_at and self.validation.restore_requested_at is None:
            self.validation.restore_requested_at = datetime.fromtimestamp(self.item.restore_started_at, UTC)
        remaining = self.target.deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise DeadlineExceeded("restore deadline passed before the job finished")
        try:
            status = await self.flow.watcher.wait(job_id, None, remaining)
        except TimeoutError:
            raise DeadlineExceeded(f"restore job did not finish within {self.plan.restore_timeout}") from None
        self.flow.log.info("restore.finished", restore_job_id=job_id, status=status.status)
        if status.status == "COMPLETED" and status.timed:
            # The event or the sweep that told us already says when it ran: no DescribeRestoreJob.
            validation = self.validation
            validation.restore_start_time, validation.restore_end_time = status.created_at, status.completed_at
            return status
        job = await self.flow.restores.describe_restore_job(job_id)
        self.validation.restore_start_time, self.validation.restore_end_time = job.created_at, job.completed_at
        self.from_restore_testing = job.from_restore_testing
        return dataclasses.replace(job, message=job.message or status.message)

    async def _start_restore(self) -> str:
        await self._ensure_time_to_use()
        await self.kind.preflight(self.target)
        await self.flow.ledger.record_resource(self.target.identifier, self.rp.arn)
        recorded = await self.flow.restores.restore_metadata(self.rp.vault_name, self.rp.arn)
        self.validation.restore_requested_at = datetime.now(UTC)
        job_id = await self.flow.restores.start_restore(
            self.rp.arn,
            self.kind.restore_metadata(recorded, self.target),
            idempotency_token(self.rp.arn, self.item.generation),
            self.flow.restore_role_arn,
            self.rp.resource_type or "RDS",
        )
        engine = recorded.get("Engine", "")
        await self.flow.ledger.mark_restoring(self.rp.arn, job_id, self.target.identifier, engine)
        self.item = dataclasses.replace(self.item, restore_job_id=job_id, engine=engine or None)
        deadline = asyncio.get_running_loop().time() + self.plan.restore_timeout.total_seconds()
        self.target = dataclasses.replace(self.target, deadline=deadline)
        self.flow.log.info("restore.started", restore_job_id=job_id, identifier=self.target.identifier)
        return job_id

    async def _ensure_time_to_use(self) -> None:
        """Refuse to start a restore this receipt of the message could not see through: the lease is released
        and the message comes back at once, so a fresh receipt (with a fresh in-flight budget) validates it."""
        waited = asyncio.get_running_loop().time() - self.claimed
        needed = (self.plan.restore_timeout + self.plan.check_budget).total_seconds()
        if MESSAGE_IN_FLIGHT_SECONDS - waited >= needed:
            return
        await self.flow.ledger.release(self.rp.arn)
        raise NoTimeToUse(
            f"{int(waited)} s since the claim leave less than restore_timeout + check_budget ({int(needed)} s)"
            " of the message's in-flight time: restore not started",
            delay_seconds=0,
        )

    async def prepare_and_check(self, job: RestoreJob) -> None:
        self.flow.log.debug("stage.restored", identifier=self.target.identifier)
        self.taken = await self.kind.take_over(self.target, job)
        self.validation.usable_at = datetime.now(UTC)
        self.validation.engine = self.taken.engine
        self.validation.note_taken_over(self.taken)
        self.flow.log.debug("stage.checks", identifier=self.target.identifier)
        source = self.rp.source_resource_arn
        history = await self.flow.ledger.source_history(source) if compares_with_previous(self.plan.checks) else {}
        now = datetime.now(UTC)
        ctx = CheckContext(recovery_point_created_at=self.rp.created_at, now=now, previous_row_counts=history)
        results = await self.kind.run_checks(self.taken, self.target, ctx)
        note_results(self.validation, results, self.rp.created_at, now)
        if self.validation.status == PASSED:
            # Only a PASSED run moves the baseline: a failed one must not let the same drop pass next time.
            await self.flow.ledger.save_source_history(source, {**history, **row_counts(results)}, True)

    async def cleanup(self) -> str:
        return await cleanup_within(self.kind.cleanup(self.target, self.taken), self.flow.log)
