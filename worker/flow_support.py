"""Pure helpers of `worker.flow`: the new validation, the time left for its restore, what its checks' results
make of it, the one log line a finished one writes, the in-flight gauge, the cleanup's bound. They sit here so
that `flow.py` stays the validation's steps, read top to bottom."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Iterator, Sequence
from datetime import datetime
from typing import Any

from worker.checks import CheckResult, freshness_figures
from worker.ledger_item import LedgerItem
from worker.metrics import Metrics
from worker.model import RecoveryPoint, Validation, overall_status, region_of, validation_id
from worker.policy import Selection

# The cleanup stage as a whole (each AWS call in it is bounded on its own; an Aurora cluster's deletion waits up to
# 120 s for RDS to accept it). Past it the copy is the sweeper's: recorded FAILED, never waited on for ever.
CLEANUP_SECONDS = 600.0


async def cleanup_within(cleanup: Awaitable[str], log: Any, seconds: float = CLEANUP_SECONDS) -> str:
    """The kind's cleanup status, or FAILED (the sweeper retries) when it does not end within `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            return await cleanup
    except TimeoutError:
        log.error("cleanup.timed_out", seconds=seconds)
        return "FAILED"


def new_validation(rp: RecoveryPoint, plan: Selection, identifier: str, generation: int) -> Validation:
    """A validation of `rp` under `plan`, before anything is measured."""
    return Validation(
        validation_id=validation_id(rp.arn, generation),
        recovery_point_arn=rp.arn,
        selection=plan.name,
        source_resource_arn=rp.source_resource_arn,
        resource_type=rp.resource_type,
        account_id=rp.account,
        region=region_of(rp.arn),
        backup_vault_name=rp.vault_name,
        recovery_point_created_at=rp.created_at,
        restored_instance_id=identifier,
        rpo_target=plan.rpo_target,
        rto_target=plan.rto_target,
    )


def restore_time_left(plan: Selection, item: LedgerItem) -> float:
    """Seconds left for the restore. The restore deadline runs from StartRestoreJob: a resumed restore's
    recorded start, else set when we start it (the wait for a restore slot does not count)."""
    remaining = plan.restore_timeout.total_seconds()
    if item.restore_job_id and item.restore_started_at:
        remaining -= max(0, time.time() - item.restore_started_at)
    return remaining


def note_results(
    validation: Validation, results: Sequence[CheckResult], created_at: datetime | None, now: datetime
) -> None:
    """The checks' results into the validation: each as recorded, the overall status, the freshness figures."""
    validation.checks = [result.to_record() for result in results]
    validation.status = overall_status([result.status for result in results])
    validation.age_latest_db_tx, validation.data_gap_minutes = freshness_figures(results, created_at, now)


def log_finished(log: Any, record: dict[str, Any]) -> None:
    """The one line a finished validation logs: its outcome in figures, from the record."""
    log.info(
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


@contextlib.contextmanager
def in_flight(metrics: Metrics, account: str | None) -> Iterator[None]:
    """The restores-in-flight gauge of the account, up while the block runs."""
    gauge = metrics.restores_in_flight.labels(account or "unknown")
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()
