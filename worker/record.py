"""The summary record (DESIGN §3): the product's main output, built once from a finished `Validation`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import worker
from worker.model import ERROR, RESTORE_FAILED, Validation, iso, minutes, minutes_between

# Size bounds (docs/record.md): every text a record carries that came from outside the policy (driver values,
# server messages, exceptions) is cut to this many bytes of JSON, so a record with the policy's maximum number
# of checks stays under MAX_RECORD_BYTES: inside DynamoDB's 400 KB item (the ledger keeps a draft), an S3
# object anyone can read whole, and one CloudWatch Logs event.
MAX_TEXT_BYTES = 1000
MAX_RECORD_BYTES = 200_000
TRUNCATED = "…[truncated]"


def clip(text: str, limit: int = MAX_TEXT_BYTES) -> str:
    """`text` cut so that its JSON encoding (escapes and UTF-8 included) is at most `limit` bytes."""
    size = _json_bytes(text)
    if size <= limit:
        return text
    keep = len(text)
    while size > limit and keep > 0:
        keep = min(keep - 1, keep * (limit - _json_bytes(TRUNCATED)) // size)
        size = _json_bytes(text[:keep] + TRUNCATED)
    return text[: max(keep, 0)] + TRUNCATED


def _json_bytes(text: str) -> int:
    return len(json.dumps(text).encode("utf-8"))


def rpo_met(validation: Validation) -> bool | None:
    if validation.rpo_target is None or validation.data_gap_minutes is None:
        return None
    return validation.data_gap_minutes <= validation.rpo_target.total_seconds() / 60.0


def rto_minutes(validation: Validation) -> float | None:
    """The RTO as a user feels it: restore requested (StartRestoreJob) to the data usable with our credentials.
    None when the restore never gave a usable database (nothing to compare)."""
    if validation.status == RESTORE_FAILED:
        return None
    return minutes_between(validation.restore_requested_at, validation.usable_at)


def rto_met(validation: Validation) -> bool | None:
    measured = rto_minutes(validation)
    if validation.rto_target is None or measured is None:
        return None
    return measured <= validation.rto_target.total_seconds() / 60.0


def build_record(validation: Validation, finished_at: datetime) -> dict[str, Any]:
    duration = validation.restore_duration
    return {
        "validation_id": validation.validation_id,
        "recovery_point_arn": validation.recovery_point_arn,
        "restored_instance_id": validation.restored_instance_id,
        "restore_start_time": iso(validation.restore_start_time),
        "restore_end_time": iso(validation.restore_end_time),
        "restore_duration": duration,
        "age_latest_db_tx": validation.age_latest_db_tx,
        "data_gap_minutes": validation.data_gap_minutes,
        "status": validation.status or ERROR,
        "reason": None if validation.reason is None else clip(validation.reason),
        "checks": validation.checks,
        "restore_job_id": validation.restore_job_id,
        "source_resource_arn": validation.source_resource_arn,
        "resource_type": validation.resource_type,
        "engine": validation.engine,
        "account_id": validation.account_id,
        "region": validation.region,
        "backup_vault_name": validation.backup_vault_name,
        "recovery_point_created_at": iso(validation.recovery_point_created_at),
        "selection": validation.selection,
        "rto_minutes": rto_minutes(validation),
        "rpo_target_minutes": minutes(validation.rpo_target),
        "rto_target_minutes": minutes(validation.rto_target),
        "rpo_target_met": rpo_met(validation),
        "rto_target_met": rto_met(validation),
        "cleanup_status": validation.cleanup_status,
        "origin": validation.origin,
        "restore_testing_plan_arn": validation.restore_testing_plan_arn,
        "worker_version": worker.__version__,
        "finished_at": iso(finished_at),
    }


def record_key(prefix: str, record: dict[str, Any], partition_day: datetime) -> str:
    """Hive-partitioned for Athena; the day is the claim's, so a redelivery overwrites the same object."""
    return f"{prefix}dt={partition_day.astimezone(UTC):%Y-%m-%d}/{record['validation_id']}.json"
