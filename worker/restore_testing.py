"""Validator for AWS Backup restore testing: take over a restore AWS Backup started, check it, tell AWS Backup.

A `Restore Job State Change` COMPLETED event of a restore testing job whose plan a selection names
(`restore_testing_plan`) arrives, or the sweep finds such a job still unvalidated: VALIDATING is posted at once,
the kind takes the created resource over (new credentials), the selection's checks run, the record gets
`origin = "restore_testing"` and the plan ARN, and SUCCESSFUL or FAILED is posted. The ownership rule differs
from our own restores (docs/modes.md): the restored resource is modified, never deleted; AWS Backup deletes it
once the verdict is final or the validation window closes. One ledger item per restore job makes a job
validated once, however learnt.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from worker.errors import LeaseHeld, NotFound, Retryable
from worker.events import vault_name_from_arn
from worker.flow import Flow, Run
from worker.kinds import Target, restore_testing
from worker.ledger_item import LedgerItem
from worker.model import ERROR, Outcome, RecoveryPoint, RestoreJob, validation_id
from worker.policy import Selection
from worker.ports import RestoreListing, ValidationResults
from worker.record import build_record, record_key

FINAL_VALIDATION = frozenset({"SUCCESSFUL", "FAILED", "TIMED_OUT"})
# AWS's longest validation window is 168 hours: a job completed before that can no longer take a result.
LONGEST_WINDOW = timedelta(hours=168)
# Kept free before the validation window ends: cleanup (deleting the Aurora instance we added), the record to
# S3 and the verdict to AWS Backup all happen after the checks and must land inside the window.
VERDICT_MARGIN = timedelta(minutes=5)


def validation_budget(restore_timeout: timedelta, window_end: datetime | None, now: datetime) -> float:
    """Seconds the take-over and checks of a restore testing job may take: min(restore_timeout, window end -
    VERDICT_MARGIN - now), never below 0 (then the take-over is stopped at once: an ERROR record).
    Without a known window end, restore_timeout alone."""
    budget = restore_timeout.total_seconds()
    if window_end is not None:
        budget = min(budget, (window_end - VERDICT_MARGIN - now).total_seconds())
    return max(0.0, budget)


def ledger_key(job_id: str) -> str:
    """One ledger item per restore testing job (a plan may restore the same recovery point again)."""
    return f"restore-testing-job:{job_id}"


@dataclass(frozen=True)
class RestoreTests:
    flow: Flow
    results: ValidationResults
    listing: RestoreListing

    def wanted(self, job: RestoreJob) -> bool:
        """A completed restore testing job of a plan the policy names, not validated yet (as far as we know)."""
        plan = job.restore_testing_plan_arn
        return (
            plan is not None
            and job.status == "COMPLETED"
            and job.validation_status not in FINAL_VALIDATION
            and self.flow.policy.names_plan(plan)
        )

    async def validate(self, job_id: str, message_id: str) -> Outcome:
        job = await self.flow.restores.describe_restore_job(job_id)
        if not self.wanted(job) or not job.recovery_point_arn or not job.created_resource_arn:
            return Outcome("ack", "restore_test_not_wanted")
        assert job.restore_testing_plan_arn is not None
        try:
            rp = await self._recovery_point(job)
            tags = await self.flow.recovery_points.recovery_point_tags(rp.arn) if self.flow.policy.uses_tags else None
        except NotFound as exc:
            self.flow.log.warning("restore_test.recovery_point_not_found", problem=str(exc))
            return Outcome("ack", "not_found")
        selection = self.flow.policy.match_restore_test(
            job.restore_testing_plan_arn, rp.resource_type, rp.source_resource_arn, rp.account, tags
        )
        if selection is None:
            return Outcome("ack", "unselected")
        key = ledger_key(job_id)
        claim = await self.flow.ledger.claim(key, message_id, validation_id(key))
        if claim.held_by_message(message_id):
            raise LeaseHeld("lease held by a previous worker", delay_seconds=claim.retry_after)
        if claim.outcome != "claimed":
            return Outcome("ack", "duplicate")
        if claim.after_crash:  # a fresh copy of the message resumes it, with receives to spare
            await self.flow.ledger.hand_over(key)
            return Outcome("hand_over", "crash_hand_over")
        self.flow.holdings.held.add(key)
        try:
            return await self._claimed(job, rp, selection, claim.item)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.flow.ledger.release(key))
            raise
        finally:
            self.flow.holdings.held.discard(key)

    async def _recovery_point(self, job: RestoreJob) -> RecoveryPoint:
        assert job.recovery_point_arn is not None
        vault = vault_name_from_arn(job.backup_vault_arn)
        vault = vault or await self.flow.recovery_points.find_vault(job.recovery_point_arn)
        return await self.flow.recovery_points.describe_recovery_point(vault, job.recovery_point_arn)

    async def _claimed(self, job: RestoreJob, rp: RecoveryPoint, selection: Selection, item: LedgerItem) -> Outcome:
        key = ledger_key(job.job_id)
        if item.record is not None:
            record = dict(item.record)  # a previous worker checked it; nothing of ours to clean up
        else:
            await self._post(job.job_id, "VALIDATING", "Backup Validator: checks running")
            record = await self._checked(job, rp, selection, item)
            await self.flow.ledger.checkpoint_record(key, record)
        claimed_at = datetime.fromtimestamp(item.claimed_at, UTC)
        # S3 first; then the verdict to AWS Backup (a late one is refused by AWS, logged, and the record stays).
        await self.flow.publisher.publish(record_key(self.flow.results_prefix, record, claimed_at), record, True)
        await self.flow.ledger.finish(key, record["status"])
        self.flow.log.info(
            "restore_test.validated",
            restore_job_id=job.job_id,
            status=record["status"],
            plan=job.restore_testing_plan_arn,
        )
        return Outcome("ack", "validated")

    async def _checked(
        self, job: RestoreJob, rp: RecoveryPoint, selection: Selection, item: LedgerItem
    ) -> dict[str, Any]:
        assert job.created_resource_arn is not None and job.restore_testing_plan_arn is not None
        # The name ends an RDS ARN (`...:db:<name>`) and a DynamoDB one (`...:table/<name>`); neither holds `/`.
        identifier = job.created_resource_arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
        budget = validation_budget(selection.restore_timeout, await self._window_end(job, rp), datetime.now(UTC))
        deadline = asyncio.get_running_loop().time() + budget
        target = Target(rp, identifier, selection, deadline, origin=restore_testing(job.restore_testing_plan_arn))
        run = Run(self.flow, rp, selection, item, self.flow.kinds.for_type(rp.resource_type or "RDS"), target)
        validation = run.validation
        validation.origin, validation.restore_testing_plan_arn = "restore_testing", job.restore_testing_plan_arn
        validation.restore_job_id = job.job_id
        validation.restore_start_time, validation.restore_end_time = job.created_at, job.completed_at
        bound = asyncio.timeout(budget)  # take-over and checks together end before the window does
        try:
            async with bound:
                await run.prepare_and_check(job)
        except Retryable:
            raise
        except Exception as exc:  # noqa: BLE001 - a permanent failure becomes an ERROR record (and FAILED to AWS)
            reason = f"{type(exc).__name__}: {exc}"
            if bound.expired():
                reason = f"take-over and checks did not end within {budget:.0f} s (restore_timeout or window end)"
            validation.fail(ERROR, reason)
        # Only what we added is ours to delete (the Aurora instance): the kind knows from the origin.
        validation.cleanup_status = await asyncio.shield(run.cleanup())
        return build_record(validation, datetime.now(UTC))

    async def _window_end(self, job: RestoreJob, rp: RecoveryPoint) -> datetime | None:
        """When AWS Backup stops waiting for this job's verdict: its completion plus the plan's
        ValidationWindowHours (the shortest among the plan's selections of the type: a job names its plan, not
        its selection). None when that cannot be learnt: restore_timeout alone bounds the validation then."""
        assert job.restore_testing_plan_arn is not None
        if job.completed_at is None:
            return None
        try:
            hours = await self.listing.validation_window_hours(job.restore_testing_plan_arn, rp.resource_type or "RDS")
        except Retryable:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. no permission: bounded by restore_timeout all the same
            self.flow.log.warning("restore_test.window_unknown", restore_job_id=job.job_id, error=type(exc).__name__)
            return None
        return None if hours is None else job.completed_at + timedelta(hours=hours)

    async def _post(self, job_id: str, status: str, message: str) -> None:
        try:
            await self.results.put_validation_result(job_id, status, message)
        except Retryable:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. the window already closed: validate and record anyway
            self.flow.log.warning("restore_test.status_refused", status=status, error=type(exc).__name__)

    async def sweep_once(self) -> int:
        """Find completed restore testing jobs of named plans that no event brought (events are best effort)
        and validate each; the ledger makes a job validated once. Returns how many it validated. Lists per
        named plan, so the worker's own restores (thousands a day) are never paged through here."""
        if not self.flow.policy.tests_restores:
            return 0
        since = datetime.now(UTC) - LONGEST_WINDOW
        named = [arn for arn in await self.listing.restore_testing_plan_arns() if self.flow.policy.names_plan(arn)]
        jobs = [
            job
            for plan_arn in named
            for job in await self.listing.list_restore_jobs(completed_after=since, plan_arn=plan_arn)
            if self.wanted(job)
        ]
        outcomes = await asyncio.gather(
            *(self.validate(job.job_id, f"sweep-{job.job_id}") for job in jobs), return_exceptions=True
        )
        for job, outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                self.flow.log.warning(
                    "restore_test.sweep_failed", restore_job_id=job.job_id, error=type(outcome).__name__
                )
        return sum(1 for outcome in outcomes if isinstance(outcome, Outcome) and outcome.reason == "validated")
