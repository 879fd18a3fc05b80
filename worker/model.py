"""The worker's domain types, in one place: what a recovery point, a restore job and a validation are.

Pure: no I/O, no clock except where a helper says so. Every other module speaks in these types.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# ---- validation statuses ---------------------------------------------------------------------------

PASSED = "PASSED"
FAILED = "FAILED"
RESTORE_FAILED = "RESTORE_FAILED"
ERROR = "ERROR"
SKIPPED = "SKIPPED"

# what cleanup found: DELETED, NOT_FOUND, FAILED, NOT_OURS (our name, not our restore job's: untouched), or
# NOT_NEEDED when nothing was restored
CLEANUP_NOT_NEEDED = "NOT_NEEDED"
CLEANUP_LEFT_TO_AWS_BACKUP = "LEFT_TO_AWS_BACKUP"  # a restore testing resource: AWS Backup deletes it

# ---- ownership ---------------------------------------------------------------------------------------

NAME_PREFIX = "bv-"
OWNER_TAG = "backup-validator:managed"
RECOVERY_POINT_TAG = "backup-validator:recovery-point"


def owner_tags(recovery_point_arn: str) -> dict[str, str]:
    """The tags that mark a restored resource as ours (with the recovery point it came from)."""
    return {OWNER_TAG: "true", RECOVERY_POINT_TAG: recovery_point_arn[-250:]}


# ---- identifiers, all derived from the recovery point so that a retry finds the same ones ------------


def ledger_key(recovery_point_arn: str) -> str:
    return hashlib.sha256(recovery_point_arn.encode()).hexdigest()


def restored_identifier(recovery_point_arn: str, generation: int = 0) -> str:
    """`bv-<hash>`: a valid RDS identifier, stable across retries, unique per recovery point and per `--force`
    generation (a forced run right after a validation must not meet the previous copy, still being deleted)."""
    return NAME_PREFIX + ledger_key(f"{recovery_point_arn}#{generation}" if generation else recovery_point_arn)[:20]


def idempotency_token(recovery_point_arn: str, generation: int = 0) -> str:
    """One per recovery point, and per `--force` generation (a forced run is a new restore)."""
    return "bv-" + ledger_key(f"{recovery_point_arn}#{generation}" if generation else recovery_point_arn)[:40]


def validation_id(recovery_point_arn: str, generation: int = 0) -> str:
    """Stable per recovery point, so a redelivered message overwrites its record instead of adding one; a
    `--force` generation is a new validation with a record of its own (the earlier one stays, as evidence)."""
    digest = ledger_key(f"{recovery_point_arn}#{generation}" if generation else recovery_point_arn)
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def account_of(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) >= 6 and parts[4] else None


def region_of(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[3] if len(parts) >= 6 and parts[3] else None


# ---- time helpers --------------------------------------------------------------------------------------


def as_utc(moment: datetime) -> datetime:
    """Aware, in UTC. A time without a zone is taken to be UTC (what AWS and RDS servers run in)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else as_utc(moment).isoformat().replace("+00:00", "Z")


def minutes(delta: timedelta | None) -> float | None:
    return None if delta is None else round(delta.total_seconds() / 60.0, 3)


def minutes_between(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else minutes(end - start)


# ---- what AWS Backup holds -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecoveryPoint:
    arn: str
    vault_name: str
    source_resource_arn: str
    resource_type: str
    created_at: datetime | None
    status: str

    @property
    def account(self) -> str | None:
        return account_of(self.source_resource_arn) or account_of(self.arn)


@dataclass(frozen=True)
class ProtectedSource:
    arn: str
    resource_type: str


RESTORE_TERMINAL = frozenset({"COMPLETED", "FAILED", "ABORTED"})


@dataclass(frozen=True)
class RestoreJob:
    """One restore job's status, however it was learnt (event, ListRestoreJobs, DescribeRestoreJob).

    `from_restore_testing` is None when the source does not say (events do not)."""

    job_id: str
    status: str
    created_resource_arn: str | None = None
    message: str = ""
    created_at: datetime | None = None
    completed_at: datetime | None = None
    from_restore_testing: bool | None = None
    # Restore testing (CreatedBy.RestoreTestingPlanArn / the event's restoreTestingPlanArn); None when not said.
    restore_testing_plan_arn: str | None = None
    recovery_point_arn: str | None = None
    backup_vault_arn: str | None = None
    validation_status: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in RESTORE_TERMINAL

    @property
    def timed(self) -> bool:
        """Whether it says when it ran (then no DescribeRestoreJob is needed for the record)."""
        return self.created_at is not None and self.completed_at is not None


# ---- one validation ---------------------------------------------------------------------------------------


@dataclass
class Validation:
    """Everything learnt about one validation, filled in step by step; the record is built from it once."""

    validation_id: str
    recovery_point_arn: str
    selection: str | None = None
    source_resource_arn: str | None = None
    resource_type: str | None = None
    engine: str | None = None
    account_id: str | None = None
    region: str | None = None
    backup_vault_name: str | None = None
    recovery_point_created_at: datetime | None = None
    restore_job_id: str | None = None
    restored_instance_id: str | None = None
    restore_start_time: datetime | None = None
    restore_end_time: datetime | None = None
    restore_requested_at: datetime | None = None  # our StartRestoreJob call (the ledger's restore_started_at)
    usable_at: datetime | None = None  # the restored data usable with our credentials (after take-over)
    checks: list[dict[str, Any]] = field(default_factory=list)
    age_latest_db_tx: float | None = None
    data_gap_minutes: float | None = None
    rpo_target: timedelta | None = None
    rto_target: timedelta | None = None
    status: str | None = None
    reason: str | None = None
    cleanup_status: str = CLEANUP_NOT_NEEDED
    origin: str | None = None  # "restore_testing" for a restore AWS Backup started; None when not recorded
    restore_testing_plan_arn: str | None = None

    @property
    def restore_duration(self) -> float | None:
        return minutes_between(self.restore_start_time, self.restore_end_time)

    def note_taken_over(self, taken: Any) -> None:
        """What a kind created beyond the restore job, and when the data became usable (None: nothing more)."""
        self.restored_instance_id = taken.restored_id or self.restored_instance_id
        self.usable_at = taken.usable_at or self.usable_at

    def fail(self, status: str, reason: str) -> None:
        self.status, self.reason = status, reason[:500]


def overall_status(check_statuses: Sequence[str]) -> str:
    """A failed check outranks an erroring one: it is evidence, an error is only the absence of it."""
    if FAILED in check_statuses:
        return FAILED
    if ERROR in check_statuses:
        return ERROR
    return PASSED


@dataclass(frozen=True)
class Outcome:
    """What becomes of a message: the consumer acts on it, in one place."""

    # "ack" | "retry" | "dead_letter" (left on the queue until its receive count sends it to the DLQ) | "hand_over"
    # (sent again as a fresh copy, the original deleted)
    action: str
    reason: str
    delay_seconds: int = 0
    # Why it failed, noted for `backup-validator dlq` (never a secret: exception text only); not part of what
    # the consumer does with the message, so outcomes compare without it.
    detail: str = field(default="", compare=False)
