"""SQS body -> the event it carries. Pure: no I/O, no clock.

Bodies are EventBridge envelopes (AWS Backup events) or on-demand requests from the CLI. Anything we cannot
read raises MalformedMessage (left for the DLQ); valid events we do not act on come back as Irrelevant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from worker.errors import MalformedMessage
from worker.model import RestoreJob, as_utc

MAX_BODY_BYTES = 256 * 1024  # SQS's own limit: anything larger did not come from SQS intact
# A restore job's final states (DescribeRestoreJob's Status); CREATED, PENDING, RUNNING say nothing to act on.
TERMINAL_RESTORE_STATES = frozenset({"COMPLETED", "FAILED", "ABORTED"})


@dataclass(frozen=True)
class RecoveryPointReady:
    """A recovery point that may need validating."""

    recovery_point_arn: str
    vault_name: str | None
    origin: str  # "copy" | "backup" | "on_demand"
    resource_type: str | None = None
    source_resource_arn: str | None = None
    force: bool = False  # on-demand `--force`: validate again even if done or sampled out


@dataclass(frozen=True)
class Irrelevant:
    reason: str


# A `Restore Job State Change` is a RestoreJob status learnt early, instead of by polling; when it carries the
# job's times the record takes them from here instead of a DescribeRestoreJob.
Event = RecoveryPointReady | RestoreJob | Irrelevant


def parse_body(body: str) -> Event:
    if len(body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        raise MalformedMessage("body larger than 256 KiB")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedMessage(f"body is not JSON: {type(exc).__name__}") from None
    if not isinstance(document, dict):
        raise MalformedMessage("body is not a JSON object")
    if "recoveryPointArn" in document and "detail-type" not in document:
        return _on_demand(document)
    if "detail-type" not in document:
        raise MalformedMessage("neither an EventBridge event nor an on-demand request")
    return _event(document)


def _optional_time(value: Any) -> datetime | None:
    """An ISO 8601 time from an event, None when absent or unreadable (the worker then asks AWS instead)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return as_utc(parsed)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedMessage(f"{what} must be a non-empty string")
    return value


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _on_demand(document: dict[str, Any]) -> RecoveryPointReady:
    arn = _text(document["recoveryPointArn"], "recoveryPointArn")
    _check_arn(arn, "recoveryPointArn")
    return RecoveryPointReady(
        recovery_point_arn=arn,
        vault_name=_optional_text(document.get("backupVaultName")),
        origin="on_demand",
        force=document.get("force") is True,
    )


def _event(document: dict[str, Any]) -> Event:
    detail_type = document.get("detail-type")
    if document.get("source") != "aws.backup":
        return Irrelevant(f"source {str(document.get('source'))[:64]!r}")
    detail = document.get("detail")
    if not isinstance(detail, dict):
        raise MalformedMessage("detail must be an object")
    if detail_type == "Copy Job State Change":
        return _copy_event(detail)
    if detail_type == "Backup Job State Change":
        return _backup_event(document, detail)
    if detail_type == "Restore Job State Change":
        return _restore_event(detail)
    return Irrelevant(f"detail-type {str(detail_type)[:64]!r}")


def _restore_event(detail: dict[str, Any]) -> Event:
    # AWS's samples carry the job's state as `status` in some and `state` in others (e.g. CREATED).
    state = detail.get("status", detail.get("state"))
    if not isinstance(state, str) or state not in TERMINAL_RESTORE_STATES:
        return Irrelevant(f"restore job state {str(state)[:32]}")
    return RestoreJob(
        job_id=_text(detail.get("restoreJobId"), "detail.restoreJobId"),
        status=state,
        created_resource_arn=_optional_text(detail.get("createdResourceArn")),
        created_at=_optional_time(detail.get("creationDate")),
        completed_at=_optional_time(detail.get("completionDate")),
        restore_testing_plan_arn=_optional_text(detail.get("restoreTestingPlanArn")),
        recovery_point_arn=_optional_text(detail.get("recoveryPointArn")),
        backup_vault_arn=_optional_text(detail.get("backupVaultArn")),
    )


def _copy_event(detail: dict[str, Any]) -> Event:
    state = detail.get("state")
    if state != "COMPLETED":
        return Irrelevant(f"copy job state {str(state)[:32]}")
    arn = _text(detail.get("destinationRecoveryPointArn"), "detail.destinationRecoveryPointArn")
    _check_arn(arn, "detail.destinationRecoveryPointArn")
    return RecoveryPointReady(
        recovery_point_arn=arn,
        vault_name=vault_name_from_arn(_optional_text(detail.get("destinationBackupVaultArn"))),
        origin="copy",
        resource_type=_optional_text(detail.get("resourceType")),
        source_resource_arn=_optional_text(detail.get("resourceArn")),
    )


def _backup_event(document: dict[str, Any], detail: dict[str, Any]) -> Event:
    state = detail.get("state")
    if state != "COMPLETED":
        return Irrelevant(f"backup job state {str(state)[:32]}")
    resources = document.get("resources")
    arn = _optional_text(detail.get("recoveryPointArn"))
    if arn is None and isinstance(resources, list) and resources:
        arn = _optional_text(resources[0])
    arn = _text(arn, "resources[0]")
    _check_arn(arn, "resources[0]")
    vault = _optional_text(detail.get("backupVaultName")) or vault_name_from_arn(
        _optional_text(detail.get("backupVaultArn"))
    )
    return RecoveryPointReady(
        recovery_point_arn=arn,
        vault_name=vault,
        origin="backup",
        resource_type=_optional_text(detail.get("resourceType")),
        source_resource_arn=_optional_text(detail.get("resourceArn")),
    )


def _check_arn(arn: str, what: str) -> None:
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or len(arn) > 2048:
        raise MalformedMessage(f"{what} is not an ARN")


def vault_name_from_arn(arn: str | None) -> str | None:
    """arn:aws:backup:REGION:ACCOUNT:backup-vault:NAME -> NAME."""
    if not arn or ":backup-vault:" not in arn:
        return None
    return arn.rsplit(":backup-vault:", 1)[1] or None
